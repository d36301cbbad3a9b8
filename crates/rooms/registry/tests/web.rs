//! The registry's pages and JSON API behind the web shell (sessions stubbed by role):
//! every page renders, forms post/redirect/get, mistakes come back named, scope holds.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::*;
use std::sync::Arc;
use tower::ServiceExt;
use yidu_kernel::Principal;
use yidu_web::auth::BoxFut;
use yidu_web::metrics::Metrics;
use yidu_web::{AppState, Authenticator, WebConfig};

/// Sessions named after the principals of the test district.
struct StubAuth {
    principals: Vec<(String, Principal)>,
}

impl Authenticator for StubAuth {
    fn session<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<(Principal, String)>> {
        Box::pin(async move {
            self.principals
                .iter()
                .find(|(t, _)| t == token)
                .map(|(_, p)| (p.clone(), "csrf".to_string()))
        })
    }
    fn bearer<'a>(&'a self, _token: &'a str) -> BoxFut<'a, Option<Principal>> {
        Box::pin(async { None })
    }
}

fn app(w: &World) -> Router {
    let principals = vec![
        ("admin".to_string(), admin()),
        ("office".to_string(), w.office()),
        ("town1".to_string(), w.town1()),
        ("station1".to_string(), w.station1()),
        ("dept".to_string(), w.dept()),
        ("committee".to_string(), w.committee()),
    ];
    let state = AppState {
        db: w.db.clone(),
        config: Arc::new(WebConfig::default()),
        auth: Arc::new(StubAuth { principals }),
        metrics: Arc::new(Metrics::default()),
    };
    yidu_registry::pages::router()
        .merge(yidu_registry::api::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            yidu_web::middleware::shell,
        ))
        .with_state(state)
}

struct Got {
    status: StatusCode,
    location: String,
    body: String,
    bytes: Vec<u8>,
}

