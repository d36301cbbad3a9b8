//! Deployment settings of the outbound channels, read from the environment.

use std::path::PathBuf;
use std::time::Duration;

/// Which channels exist in this deployment and how to reach them. Secrets (the SMS key,
/// the SMTP password) are kept out of `Debug`.
#[derive(Clone, Default)]
pub struct OutboundConfig {
    /// SMS gateway endpoint: receives `POST {"phone", "text"}` with `Authorization: Bearer <key>`.
    pub sms_url: Option<String>,
    pub sms_key: String,
    /// `smtp://user:pass@host:port` (plain SMTP to a relay; AUTH PLAIN when a user is given).
    pub smtp_url: Option<String>,
    pub smtp_from: String,
    /// Addresses that receive an e-mail for each event whose topic matches `email_topics`.
    pub email_to: Vec<String>,
    /// Topic patterns for e-mail (default `opinion.escalated`).
    pub email_topics: String,
    /// Demo/test: append every outbound message as a JSON line to this file instead of
    /// sending SMS and e-mail.
    pub sink_file: Option<PathBuf>,
    pub poll: Duration,
    /// Timeout of one HTTP or SMTP exchange.
    pub timeout: Duration,
    /// Attempts before a delivery is marked dead.
    pub max_attempts: i64,
}

impl std::fmt::Debug for OutboundConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundConfig")
            .field("sms_url", &self.sms_url)
            .field("smtp", &self.smtp_url.as_ref().map(|_| "<set>"))
            .field("smtp_from", &self.smtp_from)
            .field("email_to", &self.email_to)
            .field("sink_file", &self.sink_file)
            .field("poll", &self.poll)
            .finish()
    }
}

impl OutboundConfig {
    /// Defaults: no SMS, no e-mail (webhooks only), poll every second, 10 s timeouts,
    /// 12 attempts (about 9 hours of retries with the 10 s → 1 h backoff).
    pub fn new() -> OutboundConfig {
        OutboundConfig {
            email_topics: "opinion.escalated".into(),
            poll: Duration::from_millis(1000),
            timeout: Duration::from_secs(10),
            max_attempts: 12,
            ..Default::default()
        }
    }

    /// Reads `YIDU_SMS_URL`, `YIDU_SMS_KEY`, `YIDU_SMTP_URL`, `YIDU_SMTP_FROM`,
    /// `YIDU_EMAIL_TO` (comma-separated), `YIDU_EMAIL_TOPICS`, `YIDU_OUTBOUND_SINK`,
    /// `YIDU_OUTBOX_POLL_MS`.
    pub fn from_env() -> OutboundConfig {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut c = OutboundConfig::new();
        c.sms_url = var("YIDU_SMS_URL");
        c.sms_key = var("YIDU_SMS_KEY").unwrap_or_default();
        c.smtp_url = var("YIDU_SMTP_URL");
        c.smtp_from = var("YIDU_SMTP_FROM").unwrap_or_else(|| "yidu@localhost".into());
        c.email_to = var("YIDU_EMAIL_TO")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(t) = var("YIDU_EMAIL_TOPICS") {
            c.email_topics = t;
        }
        c.sink_file = var("YIDU_OUTBOUND_SINK").map(PathBuf::from);
        if let Some(ms) = var("YIDU_OUTBOX_POLL_MS").and_then(|v| v.parse::<u64>().ok()) {
            c.poll = Duration::from_millis(ms.max(50));
        }
        c
    }
}
