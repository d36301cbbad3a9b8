//! The opinions room's SQL. Nothing else touches its tables.

use crate::model::{Satisfaction, Status};
use yidu_db::{AnyConnection, AnyRow, Db, Row};

/// An opinion row as stored (personal data still sealed).
#[derive(Debug, Clone)]
pub struct OpinionRow {
    pub id: i64,
    pub tracking_no: String,
    pub query_hash: String,
    pub channel: String,
    pub channel_ref: String,
    pub deputy_id: Option<i64>,
    pub station_id: Option<i64>,
    pub region_id: i64,
    pub region_path: String,
    pub district_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub category_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub citizen_name_enc: String,
    pub citizen_phone_enc: String,
    pub status: Status,
    pub level: String,
    pub unit_id: Option<i64>,
    pub handler_user_id: Option<i64>,
    pub deadline_at: Option<i64>,
    /// A deadline someone else holds (a supervised class): while set, every move that
    /// leaves the item open keeps `deadline_at` at this instead of the usual rule.
    pub held_deadline_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub reply_text: String,
    pub satisfaction: Option<Satisfaction>,
    pub rating_comment: String,
    pub reopen_count: i64,
    pub merged_into: Option<i64>,
    pub converted_kind: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const COLUMNS: &str = "o.id, o.tracking_no, o.query_hash, o.channel, o.channel_ref, o.deputy_id, o.station_id,
    o.region_id, o.region_path, o.district_id, o.grid_id, o.category_id, o.title, o.body, o.address, o.latitude,
    o.longitude, o.citizen_name_enc, o.citizen_phone_enc, o.status, o.level, o.unit_id, o.handler_user_id,
    o.deadline_at, o.accepted_at, o.replied_at, o.closed_at, o.reply_text, o.satisfaction, o.rating_comment,
    o.reopen_count, o.merged_into, o.converted_kind, o.created_at, o.updated_at, o.held_deadline_at";

pub fn from_row(r: &AnyRow) -> OpinionRow {
    let status: String = r.get("status");
    let sat: String = r.get("satisfaction");
    OpinionRow {
        id: r.get("id"),
        tracking_no: r.get("tracking_no"),
        query_hash: r.get("query_hash"),
        channel: r.get("channel"),
        channel_ref: r.get("channel_ref"),
        deputy_id: r.get("deputy_id"),
        station_id: r.get("station_id"),
        region_id: r.get("region_id"),
        region_path: r.get("region_path"),
        district_id: r.get("district_id"),
        grid_id: r.get("grid_id"),
        category_id: r.get("category_id"),
        title: r.get("title"),
        body: r.get("body"),
        address: r.get("address"),
        latitude: r.get("latitude"),
        longitude: r.get("longitude"),
        citizen_name_enc: r.get("citizen_name_enc"),
        citizen_phone_enc: r.get("citizen_phone_enc"),
        status: Status::parse(&status).unwrap_or(Status::Submitted),
        level: r.get("level"),
        unit_id: r.get("unit_id"),
        handler_user_id: r.get("handler_user_id"),
        deadline_at: r.get("deadline_at"),
        held_deadline_at: r.get("held_deadline_at"),
        accepted_at: r.get("accepted_at"),
        replied_at: r.get("replied_at"),
        closed_at: r.get("closed_at"),
        reply_text: r.get("reply_text"),
        satisfaction: Satisfaction::parse(&sat),
        rating_comment: r.get("rating_comment"),
        reopen_count: r.get("reopen_count"),
        merged_into: r.get("merged_into"),
        converted_kind: r.get("converted_kind"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

pub struct NewOpinion<'a> {
    pub tracking_no: &'a str,
    pub query_hash: &'a str,
    pub channel: &'a str,
    pub channel_ref: &'a str,
    pub deputy_id: Option<i64>,
    pub station_id: Option<i64>,
    pub region_id: i64,
    pub region_path: &'a str,
    pub district_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub category_id: Option<i64>,
    pub title: &'a str,
    pub body: &'a str,
    pub address: &'a str,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub citizen_name_enc: &'a str,
    pub citizen_phone_enc: &'a str,
    pub phone_index: &'a str,
    pub client_index: &'a str,
    pub deadline_at: Option<i64>,
    pub now: i64,
}

pub async fn insert(conn: &mut AnyConnection, o: &NewOpinion<'_>) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO opinions (tracking_no, query_hash, channel, channel_ref, deputy_id, station_id, region_id,
            region_path, district_id, grid_id, category_id, title, body, address, latitude, longitude,
            citizen_name_enc, citizen_phone_enc, phone_index, client_index, status, deadline_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                 CAST($15 AS DOUBLE PRECISION), CAST($16 AS DOUBLE PRECISION), $17, $18, $19, $20,
                 'submitted', $21, $22, $22)
         RETURNING id",
    )
    .bind(o.tracking_no)
    .bind(o.query_hash)
    .bind(o.channel)
    .bind(o.channel_ref)
    .bind(o.deputy_id)
    .bind(o.station_id)
    .bind(o.region_id)
    .bind(o.region_path)
    .bind(o.district_id)
    .bind(o.grid_id)
    .bind(o.category_id)
    .bind(o.title)
    .bind(o.body)
    .bind(o.address)
    // As text: see yidu_db::opt_f64 for the driver bug this avoids.
    .bind(yidu_db::opt_f64(o.latitude))
    .bind(yidu_db::opt_f64(o.longitude))
    .bind(o.citizen_name_enc)
    .bind(o.citizen_phone_enc)
    .bind(o.phone_index)
    .bind(o.client_index)
    .bind(o.deadline_at)
    .bind(o.now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub async fn by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<OpinionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM opinions o WHERE o.id = $1");
    Ok(sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(from_row))
}

pub async fn by_tracking_no(db: &Db, no: &str) -> Result<Option<OpinionRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM opinions o WHERE o.tracking_no = $1");
    Ok(sqlx::query(&sql)
        .bind(no)
        .fetch_optional(db.pool())
        .await?
        .as_ref()
        .map(from_row))
}

/// What a citizen's submission is checked against when it is written.
pub struct IntakeCheck<'a> {
    pub idempotency_key: Option<&'a str>,
    pub category_id: Option<i64>,
    pub client_index: &'a str,
    /// Empty when the submission has no phone number: nothing is counted.
    pub phone_index: &'a str,
    pub now: i64,
}

