//! A citizen submits an opinion: validated, rate-limited, deduplicated by idempotency
//! key, stored with personal data sealed, and announced to whoever must claim it, all
//! in one transaction.

use super::{event_id, Opinions};
use crate::model::input::CleanSubmission;
use crate::model::input::MAX_PHOTOS;
use crate::model::photo::clean_photo;
use crate::model::{Channel, Receipt, Status, Submission, Upload};
use crate::store::{self, Event, NewOpinion, Notice};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use yidu_audit::{Actor, Entry};
use yidu_db::AnyConnection;
use yidu_kernel::{clock::now_ms, AppError, AppResult, FieldError};

pub(crate) const IDEMPOTENCY_SCOPE: &str = "opinion.submit";
/// Letters and digits that cannot be mistaken for one another when read aloud or copied.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn random_code(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The stored form of a query code: it only ever leaves yidu once, in the receipt.
pub fn query_hash(tracking_no: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "{tracking_no}:{}",
        code.trim().to_ascii_uppercase()
    )))
}

/// What refuses each of a batch of prepared submissions, in their order, read in one
/// statement inside the transaction that writes them: a stored idempotency key (answered
/// with the first receipt, whatever else has changed since), an unknown or retired
/// category, or a rate limit, which counts the stored items and the submissions of this
/// batch before it that are not refused.
pub(crate) async fn refusals(
    conn: &mut AnyConnection,
    o: &Opinions,
    ps: &[&Prepared],
) -> Result<Vec<Option<Refusal>>, sqlx::Error> {
    let (client_cap, phone_cap) = (o.config.per_client_per_hour, o.config.per_phone_per_day);
    let checks: Vec<store::IntakeCheck> = ps
        .iter()
        .map(|p| store::IntakeCheck {
            idempotency_key: p.idempotency_key.as_deref(),
            category_id: p.clean.category_id,
            client_index: &p.client_index,
            phone_index: &p.phone_index,
            now: p.now,
        })
        .collect();
    let found =
        store::intake_checks(conn, IDEMPOTENCY_SCOPE, &checks, client_cap, phone_cap).await?;
    let mut by_client: HashMap<&str, i64> = HashMap::new();
    let mut by_phone: HashMap<&str, i64> = HashMap::new();
    Ok(ps
        .iter()
        .zip(found)
        .map(|(p, f)| {
            if f.key_stored {
                return Some(key_taken());
            }
            if !f.category_ok {
                return Some(Refusal::App(unknown_category()));
            }
            let client = by_client.entry(&p.client_index).or_default();
            let phone =
                (!p.phone_index.is_empty()).then(|| by_phone.entry(&p.phone_index).or_default());
            let phone_full = phone
                .as_ref()
                .is_some_and(|n| f.phone_count + **n >= phone_cap);
            if f.client_count + *client >= client_cap || phone_full {
                return Some(Refusal::App(AppError::RateLimited));
            }
            *client += 1;
            if let Some(n) = phone {
                *n += 1;
            }
            None
        })
        .collect())
}

/// The refusal of a submission whose idempotency key is already taken.
pub(crate) fn key_taken() -> Refusal {
    Refusal::KeyTaken(AppError::conflict(
        "该提交已在处理（幂等键重复）",
        "this submission is already being stored (same idempotency key)",
    ))
}

fn unknown_category() -> AppError {
    AppError::field(
        "category_id",
        "所选类别不存在",
        "the chosen category does not exist",
    )
}

/// Whether a submission with this idempotency key is already stored: a resend, to be
/// answered with its receipt before anything else is offered.
pub async fn already_stored(o: &Opinions, idempotency_key: &str) -> AppResult<bool> {
    let Some(k) = checked_key(Some(idempotency_key))? else {
        return Ok(false);
    };
    Ok(store::idempotent_response(&o.db, IDEMPOTENCY_SCOPE, k)
        .await?
        .is_some())
}

