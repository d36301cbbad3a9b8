//! What every handler can reach. Nothing in here is needed for correctness across
//! several app instances: sessions, lockouts and counters all live in the database.

use crate::auth::Authenticator;
use crate::metrics::Metrics;
use std::sync::Arc;
use yidu_db::Db;

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Cookies get the `Secure` flag (set when served over TLS or behind a TLS proxy).
    pub secure_cookies: bool,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Origins allowed to embed the mobile pages in a frame (a province's app), e.g.
    /// `https://app.example.gov.cn`. Empty: no framing.
    pub frame_ancestors: Vec<String>,
    /// Public base URL used in QR codes and printed links, e.g. `https://yidu.example.gov.cn`.
    pub public_url: String,
    /// Idle session timeout in minutes.
    pub session_idle_minutes: i64,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: false,
            trust_forwarded_for: false,
            frame_ancestors: Vec::new(),
            public_url: "http://127.0.0.1:8080".into(),
            session_idle_minutes: 30,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    pub auth: Arc<dyn Authenticator>,
    pub metrics: Arc<Metrics>,
}