/// What the database holds for one [`IntakeCheck`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeFound {
    /// A submission with this idempotency key is already stored.
    pub key_stored: bool,
    /// No category chosen, or an active one.
    pub category_ok: bool,
    /// Items from this client in the hour before `now`, counted up to `client_cap`.
    pub client_count: i64,
    /// Items with this phone number in the day before `now`, counted up to `phone_cap`.
    pub phone_count: i64,
}

/// The idempotency key, the category and both rate-limit counts of every submission of
/// a batch, in one statement on the writer's connection: inside the transaction that
/// stores them, so that submissions written concurrently cannot all pass a limit (the
/// caller adds those of the same batch), and without a read per request on a reader
/// thread. The counts stop at their caps: a client past its limit costs no more.
pub async fn intake_checks(
    conn: &mut AnyConnection,
    scope: &str,
    checks: &[IntakeCheck<'_>],
    client_cap: i64,
    phone_cap: i64,
) -> Result<Vec<IntakeFound>, sqlx::Error> {
    if checks.is_empty() {
        return Ok(Vec::new());
    }
    let rows = (0..checks.len())
        .map(|i| {
            let b = i * 6;
            format!(
                "({i}, CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS BIGINT), CAST(${} AS TEXT), CAST(${} AS BIGINT))",
                b + 1, b + 2, b + 3, b + 4, b + 5, b + 6
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // The caps and the scope are numbers and a constant of this program, not input.
    let sql = format!(
        "WITH v (i, k, cat, ci, cs, pi, ps) AS (VALUES {rows})
         SELECT v.i,
           CAST(CASE WHEN EXISTS (SELECT 1 FROM idempotency_keys WHERE scope = '{scope}' AND idem_key = v.k) THEN 1 ELSE 0 END AS BIGINT),
           CAST(CASE WHEN v.cat IS NULL THEN 1 ELSE (SELECT COUNT(*) FROM categories WHERE id = v.cat AND retired = 0) END AS BIGINT),
           CAST((SELECT COUNT(*) FROM (SELECT 1 FROM opinions WHERE client_index = v.ci AND created_at >= v.cs LIMIT {client_cap}) by_client) AS BIGINT),
           CAST(CASE WHEN v.pi = '' THEN 0 ELSE
             (SELECT COUNT(*) FROM (SELECT 1 FROM opinions WHERE phone_index = v.pi AND created_at >= v.ps LIMIT {phone_cap}) by_phone) END AS BIGINT)
         FROM v ORDER BY v.i",
        client_cap = client_cap.max(0),
        phone_cap = phone_cap.max(0),
        scope = scope.replace('\'', "''"),
    );
    let sql = yidu_db::positional(conn, sql);
    let mut q = sqlx::query(&sql).persistent(false);
    for c in checks {
        q = q
            .bind(c.idempotency_key.map(str::to_string))
            .bind(c.category_id)
            .bind(c.client_index.to_string())
            .bind(c.now - 3_600_000)
            .bind(c.phone_index.to_string())
            .bind(c.now - 86_400_000);
    }
    let found: Vec<IntakeFound> = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| IntakeFound {
            key_stored: r.get::<i64, _>(1) > 0,
            category_ok: r.get::<i64, _>(2) > 0,
            client_count: r.get(3),
            phone_count: r.get(4),
        })
        .collect();
    if found.len() != checks.len() {
        return Err(sqlx::Error::Protocol(format!(
            "intake checks: {} rows for {} submissions",
            found.len(),
            checks.len()
        )));
    }
    Ok(found)
}

pub async fn insert_file(
    conn: &mut AnyConnection,
    opinion_id: i64,
    event_id: Option<i64>,
    ct: &str,
    bytes: &[u8],
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO opinion_files (opinion_id, event_id, content_type, bytes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(opinion_id)
    .bind(event_id)
    .bind(ct)
    .bind(bytes.to_vec())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

/// A reply's attachment, for this room's reads and its download (bytes loaded apart).
pub async fn insert_attachment(
    conn: &mut AnyConnection,
    opinion_id: i64,
    event_id: i64,
    ct: &str,
    name: &str,
    bytes: &[u8],
    now: i64,
) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO opinion_files (opinion_id, event_id, content_type, bytes, created_at, kind, file_name)
         VALUES ($1, $2, $3, $4, $5, 'reply', $6) RETURNING id",
    )
    .bind(opinion_id)
    .bind(event_id)
    .bind(ct)
    .bind(bytes.to_vec())
    .bind(now)
    .bind(name)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

/// (id, file name, content type, size in bytes) of an item's reply attachments.
pub async fn attachments(
    db: &Db,
    opinion_id: i64,
) -> Result<Vec<(i64, String, String, i64)>, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT id, file_name, content_type, CAST(LENGTH(bytes) AS BIGINT) FROM opinion_files
         WHERE opinion_id = $1 AND kind = 'reply' ORDER BY id",
    )
    .bind(opinion_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect())
}

/// One stored file of an item, of the given kind ('photo' or 'reply'):
/// (content type, file name, bytes).
pub async fn file_of_kind(
    db: &Db,
    opinion_id: i64,
    file_id: i64,
    kind: &str,
) -> Result<Option<(String, String, Vec<u8>)>, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT content_type, file_name, bytes FROM opinion_files WHERE opinion_id = $1 AND id = $2 AND kind = $3",
    )
    .bind(opinion_id)
    .bind(file_id)
    .bind(kind)
    .fetch_optional(db.pool())
    .await?
    .map(|r| (r.get(0), r.get(1), r.get(2))))
}

