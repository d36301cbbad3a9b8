//! Open311 GeoReport v2 conformance: a channel made with `yidu channel add`, POST and GET
//! requests in JSON and XML, the spec's errors, revoked keys and category limits. JSON
//! answers are checked against the Open311 validator's schemas in ../shared when present.

use crate::helpers::{TestApp, TestResponse};
use axum::body::Body;
use axum::http::{header, Method, Request};

use std::process::Command;
use yidu_db::Row;
use yidu_kernel::{PageQuery, Principal};

mod conformance;
use conformance::{assert_error, conforms, has_zone, parse_xml};

fn yidu(app: &TestApp, args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_yidu"))
        .args(args)
        .arg("--database")
        .arg(&app.config.database_url)
        .arg("--data")
        .arg(&app.config.data_dir)
        .env("YIDU_LOG", "warn")
        .output()
        .expect("run yidu");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// The API key printed as the last word of `yidu channel add`.
fn add_channel(app: &TestApp, name: &str, categories: &[i64]) -> String {
    let mut args = vec!["channel".to_string(), "add".into(), name.into()];
    for c in categories {
        args.push("--category".into());
        args.push(c.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out) = yidu(app, &args);
    assert!(ok, "{out}");
    let key = out.split_whitespace().last().expect("a key").to_string();
    assert!(
        key.len() >= 32 && key.chars().all(|c| c.is_ascii_alphanumeric()),
        "{out}"
    );
    key
}

async fn post_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> TestResponse {
    let body = serde_urlencoded::to_string(fields).unwrap();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.request(b.body(Body::from(body)).unwrap()).await
}

/// Two small category trees, unless the database already has categories.
async fn seed_categories(app: &TestApp) {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM categories")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    if n > 0 {
        return;
    }
    let mut tx = app.db.begin().await.unwrap();
    for (top, leaves) in [
        ("城乡建设", ["市政设施", "物业管理"]),
        ("社会保障", ["养老服务", "医疗保险"]),
    ] {
        let mut parent: Option<(i64, String)> = None;
        let all = std::iter::once((top, top.to_string()))
            .chain(leaves.iter().map(|l| (*l, format!("{top}/{l}"))));
        for (name, code) in all {
            let id: i64 = sqlx::query(
                "INSERT INTO categories (parent_id, code, name, path, created_at, updated_at) \
                 VALUES ($1, $2, $3, '', 0, 0) RETURNING id",
            )
            .bind(parent.as_ref().map(|p| p.0))
            .bind(&code)
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
            let path = format!(
                "{}{id}/",
                parent.as_ref().map(|p| p.1.as_str()).unwrap_or("/")
            );
            sqlx::query("UPDATE categories SET path = $1 WHERE id = $2")
                .bind(&path)
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            if parent.is_none() {
                parent = Some((id, path));
            }
        }
    }
    tx.commit().await.unwrap();
}

/// Two leaf categories under different parents: (leaf_a, parent_a, leaf_b).
async fn categories(app: &TestApp) -> (i64, i64, i64) {
    seed_categories(app).await;
    let rows = sqlx::query("SELECT id, parent_id FROM categories WHERE parent_id IS NOT NULL AND retired = 0 ORDER BY id")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    let a: (i64, i64) = (rows[0].get(0), rows[0].get(1));
    let b = rows
        .iter()
        .find(|r| r.get::<i64, _>(1) != a.1)
        .map(|r| r.get::<i64, _>(0))
        .expect("two parents");
    (a.0, a.1, b)
}

#[tokio::test]
async fn open311_from_channel_add_to_get_requests_with_errors_limits_and_revocation() {
    let app = TestApp::spawn().await;
    let (leaf, parent, other_leaf) = categories(&app).await;
    let key = add_channel(&app, "代表通", &[]);

    // Discovery and services, JSON and XML.
    let d = app.get("/open311/v2/discovery.json", None).await;
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(d.json()["endpoints"][0]["formats"][1], "text/xml");
    parse_xml(&app.get("/open311/v2/discovery.xml", None).await.text());
    let s = app.get("/open311/v2/services.json", None).await.json();
    conforms("services.json", &s);
    let svc = s
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["service_code"].as_str() == Some(leaf.to_string().as_str()))
        .expect("leaf listed");
    assert!(
        svc["group"].is_string() && svc["metadata"] == false && svc["type"] == "realtime",
        "{svc}"
    );
    let sx = parse_xml(&app.get("/open311/v2/services.xml", None).await.text());
    assert_eq!(sx.name, "services");
    assert_eq!(sx.kids.len(), s.as_array().unwrap().len());
    let one_x = sx
        .kids
        .iter()
        .find(|k| k.kid("service_code").text == leaf.to_string())
        .unwrap();
    assert_eq!(
        one_x.kid("service_name").text,
        svc["service_name"].as_str().unwrap()
    );
    assert_eq!(one_x.kid("metadata").text, "false");
    let def = app
        .get(&format!("/open311/v2/services/{leaf}.json"), None)
        .await;
    assert_eq!(def.status, 200);
    conforms("service-definition.json", &def.json());
    parse_xml(
        &app.get(&format!("/open311/v2/services/{leaf}.xml"), None)
            .await
            .text(),
    );
    assert_error(
        &app.get("/open311/v2/services/999999.json", None).await,
        404,
        false,
        "service_code",
    );

    // POST a request with the key: form-encoded, no cookie, no CSRF token.
    let leaf_s = leaf.to_string();
    let good = [
        ("api_key", key.as_str()),
        ("service_code", leaf_s.as_str()),
        ("lat", "39.9"),
        ("long", "116.4"),
        ("address_string", "幸福路 12 号 <东门> & 西门"),
        (
            "description",
            "小区门口的路灯坏了一个月，晚上很黑，老人出门不方便，希望尽快修好",
        ),
        ("first_name", "三"),
        ("last_name", "张"),
        ("phone", "13812345678"),
        ("media_url", "http://example.org/x.jpg"),
    ];
    let r = post_form(
        &app,
        "/open311/v2/requests.json",
        &good,
        &[("Idempotency-Key", "o311-1")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let id = v[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(v[0]["service_notice"].as_str().unwrap().contains(&id));
    assert!(v[0].as_object().unwrap().contains_key("account_id"));
    // A retry with the same key stores nothing new.
    let again = post_form(
        &app,
        "/open311/v2/requests.json",
        &good,
        &[("Idempotency-Key", "o311-1")],
    )
    .await;
    assert_eq!(again.json()[0]["service_request_id"], id);

    // The office sees it in its queue, from the external channel, titled from the description.
    let office = Principal {
        user_id: 0,
        username: "office".into(),
        display_name: "office".into(),
        role: yidu_kernel::Role::Office,
        scope_id: Some(app.demo.as_ref().unwrap().summary.district_id),
        scope_path: sqlx::query("SELECT path FROM regions WHERE id = $1")
            .bind(app.demo.as_ref().unwrap().summary.district_id)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0),
        must_change_password: false,
    };
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let q = yidu_opinions::service::read::queue(
        &o,
        &office,
        &Default::default(),
        &PageQuery {
            page: None,
            per_page: Some(200),
        },
    )
    .await
    .unwrap();
    let item = q
        .items
        .iter()
        .find(|i| i.tracking_no == id)
        .expect("office sees the item");
    assert_eq!(item.channel, "external");
    assert_eq!(item.title.chars().count(), 30);
    assert_eq!(item.category_id, Some(leaf));

    // XML POST answers the same shape.
    let rx = post_form(
        &app,
        "/open311/v2/requests.xml",
        &[
            ("api_key", &key),
            ("service_code", &leaf_s),
            ("address_string", "人民路"),
            ("description", "井盖缺失"),
            ("title", "井盖"),
        ],
        &[],
    )
    .await;
    assert_eq!(rx.status, 200, "{}", rx.text());
    let x = parse_xml(&rx.text());
    assert_eq!(x.name, "service_requests");
    let id2 = x.kid("request").kid("service_request_id").text.clone();
    assert!(!id2.is_empty());

    // Errors: bad or missing key 403; missing fields 400 naming them; unknown service 404.
    let mut bad = good.to_vec();
    bad[0].1 = "not-a-key";
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &bad, &[]).await,
        403,
        false,
        "api_key",
    );
    assert_error(
        &post_form(&app, "/open311/v2/requests.xml", &bad, &[]).await,
        403,
        true,
        "api_key",
    );
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &good[1..], &[]).await,
        403,
        false,
        "api_key",
    );
    let without = |field: &str| {
        good.iter()
            .filter(|(k, _)| *k != field)
            .copied()
            .collect::<Vec<_>>()
    };
    assert_error(
        &post_form(
            &app,
            "/open311/v2/requests.json",
            &without("service_code"),
            &[],
        )
        .await,
        400,
        false,
        "service_code",
    );
    assert_error(
        &post_form(
            &app,
            "/open311/v2/requests.xml",
            &without("description"),
            &[],
        )
        .await,
        400,
        true,
        "description",
    );
    let no_place: Vec<_> = good
        .iter()
        .filter(|(k, _)| !["lat", "long", "address_string"].contains(k))
        .copied()
        .collect();
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &no_place, &[]).await,
        400,
        false,
        "lat",
    );
    let mut bad_phone = good.to_vec();
    bad_phone[8].1 = "123";
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &bad_phone, &[]).await,
        400,
        false,
        "phone",
    );
    let mut unknown = good.to_vec();
    unknown[1].1 = "999999";
    let u = post_form(&app, "/open311/v2/requests.json", &unknown, &[]).await;
    assert!(u.status == 404 || u.status == 400, "{}", u.text());
    assert_error(&u, u.status, false, "service_code");

    // GET requests: public fields only without a key, more for the owning channel.
    let list = app.get("/open311/v2/requests.json", None).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    conforms("requests.json", &list);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["status"], "open");
    assert!(
        mine["description"].is_null() && mine["address"].is_null(),
        "public view hides details: {mine}"
    );
    assert!(!list.to_string().contains("13812345678") && !list.to_string().contains("张三"));
    has_zone(mine["requested_datetime"].as_str().unwrap());
    has_zone(mine["updated_datetime"].as_str().unwrap());
    let own = app
        .get(
            &format!("/open311/v2/requests/{id}.json?api_key={key}"),
            None,
        )
        .await
        .json();
    conforms("requests.json", &own);
    assert!(own[0]["description"]
        .as_str()
        .unwrap()
        .starts_with("小区门口"));
    assert_eq!(own[0]["lat"], 39.9);
    let ox = parse_xml(
        &app.get(
            &format!("/open311/v2/requests/{id}.xml?api_key={key}"),
            None,
        )
        .await
        .text(),
    );
    let req = ox.kid("request");
    assert_eq!(req.kid("address").text, "幸福路 12 号 <东门> & 西门");
    assert_eq!(req.kid("status").text, "open");
    has_zone(&req.kid("requested_datetime").text);
    // Filters.
    let both = app
        .get(
            &format!("/open311/v2/requests.json?service_request_id={id},{id2}"),
            None,
        )
        .await
        .json();
    assert_eq!(both.as_array().unwrap().len(), 2);
    let closed = app
        .get("/open311/v2/requests.json?status=closed", None)
        .await
        .json();
    assert!(closed.as_array().unwrap().is_empty());
    let by_code = app
        .get(
            &format!("/open311/v2/requests.json?service_code={other_leaf}"),
            None,
        )
        .await
        .json();
    assert!(by_code.as_array().unwrap().is_empty());
    let future = app
        .get(
            "/open311/v2/requests.json?start_date=2100-01-01T00:00:00%2B08:00",
            None,
        )
        .await
        .json();
    assert!(future.as_array().unwrap().is_empty());
    let window = app
        .get("/open311/v2/requests.json?start_date=2000-01-01T00:00:00Z&end_date=2100-01-01T00:00:00%2B08:00", None)
        .await
        .json();
    assert_eq!(window.as_array().unwrap().len(), 2);
    assert_error(
        &app.get("/open311/v2/requests.json?start_date=yesterday", None)
            .await,
        400,
        false,
        "start_date",
    );
    assert_error(
        &app.get("/open311/v2/requests.json?status=pending", None)
            .await,
        400,
        false,
        "status",
    );
    assert_error(
        &app.get("/open311/v2/requests/NOSUCH.xml", None).await,
        404,
        true,
        "service_request_id",
    );
    // Tokens map straight to the request.
    let t = app
        .get(&format!("/open311/v2/tokens/{id}.json"), None)
        .await;
    assert_eq!(t.status, 200, "{}", t.text());
    assert_eq!(t.json()[0]["service_request_id"], id.as_str());
    parse_xml(
        &app.get(&format!("/open311/v2/tokens/{id}.xml"), None)
            .await
            .text(),
    );
    assert_error(
        &app.get("/open311/v2/tokens/NOSUCH.json", None).await,
        404,
        false,
        "token",
    );

    // A channel limited to one parent category files under its subcategories only.
    let limited = add_channel(&app, "12345", &[parent]);
    let other_s = other_leaf.to_string();
    let mut in_scope = good.to_vec();
    in_scope[0].1 = &limited;
    let ok = post_form(&app, "/open311/v2/requests.json", &in_scope, &[]).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let mut out_of_scope = in_scope.clone();
    out_of_scope[1].1 = &other_s;
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &out_of_scope, &[]).await,
        403,
        false,
        "service_code",
    );
    let svc_limited = app
        .get(
            &format!("/open311/v2/services.json?api_key={limited}"),
            None,
        )
        .await
        .json();
    assert!(svc_limited
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["service_code"] != other_s.as_str()));
    // With its key a channel lists only its own items.
    let its = app
        .get(
            &format!("/open311/v2/requests.json?api_key={limited}"),
            None,
        )
        .await
        .json();
    assert_eq!(its.as_array().unwrap().len(), 1);

    // list and revoke from the command line; a revoked key is refused.
    let (ok_list, out) = yidu(&app, &["channel", "list"]);
    assert!(
        ok_list && out.contains("代表通") && out.contains("12345"),
        "{out}"
    );
    let (ok_rev, out) = yidu(&app, &["channel", "revoke", "代表通"]);
    assert!(ok_rev, "{out}");
    assert_error(
        &post_form(&app, "/open311/v2/requests.json", &good, &[]).await,
        403,
        false,
        "api_key",
    );
    let (dup, out) = yidu(&app, &["channel", "add", "12345"]);
    assert!(!dup, "{out}");
    let audited: i64 = sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'channel.%'")
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn staff_manage_channels_on_pages_and_in_the_api() {
    let app = TestApp::spawn().await;
    let (leaf, _, _) = categories(&app).await;
    let office = app.token("office").await;
    let r = app
        .post_json(
            "/api/v1/channels",
            Some(&office),
            &serde_json::json!({"name": "热线", "category_ids": [leaf]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let key = v["api_key"].as_str().unwrap().to_string();
    let id = v["channel"]["id"].as_i64().unwrap();
    let list = app.get("/api/v1/channels", Some(&office)).await.json();
    assert_eq!(list[0]["name"], "热线");
    assert!(
        !list.to_string().contains(&key),
        "the key is never shown again"
    );
    let town = app.token("town1").await;
    assert_eq!(app.get("/api/v1/channels", Some(&town)).await.status, 403);
    let bad = app
        .post_json(
            "/api/v1/channels",
            Some(&office),
            &serde_json::json!({"name": "", "category_ids": [999999]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    let lim = app
        .post_json(
            &format!("/api/v1/channels/{id}/categories"),
            Some(&office),
            &serde_json::json!({"category_ids": []}),
        )
        .await;
    assert_eq!(lim.json()["category_ids"], serde_json::json!([]));

    // Pages: create shows the key once; revoke through the form.
    let b = app.browser();
    b.login("office").await;
    let page = b.get("/staff/channels").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("热线") && page.text().contains("/staff/channels"));
    let created = b
        .post_form(
            "/staff/channels",
            "/staff/channels",
            &[("name", "代表通"), ("category", &leaf.to_string())],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let text = created.text();
    let shown = text
        .split("<code class=\"key\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(shown.len() >= 32);
    assert!(!b.get("/staff/channels").await.text().contains(&shown));
    let revoked = b
        .post_form(
            "/staff/channels",
            &format!("/staff/channels/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(revoked.status, 303, "{}", revoked.text());
    let leaf_s = leaf.to_string();
    let r = post_form(
        &app,
        "/open311/v2/requests.json",
        &[
            ("api_key", &key),
            ("service_code", &leaf_s),
            ("address_string", "x"),
            ("description", "y"),
        ],
        &[],
    )
    .await;
    assert_error(&r, 403, false, "api_key");
}
