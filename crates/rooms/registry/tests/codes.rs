//! The two codes and the demo district, on the backend under test (SQLite by default,
//! PostgreSQL when YIDU_TEST_POSTGRES is set).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;
use yidu_db::testing::{fresh_database_url, TempGuard};
use yidu_db::{Db, Row};
use yidu_kernel::{Principal, Role};
use yidu_registry::codes::{public_router, qr};
use yidu_registry::demo::{load_demo, DemoSummary};
use yidu_web::auth::BoxFut;
use yidu_web::metrics::Metrics;
use yidu_web::{AppState, Authenticator, WebConfig};

async fn fresh_db() -> (Db, TempGuard) {
    let (url, guard) = fresh_database_url().await.expect("test database");
    let db = Db::connect(&url).await.expect("connect");
    yidu_db::migrate::run(&db).await.expect("migrate");
    (db, guard)
}

async fn demo_db() -> (Db, TempGuard, DemoSummary) {
    let (db, guard) = fresh_db().await;
    let started = Instant::now();
    let summary = load_demo(&db).await.expect("demo loads");
    eprintln!(
        "demo load on {}: {} ms",
        db.backend().name(),
        started.elapsed().as_millis()
    );
    (db, guard, summary)
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(db.pool()).await.unwrap().get(0)
}

#[tokio::test]
async fn demo_district_has_the_promised_shape() {
    let (db, _g, s) = demo_db().await;
    for (level, n) in [
        ("district", 1),
        ("township", 8),
        ("community", 60),
        ("grid", 240),
    ] {
        let got: i64 = sqlx::query("SELECT COUNT(*) FROM regions WHERE level = $1")
            .bind(level)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(got, n, "regions of level {level}");
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM regions WHERE level = 'grid' AND geojson IS NOT NULL"
        )
        .await,
        60
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM stations").await, 20);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM stations WHERE kind = 'hub'").await,
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM deputies").await, 300);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM units").await, 40);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM committees").await, 5);
    // Every region's path is its parent's path plus its own id; the district is the root.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM regions c JOIN regions p ON p.id = c.parent_id
             WHERE c.path <> p.path || CAST(c.id AS TEXT) || '/'"
        )
        .await,
        0
    );
    assert_eq!(s.district_path, format!("/{}/", s.district_id));
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM regions WHERE parent_id IS NULL").await,
        1
    );
    // Every station has deputies; every deputy serves at one or two stations.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM stations s WHERE NOT EXISTS (SELECT 1 FROM deputy_stations ds WHERE ds.station_id = s.id)"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM deputies d WHERE (SELECT COUNT(*) FROM deputy_stations ds WHERE ds.deputy_id = d.id) NOT IN (1, 2)"
        )
        .await,
        0
    );
    // The summary's ids fit together: the deputy serves at the station in the township.
    let linked: i64 = sqlx::query(
        "SELECT COUNT(*) FROM deputy_stations WHERE deputy_id = $1 AND station_id = $2",
    )
    .bind(s.deputy_id)
    .bind(s.station_id)
    .fetch_one(db.pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(linked, 1);
    let station_region: i64 = sqlx::query("SELECT region_id FROM stations WHERE id = $1")
        .bind(s.station_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(station_region, s.township_id);
    let unit: String = sqlx::query("SELECT name FROM units WHERE id = $1")
        .bind(s.unit_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(unit.contains("住房和城乡建设局"), "{unit}");
    let committee: String = sqlx::query("SELECT name FROM committees WHERE id = $1")
        .bind(s.committee_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(committee, "社会建设工委");
    // One audit record for the load, and it verifies.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'demo.load'"
        )
        .await,
        1
    );
    let report = yidu_audit::verify(&db).await.unwrap();
    assert!(report.first_problem.is_none());
    // A second load is refused and changes nothing.
    assert!(load_demo(&db).await.is_err());
    assert_eq!(count(&db, "SELECT COUNT(*) FROM deputies").await, 300);
}

async fn snapshot(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT code || ' ' || name || ' ' || levels || ' ' || phone FROM deputies ORDER BY code",
        "SELECT code || ' ' || name || ' ' || kind || ' ' || address FROM stations ORDER BY code",
        "SELECT level || ' ' || name FROM regions ORDER BY level, name",
        "SELECT name || ' ' || contact_name FROM units ORDER BY name",
    ] {
        for r in sqlx::query(sql).fetch_all(db.pool()).await.unwrap() {
            out.push(r.get::<String, _>(0));
        }
    }
    out
}

