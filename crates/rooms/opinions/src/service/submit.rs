//! A citizen submits an opinion: validated, rate-limited, deduplicated by idempotency
//! key, stored with personal data sealed, and announced to whoever must claim it, all
//! in one transaction.

use super::{event_id, Opinions};
use crate::model::input::MAX_PHOTOS;
use crate::model::photo::clean_photo;
use crate::model::{Channel, Receipt, Status, Submission, Upload};
use crate::store::{self, Event, NewOpinion, Notice};
use rand::Rng;
use sha2::{Digest, Sha256};
use yidu_audit::{Actor, Entry};
use yidu_kernel::{clock::now_ms, AppError, AppResult, FieldError};

const IDEMPOTENCY_SCOPE: &str = "opinion.submit";
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

/// Where an item belongs: its region, district and the deputy or station it came to.
struct Routing {
    deputy_id: Option<i64>,
    station_id: Option<i64>,
    region_id: i64,
    region_path: String,
    district_id: Option<i64>,
}

fn region_id_of(path: &str) -> Option<i64> {
    path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

async fn route(o: &Opinions, channel: &Channel, grid_id: Option<i64>) -> AppResult<Routing> {
    let (mut deputy_id, mut station_id, mut path) = (None, None, None);
    match channel {
        Channel::Deputy(code) => {
            let card = yidu_registry::codes::store::deputy_by_code(&o.db, code)
                .await?
                .ok_or(AppError::NotFound)?;
            deputy_id = Some(card.id);
            // The deputy's station takes care of items that come through the deputy's code.
            if let Some(s) = card.stations.first() {
                station_id = Some(s.id);
                let st = yidu_registry::codes::store::station_by_id(&o.db, s.id).await?;
                path = st.map(|s| s.region_path);
            }
            path = path.or(Some(card.region_path));
        }
        Channel::Station(code) => {
            let card = yidu_registry::codes::store::station_by_code(&o.db, code)
                .await?
                .ok_or(AppError::NotFound)?;
            station_id = Some(card.id);
            path = Some(card.region_path);
        }
        // An external channel's item without a grid lands at the channel's region (its
        // district by default), with no grid: the grid is where it happened, which the
        // channel did not say.
        Channel::External(name) if grid_id.is_none() => {
            let region: Option<i64> =
                sqlx::query_scalar("SELECT region_id FROM channels WHERE name = $1")
                    .bind(name)
                    .fetch_optional(o.db.pool())
                    .await?
                    .flatten();
            if let Some(r) = region {
                path = yidu_registry::scope::region_path(&o.db, r)
                    .await?
                    .map(|r| r.path);
            }
        }
        Channel::General | Channel::External(_) => {}
    }
    if let Some(g) = grid_id {
        let grid = yidu_registry::scope::region_path(&o.db, g)
            .await?
            .ok_or_else(|| {
                AppError::field(
                    "grid_id",
                    "所选网格或社区不存在",
                    "the chosen grid or community does not exist",
                )
            })?;
        // A grid names the place more precisely than the code does.
        path = Some(grid.path);
    }
    let path = path.ok_or_else(|| {
        AppError::field(
            "grid_id",
            "请选择问题所在的社区或网格",
            "choose the community or grid the problem is in",
        )
    })?;
    let region_id = region_id_of(&path).ok_or(AppError::NotFound)?;
    let region = yidu_registry::scope::region_path(&o.db, region_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Routing {
        deputy_id,
        station_id,
        region_id,
        region_path: region.path,
        district_id: region.district_id,
    })
}

async fn check_limits(
    o: &Opinions,
    client_index: &str,
    phone_index: &str,
    now: i64,
) -> AppResult<()> {
    let hour = now - 3_600_000;
    let per_client = o.config.per_client_per_hour;
    if store::count_since(&o.db, "client_index", client_index, hour, per_client).await?
        >= per_client
    {
        return Err(AppError::RateLimited);
    }
    let per_phone = o.config.per_phone_per_day;
    if !phone_index.is_empty()
        && store::count_since(
            &o.db,
            "phone_index",
            phone_index,
            now - 86_400_000,
            per_phone,
        )
        .await?
            >= per_phone
    {
        return Err(AppError::RateLimited);
    }
    Ok(())
}

/// The category must exist and be active (retired ones stay on old items only).
pub(crate) async fn check_category(o: &Opinions, id: Option<i64>) -> AppResult<()> {
    let Some(id) = id else { return Ok(()) };
    let found = sqlx::query("SELECT 1 FROM categories WHERE id = $1 AND retired = 0")
        .bind(id)
        .fetch_optional(o.db.pool())
        .await?;
    if found.is_none() {
        return Err(AppError::field(
            "category_id",
            "所选类别不存在",
            "the chosen category does not exist",
        ));
    }
    Ok(())
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
    let key = idempotency_key.map(str::trim).filter(|k| !k.is_empty());
    if let Some(k) = key {
        if k.len() > 100 {
            return Err(AppError::field(
                "idempotency_key",
                "幂等键过长",
                "idempotency key too long",
            ));
        }
        if let Some(stored) = store::idempotent_response(&o.db, IDEMPOTENCY_SCOPE, k).await? {
            return serde_json::from_str(&stored).map_err(AppError::internal);
        }
    }
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
            cleaned.push(c);
        }
    }
    problems.finish()?;
    check_category(o, clean.category_id).await?;
    let routing = route(o, &channel, clean.grid_id).await?;

    let now = now_ms();
    let client_index = o.keys.blind_index("client", client);
    let phone_index = clean
        .phone
        .as_ref()
        .map(|p| o.keys.blind_index("phone", p.as_str()))
        .unwrap_or_default();
    check_limits(o, &client_index, &phone_index, now).await?;

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
    let deadline = o.deadline(now, o.config.accept_days);
    let receipt = Receipt {
        tracking_no: tracking_no.clone(),
        query_code: query_code.clone(),
        status: Status::Submitted,
    };

    // Tokenized before the transaction: jieba must not hold up the single writer.
    let search_tokens = super::search::document_tokens(&o.segmenter, &clean.title, &clean.body);
    let mut tx = o.db.begin().await?;
    let id = store::insert(
        &mut tx,
        &NewOpinion {
            tracking_no: &tracking_no,
            query_hash: &query_hash(&tracking_no, &query_code),
            channel: channel.kind(),
            channel_ref: channel.reference(),
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
            citizen_name_enc: &name_enc,
            citizen_phone_enc: &phone_enc,
            phone_index: &phone_index,
            client_index: &client_index,
            deadline_at: deadline,
            now,
        },
    )
    .await?;
    super::search::index(&mut tx, o.db.backend(), id, &search_tokens).await?;
    store::insert_event(
        &mut tx,
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
        &mut tx,
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
    for (ct, bytes) in &cleaned {
        store::insert_file(&mut tx, id, None, ct, bytes, now).await?;
    }
    let text = format!("新的群众意见：{}", clean.title);
    store::notify(
        &mut tx,
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
        "channel": channel.kind(), "region_id": routing.region_id, "at": now,
    });
    store::enqueue_event(
        &mut tx,
        &event_id(),
        "opinion.submitted",
        &payload.to_string(),
        now,
    )
    .await?;
    yidu_audit::record(
        &mut tx,
        &Actor {
            user_id: 0,
            name: "citizen".into(),
            client: client.to_string(),
        },
        Entry::new("opinion.submit", "opinion", id)
            .at(&routing.region_path, routing.district_id)
            .summary(format!(
                "tracking_no={tracking_no} channel={}",
                channel.kind()
            )),
    )
    .await?;
    if let Some(k) = key {
        let stored = serde_json::to_string(&receipt).map_err(AppError::internal)?;
        if let Err(e) = store::remember_response(&mut tx, IDEMPOTENCY_SCOPE, k, &stored, now).await
        {
            // A concurrent retry with the same key won: drop ours, answer with theirs.
            drop(tx);
            if let Some(first) = store::idempotent_response(&o.db, IDEMPOTENCY_SCOPE, k).await? {
                return serde_json::from_str(&first).map_err(AppError::internal);
            }
            return Err(e.into());
        }
    }
    tx.commit().await?;
    Ok(receipt)
}
