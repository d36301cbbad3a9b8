//! The dispatcher: fan-out of outbox events into deliveries, claiming due deliveries,
//! sending them and recording the outcome. See the crate docs for the guarantees.

use crate::channel::{
    http_client, Channel, FileSink, Message, SmsHttpChannel, SmtpChannel, WebhookChannel,
};
use crate::config::OutboundConfig;
use crate::sign::{signature, topic_matches};
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;
use yidu_db::{Backend, Db, Row};
use yidu_privacy::Keyring;

/// Events fanned out per transaction and deliveries claimed per round.
const BATCH: i64 = 50;
/// First retry delay and the cap of the exponential backoff (milliseconds).
const BACKOFF_BASE_MS: i64 = 10_000;
const BACKOFF_CAP_MS: i64 = 3_600_000;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Outbox events turned into deliveries.
    pub events: usize,
    /// Delivery rows created by the fan-out.
    pub created: usize,
    pub delivered: usize,
    /// Failed attempts that will be retried.
    pub retried: usize,
    /// Failed attempts that used up the last try.
    pub dead: usize,
}

impl Report {
    fn busy(&self) -> bool {
        self.events > 0 || self.delivered + self.retried + self.dead > 0
    }
}

/// Delay before attempt `attempts + 1` after `attempts` failures: 10 s, 20 s, 40 s, …
/// capped at 1 h, minus up to 20 % random jitter so that receivers coming back from an
/// outage are not hit by every instance at the same moment.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = (attempts - 1).clamp(0, 20) as u32;
    let delay = BACKOFF_BASE_MS
        .saturating_mul(1i64 << exp)
        .min(BACKOFF_CAP_MS);
    delay - rand::thread_rng().gen_range(0..=delay / 5)
}

/// One dispatcher; any number may run against one database.
#[derive(Clone)]
pub struct Dispatcher {
    db: Db,
    webhook: Arc<dyn Channel>,
    sms: Option<Arc<dyn Channel>>,
    email: Option<Arc<dyn Channel>>,
    keys: Option<Arc<Keyring>>,
    config: OutboundConfig,
}

impl Dispatcher {
    /// Channels as configured: webhooks always; SMS when `sms_url` is set; e-mail when
    /// `smtp_url` and `email_to` are set; with `sink_file`, SMS and e-mail go to that file.
    /// `keys` opens citizens' sealed phone numbers at send time (no keys: no citizen SMS).
    pub fn new(db: Db, config: &OutboundConfig, keys: Option<Arc<Keyring>>) -> Dispatcher {
        let http = http_client(config.timeout);
        let mut sms: Option<Arc<dyn Channel>> = config.sms_url.as_ref().map(|url| {
            Arc::new(SmsHttpChannel {
                http: http.clone(),
                url: url.clone(),
                key: config.sms_key.clone(),
            }) as Arc<dyn Channel>
        });
        let mut email: Option<Arc<dyn Channel>> = config.smtp_url.as_ref().map(|url| {
            Arc::new(SmtpChannel {
                url: url.clone(),
                from: config.smtp_from.clone(),
                timeout: config.timeout,
            }) as Arc<dyn Channel>
        });
        if let Some(path) = &config.sink_file {
            sms = Some(Arc::new(FileSink {
                path: path.clone(),
                kind: "sms",
            }));
            email = Some(Arc::new(FileSink {
                path: path.clone(),
                kind: "email",
            }));
        }
        Dispatcher {
            db,
            webhook: Arc::new(WebhookChannel { http }),
            sms,
            email,
            keys,
            config: config.clone(),
        }
    }

    pub fn with_webhook(mut self, ch: Arc<dyn Channel>) -> Self {
        self.webhook = ch;
        self
    }
    pub fn with_sms(mut self, ch: Arc<dyn Channel>) -> Self {
        self.sms = Some(ch);
        self
    }
    pub fn with_email(mut self, ch: Arc<dyn Channel>, to: Vec<String>) -> Self {
        self.email = Some(ch);
        self.config.email_to = to;
        self
    }