async fn send(app: &Router, req: Request<Body>) -> Got {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), 20 << 20)
        .await
        .unwrap()
        .to_vec();
    Got {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

async fn get(app: &Router, path: &str, who: &str) -> Got {
    let req = Request::get(path)
        .header(header::COOKIE, format!("yidu_session={who}"))
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

async fn post_form(app: &Router, path: &str, who: &str, form: &[(&str, &str)]) -> Got {
    let mut pairs: Vec<(&str, &str)> = vec![("_csrf", "csrf")];
    pairs.extend_from_slice(form);
    let req = Request::post(path)
        .header(header::COOKIE, format!("yidu_session={who}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
        .unwrap();
    send(app, req).await
}

async fn send_json(
    app: &Router,
    method: &str,
    path: &str,
    who: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, format!("yidu_session={who}"))
        .header("x-csrf-token", "csrf")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let got = send(app, req).await;
    (
        got.status,
        serde_json::from_str(&got.body).unwrap_or(serde_json::Value::Null),
    )
}

fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "yiduTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, file, data) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn every_page_renders_for_the_office() {
    let w = World::new().await;
    let app = app(&w);
    for path in [
        "/staff".to_string(),
        "/staff/regions".into(),
        "/staff/regions?view=tree".into(),
        "/staff/regions?level=community&q=东&under=&parent=".into(),
        format!("/staff/regions/{}", w.t1.id),
        format!("/staff/regions/{}/edit", w.c1.id),
        format!("/staff/regions/new?parent={}", w.t1.id),
        "/staff/stations?kind=&region=".into(),
        format!("/staff/stations/{}", w.s1.id),
        format!("/staff/stations/{}/edit", w.s1.id),
        "/staff/stations/new".into(),
        "/staff/deputies?level=district".into(),
        format!("/staff/deputies/{}", w.d1.id),
        format!("/staff/deputies/{}/edit", w.d1.id),
        "/staff/deputies/new".into(),
        "/staff/units".into(),
        format!("/staff/units/{}", w.u1.id),
        format!("/staff/units/{}/edit", w.u1.id),
        "/staff/units/new".into(),
        "/staff/committees".into(),
        format!("/staff/committees/{}", w.k1.id),
        format!("/staff/committees/{}/edit", w.k1.id),
        "/staff/committees/new".into(),
        "/staff/import".into(),
    ] {
        let got = get(&app, &path, "office").await;
        assert_eq!(got.status, StatusCode::OK, "{path}: {}", got.body);
        assert!(got.body.contains("</html>"), "{path}");
    }
    let desk = get(&app, "/staff", "office").await;
    assert!(desk.body.contains("测试区"));
    let deputy = get(&app, &format!("/staff/deputies/{}", w.d1.id), "office").await;
    assert!(deputy.body.contains("13800001234"), "office sees the phone");
    let deputy = get(&app, &format!("/staff/deputies/{}", w.d1.id), "committee").await;
    assert_eq!(deputy.status, StatusCode::OK);
    assert!(
        !deputy.body.contains("13800001234"),
        "committee staff do not"
    );
    for kind in ["regions", "stations", "deputies", "units"] {
        let t = get(
            &app,
            &format!("/staff/import/{kind}/template.xlsx"),
            "office",
        )
        .await;
        assert_eq!(t.status, StatusCode::OK);
        assert!(t.bytes.starts_with(b"PK"));
        let e = get(&app, &format!("/staff/export/{kind}?q="), "office").await;
        assert_eq!(e.status, StatusCode::OK);
        assert!(e.bytes.starts_with(b"PK"));
    }
    // Not logged in: to the login page.
    let anon = send(
        &app,
        Request::get("/staff/regions").body(Body::empty()).unwrap(),
    )
    .await;
    assert!(anon.location.starts_with("/login"), "{}", anon.location);
}

#[tokio::test]
async fn pages_keep_to_the_scope() {
    let w = World::new().await;
    let app = app(&w);
    assert_eq!(
        get(&app, &format!("/staff/regions/{}", w.c2.id), "town1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/staff/deputies/{}", w.d2.id), "town1")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/staff/units", "station1").await.status,
        StatusCode::OK,
        "stations read the district's units, to assign items to them"
    );
    assert_eq!(
        get(&app, "/staff/import", "station1").await.status,
        StatusCode::FORBIDDEN
    );
    let list = get(&app, "/staff/deputies", "town1").await;
    assert!(list.body.contains("张三") && !list.body.contains("李四"));
    // Station staff edit their station's schedule through the form, nothing else.
    let form = get(
        &app,
        &format!("/staff/stations/{}/edit", w.s1.id),
        "station1",
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(!form.body.contains("name=\"name\""));
    let got = post_form(
        &app,
        &format!("/staff/stations/{}", w.s1.id),
        "station1",
        &[
            ("opening_hours", "全天"),
            ("reception_schedule", "每周一"),
            ("name", "篡改"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let s = get(&app, &format!("/staff/stations/{}", w.s1.id), "station1").await;
    assert!(s.body.contains("每周一") && s.body.contains("东站"));
    // A forged form (no CSRF token) is refused.
    let req = Request::post("/staff/regions")
        .header(header::COOKIE, "yidu_session=office")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=x&level=grid"))
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn forms_post_redirect_and_show_mistakes() {
    let w = World::new().await;
    let app = app(&w);
    let s1 = w.s1.id.to_string();
    let c1 = w.c1.id.to_string();
    let got = post_form(
        &app,
        "/staff/deputies",
        "town1",
        &[
            ("name", "赵九"),
            ("gender", "female"),
            ("region_id", &c1),
            ("levels", "township"),
            ("levels", "district"),
            ("phone", "13900001111"),
            ("station_ids", &s1),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert!(got.location.ends_with("?flash=created"), "{}", got.location);
    let page = get(&app, &got.location, "town1").await;
    assert!(
        page.body.contains("赵九") && page.body.contains("已创建") && page.body.contains("东站")
    );

    let bad = post_form(
        &app,
        "/staff/deputies",
        "town1",
        &[("name", ""), ("region_id", &c1), ("phone", "abc")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name", "levels", "phone"] {
        assert!(
            bad.body.contains(&format!("<b>{field}</b>")),
            "{field}: {}",
            bad.body
        );
    }
    // Retiring a region that still holds things says why.
    let got = post_form(
        &app,
        &format!("/staff/regions/{}/retire", w.c2.id),
        "office",
        &[],
    )
    .await;
    assert_eq!(got.status, StatusCode::CONFLICT);
    assert!(got.body.contains("联络站 1 个"));
    let got = post_form(
        &app,
        &format!("/staff/regions/{}/retire", w.g1.id),
        "town1",
        &[],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER);
    // Unit handlers edit their contacts.
    let got = post_form(
        &app,
        &format!("/staff/units/{}", w.u2.id),
        "dept",
        &[("contact_name", "新人"), ("contact_phone", "0574-11112222")],
    )
    .await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
}

#[tokio::test]
async fn photo_and_import_uploads() {
    let w = World::new().await;
    let app = app(&w);
    let (ct, body) = multipart(&[("photo", Some("me.png"), b"\x89PNG\r\n\x1a\nxxxx")]);
    let req = Request::post(format!("/staff/deputies/{}/photo?_csrf=csrf", w.d1.id))
        .header(header::COOKIE, "yidu_session=town1")
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    let photo = get(&app, &format!("/staff/deputies/{}/photo", w.d1.id), "town1").await;
    assert_eq!(photo.bytes, b"\x89PNG\r\n\x1a\nxxxx");
    let (ct, body) = multipart(&[("photo", Some("me.gif"), b"GIF89a")]);
    let req = Request::post(format!("/staff/deputies/{}/photo?_csrf=csrf", w.d1.id))
        .header(header::COOKIE, "yidu_session=town1")
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(
        send(&app, req).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A bad import lists its problems on the page; a good one redirects with a flash.
    let bad = yidu_registry::xlsx::sheet::write(
        "x",
        yidu_registry::xlsx::Kind::Units.columns(),
        &[vec![
            "所".into(),
            "城堡".into(),
            "东社区".into(),
            String::new(),
            String::new(),
        ]],
        false,
    )
    .unwrap();
    let (ct, body) = multipart(&[("kind", None, b"units"), ("file", Some("u.xlsx"), &bad)]);
    let req = Request::post("/staff/import?_csrf=csrf")
        .header(header::COOKIE, "yidu_session=town1")
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(got.body.contains("<td>2</td><td>类型</td>"), "{}", got.body);
    let good = yidu_registry::xlsx::sheet::write(
        "x",
        yidu_registry::xlsx::Kind::Units.columns(),
        &[vec![
            "所".into(),
            "其他".into(),
            "东社区".into(),
            String::new(),
            String::new(),
        ]],
        false,
    )
    .unwrap();
    let (ct, body) = multipart(&[("kind", None, b"units"), ("file", Some("u.xlsx"), &good)]);
    let req = Request::post("/staff/import?_csrf=csrf")
        .header(header::COOKIE, "yidu_session=town1")
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::SEE_OTHER, "{}", got.body);
    assert!(got.location.contains("flash=imported"));
}

#[tokio::test]
async fn the_json_api() {
    let w = World::new().await;
    let app = app(&w);
    let (st, list) = send_json(
        &app,
        "GET",
        "/api/v1/deputies?q=张&page=1&per_page=10",
        "town1",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["code"], w.d1.code);
    let (st, _) = send_json(
        &app,
        "GET",
        &format!("/api/v1/deputies/{}", w.d2.id),
        "town1",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, body) = send_json(
        &app,
        "POST",
        "/api/v1/stations",
        "town1",
        serde_json::json!({"region_id": w.c1.id, "kind": "point", "name": "新点", "partners": ["party_service"]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    assert_eq!(body["code"].as_str().unwrap().len(), 8);
    let (st, body) = send_json(
        &app,
        "POST",
        "/api/v1/stations",
        "town1",
        serde_json::json!({"region_id": w.c1.id, "kind": "castle", "name": ""}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<&str> = body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"kind") && fields.contains(&"name"),
        "{body}"
    );
    let (st, _) = send_json(
        &app,
        "PATCH",
        &format!("/api/v1/stations/{}", w.s2.id),
        "town1",
        serde_json::json!({"name": "x"}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = send_json(
        &app,
        "POST",
        &format!("/api/v1/regions/{}/retire", w.t2.id),
        "office",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    let (st, tree) = send_json(
        &app,
        "GET",
        "/api/v1/regions/tree",
        "town1",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(tree[0]["children"].as_array().unwrap().len(), 1);
    let (st, _) = send_json(
        &app,
        "GET",
        "/api/v1/stations",
        "dept",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "handlers do not read stations");
    let (st, _) = send_json(
        &app,
        "GET",
        "/api/v1/regions?parent=abc",
        "office",
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Import through the API: the body is the file.
    let file = yidu_registry::xlsx::sheet::write(
        "x",
        yidu_registry::xlsx::Kind::Units.columns(),
        &[vec![
            "交通局".into(),
            "政府部门".into(),
            "测试区".into(),
            String::new(),
            String::new(),
        ]],
        false,
    )
    .unwrap();
    let req = Request::post("/api/v1/import/units")
        .header(header::COOKIE, "yidu_session=office")
        .header("x-csrf-token", "csrf")
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(file))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.contains("\"created\":1"));
    let req = Request::post("/api/v1/import/units")
        .header(header::COOKIE, "yidu_session=office")
        .header("x-csrf-token", "csrf")
        .body(Body::from("not a spreadsheet"))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(got.body.contains("文件"));
    // Photos through the API.
    let req = Request::put(format!("/api/v1/deputies/{}/photo", w.d1.id))
        .header(header::COOKIE, "yidu_session=office")
        .header("x-csrf-token", "csrf")
        .body(Body::from(&b"\xFF\xD8\xFF\xE0jpeg"[..]))
        .unwrap();
    let got = send(&app, req).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.body);
    assert!(got.body.contains("\"has_photo\":true"));
    // The OpenAPI document lists every path.
    let doc = <yidu_registry::api::RegistryApi as utoipa::OpenApi>::openapi();
    let paths: Vec<&String> = doc.paths.paths.keys().collect();
    for p in [
        "/api/v1/regions",
        "/api/v1/deputies/{id}/photo",
        "/api/v1/import/{kind}",
        "/api/v1/committees/{id}/retire",
    ] {
        assert!(paths.iter().any(|x| x.as_str() == p), "{p} in {paths:?}");
    }
}