#[tokio::test]
async fn demo_district_is_deterministic() {
    let (a, _ga, sa) = demo_db().await;
    let (b, _gb, sb) = demo_db().await;
    assert_eq!(sa.deputy_code, sb.deputy_code);
    assert_eq!(sa.station_code, sb.station_code);
    let (x, y) = (snapshot(&a).await, snapshot(&b).await);
    assert_eq!(x.len(), 300 + 20 + 309 + 40);
    assert_eq!(x, y);
    // Names look Chinese and are unique among deputies.
    let names: std::collections::HashSet<String> = sqlx::query("SELECT name FROM deputies")
        .fetch_all(a.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names.len(), 300);
    assert!(names
        .iter()
        .all(|n| n.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
}

// ----- pages ------------------------------------------------------------------------

/// Sessions named after a role: "office" (the district), "town" (the first township),
/// "town2" (another township).
struct StubAuth {
    district: i64,
    township: i64,
    other_township: i64,
}

impl Authenticator for StubAuth {
    fn session<'a>(&'a self, token: &'a str) -> BoxFut<'a, Option<(Principal, String)>> {
        Box::pin(async move {
            let (role, scope) = match token {
                "office" => (Role::Office, self.district),
                "town" => (Role::Township, self.township),
                "town2" => (Role::Township, self.other_township),
                _ => return None,
            };
            let path = if scope == self.district {
                format!("/{scope}/")
            } else {
                format!("/{}/{scope}/", self.district)
            };
            Some((
                Principal {
                    user_id: 1,
                    username: token.into(),
                    display_name: token.into(),
                    role,
                    scope_id: Some(scope),
                    scope_path: path,
                    must_change_password: false,
                },
                "csrf".into(),
            ))
        })
    }
    fn bearer<'a>(&'a self, _token: &'a str) -> BoxFut<'a, Option<Principal>> {
        Box::pin(async { None })
    }
}

const PUBLIC_URL: &str = "https://yidu.example.gov.cn";

async fn app(db: &Db, s: &DemoSummary) -> Router {
    let other: i64 = sqlx::query(
        "SELECT id FROM regions WHERE level = 'township' AND id <> $1 ORDER BY id LIMIT 1",
    )
    .bind(s.township_id)
    .fetch_one(db.pool())
    .await
    .unwrap()
    .get(0);
    let state = AppState {
        db: db.clone(),
        config: Arc::new(WebConfig {
            public_url: PUBLIC_URL.into(),
            ..WebConfig::default()
        }),
        auth: Arc::new(StubAuth {
            district: s.district_id,
            township: s.township_id,
            other_township: other,
        }),
        metrics: Arc::new(Metrics::default()),
    };
    public_router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            yidu_web::middleware::shell,
        ))
        .with_state(state)
}

