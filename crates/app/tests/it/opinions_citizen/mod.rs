//! The citizen side of the opinions room (群众端): categories, submitting through the API
//! and through the pages (with photos), idempotency, the honeypot, rate limits, tracking
//! with the query code, rating, and that no staff name or phone number ever reaches a
//! citizen's page or an API answer for someone who does not handle the item.

use crate::helpers::{csrf_in, multipart, TestApp, TestResponse};
use axum::body::Body;
use axum::http::{header, Request};
use serde_json::{json, Value};
use yidu_db::Row;
use yidu_kernel::Principal;
use yidu_opinions::model::MoveInput;
use yidu_opinions::service::{categories, moves, read};

mod after_reply;
mod limits;
mod tracking_clash;

const PHONE: &str = "13912345678";

async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    categories::seed_default_if_empty(&app.db).await.unwrap();
    app
}

fn codes(app: &TestApp) -> (String, String) {
    let s = &app.demo.as_ref().unwrap().summary;
    (s.deputy_code.clone(), s.station_code.clone())
}

async fn post_opinion(app: &TestApp, body: &Value, key: Option<&str>) -> TestResponse {
    let mut b = Request::post("/api/v1/opinions").header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    app.request(b.body(Body::from(body.to_string())).unwrap())
        .await
}

async fn count(app: &TestApp) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM opinions")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn count_no(app: &TestApp, tracking_no: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM opinions WHERE tracking_no = $1")
        .bind(tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn id_of(app: &TestApp, tracking_no: &str) -> i64 {
    sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = (data.len() as u32).to_be_bytes().to_vec();
    let mut typed = kind.to_vec();
    typed.extend_from_slice(data);
    v.extend_from_slice(&typed);
    v.extend_from_slice(&crc32(&typed).to_be_bytes());
    v
}

/// A valid 1x1 grey PNG with a text chunk (which yidu must strip).
fn tiny_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // 1x1, bit depth 8, greyscale, default compression, filter and interlace.
    png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    png.extend(chunk(b"tEXt", b"Comment\0taken at home"));
    // zlib stream of one stored block holding the scanline [filter 0, pixel 0].
    png.extend(chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
        ],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// The value of attribute `attr` right after `marker` in the page.
fn after(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in page"));
    let rest = &html[at..];
    let a = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let end = rest[a..].find('"').unwrap() + a;
    rest[a..end].replace("&amp;", "&")
}

/// A page form as rendered: where it posts and its idempotency key.
struct Rendered {
    action: String,
    key: String,
}

async fn render_form(b: &crate::helpers::Browser<'_>, path: &str) -> Rendered {
    let page = b.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("accept=\"image/jpeg,image/png\""));
    assert!(html.contains("class=\"hp\""), "the honeypot is on the form");
    assert!(csrf_in(&html).is_some());
    Rendered {
        action: after(&html, "<form method=\"post\" action=", "action"),
        key: after(&html, "name=\"idempotency_key\"", "value"),
    }
}

async fn post_multipart(
    app: &TestApp,
    b: &crate::helpers::Browser<'_>,
    action: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> TestResponse {
    // The form's action holds the token; the form's own action may lack it if someone
    // takes it away, so take it from the rendered action as a browser would.
    let (ct, body) = multipart(parts);
    let cookie = format!(
        "yidu_csrf={}",
        b.cookie("yidu_csrf").expect("anonymous CSRF cookie")
    );
    let req = Request::post(action)
        .header(header::CONTENT_TYPE, ct)
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    app.request(req).await
}

fn between<'a>(html: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\">");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        + marker.len();
    let end = html[at..].find('<').unwrap() + at;
    &html[at..end]
}

#[tokio::test]
async fn the_category_tree_is_seeded_once_and_listed() {
    let app = TestApp::spawn_empty().await;
    let created = categories::seed_default_if_empty(&app.db).await.unwrap();
    assert!(created > 40, "{created}");
    assert_eq!(
        categories::seed_default_if_empty(&app.db).await.unwrap(),
        0,
        "seeded only once"
    );
    let r = app.get("/api/v1/categories", None).await;
    assert_eq!(r.status, 200);
    let tree = r.json();
    let tops = tree.as_array().unwrap();
    assert_eq!(tops.len(), 12);
    assert_eq!(tops[0]["name"], "城乡建设");
    assert!(!tops[0]["name_en"].as_str().unwrap().is_empty());
    let kids = tops[0]["children"].as_array().unwrap();
    assert!((3..=6).contains(&kids.len()));
    assert_eq!(kids[0]["parent_id"], tops[0]["id"]);
    assert!(kids[0]["path"]
        .as_str()
        .unwrap()
        .starts_with(tops[0]["path"].as_str().unwrap()));
}