/// The category must exist and be active (retired ones stay on old items only).
pub(crate) async fn check_category(o: &Opinions, id: Option<i64>) -> AppResult<()> {
    let Some(id) = id else { return Ok(()) };
    let found = sqlx::query("SELECT 1 FROM categories WHERE id = $1 AND retired = 0")
        .bind(id)
        .fetch_optional(o.db.pool())
        .await?;
    if found.is_none() {
        return Err(unknown_category());
    }
    Ok(())
}

/// A submission ready to be written: validated, routed, rate-checked, sealed and
/// tokenized, so that writing it runs SQL only (it holds SQLite's single writer then).
pub struct Prepared {
    pub receipt: Receipt,
    pub(crate) query_hash: String,
    pub(crate) channel_kind: &'static str,
    pub(crate) channel_ref: String,
    pub(crate) routing: super::routes::Routing,
    pub(crate) clean: CleanSubmission,
    pub(crate) name_enc: String,
    pub(crate) phone_enc: String,
    pub(crate) phone_index: String,
    pub(crate) client_index: String,
    pub(crate) client: String,
    pub(crate) deadline: Option<i64>,
    pub(crate) now: i64,
    pub(crate) search_tokens: String,
    pub(crate) photos: Vec<(String, Vec<u8>)>,
    pub(crate) idempotency_key: Option<String>,
}

/// Why a write job did not go through: an ordinary refusal, or another request with the
/// same idempotency key got there first (answered with that request's receipt).
#[derive(Debug)]
pub enum Refusal {
    App(AppError),
    KeyTaken(AppError),
    /// The random tracking number is already an item's (about once in 2 × 10⁹ / n² for
    /// n items in a day): nothing was stored, and the submission is tried again with new
    /// numbers.
    TrackingTaken,
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::App(e.into())
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::App(e)
    }
}

fn checked_key(idempotency_key: Option<&str>) -> AppResult<Option<&str>> {
    let key = idempotency_key.map(str::trim).filter(|k| !k.is_empty());
    if key.is_some_and(|k| k.len() > 100) {
        return Err(AppError::field(
            "idempotency_key",
            "幂等键过长",
            "idempotency key too long",
        ));
    }
    Ok(key)
}

/// Stores a citizen's submission and returns its receipt. With the same idempotency key
/// a retry returns the first receipt and stores nothing new.
pub async fn submit(
    o: &Opinions,
    channel: Channel,
    input: &Submission,
    photos: &[Upload],
    client: &str,
    idempotency_key: Option<&str>,
) -> AppResult<Receipt> {
    // No read before the write: a resend is recognised by its key where the submission is
    // written (`refusals`, in the same statement as the other checks), and answered with
    // the first receipt from there. Only when the submission fails before it gets there
    // (say its deputy code was retired since the first send) is the key looked up here.
    for _ in 0..TRACKING_ATTEMPTS {
        let prepared =
            match prepare(o, channel.clone(), input, photos, client, idempotency_key).await {
                Ok(p) => p,
                Err(e) => {
                    if let Some(k) = checked_key(idempotency_key)? {
                        if let Some(stored) =
                            store::idempotent_response(&o.db, IDEMPOTENCY_SCOPE, k).await?
                        {
                            return serde_json::from_str(&stored).map_err(AppError::internal);
                        }
                    }
                    return Err(e);
                }
            };
        let receipt = prepared.receipt.clone();
        let key = prepared.idempotency_key.clone();
        // Group commit: the rows go into a transaction shared with concurrent submissions,
        // in a savepoint of their own, and the receipt is given once the COMMIT is durable.
        // Batched: written with the submissions queued meanwhile, one statement per table.
        let written =
            o.db.write_batched::<super::intake::Intake>(super::intake::Queued {
                o: o.clone(),
                p: prepared,
            })
            .await
            .and_then(|out| out);
        return match written {
            Ok(_) => Ok(receipt),
            Err(Refusal::App(e)) => Err(e),
            Err(Refusal::TrackingTaken) => continue,
            Err(Refusal::KeyTaken(e)) => {
                // A concurrent request with the same key won: answer with its receipt. It
                // is committed by now (it came first in this batch or in an earlier commit).
                let k = key.as_deref().unwrap_or_default();
                match store::idempotent_response(&o.db, IDEMPOTENCY_SCOPE, k).await? {
                    Some(first) => serde_json::from_str(&first).map_err(AppError::internal),
                    None => Err(e),
                }
            }
        };
    }
    Err(AppError::internal(anyhow::anyhow!(
        "no free tracking number in {TRACKING_ATTEMPTS} attempts"
    )))
}