    /// One round at time `now` (UTC ms): fan out due events, then send due deliveries.
    pub async fn run_once(&self, now: i64) -> anyhow::Result<Report> {
        let mut report = Report::default();
        self.fan_out(now, &mut report).await?;
        let claimed = self.claim(now).await?;
        if !claimed.is_empty() {
            self.deliver(claimed, now, &mut report).await?;
        }
        Ok(report)
    }

    fn lock_clause(&self, table: &str) -> String {
        match self.db.backend() {
            Backend::Postgres => format!(" FOR UPDATE OF {table} SKIP LOCKED"),
            Backend::Sqlite => String::new(),
        }
    }

    /// Turns due outbox events into one delivery per recipient, all in one transaction,
    /// and marks the events fanned out (`outbox.delivered_at`).
    async fn fan_out(&self, now: i64, report: &mut Report) -> anyhow::Result<()> {
        // One job of the group commit (on SQLite the fan-out shares the COMMIT and its
        // fsync with the intake batches that queued the events, instead of taking the
        // writer for a transaction of its own after each of them).
        let plan = FanOut {
            now,
            lock: self.lock_clause("outbox"),
            sms: self.sms.is_some(),
            email: self.email.as_ref().map(|_| {
                (
                    self.config.email_topics.clone(),
                    self.config.email_to.clone(),
                )
            }),
        };
        let (events, created) = self
            .db
            .write(move |tx| Box::pin(async move { plan.run(tx).await }))
            .await?;
        report.events += events;
        report.created += created;
        Ok(())
    }

    /// Claims due deliveries by moving their `next_attempt_at` past the send's time
    /// (a lease): another dispatcher skips them, and a crash only delays them.
    async fn claim(&self, now: i64) -> anyhow::Result<Vec<Claimed>> {
        let lease = now + 3 * self.config.timeout.as_millis() as i64 + 30_000;
        let lock = self.lock_clause("d");
        // A write job (see fan_out): the lease shares the group commit.
        Ok(self
            .db
            .write(move |tx| Box::pin(async move { claim_in(tx, now, lease, &lock).await }))
            .await?)
    }

