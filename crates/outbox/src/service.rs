//! Managing webhook subscriptions. Subscriptions are deployment-wide (events are not
//! filtered by region), so only the administrator and congress-office staff manage them;
//! every change is audited in its own transaction.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use yidu_audit::{Actor, Entry};
use yidu_db::{Db, Row};
use yidu_kernel::error::Problems;
use yidu_kernel::{clock, AppError, AppResult, Principal, Role};

/// A subscription as listed: never with its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: i64,
    pub name: String,
    pub url: String,
    /// Comma-separated topic patterns, e.g. `opinion.*`.
    pub topics: String,
    pub active: bool,
    /// UTC milliseconds.
    pub created_at: i64,
    pub created_at_local: String,
    /// Deliveries waiting for their (next) attempt.
    pub pending: i64,
    /// Deliveries that used up every attempt.
    pub dead: i64,
    pub delivered: i64,
    /// Error of the latest failed attempt, if any.
    pub last_error: String,
}

/// Returned once, on creation: the only time the secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// Key of the HMAC-SHA256 signature in `X-Yidu-Signature`; store it now.
    pub secret: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SubscriptionInput {
    pub name: String,
    /// `https://…` (or `http://` for receivers inside the network).
    pub url: String,
    /// Topic patterns, comma-separated; default `*` (every event).
    #[serde(default)]
    pub topics: Option<String>,
}

fn may_manage(p: &Principal) -> AppResult<()> {
    match p.role {
        Role::Admin | Role::Office => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

fn validate(input: &SubscriptionInput) -> AppResult<(String, String, String)> {
    let mut problems = Problems::default();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(
            "name",
            "名称必填，最多 100 个字符",
            "Name is required, at most 100 characters",
        );
    }
    let url = input.url.trim().to_string();
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok
        || url.len() > 1000
        || url.contains(char::is_whitespace)
        || reqwest::Url::parse(&url).is_err()
    {
        problems.push(
            "url",
            "须为 http:// 或 https:// 开头的有效网址",
            "Must be a valid http:// or https:// URL",
        );
    }
    let topics = input.topics.as_deref().unwrap_or("").trim();
    let topics = if topics.is_empty() {
        "*".to_string()
    } else {
        topics.to_string()
    };
    let bad_topic = topics.split(',').map(str::trim).any(|t| {
        t.is_empty()
            || t.len() > 100
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '*' | '-'))
    });
    if bad_topic {
        problems.push(
            "topics",
            "主题格式不对，例如 opinion.* 或 opinion.replied",
            "Bad topic pattern, e.g. opinion.* or opinion.replied",
        );
    }
    problems.finish()?;
    Ok((name, url, topics))
}

const SELECT: &str = "SELECT s.id, s.name, s.url, s.topics, s.active, s.created_at,
    (SELECT COUNT(*) FROM outbound_deliveries d WHERE d.subscription_id = s.id AND d.delivered_at IS NULL AND d.dead_at IS NULL),
    (SELECT COUNT(*) FROM outbound_deliveries d WHERE d.subscription_id = s.id AND d.dead_at IS NOT NULL),
    (SELECT COUNT(*) FROM outbound_deliveries d WHERE d.subscription_id = s.id AND d.delivered_at IS NOT NULL),
    COALESCE((SELECT d.last_error FROM outbound_deliveries d WHERE d.subscription_id = s.id AND d.last_error <> ''
              ORDER BY d.id DESC LIMIT 1), '')
    FROM webhook_subscriptions s";

fn from_row(r: &yidu_db::AnyRow) -> Subscription {
    let created_at: i64 = r.get(5);
    Subscription {
        id: r.get(0),
        name: r.get(1),
        url: r.get(2),
        topics: r.get(3),
        active: r.get::<i64, _>(4) == 1,
        created_at,
        created_at_local: clock::format_china(created_at),
        pending: r.get(6),
        dead: r.get(7),
        delivered: r.get(8),
        last_error: r.get(9),
    }
}

/// Every subscription, active first, newest first, with its delivery health.
pub async fn list(db: &Db, p: &Principal) -> AppResult<Vec<Subscription>> {
    may_manage(p)?;
    let rows = sqlx::query(&format!("{SELECT} ORDER BY s.active DESC, s.id DESC"))
        .fetch_all(db.pool())
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Subscription> {
    may_manage(p)?;
    let row = sqlx::query(&format!("{SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(from_row(&row))
}

fn new_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    format!("whsec_{}", hex::encode(b))
}

pub async fn create(
    db: &Db,
    p: &Principal,
    client: &str,
    input: &SubscriptionInput,
) -> AppResult<CreatedSubscription> {
    may_manage(p)?;
    let (name, url, topics) = validate(input)?;
    let secret = new_secret();
    let now = clock::now_ms();
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO webhook_subscriptions (name, url, secret, topics, active, created_by, created_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6) RETURNING id",
    )
    .bind(&name)
    .bind(&url)
    .bind(&secret)
    .bind(&topics)
    .bind(p.user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("webhook.create", "webhook", id).changes(
            &serde_json::json!({}),
            &serde_json::json!({ "name": name, "url": url, "topics": topics }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedSubscription {
        subscription: get(db, p, id).await?,
        secret,
    })
}

/// Stops deliveries to the subscription: pending ones are marked dead when next picked.
pub async fn revoke(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<()> {
    may_manage(p)?;
    let now = clock::now_ms();
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT active, url FROM webhook_subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.get::<i64, _>(0) == 0 {
        return Err(AppError::conflict(
            "该订阅已撤销",
            "The subscription is already revoked",
        ));
    }
    let url: String = row.get(1);
    sqlx::query("UPDATE webhook_subscriptions SET active = 0, revoked_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("webhook.revoke", "webhook", id).summary(format!("revoked {url}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