/// New random numbers for a submission whose tracking number was taken: a second clash
/// in a row means something other than chance.
const TRACKING_ATTEMPTS: usize = 3;

/// Everything before the write: validation, photo checks, routing, sealing personal data
/// and tokenizing for search. The category, the rate limits and the idempotency key are
/// checked where the submission is written ([`refusals`]).
pub async fn prepare(
    o: &Opinions,
    channel: Channel,
    input: &Submission,
    photos: &[Upload],
    client: &str,
    idempotency_key: Option<&str>,
) -> AppResult<Prepared> {
    let key = checked_key(idempotency_key)?.map(str::to_string);
    let clean = input.validate()?;
    if photos.len() > MAX_PHOTOS {
        return Err(AppError::Validation(vec![FieldError::new(
            "photos",
            format!("最多上传 {MAX_PHOTOS} 张照片"),
            format!("at most {MAX_PHOTOS} photos"),
        )]));
    }
    let mut cleaned = Vec::with_capacity(photos.len());
    let mut problems = yidu_kernel::error::Problems::default();
    for (i, p) in photos.iter().enumerate() {
        if let Some(c) = problems.take(clean_photo(i, &p.bytes)) {
            cleaned.push((c.0.to_string(), c.1));
        }
    }
    problems.finish()?;
    let now = now_ms();
    let client_index = o.keys.blind_index("client", client);
    let phone_index = clean
        .phone
        .as_ref()
        .map(|p| o.keys.blind_index("phone", p.as_str()))
        .unwrap_or_default();
    let routing = super::routes::route(o, &channel, clean.grid_id).await?;

    let tracking_no = format!(
        "{}{}",
        yidu_kernel::clock::to_china(now)
            .format(&time::macros::format_description!(
                "[year repr:last_two][month][day]"
            ))
            .unwrap_or_default(),
        random_code(6)
    );
    let query_code = random_code(6);
    let name_enc = clean
        .name
        .as_deref()
        .map(|n| o.keys.seal(n))
        .unwrap_or_default();
    let phone_enc = clean
        .phone
        .as_ref()
        .map(|p| o.keys.seal(p.as_str()))
        .unwrap_or_default();
    // Tokenized before the write: jieba must not hold up the single writer.
    let search_tokens = super::search::item_tokens(
        &o.segmenter,
        &clean.title,
        &clean.body,
        &routing.region_path,
        routing.station_id,
        routing.deputy_id,
    );
    Ok(Prepared {
        query_hash: query_hash(&tracking_no, &query_code),
        receipt: Receipt {
            tracking_no,
            query_code,
            status: Status::Submitted,
        },
        channel_kind: channel.kind(),
        channel_ref: channel.reference().to_string(),
        routing,
        deadline: o.deadline(now, o.config.accept_days),
        clean,
        name_enc,
        phone_enc,
        phone_index,
        client_index,
        client: client.to_string(),
        now,
        search_tokens,
        photos: cleaned,
        idempotency_key: key,
    })
}

