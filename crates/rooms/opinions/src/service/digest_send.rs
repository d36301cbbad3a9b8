//! Sending the daily digest of what is due (逾期/临期/今日到期) once a day to everyone who
//! has due items: staff users, deputies and the contacts of handling units.
//!
//! Who gets what:
//! - every enabled staff user (office, township, station, department) gets the digest of
//!   their queue in their in-app inbox. Users carry no phone or e-mail of their own, so
//!   nothing leaves yidu for them;
//! - every active deputy gets it in the deputy inbox and, when the registry has the
//!   deputy's phone, as an SMS through the outbox (one per deputy, however many accounts);
//! - every handling unit with a contact phone gets one SMS for the unit's queue (the
//!   unit's users see their own digest in the inbox).
//!
//! Exactly once per person and Beijing day: a `digest_sends` row keyed by (person, day)
//! is claimed in the same transaction that writes the inbox notice, the outbox event and
//! the audit record. A second run the same day (another instance, a cron job beside
//! `yidu serve`, a restart) finds the row and sends nothing; on PostgreSQL the primary
//! key makes concurrent claims wait for each other and all but one insert nothing.

use super::handling::{digest_at, Digest};
use super::{event_id, Opinions};
use crate::store;
use serde::Serialize;
use time::Date;
use yidu_audit::{Actor, Entry};
use yidu_kernel::clock::{china_offset, to_china};
use yidu_kernel::{AppError, AppResult, PageQuery, Principal, Role};

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DigestRun {
    /// The Beijing day sent for (YYYY-MM-DD).
    pub day: String,
    /// People with something due.
    pub with_items: usize,
    /// Digests written now (inbox and, with a contact, outbox).
    pub sent: usize,
    /// Of those, queued for SMS through the outbox.
    pub outbound: usize,
    /// People whose digest for the day had already been sent.
    pub already_sent: usize,
}

/// One recipient of the digest.
struct Person {
    /// "user:ID", "deputy:ID" or "unit:ID": the key of `digest_sends`.
    key: String,
    principal: Principal,
    /// The inbox the notice goes to: (user_id, deputy_id). None for units (their users
    /// get their own digest).
    inbox: Option<(Option<i64>, Option<i64>)>,
    /// The outbox's SMS target ("deputy:ID" or "unit:ID") when a phone is known.
    sms: Option<String>,
    region_path: String,
    district_id: Option<i64>,
}

fn principal(user_id: i64, name: &str, role: Role, scope_id: Option<i64>, path: &str) -> Principal {
    Principal {
        user_id,
        username: name.to_string(),
        display_name: name.to_string(),
        role,
        scope_id,
        scope_path: path.to_string(),
        must_change_password: false,
    }
}

/// The Beijing calendar day of a time, as YYYY-MM-DD.
pub fn china_day(now: i64) -> String {
    let d = to_china(now).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses a day given on the command line (YYYY-MM-DD).
pub fn parse_day(s: &str) -> AppResult<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| {
        AppError::field(
            "date",
            "日期格式应为 YYYY-MM-DD",
            "the date must be written YYYY-MM-DD",
        )
    })
}

/// UTC milliseconds of a Beijing day at hour:minute.
pub fn at_china_time(day: Date, hour: u8, minute: u8) -> i64 {
    let t = time::Time::from_hms(hour.min(23), minute.min(59), 0).unwrap_or(time::Time::MIDNIGHT);
    day.with_time(t)
        .assume_offset(china_offset())
        .unix_timestamp()
        * 1000
}

/// Everyone who may get a digest: staff users (not the administrator, who does not
/// handle items, nor committee staff, who have no queue), deputies and units.
async fn recipients(o: &Opinions) -> AppResult<Vec<Person>> {
    let system = Principal::system();
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let q = PageQuery {
            page: Some(page),
            per_page: Some(yidu_kernel::page::MAX_PER_PAGE),
        };
        let got = yidu_accounts::service::list_users(&o.db, &system, &q).await?;
        let n = got.items.len();
        for u in got.items {
            if u.disabled || matches!(u.role, Role::Admin | Role::Committee | Role::Deputy) {
                continue;
            }
            out.push(Person {
                key: format!("user:{}", u.id),
                principal: principal(u.id, &u.display_name, u.role, u.scope_id, &u.scope_path),
                inbox: Some((Some(u.id), None)),
                sms: None,
                region_path: u.scope_path.clone(),
                district_id: None,
            });
        }
        if n == 0 || (page as i64) * (yidu_kernel::page::MAX_PER_PAGE as i64) >= got.total {
            break;
        }
        page += 1;
    }
    use yidu_registry::service::{deputies, units};
    for d in deputies::all(&o.db, &system, &Default::default()).await? {
        let phone = d.phone.as_deref().unwrap_or("").trim().to_string();
        out.push(Person {
            key: format!("deputy:{}", d.id),
            // A deputy's queue is selected by the deputy id, not by a region path.
            principal: principal(0, &d.name, Role::Deputy, Some(d.id), "-"),
            inbox: Some((None, Some(d.id))),
            sms: (!phone.is_empty()).then(|| format!("deputy:{}", d.id)),
            region_path: d.region.path.clone(),
            district_id: d.region.district_id,
        });
    }
    for u in units::all(&o.db, &system, &Default::default()).await? {
        if u.retired || u.contact_phone.trim().is_empty() {
            continue;
        }
        out.push(Person {
            key: format!("unit:{}", u.id),
            principal: principal(0, &u.name, Role::Department, Some(u.id), "-"),
            inbox: None,
            sms: Some(format!("unit:{}", u.id)),
            region_path: u.region.path.clone(),
            district_id: u.region.district_id,
        });
    }
    Ok(out)
}

