//! Outbound delivery (crates/outbox): signed webhooks from a real submission, retries
//! with backoff driven by a fake clock, nothing lost across a restart, two dispatchers
//! sharing the work, the SMS gateway channel, and who may manage subscriptions.
//! Receivers are tiny axum servers on 127.0.0.1, port 0.

use crate::helpers::TestApp;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use yidu_db::Row;
use yidu_opinions::model::{Channel, Submission};
use yidu_outbox::{Dispatcher, OutboundConfig};

const PHONE: &str = "13812345678";

/// What a receiver saw; it answers 500 to the first `fail` requests.
#[derive(Default)]
struct Seen {
    fail: u32,
    requests: Vec<(HeaderMap, Bytes)>,
}

struct Receiver {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    async fn start(fail: u32) -> Receiver {
        let seen = Arc::new(Mutex::new(Seen {
            fail,
            requests: Vec::new(),
        }));
        async fn hook(
            State(seen): State<Arc<Mutex<Seen>>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let mut s = seen.lock().unwrap();
            if s.fail > 0 {
                s.fail -= 1;
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            s.requests.push((headers, body));
            StatusCode::NO_CONTENT
        }
        let router = Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver { url, seen }
    }

    fn requests(&self) -> Vec<(HeaderMap, Bytes)> {
        self.seen.lock().unwrap().requests.clone()
    }

    fn bodies(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }
}

/// The outbox room's API and page mounted behind the shell's middleware (the lead wires
/// them into the main router; this keeps the test independent of that).
fn outbox_router(app: &TestApp) -> Router {
    let state = yidu_app::router::state(app.db.clone(), &app.config);
    Router::new()
        .merge(yidu_outbox::api::router())
        .merge(yidu_outbox::pages::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            yidu_web::middleware::shell,
        ))
        .with_state(state)
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Subscribes `url` through the API as the office; returns the secret.
async fn subscribe(app: &TestApp, url: &str, topics: &str) -> String {
    let token = app.token("office").await;
    let (status, v) = call(
        &outbox_router(app),
        Method::POST,
        "/api/v1/webhooks",
        &token,
        Some(json!({"name": "12345 热线", "url": url, "topics": topics})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["secret"].as_str().unwrap().to_string()
}

async fn submit(app: &TestApp, n: u32) -> String {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).expect("opinions");
    let s = Submission {
        title: format!("路灯坏了 {n}"),
        body: "小区门口的路灯坏了一个月，晚上看不见路".into(),
        name: "张三".into(),
        // A phone of its own per item: the per-phone rate limit is not under test here.
        phone: if n == 6 {
            PHONE.into()
        } else {
            format!("139{:08}", 10_000_000 + n)
        },
        consent: true,
        ..Default::default()
    };
    let demo = &app.demo.as_ref().unwrap().summary;
    yidu_opinions::service::submit::submit(
        &o,
        Channel::Deputy(demo.deputy_code.clone()),
        &s,
        &[],
        &format!("198.51.{}.{}", n / 200, n % 200 + 1),
        None,
    )
    .await
    .expect("submit")
    .tracking_no
}

fn dispatcher(app: &TestApp) -> Dispatcher {
    Dispatcher::new(app.db.clone(), &OutboundConfig::new(), None)
}

fn now() -> i64 {
    yidu_kernel::clock::now_ms()
}

const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn a_submission_reaches_a_subscription_signed() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(0).await;
    let secret = subscribe(&app, &rx.url, "opinion.*").await;
    let other = Receiver::start(0).await;
    subscribe(&app, &other.url, "suggestion.*").await;
    let tracking_no = submit(&app, 1).await;

    let report = dispatcher(&app).run_once(now()).await.unwrap();
    assert!(report.events >= 1 && report.delivered == 1, "{report:?}");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let (headers, body) = &reqs[0];
    let h = |k: &str| headers.get(k).unwrap().to_str().unwrap().to_string();
    assert!(yidu_outbox::sign::verify(
        &secret,
        &h("x-yidu-timestamp"),
        body,
        &h("x-yidu-signature")
    ));
    assert!(!yidu_outbox::sign::verify(
        "whsec_wrong",
        &h("x-yidu-timestamp"),
        body,
        &h("x-yidu-signature")
    ));
    let v: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["topic"], "opinion.submitted");
    assert_eq!(h("x-yidu-topic"), "opinion.submitted");
    assert_eq!(v["event_id"].as_str().unwrap(), h("x-yidu-event-id"));
    assert_eq!(v["payload"]["tracking_no"], tracking_no.as_str());
    assert!(v["created_at"].as_i64().is_some());
    // The non-matching subscription got nothing; a second round sends nothing again.
    assert!(other.requests().is_empty());
    let again = dispatcher(&app).run_once(now()).await.unwrap();
    assert_eq!(again.delivered + again.events, 0);
    assert_eq!(rx.requests().len(), 1);
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_on_the_third_attempt() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(2).await;
    subscribe(&app, &rx.url, "*").await;
    submit(&app, 2).await;
    let d = dispatcher(&app);
    let t0 = now();
    assert_eq!(d.run_once(t0).await.unwrap().retried, 1);
    // Not due yet: backoff holds it back.
    let early = d.run_once(t0 + 1_000).await.unwrap();
    assert_eq!(early.retried + early.delivered, 0);
    assert_eq!(d.run_once(t0 + HOUR).await.unwrap().retried, 1);
    assert_eq!(d.run_once(t0 + 3 * HOUR).await.unwrap().delivered, 1);
    assert_eq!(rx.requests().len(), 1);
    let row = sqlx::query(
        "SELECT attempts, last_error FROM outbound_deliveries WHERE delivered_at IS NOT NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>(0), 3);
    assert_eq!(row.get::<String, _>(1), "");
}

#[tokio::test]
async fn gives_up_after_the_last_attempt_and_keeps_the_row() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(100).await;
    subscribe(&app, &rx.url, "*").await;
    submit(&app, 3).await;
    let mut config = OutboundConfig::new();
    config.max_attempts = 3;
    let d = Dispatcher::new(app.db.clone(), &config, None);
    let t0 = now();
    let mut dead = 0;
    for i in 0..5 {
        dead += d.run_once(t0 + i * 2 * HOUR).await.unwrap().dead;
    }
    assert_eq!(dead, 1);
    let row = sqlx::query(
        "SELECT attempts, last_error FROM outbound_deliveries WHERE dead_at IS NOT NULL",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>(0), 3);
    assert!(row.get::<String, _>(1).contains("500"));
    let token = app.token("office").await;
    let (_, list) = call(
        &outbox_router(&app),
        Method::GET,
        "/api/v1/webhooks",
        &token,
        None,
    )
    .await;
    assert_eq!(list[0]["dead"], 1);
    assert_eq!(list[0]["pending"], 0);
}