struct Got {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(app: &Router, path: &str, session: Option<&str>) -> Got {
    let mut req = Request::builder().uri(path);
    if let Some(s) = session {
        req = req.header(header::COOKIE, format!("yidu_session={s}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = axum::body::to_bytes(resp.into_body(), 10 << 20)
        .await
        .unwrap()
        .to_vec();
    Got {
        status,
        content_type,
        body,
    }
}

#[tokio::test]
async fn public_deputy_page_shows_identity_and_duties_but_no_phone() {
    let (db, _g, s) = demo_db().await;
    let app = app(&db, &s).await;
    let row = sqlx::query("SELECT name, duties, phone, term FROM deputies WHERE id = $1")
        .bind(s.deputy_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    let (name, duties, phone, term): (String, String, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));

    let page = get(&app, &format!("/c/d/{}", s.deputy_code), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains(&name));
    assert!(
        html.contains(duties.lines().next().unwrap()),
        "duties shown"
    );
    assert!(html.contains(&term));
    assert!(html.contains("区人大代表"), "levels shown");
    assert!(html.contains("代表联络站"), "stations shown");
    assert!(html.contains("接待"), "reception days shown");
    assert!(!html.contains(&phone), "no phone on a public page");
    // No phone of any deputy at all.
    for r in sqlx::query("SELECT phone FROM deputies")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        assert!(!html.contains(&r.get::<String, _>(0)));
    }
    // Lower-case codes work too; the photo is a placeholder with the surname.
    let lower = get(
        &app,
        &format!("/c/d/{}", s.deputy_code.to_lowercase()),
        None,
    )
    .await;
    assert_eq!(lower.status, StatusCode::OK);
    let photo = get(&app, &format!("/c/d/{}/photo", s.deputy_code), None).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert!(photo.content_type.starts_with("image/svg+xml"));
    assert!(photo.text().contains(name.chars().next().unwrap()));

    // English on request.
    let en = Request::builder()
        .uri(format!("/c/d/{}", s.deputy_code))
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(en).await.unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Liaison stations"));
}

#[tokio::test]
async fn station_page_lists_its_deputies_and_unknown_codes_are_404() {
    let (db, _g, s) = demo_db().await;
    let app = app(&db, &s).await;
    let page = get(&app, &format!("/c/s/{}", s.station_code), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(&format!("/c/d/{}", s.deputy_code)),
        "links to its deputies"
    );
    assert!(html.contains("党群服务中心"), "partner centre shown");
    for r in sqlx::query("SELECT phone FROM deputies")
        .fetch_all(db.pool())
        .await
        .unwrap()
    {
        assert!(!html.contains(&r.get::<String, _>(0)));
    }

    for path in [
        "/c/d/ZZZZ2345",
        "/c/s/ZZZZ2345",
        "/c/d/bad%20code",
        "/c/d/ZZZZ2345/qr.svg",
        "/c/s/ZZZZ2345/qr.png",
    ] {
        let got = get(&app, path, None).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
    }
    let missing = get(&app, "/c/d/ZZZZ2345", None).await;
    assert!(missing.text().contains("没有找到"));

    // A retired deputy's code stops working.
    sqlx::query("UPDATE deputies SET retired = 1 WHERE id = $1")
        .bind(s.deputy_id)
        .execute(db.pool())
        .await
        .unwrap();
    let gone = get(&app, &format!("/c/d/{}", s.deputy_code), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let station = get(&app, &format!("/c/s/{}", s.station_code), None).await;
    assert!(!station.text().contains(&format!("/c/d/{}", s.deputy_code)));
}

#[tokio::test]
async fn qr_codes_encode_the_public_url() {
    let (db, _g, s) = demo_db().await;
    let app = app(&db, &s).await;
    let expected = qr::Matrix::encode(&format!("{PUBLIC_URL}/c/d/{}", s.deputy_code)).unwrap();

    let svg = get(&app, &format!("/c/d/{}/qr.svg", s.deputy_code), None).await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(svg.content_type.starts_with("image/svg+xml"));
    let text = svg.text();
    assert!(text.starts_with("<svg") && text.ends_with("</svg>"));
    // The path's runs add up to the dark modules of the expected symbol.
    let d = text
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let dark: usize = d
        .split('z')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split('h')
                .nth(1)
                .unwrap()
                .split('v')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(dark, expected.dark_count());

    let png = get(&app, &format!("/c/d/{}/qr.png", s.deputy_code), None).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.content_type, "image/png");
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
    let reader = png::Decoder::new(std::io::Cursor::new(png.body.clone()))
        .read_info()
        .unwrap();
    let side = (expected.full_width() * qr::DEFAULT_PNG_SCALE as usize) as u32;
    assert_eq!((reader.info().width, reader.info().height), (side, side));
    // Decode the pixels and compare every module with the matrix.
    let mut reader = reader;
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let scale = qr::DEFAULT_PNG_SCALE as usize;
    let pixel_dark = |x: usize, y: usize| {
        let byte = buf[y * frame.line_size + x / 8];
        byte & (0x80 >> (x % 8)) == 0
    };
    for my in 0..expected.width {
        for mx in 0..expected.width {
            let (cx, cy) = (
                (mx + qr::QUIET_ZONE) * scale + scale / 2,
                (my + qr::QUIET_ZONE) * scale + scale / 2,
            );
            assert_eq!(
                pixel_dark(cx, cy),
                expected.is_dark(mx, my),
                "module {mx},{my}"
            );
        }
    }
    assert!(!pixel_dark(1, 1), "quiet zone is light");

    let small = get(
        &app,
        &format!("/c/s/{}/qr.png?scale=3", s.station_code),
        None,
    )
    .await;
    assert_eq!(small.status, StatusCode::OK);
    let st = qr::Matrix::encode(&format!("{PUBLIC_URL}/c/s/{}", s.station_code)).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(small.body))
        .read_info()
        .unwrap();
    assert_eq!(info.info().width as usize, st.full_width() * 3);
    let ssvg = get(&app, &format!("/c/s/{}/qr.svg", s.station_code), None).await;
    assert_eq!(ssvg.status, StatusCode::OK);
}

#[tokio::test]
async fn badge_sheet_is_for_staff_in_scope() {
    let (db, _g, s) = demo_db().await;
    let app = app(&db, &s).await;
    let path = format!("/staff/stations/{}/badges", s.station_id);

    let anon = get(&app, &path, None).await;
    assert!(anon.status.is_redirection(), "login first");

    let n = count(
        &db,
        &format!(
            "SELECT COUNT(*) FROM deputy_stations WHERE station_id = {}",
            s.station_id
        ),
    )
    .await as usize;
    for who in ["office", "town"] {
        let got = get(&app, &path, Some(who)).await;
        assert_eq!(got.status, StatusCode::OK, "{who}");
        let html = got.text();
        assert_eq!(html.matches("class=\"badge\"").count(), n);
        assert_eq!(html.matches("class=\"badge-sheet\"").count(), n.div_ceil(8));
        assert!(html.contains(&format!("/c/d/{}/qr.svg", s.deputy_code)));
    }
    let out = get(&app, &path, Some("town2")).await;
    assert_eq!(
        out.status,
        StatusCode::NOT_FOUND,
        "another township learns nothing"
    );
    let nothing = get(&app, "/staff/stations/999999/badges", Some("office")).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);

