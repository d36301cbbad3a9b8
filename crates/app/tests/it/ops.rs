//! Health, readiness, metrics, the OpenAPI document, languages and error shapes.

use crate::helpers::TestApp;

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn_empty().await;
    let h = app.get("/healthz", None).await;
    assert_eq!(h.status, 200);
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["pending_migrations"], 0);
    let m = app.get("/metrics", None).await;
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(
        text.contains(
            "yidu_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("yidu_http_request_duration_seconds_bucket"));

    // Readiness fails when a migration is missing.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("DELETE FROM schema_migrations WHERE version = 2")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn openapi_document_lists_the_endpoints() {
    let app = TestApp::spawn_empty().await;
    let doc = app.get("/api/openapi.json", None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in ["/api/v1/auth/login", "/api/v1/users", "/api/v1/audit"] {
        assert!(doc["paths"][p].is_object(), "{p} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn errors_have_one_shape_and_pages_carry_security_headers() {
    let app = TestApp::spawn_empty().await;
    let r = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(r.status, 404);
    let b = r.json();
    assert_eq!(b["code"], "not_found");
    assert!(b["message"].is_string() && b["message_en"].is_string() && b["details"].is_array());
    let r = app.get("/api/v1/users", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["code"], "unauthorized");
    let page = app.get("/", None).await;
    assert_eq!(page.status, 200);
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(
        page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(
        !page.text().contains("http://") || !page.text().contains("cdn"),
        "no CDN"
    );
}

#[tokio::test]
async fn chinese_by_default_english_by_header_or_switch() {
    let app = TestApp::spawn_empty().await;
    let zh = app.get("/login", None).await.text();
    assert!(zh.contains("登录") && zh.contains("lang=\"zh-CN\""));
    let req = axum::http::Request::get("/login")
        .header("accept-language", "en-US,en;q=0.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let en = app.request(req).await.text();
    assert!(en.contains("Log in") && en.contains("lang=\"en\""));
    let b = app.browser();
    let sw = b.get("/prefs/lang/en?back=/login").await;
    assert_eq!(sw.status, 303);
    assert_eq!(sw.location(), "/login");
    assert!(b.get("/login").await.text().contains("Log in"));
    let evil = b.get("/prefs/lang/en?back=//evil.example").await;
    assert_eq!(evil.location(), "/", "no open redirect");
}

#[tokio::test]
async fn assets_are_compiled_in_and_cached_by_hash() {
    let app = TestApp::spawn_empty().await;
    let url = yidu_web::assets::css_url();
    let r = app.get(&url, None).await;
    assert_eq!(r.status, 200);
    assert!(r
        .headers
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(r.text().contains("elder"));
}