#[tokio::test]
async fn nothing_is_lost_across_a_restart() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(1).await;
    subscribe(&app, &rx.url, "*").await;
    submit(&app, 4).await;
    let t0 = now();
    // The first dispatcher fans out, fails once, and "crashes".
    assert_eq!(dispatcher(&app).run_once(t0).await.unwrap().retried, 1);
    // An event written while no dispatcher ran.
    submit(&app, 5).await;
    // A new process: new connections, new dispatcher.
    let restarted = app.second_instance().await;
    let d = Dispatcher::new(restarted.db.clone(), &OutboundConfig::new(), None);
    let r = d.run_once(t0 + HOUR).await.unwrap();
    assert_eq!(r.delivered, 2, "{r:?}");
    let mut tracking: Vec<String> = rx
        .bodies()
        .iter()
        .map(|b| b["payload"]["tracking_no"].as_str().unwrap().to_string())
        .collect();
    tracking.dedup();
    assert_eq!(tracking.len(), 2);
}

#[tokio::test]
async fn two_dispatchers_deliver_each_event_once() {
    let app = TestApp::spawn().await;
    let rx = Receiver::start(0).await;
    subscribe(&app, &rx.url, "*").await;
    let n = 30;
    for i in 0..n {
        submit(&app, 10 + i).await;
    }
    // On PostgreSQL: two instances (own pools) racing with SKIP LOCKED. On SQLite one
    // process's single writer serializes them (several processes on one SQLite file are
    // not a supported deployment).
    let second = app.second_instance().await;
    let other_db = match app.db.backend() {
        yidu_db::Backend::Postgres => second.db.clone(),
        yidu_db::Backend::Sqlite => app.db.clone(),
    };
    let (a, b) = (
        dispatcher(&app),
        Dispatcher::new(other_db, &OutboundConfig::new(), None),
    );
    let t = now();
    let run = |d: Dispatcher| async move {
        let mut delivered = 0;
        for _ in 0..10 {
            delivered += d.run_once(t).await.unwrap().delivered;
        }
        delivered
    };
    let (da, db) = tokio::join!(tokio::spawn(run(a)), tokio::spawn(run(b)));
    let (da, db) = (da.unwrap(), db.unwrap());
    assert_eq!(da + db, n as usize, "a {da}, b {db}");
    let mut ids: Vec<String> = rx
        .bodies()
        .iter()
        .map(|b| b["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), n as usize);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n as usize, "no event delivered twice");
}

#[tokio::test]
async fn the_citizen_gets_an_sms_when_replied() {
    let app = TestApp::spawn().await;
    let gateway = Receiver::start(0).await;
    let tracking_no = submit(&app, 6).await; // with PHONE
                                             // Only the reply matters here: put the event the reply move writes into the outbox.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query("INSERT INTO outbox (event_id, topic, payload, created_at, attempts, next_attempt_at) VALUES ($1, 'opinion.replied', $2, $3, 0, $3)")
        .bind("evt-replied-test")
        .bind(json!({"event": "opinion.replied", "tracking_no": tracking_no, "status": "replied"}).to_string())
        .bind(now())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let mut config = OutboundConfig::new();
    config.sms_url = Some(gateway.url.clone());
    config.sms_key = "gw-key".into();
    let d = Dispatcher::new(app.db.clone(), &config, Some(o.keys.clone()));
    let r = d.run_once(now()).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let reqs = gateway.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].0.get("authorization").unwrap(), "Bearer gw-key");
    let v: Value = serde_json::from_slice(&reqs[0].1).unwrap();
    assert_eq!(v["phone"], PHONE);
    let text = v["text"].as_str().unwrap();
    assert!(
        text.contains("已答复") && text.contains(&tracking_no),
        "{text}"
    );
    // The phone is never stored in the clear in the delivery row.
    let target: String =
        sqlx::query("SELECT target FROM outbound_deliveries WHERE channel = 'sms'")
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    assert!(!target.contains(PHONE));
}

