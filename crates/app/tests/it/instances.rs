//! Several app instances on one database: nothing that matters lives in one process.

use crate::helpers::TestApp;

#[tokio::test]
async fn a_session_started_on_one_instance_works_on_another() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    assert_eq!(b.login("office").await.status, 303);
    let other = app.second_instance().await;
    let cookie = format!("yidu_session={}", b.cookie("yidu_session").unwrap());
    let req = axum::http::Request::get("/staff/users")
        .header("cookie", cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let r = other.request(req).await;
    assert_eq!(
        r.status, 200,
        "session is in the database, not in process memory"
    );

    // A lockout reached through one instance holds on the other.
    for i in 0..5 {
        let target = if i % 2 == 0 { &app } else { &other };
        target
            .post_json(
                "/api/v1/auth/login",
                None,
                &serde_json::json!({"username": "town1", "password": "bad"}),
            )
            .await;
    }
    let r = other
        .post_json(
            "/api/v1/auth/login",
            None,
            &serde_json::json!({"username": "town1", "password": crate::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 423);
}