#[tokio::test]
async fn a_three_level_csv_loads_all_or_nothing() {
    let app = TestApp::spawn_empty().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let bad = "一级分类,二级分类,三级分类\n水务,供水,停水\n,排水,内涝\n水务,,漏水\n";
    match categories::import_csv(&o, bad).await {
        Err(yidu_kernel::AppError::Validation(v)) => {
            let rows: Vec<_> = v.iter().map(|e| e.row).collect();
            assert_eq!(rows, [Some(3), Some(4)], "{v:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        categories::list(&o).await.unwrap().is_empty(),
        "nothing half-written"
    );
    let good = "\u{feff}一级分类,二级分类,三级分类\n水务,供水,停水\n水务,供水,水质\n水务,排水,\"内涝,积水\"\n";
    assert_eq!(categories::import_csv(&o, good).await.unwrap(), 6);
    assert_eq!(
        categories::import_csv(&o, good).await.unwrap(),
        0,
        "loading again adds nothing"
    );
    let tree = categories::list(&o).await.unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].children.len(), 2);
    assert_eq!(tree[0].children[0].children.len(), 2);
    assert_eq!(tree[0].children[1].children[0].name, "内涝,积水");
}

#[tokio::test]
async fn submit_through_the_api_with_and_without_personal_data() {
    let app = seeded().await;
    let (deputy, station) = codes(&app);
    let cat = app.get("/api/v1/categories", None).await.json()[0]["children"][0]["id"].clone();
    let anon = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "category_id": cat, "title": "路灯不亮", "body": "小区门口路灯坏了一个月"}),
        None,
    )
    .await;
    assert_eq!(anon.status, 200, "{}", anon.text());
    let receipt = anon.json();
    assert_eq!(receipt["status"], "submitted");
    let no = receipt["tracking_no"].as_str().unwrap();
    let code = receipt["query_code"].as_str().unwrap();

    // With a phone but without consent: refused, naming the field.
    let mut with = json!({"station_code": station, "title": "噪音", "body": "夜间施工", "name": "王五", "phone": PHONE});
    let r = post_opinion(&app, &with, None).await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"][0]["field"], "consent");
    with["consent"] = json!(true);
    let r = post_opinion(&app, &with, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let named = r.json();
    let row = sqlx::query("SELECT citizen_phone_enc, citizen_name_enc, station_id FROM opinions WHERE tracking_no = $1")
        .bind(named["tracking_no"].as_str().unwrap())
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (phone_enc, name_enc): (String, String) = (row.get(0), row.get(1));
    assert!(
        !phone_enc.is_empty() && !phone_enc.contains(PHONE),
        "sealed at rest"
    );
    assert!(!name_enc.contains("王五"));
    let station_id: Option<i64> = row.get(2);
    assert_eq!(
        station_id,
        Some(app.demo.as_ref().unwrap().summary.station_id)
    );

    // Tracking shows the item; neither the phone nor the name comes back.
    let t = app
        .get(&format!("/api/v1/track/{no}?code={code}"), None)
        .await;
    assert_eq!(t.status, 200, "{}", t.text());
    assert_eq!(t.json()["status"], "submitted");
    assert_eq!(t.json()["title"], "路灯不亮");
    let t2 = app
        .get(
            &format!(
                "/api/v1/track/{}?code={}",
                named["tracking_no"].as_str().unwrap(),
                named["query_code"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(t2.status, 200);
    assert!(!t2.text().contains(PHONE) && !t2.text().contains("王五"));

    // The general entry needs a place; an unknown code is 404.
    let r = post_opinion(&app, &json!({"title": "t", "body": "b"}), None).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"][0]["field"], "grid_id");
    let r = post_opinion(
        &app,
        &json!({"deputy_code": "NOPE", "title": "t", "body": "b"}),
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn the_same_idempotency_key_gives_one_record_and_the_same_receipt() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let body = json!({"deputy_code": deputy, "title": "井盖丢失", "body": "路口井盖不见了"});
    let before = count(&app).await;
    let a = post_opinion(&app, &body, Some("k-123")).await;
    let b = post_opinion(&app, &body, Some("k-123")).await;
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 200);
    assert_eq!(a.json(), b.json(), "same receipt, query code included");
    assert_eq!(count(&app).await, before + 1);
    let c = post_opinion(&app, &body, Some("k-456")).await;
    assert_ne!(c.json()["tracking_no"], a.json()["tracking_no"]);
    assert_eq!(count(&app).await, before + 2);
}

/// Concurrent submissions share a group commit on SQLite: retries racing with the same
/// key still get the first receipt and store nothing new, each other submission is
/// stored once, and the audit chain stays intact although they shared a transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_with_one_key_store_once_and_the_chain_holds() {
    let app = seeded().await;
    let (deputy, station) = codes(&app);
    let same = json!({"deputy_code": deputy, "title": "路灯不亮", "body": "幸福路路灯坏了"});
    let other = json!({"station_code": station, "title": "积水", "body": "雨后积水严重"});
    let before = count(&app).await;
    let (a, b, c, d, e, f) = tokio::join!(
        post_opinion(&app, &same, Some("race-1")),
        post_opinion(&app, &same, Some("race-1")),
        post_opinion(&app, &other, Some("race-2")),
        post_opinion(&app, &same, Some("race-1")),
        post_opinion(&app, &other, None),
        post_opinion(&app, &same, Some("race-1")),
    );
    for r in [&a, &b, &c, &d, &e, &f] {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    for r in [&b, &d, &f] {
        assert_eq!(r.json(), a.json(), "the first receipt, query code included");
    }
    assert_eq!(count(&app).await, before + 3);
    let no = a.json()["tracking_no"].as_str().unwrap().to_string();
    assert_eq!(count_no(&app, &no).await, 1);
    let report = yidu_audit::verify(&app.db).await.unwrap();
    assert!(report.first_problem.is_none(), "{report:?}");
}

#[tokio::test]
async fn the_page_form_takes_photos_refuses_other_files_and_never_stores_twice() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let b = app.browser();
    let form = render_form(&b, &format!("/c/d/{deputy}/new")).await;
    assert!(form
        .action
        .starts_with(&format!("/c/d/{deputy}/new?_csrf=")));
    assert_eq!(form.key.len(), 32);

    // A file that is not an image: the form comes back with the problem and what was typed.
    let refused = post_multipart(
        &app,
        &b,
        &form.action,
        &[
            ("idempotency_key", None, form.key.as_bytes()),
            ("title", None, "垃圾没人清运".as_bytes()),
            ("body", None, "三天没有清运了".as_bytes()),
            (
                "photos",
                Some("x.svg"),
                b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            ),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    let html = refused.text();
    assert!(html.contains("photos[0]"), "names the photo");
    assert!(html.contains("value=\"垃圾没人清运\""), "keeps the title");
    assert!(html.contains("三天没有清运了</textarea>"), "keeps the body");
    assert_eq!(
        after(&html, "name=\"idempotency_key\"", "value"),
        form.key,
        "same key on the re-rendered form"
    );

    // With a real photo: the receipt shows the tracking number and query code.
    let png = tiny_png();
    let parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("idempotency_key", None, form.key.as_bytes()),
        ("title", None, "垃圾没人清运".as_bytes()),
        ("body", None, "三天没有清运了".as_bytes()),
        ("consent", None, b"1"),
        ("phone", None, PHONE.as_bytes()),
        ("photos", Some("a.png"), &png),
        ("photos", Some(""), b""),
    ];
    let before = count(&app).await;
    let ok = post_multipart(&app, &b, &form.action, &parts).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let html = ok.text();
    let no = between(&html, "tracking-no").to_string();
    let code = between(&html, "query-code").to_string();
    assert_eq!(no.len(), 12);
    assert_eq!(code.len(), 6);
    assert!(html.contains(&format!("/track?no={no}")));
    assert!(!html.contains(PHONE));
    let id = id_of(&app, &no).await;
    let files = sqlx::query("SELECT bytes FROM opinion_files WHERE opinion_id = $1")
        .bind(id)
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    let stored: Vec<u8> = files[0].get(0);
    assert!(
        stored.starts_with(b"\x89PNG") && !stored.windows(4).any(|w| w == b"tEXt"),
        "text chunk stripped"
    );

    // The same rendered form sent again (double click, resend): the same receipt, one record,
    // also once the near-duplicate index (refreshed at most once a second) holds the first
    // copy: a resend is answered before 同问 is offered.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let again = post_multipart(&app, &b, &form.action, &parts).await;
    assert_eq!(again.status, 200);
    assert_eq!(between(&again.text(), "tracking-no"), no);
    assert_eq!(count(&app).await, before + 1);
    assert_eq!(count_no(&app, &no).await, 1);

    // Without the CSRF token in the action: refused.
    let no_token = post_multipart(&app, &b, &format!("/c/d/{deputy}/new"), &parts).await;
    assert_eq!(no_token.status, 400);

    // A fresh rendering is a new form: a new key.
    let second = render_form(&b, &format!("/c/d/{deputy}/new")).await;
    assert_ne!(second.key, form.key);
}

#[tokio::test]
async fn the_general_entry_and_station_form_offer_places_by_township() {
    let app = seeded().await;
    let (_, station) = codes(&app);
    let b = app.browser();
    let page = b.get("/new").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("<optgroup"), "places grouped by township");
    assert!(
        html.contains("name=\"grid_id\" required"),
        "the general entry needs a place"
    );
    let grid: i64 = sqlx::query("SELECT id FROM regions WHERE level = 'grid' ORDER BY id LIMIT 1")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert!(html.contains(&format!("<option value=\"{grid}\"")));
    let form = render_form(&b, "/new").await;
    let grid_s = grid.to_string();
    let r = post_multipart(
        &app,
        &b,
        &form.action,
        &[
            ("idempotency_key", None, form.key.as_bytes()),
            ("title", None, "路面坑洼".as_bytes()),
            ("body", None, "雨天积水".as_bytes()),
            ("grid_id", None, grid_s.as_bytes()),
            ("latitude", None, b"30.5"),
            ("longitude", None, b"abc"),
        ],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(r.text().contains("不是有效的数字"));
    assert!(
        r.text()
            .contains(&format!("<option value=\"{grid}\" selected")),
        "keeps the chosen place"
    );

    let s = b.get(&format!("/c/s/{station}/new")).await;
    assert_eq!(s.status, 200);
    assert_eq!(b.get("/c/s/NOPE/new").await.status, 404);
    // The code pages link to the forms and to tracking.
    let code_page = app.get(&format!("/c/s/{station}"), None).await.text();
    assert!(
        code_page.contains(&format!("/c/s/{station}/new"))
            && code_page.contains("向联络站反映问题")
    );
    assert!(code_page.contains("href=\"/track\""));
    let (deputy, _) = codes(&app);
    let code_page = app.get(&format!("/c/d/{deputy}"), None).await.text();
    assert!(
        code_page.contains(&format!("/c/d/{deputy}/new")) && code_page.contains("向代表反映问题")
    );
}

#[tokio::test]
async fn bots_filling_the_honeypot_are_refused() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let before = count(&app).await;
    let r = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "title": "广告", "body": "spam", "website": "http://spam.example"}),
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    let b = app.browser();
    let form = render_form(&b, &format!("/c/d/{deputy}/new")).await;
    let r = post_multipart(
        &app,
        &b,
        &form.action,
        &[
            ("title", None, "广告".as_bytes()),
            ("body", None, b"spam"),
            ("website", None, b"http://spam.example"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(count(&app).await, before);
}

#[tokio::test]
async fn rate_limits_refuse_with_a_clear_message() {
    let app = TestApp::spawn_with(|c| c.opinions.per_client_per_hour = 2).await;
    let demo = yidu_app::demo::load(&app.db, &app.config).await.unwrap();
    let deputy = demo.summary.deputy_code.clone();
    let body = json!({"deputy_code": deputy, "title": "t", "body": "b"});
    assert_eq!(post_opinion(&app, &body, None).await.status, 200);
    assert_eq!(post_opinion(&app, &body, None).await.status, 200);
    let r = post_opinion(&app, &body, None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["code"], "rate_limited");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("每小时最多提交 2 条"),
        "{}",
        r.text()
    );
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    // A retry of an accepted submission with its key is not a new submission.
    let b = app.browser();
    let form = render_form(&b, &format!("/c/d/{deputy}/new")).await;
    let page = post_multipart(
        &app,
        &b,
        &form.action,
        &[
            ("title", None, b"t"),
            ("body", None, b"b"),
            ("idempotency_key", None, form.key.as_bytes()),
        ],
    )
    .await;
    assert_eq!(page.status, 429);
    assert!(page.text().contains("提交过于频繁"));
    assert!(page.text().contains("每小时最多提交 2 条"));
}

#[tokio::test]
async fn a_wrong_code_looks_like_a_wrong_number() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let r = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "title": "t", "body": "b"}),
        None,
    )
    .await;
    let no = r.json()["tracking_no"].as_str().unwrap().to_string();
    let wrong_code = app
        .get(&format!("/api/v1/track/{no}?code=ZZZZZZ"), None)
        .await;
    let wrong_no = app
        .get("/api/v1/track/000000ZZZZZZ?code=ZZZZZZ", None)
        .await;
    assert_eq!(wrong_code.status, 404);
    assert_eq!(wrong_no.status, 404);
    assert_eq!(wrong_code.body, wrong_no.body);

    let b = app.browser();
    assert_eq!(b.get("/track").await.status, 200);
    let p1 = b
        .post_form(
            "/track",
            "/track",
            &[("tracking_no", &no), ("code", "ZZZZZZ")],
        )
        .await;
    let p2 = b
        .post_form(
            "/track",
            "/track",
            &[("tracking_no", "000000ZZZZZZ"), ("code", "ZZZZZZ")],
        )
        .await;
    assert_eq!(p1.status, 404);
    assert_eq!(p2.status, 404);
    let strip = |s: String, no: &str| s.replace(no, "");
    assert_eq!(
        strip(p1.text(), &no),
        strip(p2.text(), "000000ZZZZZZ"),
        "the same page either way"
    );
}