    /// Sends the claimed deliveries concurrently, then records every outcome in one
    /// transaction.
    async fn deliver(
        &self,
        claimed: Vec<Claimed>,
        now: i64,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let mut set = tokio::task::JoinSet::new();
        for c in claimed {
            let prepared = self.prepare(&c, now).await;
            let channel = match c.channel.as_str() {
                "webhook" => Some(self.webhook.clone()),
                "sms" => self.sms.clone(),
                "email" => self.email.clone(),
                _ => None,
            };
            set.spawn(async move {
                let outcome = match (prepared, channel) {
                    (Err(e), _) => Outcome::Give(e),
                    (Ok(_), None) => Outcome::Retry("channel not configured / 渠道未配置".into()),
                    (Ok(msg), Some(ch)) => match ch.send(&msg).await {
                        Ok(()) => Outcome::Done,
                        Err(e) => Outcome::Retry(e),
                    },
                };
                (c.id, c.attempts, outcome)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(r) = set.join_next().await {
            outcomes.push(r?);
        }
        let max_attempts = self.config.max_attempts.max(1);
        // A write job (see fan_out).
        let (delivered, retried, dead) = self
            .db
            .write(move |tx| {
                Box::pin(async move { record_outcomes(tx, outcomes, now, max_attempts).await })
            })
            .await?;
        report.delivered += delivered;
        report.retried += retried;
        report.dead += dead;
        Ok(())
    }

    /// Builds the message; personal data (citizens' phones) is opened only here.
    /// An `Err` is final (nothing to retry: revoked subscription, phone gone).
    async fn prepare(&self, c: &Claimed, now: i64) -> Result<Message, String> {
        let payload: serde_json::Value = serde_json::from_str(&c.payload).unwrap_or_default();
        let tracking_no = payload
            .get("tracking_no")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        match c.channel.as_str() {
            "webhook" => {
                if !c.active {
                    return Err("subscription revoked / 订阅已撤销".into());
                }
                let body = serde_json::json!({
                    "event_id": c.event_id, "topic": c.topic, "payload": payload, "created_at": c.created_at,
                })
                .to_string();
                let ts = (now / 1000).to_string();
                let sig = signature(&c.secret, &ts, body.as_bytes());
                Ok(Message {
                    to: c.url.clone(),
                    subject: c.topic.clone(),
                    body,
                    headers: vec![
                        ("X-Yidu-Event-Id".into(), c.event_id.clone()),
                        ("X-Yidu-Topic".into(), c.topic.clone()),
                        ("X-Yidu-Timestamp".into(), ts),
                        ("X-Yidu-Signature".into(), sig),
                    ],
                })
            }
            "sms" => {
                let phone = self.phone_of(&c.target).await?;
                let text = match c.topic.as_str() {
                    // The digest carries its own short text (counts only, no personal data).
                    "digest.daily" => payload
                        .get("text")
                        .and_then(|v| v.as_str())
                        .unwrap_or("【议督】您有待办事项，请登录查看。")
                        .to_string(),
                    "opinion.replied" => format!("【议督】您反映的问题已答复，查询号 {tracking_no}，可凭查询码查看并评价。"),
                    "opinion.assigned" => format!("【议督】有一件群众意见交办给贵单位，查询号 {tracking_no}，请及时签收办理。"),
                    other => format!("【议督】事项 {tracking_no} 有新进展（{other}）。"),
                };
                Ok(Message {
                    to: phone,
                    subject: String::new(),
                    body: text,
                    headers: Vec::new(),
                })
            }
            "email" if c.topic == "digest.daily" => Ok(Message {
                to: c.target.clone(),
                subject: "[议督] 每日待办摘要 / daily digest".into(),
                body: payload
                    .get("text")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
                headers: Vec::new(),
            }),
            "email" => Ok(Message {
                to: c.target.clone(),
                subject: format!("[议督] {} {tracking_no}", c.topic),
                body: format!(
                    "事项 {tracking_no} 有新动态：{}\nItem {tracking_no}: {}\n\n{}",
                    c.topic,
                    c.topic,
                    serde_json::to_string_pretty(&payload).unwrap_or_default()
                ),
                headers: Vec::new(),
            }),
            other => Err(format!("unknown channel {other}")),
        }
    }

    async fn phone_of(&self, target: &str) -> Result<String, String> {
        let db_err = |e: sqlx::Error| format!("db: {e}");
        if let Some(tracking_no) = target.strip_prefix("citizen:") {
            let keys = self
                .keys
                .as_ref()
                .ok_or("no personal-data keys / 未配置个人信息密钥")?;
            let sealed: Option<String> =
                sqlx::query("SELECT citizen_phone_enc FROM opinions WHERE tracking_no = $1")
                    .bind(tracking_no)
                    .fetch_optional(self.db.pool())
                    .await
                    .map_err(db_err)?
                    .map(|r| r.get(0));
            let sealed = sealed
                .filter(|s| !s.is_empty())
                .ok_or("no phone / 无手机号")?;
            return keys
                .open(&sealed)
                .map_err(|_| "phone cannot be opened / 手机号无法解密".to_string());
        }
        if let Some(deputy) = target
            .strip_prefix("deputy:")
            .and_then(|v| v.parse::<i64>().ok())
        {
            let phone: Option<String> = sqlx::query("SELECT phone FROM deputies WHERE id = $1")
                .bind(deputy)
                .fetch_optional(self.db.pool())
                .await
                .map_err(db_err)?
                .map(|r| r.get(0));
            return phone
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| "no phone / 无手机号".to_string());
        }
        if let Some(unit) = target
            .strip_prefix("unit:")
            .and_then(|v| v.parse::<i64>().ok())
        {
            let phone: Option<String> =
                sqlx::query("SELECT contact_phone FROM units WHERE id = $1")
                    .bind(unit)
                    .fetch_optional(self.db.pool())
                    .await
                    .map_err(db_err)?
                    .map(|r| r.get(0));
            return phone
                .filter(|p| !p.is_empty())
                .ok_or_else(|| "no phone / 无手机号".to_string());
        }
        Err(format!("unknown target {target}"))
    }
}

/// Who gets an SMS for this event, if anyone: the citizen when their item is replied
/// (only if they left a phone), the unit's contact when an item is assigned to it, the
/// deputy or unit contact a daily digest names (the sender checked the phone exists).
async fn sms_target(
    conn: &mut yidu_db::AnyConnection,
    topic: &str,
    payload: &serde_json::Value,
) -> Result<Option<String>, sqlx::Error> {
    match topic {
        "digest.daily" => Ok(payload
            .get("sms")
            .and_then(|v| v.as_str())
            .filter(|t| t.starts_with("deputy:") || t.starts_with("unit:"))
            .map(str::to_string)),
        "opinion.replied" => {
            let Some(tn) = payload.get("tracking_no").and_then(|v| v.as_str()) else {
                return Ok(None);
            };
            let has = sqlx::query(
                "SELECT 1 FROM opinions WHERE tracking_no = $1 AND citizen_phone_enc <> ''",
            )
            .bind(tn)
            .fetch_optional(&mut *conn)
            .await?
            .is_some();
            Ok(has.then(|| format!("citizen:{tn}")))
        }
        "opinion.assigned" => {
            let Some(unit) = payload.get("unit_id").and_then(|v| v.as_i64()) else {
                return Ok(None);
            };
            let has = sqlx::query("SELECT 1 FROM units WHERE id = $1 AND contact_phone <> ''")
                .bind(unit)
                .fetch_optional(&mut *conn)
                .await?
                .is_some();
            Ok(has.then(|| format!("unit:{unit}")))
        }
        _ => Ok(None),
    }
}

fn truncate(e: &str) -> String {
    e.chars().take(500).collect()
}

/// Reads up to BATCH due deliveries and moves their next attempt to `lease`.
async fn claim_in(
    tx: &mut yidu_db::Tx,
    now: i64,
    lease: i64,
    lock: &str,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let sql = format!(
            "SELECT d.id, d.channel, d.target, d.attempts, o.event_id, o.topic, o.payload, o.created_at,
                    s.url, s.secret, s.active
             FROM outbound_deliveries d
             JOIN outbox o ON o.id = d.outbox_id
             LEFT JOIN webhook_subscriptions s ON s.id = d.subscription_id
             WHERE d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $1
             ORDER BY d.next_attempt_at, d.id LIMIT $2{}",
            lock
        );
    let rows = sqlx::query(&sql)
        .bind(now)
        .bind(BATCH)
        .fetch_all(&mut **tx)
        .await?;
    let claimed: Vec<Claimed> = rows
        .iter()
        .map(|r| Claimed {
            id: r.get(0),
            channel: r.get(1),
            target: r.get(2),
            attempts: r.get(3),
            event_id: r.get(4),
            topic: r.get(5),
            payload: r.get(6),
            created_at: r.get(7),
            url: r.get::<Option<String>, _>(8).unwrap_or_default(),
            secret: r.get::<Option<String>, _>(9).unwrap_or_default(),
            active: r.get::<Option<i64>, _>(10).unwrap_or(0) == 1,
        })
        .collect();
    for c in &claimed {
        sqlx::query("UPDATE outbound_deliveries SET next_attempt_at = $1 WHERE id = $2")
            .bind(lease)
            .bind(c.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(claimed)
}

/// Records the outcome of each sent delivery; returns how many were delivered, will be
/// retried and are dead.
async fn record_outcomes(
    tx: &mut yidu_db::Tx,
    outcomes: Vec<(i64, i64, Outcome)>,
    now: i64,
    max_attempts: i64,
) -> Result<(usize, usize, usize), sqlx::Error> {
    let (mut delivered, mut retried, mut dead) = (0usize, 0usize, 0usize);
    for (id, attempts, outcome) in outcomes {
        let attempts = attempts + 1;
        match outcome {
            Outcome::Done => {
                sqlx::query("UPDATE outbound_deliveries SET delivered_at = $1, attempts = $2, last_error = '' WHERE id = $3")
                        .bind(now)
                        .bind(attempts)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                delivered += 1;
            }
            Outcome::Retry(e) if attempts < max_attempts => {
                sqlx::query("UPDATE outbound_deliveries SET next_attempt_at = $1, attempts = $2, last_error = $3 WHERE id = $4")
                        .bind(now + backoff_ms(attempts))
                        .bind(attempts)
                        .bind(truncate(&e))
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                retried += 1;
            }
            Outcome::Retry(e) | Outcome::Give(e) => {
                tracing::warn!(delivery = id, attempts, error = %e, "outbound delivery dead");
                sqlx::query("UPDATE outbound_deliveries SET dead_at = $1, attempts = $2, last_error = $3 WHERE id = $4")
                        .bind(now)
                        .bind(attempts)
                        .bind(truncate(&e))
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                dead += 1;
            }
        }
    }
    Ok((delivered, retried, dead))
}

/// One fan-out round, owned so that it can run as a write job.
struct FanOut {
    now: i64,
    lock: String,
    sms: bool,
    /// The e-mail topics and recipients, when e-mail is configured.
    email: Option<(String, Vec<String>)>,
}

impl FanOut {
    /// Turns due events into deliveries; returns the events handled and deliveries made.
    async fn run(self, tx: &mut yidu_db::Tx) -> Result<(usize, usize), sqlx::Error> {
        let now = self.now;
        let (mut events_done, mut created) = (0usize, 0usize);
        let sql = format!(
            "SELECT id, topic, payload FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1 ORDER BY id LIMIT $2{}",
            self.lock
        );
        let events: Vec<(i64, String, String)> = sqlx::query(&sql)
            .bind(now)
            .bind(BATCH)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        if events.is_empty() {
            return Ok((0, 0));
        }
        let subs: Vec<(i64, String)> =
            sqlx::query("SELECT id, topics FROM webhook_subscriptions WHERE active = 1")
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        for (id, topic, payload) in &events {
            let mut targets: Vec<(&str, Option<i64>, String)> = subs
                .iter()
                .filter(|(_, topics)| topic_matches(topics, topic))
                .map(|(sid, _)| ("webhook", Some(*sid), format!("sub:{sid}")))
                .collect();
            let payload: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
            if self.sms {
                if let Some(t) = sms_target(tx, topic, &payload).await? {
                    targets.push(("sms", None, t));
                }
            }
            if let Some((_, to_all)) = self.email.as_ref().filter(|(t, _)| topic_matches(t, topic))
            {
                for to in to_all {
                    targets.push(("email", None, to.clone()));
                }
            }
            for (channel, sub, target) in targets {
                let done = sqlx::query(
                    "INSERT INTO outbound_deliveries (outbox_id, channel, subscription_id, target, attempts, next_attempt_at, created_at)
                     VALUES ($1, $2, $3, $4, 0, $5, $5) ON CONFLICT (outbox_id, channel, target) DO NOTHING",
                )
                .bind(id)
                .bind(channel)
                .bind(sub)
                .bind(&target)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                created += done.rows_affected() as usize;
            }
            events_done += 1;
        }
        // The events are marked fanned out with one statement (they are at most BATCH).
        let marks: Vec<String> = (2..events.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "UPDATE outbox SET delivered_at = $1, attempts = attempts + 1 WHERE id IN ({})",
            marks.join(", ")
        );
        let sql = yidu_db::positional(tx, sql);
        let mut q = sqlx::query(&sql).persistent(false).bind(now);
        for (id, _, _) in &events {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
        Ok((events_done, created))
    }
}

struct Claimed {
    id: i64,
    channel: String,
    target: String,
    attempts: i64,
    event_id: String,
    topic: String,
    payload: String,
    created_at: i64,
    url: String,
    secret: String,
    active: bool,
}

enum Outcome {
    Done,
    Retry(String),
    Give(String),
}

/// Runs the dispatcher every `config.poll` (at once again while there is work) until
/// `shutdown` turns true or its sender is dropped; errors are logged and retried.
pub fn spawn(
    dispatcher: Dispatcher,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let poll = dispatcher.config.poll;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let busy = match dispatcher.run_once(yidu_kernel::clock::now_ms()).await {
                Ok(r) => {
                    if r.busy() {
                        tracing::debug!(?r, "outbox round");
                    }
                    r.busy()
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox round failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                r = shutdown.changed() => if r.is_err() { break },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for _ in 0..50 {
            let a = backoff_ms(1);
            assert!((8_000..=10_000).contains(&a));
            let b = backoff_ms(3);
            assert!((32_000..=40_000).contains(&b));
            assert!(backoff_ms(30) <= BACKOFF_CAP_MS && backoff_ms(30) >= BACKOFF_CAP_MS * 4 / 5);
        }
    }
}
