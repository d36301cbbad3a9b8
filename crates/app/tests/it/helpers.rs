//! The in-process test app: the real router over a fresh database with the demo
//! district, and clients for the JSON API and for pages (with a cookie jar and CSRF).

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;
use yidu_app::config::{Config, Overrides};
use yidu_db::testing::TempGuard;
use yidu_db::Db;

pub const PASSWORD: &str = "Yidu@2026demo";

fn rand_tag() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub struct TestApp {
    pub router: Router,
    pub db: Db,
    pub config: Config,
    pub demo: Option<yidu_app::demo::DemoReport>,
    _guard: TempGuard,
}

pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

impl TestApp {
    /// A fresh database with the demo district and demo accounts.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_demo_with(|_| {}).await
    }

    /// The demo district and accounts on a configuration the test adjusts first.
    pub async fn spawn_demo_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut app = TestApp::spawn_with(tweak).await;
        app.demo = Some(
            yidu_app::demo::load(&app.db, &app.config)
                .await
                .expect("demo loads"),
        );
        app
    }

    /// A fresh, migrated, empty database.
    pub async fn spawn_empty() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (url, guard) = yidu_db::testing::fresh_database_url()
            .await
            .expect("test database (under CI=true PostgreSQL must be reachable)");
        let mut config = Config::load(&Overrides {
            database: Some(url.clone()),
            ..Default::default()
        })
        .expect("config");
        config.demo_password = PASSWORD.into();
        // Key files and other data-directory files go to a directory of the test's own.
        let data = std::env::temp_dir().join(format!(
            "yidu-it-data-{}-{}",
            std::process::id(),
            rand_tag()
        ));
        std::fs::create_dir_all(&data).expect("data dir");
        config.data_dir = data;
        // Tests that need the demo's history generate it themselves, at the size they need.
        config.demo_history = 0;
        config.calendar = Arc::new(beyond_the_notices((*config.calendar).clone()));
        tweak(&mut config);
        let db = yidu_app::server::connect(&config)
            .await
            .expect("connect and migrate");
        let state = yidu_app::router::state(db.clone(), &config);
        let router = yidu_app::router::build(state, &config).expect("router");
        TestApp {
            router,
            db,
            config,
            demo: None,
            _guard: guard,
        }
    }

    /// Another app instance on the same database (as several `yidu serve` processes
    /// behind a load balancer would be).
    pub async fn second_instance(&self) -> TestApp {
        let db = yidu_app::server::connect(&self.config)
            .await
            .expect("connect");
        let state = yidu_app::router::state(db.clone(), &self.config);
        TestApp {
            router: yidu_app::router::build(state, &self.config).expect("router"),
            db,
            config: self.config.clone(),
            demo: None,
            _guard: TempGuard { dir: None },
        }
    }

    pub async fn request(&self, req: Request<Body>) -> TestResponse {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    fn builder(method: Method, path: &str, token: Option<&str>) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> TestResponse {
        self.request(
            Self::builder(Method::GET, path, token)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        self.request(
            Self::builder(method, path, token)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.send_json(Method::POST, path, token, body).await
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
        self.send_json(Method::PATCH, path, token, body).await
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn token(&self, username: &str) -> String {
        let r = self
            .post_json(
                "/api/v1/auth/login",
                None,
                &serde_json::json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, 200, "login {username}: {}", r.text());
        r.json()["token"].as_str().unwrap().to_string()
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: Mutex::new(BTreeMap::new()),
        }
    }
}

/// A page client that keeps cookies like a browser and knows the CSRF token.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: Mutex<BTreeMap<String, String>>,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, r: &TestResponse) {
        for v in r.headers.get_all(header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let pair = s.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if s.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        let req = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let r = self.app.request(req).await;
        self.keep_cookies(&r);
        r
    }

    /// Posts a form as is (no CSRF token added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let req = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let r = self.app.request(req).await;
        self.keep_cookies(&r);
        r
    }

    /// Loads `page` to read its CSRF token, then posts the form with it.
    pub async fn post_form(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let html = self.get(page).await.text();
        let token = csrf_in(&html).unwrap_or_else(|| panic!("no CSRF token on {page}"));
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form_raw(path, &all).await
    }

    /// Posts a multipart form with this browser's cookies; the CSRF token, as for every
    /// upload, rides in `path`'s query string (`?_csrf=`), or is left out on purpose.
    pub async fn post_multipart(
        &self,
        path: &str,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> TestResponse {
        let (ct, body) = multipart(parts);
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, ct)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::from(body))
            .unwrap();
        let r = self.app.request(req).await;
        self.keep_cookies(&r);
        r
    }

    pub async fn login(&self, username: &str) -> TestResponse {
        self.post_form(
            "/login",
            "/login",
            &[("username", username), ("password", PASSWORD)],
        )
        .await
    }
}

/// The value of the first `_csrf` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    let end = html[at..].find('"')? + at;
    Some(html[at..end].to_string())
}

/// A multipart body from (name, file name, bytes) parts: (content type, body).
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----yiduTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file {
            Some(f) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The `_csrf` token of a page, from a hidden field or an upload form's action.
pub fn csrf_of_page(html: &str) -> Option<String> {
    csrf_in(html).or_else(|| {
        let at = html.find("_csrf=")? + "_csrf=".len();
        Some(html[at..].split('"').next()?.to_string())
    })
}

/// A holiday file covering `years` with no days off (the mechanism, not real notices).
pub fn plain_years(years: &[i32]) -> String {
    years
        .iter()
        .map(|y| {
            format!(
                "[[year]]\nyear = {y}\ntitle = \"test {y}\"\npublished = \"{}-11-01\"\n",
                y - 1
            )
        })
        .collect()
}

/// Tests run on the real clock, and a deadline set in December reaches into a year whose
/// State Council notice may not be out yet: a deployment is refused such a deadline (see
/// calendar.rs), but a test of something else must not start failing with the calendar
/// page. The years after the last shipped notice up to two years from now are declared
/// here as plain weekday years, for tests only; shipped years keep their real notices.
pub fn beyond_the_notices(calendar: yidu_calendar::Calendar) -> yidu_calendar::Calendar {
    let this_year = yidu_kernel::clock::to_china(yidu_kernel::clock::now_ms()).year();
    let last = calendar.covered_years().max().unwrap_or(this_year - 1);
    let years: Vec<i32> = (last + 1..=this_year + 2).collect();
    calendar
        .with_extra_toml(&plain_years(&years))
        .expect("plain test years are valid")
}