    let card = get(
        &app,
        &format!("/staff/codes/d/{}", s.deputy_code),
        Some("town"),
    )
    .await;
    assert_eq!(card.status, StatusCode::OK);
    assert!(card
        .text()
        .contains(&format!("{PUBLIC_URL}/c/d/{}", s.deputy_code)));
    let card = get(
        &app,
        &format!("/staff/codes/s/{}", s.station_code),
        Some("town2"),
    )
    .await;
    assert_eq!(card.status, StatusCode::NOT_FOUND);
    let card = get(
        &app,
        &format!("/staff/codes/s/{}", s.station_code),
        Some("office"),
    )
    .await;
    assert_eq!(card.status, StatusCode::OK);
}

#[tokio::test]
async fn uploaded_photo_is_served_with_validation() {
    let (db, _g, s) = demo_db().await;
    let app = app(&db, &s).await;
    // A 1×1 PNG made by the QR renderer is as good a photo as any.
    let bytes = qr::png(&qr::Matrix::encode("x").unwrap(), 1).unwrap();
    sqlx::query("INSERT INTO deputy_photos (deputy_id, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4)")
        .bind(s.deputy_id)
        .bind("image/png")
        .bind(bytes.clone())
        .bind(1_700_000_000_000i64)
        .execute(db.pool())
        .await
        .unwrap();
    let page = get(&app, &format!("/c/d/{}", s.deputy_code), None).await;
    assert!(page
        .text()
        .contains(&format!("src=\"/c/d/{}/photo\"", s.deputy_code)));
    let photo = get(&app, &format!("/c/d/{}/photo", s.deputy_code), None).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.content_type, "image/png");
    assert_eq!(photo.body, bytes);
    let again = Request::builder()
        .uri(format!("/c/d/{}/photo", s.deputy_code))
        .header(header::IF_NONE_MATCH, "\"p1700000000000\"")
        .body(Body::empty())
        .unwrap();
    let resp = app.clone().oneshot(again).await.unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
    // A stored SVG "photo" (could carry script) is never served as such.
    sqlx::query("UPDATE deputy_photos SET content_type = 'image/svg+xml' WHERE deputy_id = $1")
        .bind(s.deputy_id)
        .execute(db.pool())
        .await
        .unwrap();
    let svg = get(&app, &format!("/c/d/{}/photo", s.deputy_code), None).await;
    assert!(svg.content_type.starts_with("image/svg+xml"));
    assert_ne!(svg.body, bytes, "placeholder instead");
}