/// The digest as one short text (SMS and inbox alike).
pub fn digest_text(day: &str, d: &Digest) -> String {
    format!(
        "【议督】{day} 待办摘要：逾期 {} 件，临期 {} 件，今日到期 {} 件，请及时办理。/ Due digest {day}: {} overdue, {} due soon, {} due today.",
        d.red, d.yellow, d.due_today, d.red, d.yellow, d.due_today
    )
}

/// Sends the digest for Beijing day `day` as things stand at `now`. The scheduler in
/// `yidu serve` and the CLI run it as the system; an administrator may run it through the
/// API (e.g. after fixing an SMS gateway); nobody else.
pub async fn send_daily(o: &Opinions, p: &Principal, day: Date, now: i64) -> AppResult<DigestRun> {
    if p.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let day_key = format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    );
    let mut run = DigestRun {
        day: day_key.clone(),
        ..Default::default()
    };
    // Nothing due anywhere: the common case on a quiet day costs one query.
    let any: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT o.id FROM opinions o WHERE o.status IN {} AND o.deadline_at IS NOT NULL AND o.deadline_at < $1 LIMIT 1",
        super::handling::OPEN_SQL
    ))
    .bind(super::handling::horizon(o, now))
    .fetch_optional(o.db.pool())
    .await?;
    if any.is_none() {
        return Ok(run);
    }
    for person in recipients(o).await? {
        let d = digest_at(o, &person.principal, now).await?;
        if d.is_empty() {
            continue;
        }
        run.with_items += 1;
        let items = d.red + d.yellow + d.due_today;
        let text = digest_text(&day_key, &d);
        let mut tx = o.db.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO digest_sends (person, day, items, sent_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (person, day) DO NOTHING",
        )
        .bind(&person.key)
        .bind(&day_key)
        .bind(items)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            run.already_sent += 1;
            continue;
        }
        if let Some((user_id, deputy_id)) = person.inbox {
            store::notify_person(&mut tx, user_id, deputy_id, "digest", &text, now).await?;
        }
        if let Some(target) = &person.sms {
            let payload = serde_json::json!({
                "event": "digest.daily", "person": person.key, "day": day_key, "sms": target,
                "red": d.red, "yellow": d.yellow, "due_today": d.due_today, "text": text, "at": now,
            });
            store::enqueue_event(
                &mut tx,
                &event_id(),
                "digest.daily",
                &payload.to_string(),
                now,
            )
            .await?;
            run.outbound += 1;
        }
        yidu_audit::record(
            &mut tx,
            &Actor::system("opinions.digest"),
            Entry::new("opinion.digest", "digest", &person.key)
                .at(&person.region_path, person.district_id)
                .summary(format!(
                    "{} {day_key}: red={} yellow={} today={} sms={}",
                    person.key,
                    d.red,
                    d.yellow,
                    d.due_today,
                    person.sms.is_some()
                )),
        )
        .await?;
        tx.commit().await?;
        run.sent += 1;
    }
    Ok(run)
}

/// Runs the digest every day at the configured Beijing time until `shutdown` turns true.
/// Starting after that time sends the day's digest at once; the `digest_sends` claims make
/// a restart or a second instance harmless.
pub fn spawn(
    o: Opinions,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let (hour, minute) = o.config.digest_time?;
    Some(tokio::spawn(async move {
        let mut done_for: Option<Date> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = yidu_kernel::clock::now_ms();
            let today = to_china(now).date();
            if done_for != Some(today) && now >= at_china_time(today, hour, minute) {
                match send_daily(&o, &Principal::system(), today, now).await {
                    Ok(r) => {
                        tracing::info!(day = %r.day, sent = r.sent, outbound = r.outbound, already = r.already_sent, "daily digest");
                        done_for = Some(today);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "daily digest failed; retrying in a minute")
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                r = shutdown.changed() => if r.is_err() { break },
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_beijing_days() {
        // 2026-03-04 16:30 UTC is 2026-03-05 00:30 in Beijing.
        let ms = time::macros::datetime!(2026-03-04 16:30 UTC).unix_timestamp() * 1000;
        assert_eq!(china_day(ms), "2026-03-05");
        let d = parse_day("2026-03-05").unwrap();
        assert_eq!(
            at_china_time(d, 8, 0),
            time::macros::datetime!(2026-03-05 00:00 UTC).unix_timestamp() * 1000
        );
        assert!(parse_day("2026-3-5x").is_err());
    }
}
