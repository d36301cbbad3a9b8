//! Logins, lockout, initial passwords, sessions, CSRF and user management.

use crate::helpers::{TestApp, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn api_login_returns_a_token_that_identifies_the_user() {
    let app = TestApp::spawn().await;
    let token = app.token("town1").await;
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["username"], "town1");
    assert_eq!(me["role"], "township");
    assert!(me["scope_path"].as_str().unwrap().starts_with('/'));

    let out = app
        .post_json("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.status,
        401,
        "revoked token refused"
    );
}

#[tokio::test]
async fn wrong_password_names_the_field_and_unknown_users_look_the_same() {
    let app = TestApp::spawn().await;
    let bad = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "office", "password": "nope"}),
        )
        .await;
    assert_eq!(bad.status, 422);
    let body = bad.json();
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["details"][0]["field"], "password");
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "nobody", "password": "nope"}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.json()["message"], body["message"]);
    let missing = app
        .post_json("/api/v1/auth/login", None, &json!({"username": "office"}))
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(missing.json()["details"][0]["field"], "password");
}

#[tokio::test]
async fn five_failures_lock_the_account_even_for_the_right_password() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        let r = app
            .post_json(
                "/api/v1/auth/login",
                None,
                &json!({"username": "dept1", "password": format!("wrong{i}")}),
            )
            .await;
        let expected = if i < 4 { 422 } else { 423 };
        assert_eq!(r.status, expected, "attempt {i}: {}", r.text());
    }
    let right = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "dept1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(right.status, 423, "locked despite the right password");
    assert_eq!(right.json()["code"], "locked");
    // Other accounts are untouched.
    app.token("office").await;
    // Time passes: lift the lock as if five minutes went by.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE users SET locked_until = 1 WHERE username = 'dept1'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.token("dept1").await;
    // The lockout was audited.
    let audit = app
        .get(
            "/api/v1/audit?action=user.locked",
            Some(&app.token("admin").await),
        )
        .await;
    assert_eq!(audit.json()["total"], 1);
}

#[tokio::test]
async fn new_users_must_change_the_initial_password_first() {
    let app = TestApp::spawn().await;
    let office = app.token("office").await;
    let station_id = app.demo.as_ref().unwrap().summary.station_id;
    let created = app
        .post_json(
            "/api/v1/users",
            Some(&office),
            &json!({"username": "newstaff", "display_name": "新同事", "role": "station", "scope_id": station_id, "password": "Initial#2026"}),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(created.json()["must_change_password"], true);

    let login = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "newstaff", "password": "Initial#2026"}),
        )
        .await;
    let token = login.json()["token"].as_str().unwrap().to_string();
    let blocked = app.get("/api/v1/users", Some(&token)).await;
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.json()["code"], "password_change_required");

    let weak = app
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &json!({"old_password": "Initial#2026", "new_password": "password"}),
        )
        .await;
    assert_eq!(weak.status, 422);
    assert_eq!(weak.json()["details"][0]["field"], "new_password");
    let ok = app
        .post_json(
            "/api/v1/me/password",
            Some(&token),
            &json!({"old_password": "Initial#2026", "new_password": "Better#2026x"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.json()["must_change_password"],
        false
    );
}

#[tokio::test]
async fn user_creation_is_bounded_by_the_creators_scope() {
    let app = TestApp::spawn().await;
    let town = app.token("town1").await;
    // A township user may not create office staff.
    let r = app
        .post_json(
            "/api/v1/users",
            Some(&town),
            &json!({"username": "boss", "display_name": "x", "role": "office", "scope_id": app.demo.as_ref().unwrap().summary.district_id, "password": "Initial#2026"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // Every problem of a bad request is listed at once.
    let r = app
        .post_json(
            "/api/v1/users",
            Some(&town),
            &json!({"username": "a", "display_name": "", "role": "king", "password": "short"}),
        )
        .await;
    assert_eq!(r.status, 422);
    let fields: Vec<String> = r.json()["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    for f in ["username", "display_name", "role", "password"] {
        assert!(fields.contains(&f.to_string()), "{f} missing in {fields:?}");
    }
    // Station staff and deputies cannot list users at all.
    let station = app.token("station1").await;
    assert_eq!(app.get("/api/v1/users", Some(&station)).await.status, 403);
    // The township sees only users inside its township.
    let list = app
        .get("/api/v1/users?per_page=100", Some(&town))
        .await
        .json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"town1"));
    assert!(
        !names.contains(&"office") && !names.contains(&"admin"),
        "{names:?}"
    );
}

#[tokio::test]
async fn page_login_sets_a_session_and_forms_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    // Without the token the login form is refused.
    let page = b.get("/login").await;
    assert_eq!(page.status, 200);
    let forged = b
        .post_form_raw("/login", &[("username", "office"), ("password", PASSWORD)])
        .await;
    assert_eq!(forged.status, 400, "missing CSRF token refused");
    assert!(b.cookie("yidu_session").is_none());

    let ok = b.login("office").await;
    assert_eq!(ok.status, 303, "{}", ok.text());
    assert_eq!(ok.location(), "/staff");
    let session = b.cookie("yidu_session").expect("session cookie");
    let set = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>();
    assert!(set.iter().any(|c| c.starts_with("yidu_session=")
        && c.contains("HttpOnly")
        && c.contains("SameSite=Lax")));
    assert!(!session.is_empty());

    // A logged-in form post with a wrong token is refused and changes nothing.
    let forged = b
        .post_form_raw("/logout", &[("_csrf", "not-the-token")])
        .await;
    assert_eq!(forged.status, 400);
    assert_eq!(b.get("/staff/users").await.status, 200, "still logged in");
    // With the token, logout works and the session ends.
    let out = b.post_form("/staff/users", "/logout", &[]).await;
    assert_eq!(out.status, 303);
    let after = b.get("/staff/users").await;
    assert_eq!(after.status, 303);
    assert!(after.location().starts_with("/login?next="));
}

#[tokio::test]
async fn idle_sessions_expire() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    assert_eq!(b.login("office").await.status, 303);
    assert_eq!(b.get("/staff/users").await.status, 200);
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("UPDATE sessions SET last_seen_at = last_seen_at - 31 * 60 * 1000")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        b.get("/staff/users").await.status,
        303,
        "idle session ended"
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_tokens() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin").await;
    let dept = app.token("dept1").await;
    let list = app
        .get("/api/v1/users?per_page=100", Some(&admin))
        .await
        .json();
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dept1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = app
        .patch_json(
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.get("/api/v1/me", Some(&dept)).await.status, 401);
    let again = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"username": "dept1", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status, 422);
}
