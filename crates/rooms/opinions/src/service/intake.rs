//! Citizen intake written in batches: the submissions queued while the previous batch
//! was written go into the database together, with one multi-row statement per table
//! (see `yidu_db::batch`). The rows are exactly those [`write_rows`] writes for one
//! submission, which remains the path of a submission written alone (after a batch
//! failed) and of the benchmark's baseline.
//!
//! Per batch: one read of what refuses a submission (a key already stored, an unknown
//! category, a rate limit: `refusals`), the idempotency records (`ON CONFLICT DO NOTHING
//! RETURNING`: a key that is already taken, by an earlier batch, another instance or an
//! earlier submission of this batch, stores nothing and is answered with the first
//! receipt once the batch is committed), the items, their search tokens, first events, cockpit counters, photos,
//! notices, outbox events and audit records: about a dozen statements for the batch
//! instead of about fifteen for every submission.

use super::submit::{key_taken, refusals, write_rows, Prepared, Refusal, IDEMPOTENCY_SCOPE};
use super::{event_id, Opinions};
use std::collections::{HashMap, HashSet};
use yidu_audit::{Actor, Entry};
use yidu_db::{AnyConnection, Batch, BoxFuture, Row, Tx};

/// The batch kind of citizen submissions.
pub(crate) struct Intake;

/// One queued submission with the room it goes to.
pub(crate) struct Queued {
    pub o: Opinions,
    pub p: Prepared,
}

impl Batch for Intake {
    type Item = Queued;
    /// The item's id, or why this submission stored nothing.
    type Out = Result<i64, Refusal>;
    type Err = Refusal;

    fn write_many<'c>(
        tx: &'c mut Tx,
        items: &'c [Queued],
    ) -> BoxFuture<'c, Result<Vec<Self::Out>, sqlx::Error>> {
        Box::pin(write_many(tx, items))
    }

    fn write_one<'c>(
        tx: &'c mut Tx,
        item: &'c Queued,
    ) -> BoxFuture<'c, Result<Self::Out, Refusal>> {
        Box::pin(async move {
            match write_rows(tx, &item.o, &item.p).await {
                Ok(id) => Ok(Ok(id)),
                // A taken key is the submission's own answer, not a failed write.
                Err(Refusal::KeyTaken(e)) => Ok(Err(Refusal::KeyTaken(e))),
                Err(e) => Err(e),
            }
        })
    }
}