#[tokio::test]
async fn only_admin_and_office_manage_subscriptions_and_it_is_audited() {
    let app = TestApp::spawn().await;
    let router = outbox_router(&app);
    for user in ["town1", "station1", "deputy1", "dept1"] {
        let token = app.token(user).await;
        let (s, _) = call(&router, Method::GET, "/api/v1/webhooks", &token, None).await;
        assert_eq!(s, 403, "{user} lists");
        let body = json!({"name": "x", "url": "https://example.org/hook"});
        let (s, _) = call(
            &router,
            Method::POST,
            "/api/v1/webhooks",
            &token,
            Some(body),
        )
        .await;
        assert_eq!(s, 403, "{user} creates");
    }
    let office = app.token("office").await;
    let (s, v) = call(
        &router,
        Method::POST,
        "/api/v1/webhooks",
        &office,
        Some(json!({"name": "", "url": "ftp://x"})),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    let (s, created) = call(
        &router,
        Method::POST,
        "/api/v1/webhooks",
        &office,
        Some(json!({"name": "代表通", "url": "https://example.org/hook"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = created["id"].as_i64().unwrap();
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["topics"], "*");
    let (s, list) = call(&router, Method::GET, "/api/v1/webhooks", &office, None).await;
    assert_eq!(s, 200);
    assert!(
        list[0].get("secret").is_none(),
        "the secret is never listed"
    );
    let deputy = app.token("deputy1").await;
    let (s, _) = call(
        &router,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        &deputy,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let admin = app.token("admin").await;
    let (s, _) = call(
        &router,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = call(
        &router,
        Method::DELETE,
        &format!("/api/v1/webhooks/{id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, 409);
    let actions: Vec<String> = sqlx::query(
        "SELECT action FROM audit_log WHERE object_type = 'webhook' AND object_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(actions, ["webhook.create", "webhook.revoke"]);
    // The staff page lists it with its health.
    let (s, _) = call(&router, Method::GET, "/staff/webhooks", &office, None).await;
    assert!(s == 200 || s == 303, "page answers {s}");
}
