//! Outbound channels. Each takes a [`Message`] and reports success or a short error
//! text; the dispatcher owns retries, so channels never retry by themselves.

use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One thing to send. `to` is a URL (webhook), a phone number (SMS) or an address
/// (e-mail); it may be personal data, so `Debug` masks it.
#[derive(Clone, Serialize)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = if self.to.starts_with("http") {
            self.to.clone()
        } else {
            yidu_privacy::mask_phone(&self.to)
        };
        f.debug_struct("Message")
            .field("to", &shown)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait Channel: Send + Sync {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a>;
}

/// The one HTTP client of the dispatcher: rustls (no system OpenSSL), timeouts, no
/// redirects (a webhook that redirects is misconfigured; following it could leak the
/// signed body elsewhere).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("yidu-outbox/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("HTTP client builds")
}

async fn post(req: reqwest::RequestBuilder) -> Result<(), String> {
    match req.send().await {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
        Err(e) => Err(short_error(e)),
    }
}

fn short_error(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    // Without the URL: it may carry credentials in its query.
    format!("{kind}: {}", e.without_url())
}

/// POSTs the body (JSON) to `msg.to` with the message's headers.
#[derive(Clone)]
pub struct WebhookChannel {
    pub http: reqwest::Client,
}

impl Channel for WebhookChannel {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let mut req = self
                .http
                .post(&msg.to)
                .header("content-type", "application/json")
                .body(msg.body.clone());
            for (k, v) in &msg.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            post(req).await
        })
    }
}

/// An SMS gateway over HTTP: `POST url` with `{"phone": ..., "text": ...}` and
/// `Authorization: Bearer <key>`; any 2xx counts as accepted.
#[derive(Clone)]
pub struct SmsHttpChannel {
    pub http: reqwest::Client,
    pub url: String,
    pub key: String,
}

impl Channel for SmsHttpChannel {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let body = serde_json::json!({ "phone": msg.to, "text": msg.body });
            let mut req = self.http.post(&self.url).json(&body);
            if !self.key.is_empty() {
                req = req.bearer_auth(&self.key);
            }
            post(req).await
        })
    }
}

/// Plain SMTP to a relay (see `smtp.rs`).
#[derive(Clone)]
pub struct SmtpChannel {
    pub url: String,
    pub from: String,
    pub timeout: Duration,
}

impl Channel for SmtpChannel {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            tokio::time::timeout(
                self.timeout,
                crate::smtp::send(&self.url, &self.from, &msg.to, &msg.subject, &msg.body),
            )
            .await
            .map_err(|_| "smtp: timeout".to_string())?
        })
    }
}

/// Keeps every message in memory (tests) and can be told to fail the next N sends.
#[derive(Clone, Default)]
pub struct MemorySink {
    pub sent: Arc<Mutex<Vec<Message>>>,
    pub fail_next: Arc<Mutex<u32>>,
}

impl MemorySink {
    pub fn messages(&self) -> Vec<Message> {
        self.sent.lock().expect("sink lock").clone()
    }
}

impl Channel for MemorySink {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let mut fail = self.fail_next.lock().expect("sink lock");
            if *fail > 0 {
                *fail -= 1;
                return Err("sink told to fail".into());
            }
            self.sent.lock().expect("sink lock").push(msg.clone());
            Ok(())
        })
    }
}

/// Appends each message as one JSON line to a file (demos: see what would be sent).
#[derive(Clone)]
pub struct FileSink {
    pub path: PathBuf,
    pub kind: &'static str,
}

impl Channel for FileSink {
    fn send<'a>(&'a self, msg: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt;
            let line = serde_json::json!({ "channel": self.kind, "to": msg.to, "subject": msg.subject, "body": msg.body })
                .to_string()
                + "\n";
            let mut f = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .await
                .map_err(|e| format!("sink file: {e}"))?;
            f.write_all(line.as_bytes())
                .await
                .map_err(|e| format!("sink file: {e}"))
        })
    }
}