pub async fn file_ids(db: &Db, opinion_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT id FROM opinion_files WHERE opinion_id = $1 AND kind = 'photo' ORDER BY id",
    )
    .bind(opinion_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect())
}

/// The photo ids of many items (a queue page), by item, in id order.
pub async fn photo_ids(
    db: &Db,
    opinion_ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<i64>>, sqlx::Error> {
    let mut out: std::collections::HashMap<i64, Vec<i64>> = std::collections::HashMap::new();
    if opinion_ids.is_empty() {
        return Ok(out);
    }
    // Ids from the database, not from input: listing them inline is safe.
    let list: Vec<String> = opinion_ids.iter().map(i64::to_string).collect();
    let rows = sqlx::query(&format!(
        "SELECT opinion_id, id FROM opinion_files WHERE opinion_id IN ({}) AND kind = 'photo' ORDER BY id",
        list.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    for r in &rows {
        out.entry(r.get(0)).or_default().push(r.get(1));
    }
    Ok(out)
}

/// The names of categories by id.
pub async fn category_names(
    db: &Db,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let rows = sqlx::query(&format!(
        "SELECT id, name FROM categories WHERE id IN ({})",
        list.join(", ")
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub struct Event<'a> {
    pub opinion_id: i64,
    pub at: i64,
    pub actor_id: i64,
    pub actor_name: &'a str,
    pub actor_role: &'a str,
    pub action: &'a str,
    pub from: Status,
    pub to: Status,
    pub note: &'a str,
    pub unit_id: Option<i64>,
}

pub async fn insert_event(conn: &mut AnyConnection, e: &Event<'_>) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO opinion_events (opinion_id, at, actor_id, actor_name, actor_role, action, from_status, to_status, note, unit_id, public)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1) RETURNING id",
    )
    .bind(e.opinion_id)
    .bind(e.at)
    .bind(e.actor_id)
    .bind(e.actor_name)
    .bind(e.actor_role)
    .bind(e.action)
    .bind(e.from.as_str())
    .bind(e.to.as_str())
    .bind(e.note)
    .bind(e.unit_id)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

pub struct EventRow {
    pub at: i64,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

pub async fn events(db: &Db, opinion_id: i64) -> Result<Vec<EventRow>, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT at, actor_name, actor_role, action, from_status, to_status, note FROM opinion_events
         WHERE opinion_id = $1 ORDER BY at, id",
    )
    .bind(opinion_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| EventRow {
        at: r.get(0),
        actor_name: r.get(1),
        actor_role: r.get(2),
        action: r.get(3),
        from: r.get(4),
        to: r.get(5),
        note: r.get(6),
    })
    .collect())
}

/// Applies the fields a move changes, if nobody moved the item since it was read
/// (`expected` is its status and `updated_at` then). Returns false when someone did.
pub async fn update_after_move(
    conn: &mut AnyConnection,
    o: &OpinionRow,
    expected: (Status, i64),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE opinions SET status = $2, level = $3, unit_id = $4, handler_user_id = $5, deadline_at = $6,
            accepted_at = $7, replied_at = $8, closed_at = $9, reply_text = $10, satisfaction = $11,
            rating_comment = $12, reopen_count = $13, merged_into = $14, converted_kind = $15,
            category_id = $16, updated_at = $17, held_deadline_at = $20
         WHERE id = $1 AND status = $18 AND updated_at = $19",
    )
    .bind(o.id)
    .bind(o.status.as_str())
    .bind(&o.level)
    .bind(o.unit_id)
    .bind(o.handler_user_id)
    .bind(o.deadline_at)
    .bind(o.accepted_at)
    .bind(o.replied_at)
    .bind(o.closed_at)
    .bind(&o.reply_text)
    .bind(o.satisfaction.map(|s| s.as_str()).unwrap_or(""))
    .bind(&o.rating_comment)
    .bind(o.reopen_count)
    .bind(o.merged_into)
    .bind(&o.converted_kind)
    .bind(o.category_id)
    .bind(now)
    .bind(expected.0.as_str())
    .bind(expected.1)
    .bind(o.held_deadline_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets the effective and the held deadline of an item, if nobody moved it since it was
/// read (`expected` is its status and `updated_at` then). Returns false when someone did.
pub async fn update_deadlines(
    conn: &mut AnyConnection,
    o: &OpinionRow,
    expected: (Status, i64),
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE opinions SET deadline_at = $2, held_deadline_at = $3, updated_at = $4
         WHERE id = $1 AND status = $5 AND updated_at = $6",
    )
    .bind(o.id)
    .bind(o.deadline_at)
    .bind(o.held_deadline_at)
    .bind(now)
    .bind(expected.0.as_str())
    .bind(expected.1)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn idempotent_response(
    db: &Db,
    scope: &str,
    key: &str,
) -> Result<Option<String>, sqlx::Error> {
    Ok(
        sqlx::query("SELECT response FROM idempotency_keys WHERE scope = $1 AND idem_key = $2")
            .bind(scope)
            .bind(key)
            .fetch_optional(db.pool())
            .await?
            .map(|r| r.get(0)),
    )
}

pub async fn remember_response(
    conn: &mut AnyConnection,
    scope: &str,
    key: &str,
    response: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO idempotency_keys (scope, idem_key, response, created_at) VALUES ($1, $2, $3, $4)")
        .bind(scope)
        .bind(key)
        .bind(response)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub struct Notice<'a> {
    pub deputy_id: Option<i64>,
    pub station_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub region_id: Option<i64>,
    pub opinion_id: i64,
    pub kind: &'a str,
    pub text: &'a str,
}

pub async fn notify(conn: &mut AnyConnection, n: &Notice<'_>, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO inbox (deputy_id, station_id, unit_id, region_id, opinion_id, kind, text, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(n.deputy_id)
    .bind(n.station_id)
    .bind(n.unit_id)
    .bind(n.region_id)
    .bind(n.opinion_id)
    .bind(n.kind)
    .bind(n.text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A notice for one person (the daily digest): a user's own inbox or a deputy's.
pub async fn notify_person(
    conn: &mut AnyConnection,
    user_id: Option<i64>,
    deputy_id: Option<i64>,
    kind: &str,
    text: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO inbox (user_id, deputy_id, kind, text, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user_id)
    .bind(deputy_id)
    .bind(kind)
    .bind(text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn enqueue_event(
    conn: &mut AnyConnection,
    event_id: &str,
    topic: &str,
    payload: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (event_id, topic, payload, created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, 0, $4)",
    )
    .bind(event_id)
    .bind(topic)
    .bind(payload)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn record_duty(
    conn: &mut AnyConnection,
    deputy_id: i64,
    kind: &str,
    opinion_id: i64,
    summary: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO duty_records (deputy_id, at, kind, object_type, object_id, summary) VALUES ($1, $2, $3, 'opinion', $4, $5)",
    )
    .bind(deputy_id)
    .bind(now)
    .bind(kind)
    .bind(opinion_id)
    .bind(summary)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