/// Writes a prepared submission in the caller's transaction: the idempotency record
/// first (a concurrent retry fails there before writing anything else), then the item,
/// its search tokens, its first event, the cockpit counters, its photos, the notice to
/// whoever must claim it, the outbox event and the audit record. Returns the item's id.
/// The benchmark's baseline calls this too, one transaction per submission.
pub async fn write_rows(
    conn: &mut AnyConnection,
    o: &Opinions,
    p: &Prepared,
) -> Result<i64, Refusal> {
    let now = p.now;
    let tracking_no = &p.receipt.tracking_no;
    if let Some(refused) = refusals(&mut *conn, o, &[p])
        .await?
        .into_iter()
        .flatten()
        .next()
    {
        return Err(refused);
    }
    if let Some(k) = &p.idempotency_key {
        let stored = serde_json::to_string(&p.receipt).map_err(AppError::internal)?;
        store::remember_response(&mut *conn, IDEMPOTENCY_SCOPE, k, &stored, now)
            .await
            .map_err(|e| Refusal::KeyTaken(e.into()))?;
    }
    let (clean, routing) = (&p.clean, &p.routing);
    let id = store::insert(
        &mut *conn,
        &NewOpinion {
            tracking_no,
            query_hash: &p.query_hash,
            channel: p.channel_kind,
            channel_ref: &p.channel_ref,
            deputy_id: routing.deputy_id,
            station_id: routing.station_id,
            region_id: routing.region_id,
            region_path: &routing.region_path,
            district_id: routing.district_id,
            grid_id: clean.grid_id,
            category_id: clean.category_id,
            title: &clean.title,
            body: &clean.body,
            address: &clean.address,
            latitude: clean.latitude,
            longitude: clean.longitude,
            citizen_name_enc: &p.name_enc,
            citizen_phone_enc: &p.phone_enc,
            phone_index: &p.phone_index,
            client_index: &p.client_index,
            deadline_at: p.deadline,
            now,
        },
    )
    .await
    .map_err(|e| match &e {
        // The item's only unique column besides its id is the tracking number.
        sqlx::Error::Database(d) if d.is_unique_violation() => Refusal::TrackingTaken,
        _ => Refusal::from(e),
    })?;
    super::search::index(&mut *conn, o.db.backend(), id, &p.search_tokens).await?;
    store::insert_event(
        &mut *conn,
        &Event {
            opinion_id: id,
            at: now,
            actor_id: 0,
            actor_name: "群众",
            actor_role: "citizen",
            action: "submit",
            from: Status::Submitted,
            to: Status::Submitted,
            note: "",
            unit_id: None,
        },
    )
    .await?;
    yidu_cockpit::counters::record(
        &mut *conn,
        &yidu_cockpit::Change::submitted(
            &o.calendar,
            o.config.reply_days,
            yidu_cockpit::Item {
                created_at: now,
                region_path: routing.region_path.clone(),
                grid_id: clean.grid_id,
                category_id: clean.category_id,
                station_id: routing.station_id,
                status: "submitted".into(),
                ..Default::default()
            },
        ),
    )
    .await?;
    for (ct, bytes) in &p.photos {
        store::insert_file(&mut *conn, id, None, ct, bytes, now).await?;
    }
    let text = format!("新的群众意见：{}", clean.title);
    store::notify(
        &mut *conn,
        &Notice {
            deputy_id: routing.deputy_id,
            station_id: routing.station_id,
            unit_id: None,
            // Also the congress office and the township over the item's region (they see
            // notices by region path), whichever code it came through.
            region_id: Some(routing.region_id),
            opinion_id: id,
            kind: "submitted",
            text: &text,
        },
        now,
    )
    .await?;
    let payload = serde_json::json!({
        "event": "opinion.submitted", "tracking_no": tracking_no, "status": "submitted",
        "channel": p.channel_kind, "region_id": routing.region_id, "at": now,
    });
    store::enqueue_event(
        &mut *conn,
        &event_id(),
        "opinion.submitted",
        &payload.to_string(),
        now,
    )
    .await?;
    yidu_audit::record(
        &mut *conn,
        &Actor {
            user_id: 0,
            name: "citizen".into(),
            client: p.client.clone(),
        },
        Entry::new("opinion.submit", "opinion", id)
            .at(&routing.region_path, routing.district_id)
            .summary(format!(
                "tracking_no={tracking_no} channel={}",
                p.channel_kind
            )),
    )
    .await?;
    Ok(id)
}