/// `($1, $2, ...), (...)` for `rows` rows of `per` parameters, each row laid out by
/// `row` from its first parameter's number.
fn values(rows: usize, per: usize, row: impl Fn(usize) -> String) -> String {
    (0..rows)
        .map(|r| row(r * per + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

fn marks(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn write_many(
    conn: &mut AnyConnection,
    items: &[Queued],
) -> Result<Vec<Result<i64, Refusal>>, sqlx::Error> {
    let Some(first) = items.first() else {
        return Ok(Vec::new());
    };
    let o = &first.o;
    let mut outs: Vec<Option<Result<i64, Refusal>>> = (0..items.len()).map(|_| None).collect();

    // A key twice in the batch: the later submission is a resend of the earlier one.
    let mut seen = HashSet::new();
    for (i, q) in items.iter().enumerate() {
        if let Some(k) = q.p.idempotency_key.as_deref() {
            if !seen.insert(k) {
                outs[i] = Some(Err(key_taken()));
            }
        }
    }
    // Keys already stored, categories and rate limits: one statement for the batch.
    let pending: Vec<usize> = (0..items.len()).filter(|i| outs[*i].is_none()).collect();
    let ps: Vec<&Prepared> = pending.iter().map(|i| &items[*i].p).collect();
    for (i, refused) in pending.iter().zip(refusals(&mut *conn, o, &ps).await?) {
        if let Some(r) = refused {
            outs[*i] = Some(Err(r));
        }
    }
    // Then the idempotency records: a key taken meanwhile (by another instance, on
    // PostgreSQL) stores nothing else.
    let keyed: Vec<(usize, &str)> = items
        .iter()
        .enumerate()
        .filter(|(i, _)| outs[*i].is_none())
        .filter_map(|(i, q)| q.p.idempotency_key.as_deref().map(|k| (i, k)))
        .collect();
    if !keyed.is_empty() {
        let sql = format!(
            "INSERT INTO idempotency_keys (scope, idem_key, response, created_at) VALUES {} \
             ON CONFLICT (scope, idem_key) DO NOTHING RETURNING idem_key",
            values(keyed.len(), 3, |b| format!(
                "('{IDEMPOTENCY_SCOPE}', {})",
                marks(b, 3)
            ))
        );
        let sql = yidu_db::positional(conn, sql);
        let mut q = sqlx::query(&sql).persistent(false);
        for (i, k) in &keyed {
            let p = &items[*i].p;
            let stored = serde_json::to_string(&p.receipt)
                .map_err(|e| sqlx::Error::Protocol(format!("receipt: {e}")))?;
            q = q.bind(k.to_string()).bind(stored).bind(p.now);
        }
        let stored: HashSet<String> = q
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        for (i, k) in &keyed {
            if !stored.contains(*k) {
                outs[*i] = Some(Err(key_taken()));
            }
        }
    }
    let live: Vec<&Prepared> = items
        .iter()
        .zip(&outs)
        .filter(|(_, out)| out.is_none())
        .map(|(q, _)| &q.p)
        .collect();
    let ids = insert_items(conn, &live).await?;
    write_companions(conn, o, &live, &ids).await?;
    let mut next = ids.into_iter();
    Ok(outs
        .into_iter()
        .map(|out| out.unwrap_or_else(|| Ok(next.next().unwrap_or_default())))
        .collect())
}

/// Inserts the items; returns their ids in the order given.
async fn insert_items(
    conn: &mut AnyConnection,
    live: &[&Prepared],
) -> Result<Vec<i64>, sqlx::Error> {
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO opinions (tracking_no, query_hash, channel, channel_ref, deputy_id, station_id, region_id,
            region_path, district_id, grid_id, category_id, title, body, address, latitude, longitude,
            citizen_name_enc, citizen_phone_enc, phone_index, client_index, status, deadline_at, created_at, updated_at)
         VALUES {} RETURNING id, tracking_no",
        values(live.len(), 23, |b| format!(
            "({}, CAST(${} AS DOUBLE PRECISION), CAST(${} AS DOUBLE PRECISION), {}, 'submitted', ${}, ${}, ${})",
            marks(b, 14),
            b + 14,
            b + 15,
            marks(b + 16, 4),
            b + 20,
            b + 21,
            b + 22
        ))
    );
    let sql = yidu_db::positional(conn, sql);
    let mut q = sqlx::query(&sql).persistent(false);
    for p in live {
        let (c, r) = (&p.clean, &p.routing);
        q = q
            .bind(p.receipt.tracking_no.clone())
            .bind(p.query_hash.clone())
            .bind(p.channel_kind)
            .bind(p.channel_ref.clone())
            .bind(r.deputy_id)
            .bind(r.station_id)
            .bind(r.region_id)
            .bind(r.region_path.clone())
            .bind(r.district_id)
            .bind(c.grid_id)
            .bind(c.category_id)
            .bind(c.title.clone())
            .bind(c.body.clone())
            .bind(c.address.clone())
            // As text: see yidu_db::opt_f64 for the driver bug this avoids.
            .bind(yidu_db::opt_f64(c.latitude))
            .bind(yidu_db::opt_f64(c.longitude))
            .bind(p.name_enc.clone())
            .bind(p.phone_enc.clone())
            .bind(p.phone_index.clone())
            .bind(p.client_index.clone())
            .bind(p.deadline)
            .bind(p.now)
            .bind(p.now);
    }
    // RETURNING promises no order: ids are matched back by tracking number (unique).
    let mut by_no: HashMap<String, i64> = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| (r.get::<String, _>(1), r.get::<i64, _>(0)))
        .collect();
    live.iter()
        .map(|p| {
            by_no.remove(&p.receipt.tracking_no).ok_or_else(|| {
                sqlx::Error::Protocol(format!("no id returned for {}", p.receipt.tracking_no))
            })
        })
        .collect()
}

/// Everything else a new item comes with, for all items of the batch.
async fn write_companions(
    conn: &mut AnyConnection,
    o: &Opinions,
    live: &[&Prepared],
    ids: &[i64],
) -> Result<(), sqlx::Error> {
    if live.is_empty() {
        return Ok(());
    }
    let n = live.len();
    let rows: Vec<(i64, String)> = ids
        .iter()
        .zip(live)
        .map(|(id, p)| (*id, p.search_tokens.clone()))
        .collect();
    super::search::index_batch(&mut *conn, o.db.backend(), &rows).await?;

    let sql = format!(
        "INSERT INTO opinion_events (opinion_id, at, actor_id, actor_name, actor_role, action, from_status, to_status, note, unit_id, public) VALUES {}",
        values(n, 2, |b| format!(
            "(${b}, ${}, 0, '群众', 'citizen', 'submit', 'submitted', 'submitted', '', NULL, 1)",
            b + 1
        ))
    );
    let sql = yidu_db::positional(conn, sql);
    let mut q = sqlx::query(&sql).persistent(false);
    for (id, p) in ids.iter().zip(live) {
        q = q.bind(*id).bind(p.now);
    }
    q.execute(&mut *conn).await?;

    let received: Vec<yidu_cockpit::Item> = live
        .iter()
        .map(|p| yidu_cockpit::Item {
            created_at: p.now,
            region_path: p.routing.region_path.clone(),
            grid_id: p.clean.grid_id,
            category_id: p.clean.category_id,
            station_id: p.routing.station_id,
            status: "submitted".into(),
            ..Default::default()
        })
        .collect();
    yidu_cockpit::counters::record_received(
        &mut *conn,
        &o.calendar,
        o.config.reply_days,
        &received,
    )
    .await?;

    for (id, p) in ids.iter().zip(live) {
        for (ct, bytes) in &p.photos {
            crate::store::insert_file(&mut *conn, *id, None, ct, bytes, p.now).await?;
        }
    }

    // The notice goes to the deputy or station and, by region, to the congress office
    // and the township over the item's region, as for a single submission.
    let sql = format!(
        "INSERT INTO inbox (deputy_id, station_id, unit_id, region_id, opinion_id, kind, text, created_at) VALUES {}",
        values(n, 6, |b| format!(
            "(${b}, ${}, NULL, ${}, ${}, 'submitted', ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5
        ))
    );
    let sql = yidu_db::positional(conn, sql);
    let mut q = sqlx::query(&sql).persistent(false);
    for (id, p) in ids.iter().zip(live) {
        q = q
            .bind(p.routing.deputy_id)
            .bind(p.routing.station_id)
            .bind(Some(p.routing.region_id))
            .bind(*id)
            .bind(format!("新的群众意见：{}", p.clean.title))
            .bind(p.now);
    }
    q.execute(&mut *conn).await?;

    let sql = format!(
        "INSERT INTO outbox (event_id, topic, payload, created_at, attempts, next_attempt_at) VALUES {}",
        values(n, 4, |b| format!(
            "(${b}, 'opinion.submitted', ${}, ${}, 0, ${})",
            b + 1,
            b + 2,
            b + 3
        ))
    );
    let sql = yidu_db::positional(conn, sql);
    let mut q = sqlx::query(&sql).persistent(false);
    for p in live {
        let payload = serde_json::json!({
            "event": "opinion.submitted", "tracking_no": p.receipt.tracking_no, "status": "submitted",
            "channel": p.channel_kind, "region_id": p.routing.region_id, "at": p.now,
        });
        q = q
            .bind(event_id())
            .bind(payload.to_string())
            .bind(p.now)
            .bind(p.now);
    }
    q.execute(&mut *conn).await?;

    let records: Vec<(Actor, Entry)> = ids
        .iter()
        .zip(live)
        .map(|(id, p)| {
            (
                Actor {
                    user_id: 0,
                    name: "citizen".into(),
                    client: p.client.clone(),
                },
                Entry::new("opinion.submit", "opinion", id)
                    .at(&p.routing.region_path, p.routing.district_id)
                    .summary(format!(
                        "tracking_no={} channel={}",
                        p.receipt.tracking_no, p.channel_kind
                    )),
            )
        })
        .collect();
    yidu_audit::record_many(&mut *conn, &records, yidu_kernel::clock::now_ms()).await?;
    Ok(())
}
