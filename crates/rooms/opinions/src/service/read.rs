//! Reading opinions: one item for staff (masked unless the viewer handles it), the
//! citizen's view by tracking number and query code; the scoped queues are in [`super::queue`].

use super::access::{can_read, is_current_handler};
use super::moves::code_matches;
use super::Opinions;
use crate::model::{AttachmentInfo, CitizenView, Opinion, TimelineEvent};
use crate::store::{self, OpinionRow};
use yidu_db::Row;
use yidu_kernel::clock::{format_china, now_ms};
use yidu_kernel::{AppError, AppResult, Principal};

fn role_label(role: &str) -> &'static str {
    match role {
        "citizen" => "群众",
        "deputy" => "人大代表",
        "station" => "联络站",
        "township" => "乡镇（街道）人大",
        "office" => "区人大常委会办公室",
        "department" => "承办单位",
        "admin" => "系统管理员",
        _ => "工作人员",
    }
}

async fn category_name(o: &Opinions, id: Option<i64>) -> AppResult<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    Ok(sqlx::query("SELECT name FROM categories WHERE id = $1")
        .bind(id)
        .fetch_optional(o.db.pool())
        .await?
        .map(|r| r.get(0)))
}

/// The staff view of a row; personal data in full only for the current handler.
pub async fn view(o: &Opinions, p: &Principal, row: &OpinionRow, now: i64) -> AppResult<Opinion> {
    let category = category_name(o, row.category_id).await?;
    let photo_ids = store::file_ids(&o.db, row.id).await?;
    view_with(o, p, row, now, category, photo_ids).await
}

/// [`view`] with the category name and photo ids already loaded (a queue page loads
/// them for all its rows in one query each).
async fn view_with(
    o: &Opinions,
    p: &Principal,
    row: &OpinionRow,
    now: i64,
    category: Option<String>,
    photo_ids: Vec<i64>,
) -> AppResult<Opinion> {
    let handler = is_current_handler(p, row);
    let open = |sealed: &str| -> AppResult<Option<String>> {
        if sealed.is_empty() {
            return Ok(None);
        }
        o.keys.open(sealed).map(Some).map_err(AppError::internal)
    };
    let name = open(&row.citizen_name_enc)?;
    let phone = open(&row.citizen_phone_enc)?;
    let (citizen_name, citizen_phone) = if handler {
        (name, phone)
    } else {
        (
            name.map(|n| yidu_privacy::mask_name(&n)),
            phone.map(|p| yidu_privacy::mask_phone(&p)),
        )
    };
    Ok(Opinion {
        id: row.id,
        tracking_no: row.tracking_no.clone(),
        channel: row.channel.clone(),
        status: row.status,
        title: row.title.clone(),
        body: row.body.clone(),
        category_id: row.category_id,
        category,
        region_id: row.region_id,
        region_path: row.region_path.clone(),
        grid_id: row.grid_id,
        address: row.address.clone(),
        latitude: row.latitude,
        longitude: row.longitude,
        deputy_id: row.deputy_id,
        station_id: row.station_id,
        unit_id: row.unit_id,
        level: row.level.clone(),
        citizen_name,
        citizen_phone,
        personal_data_visible: handler,
        deadline_at: row.deadline_at,
        held_deadline_at: row.held_deadline_at,
        urgency: o.urgency(row, now).to_string(),
        reply_text: row.reply_text.clone(),
        satisfaction: row.satisfaction.map(|s| s.as_str().to_string()),
        rating_comment: row.rating_comment.clone(),
        reopen_count: row.reopen_count,
        merged_into: row.merged_into,
        converted_kind: (!row.converted_kind.is_empty()).then(|| row.converted_kind.clone()),
        photo_ids,
        // Only replies carry attachments: the queue's unreplied rows cost no query.
        attachments: if row.reply_text.is_empty() {
            Vec::new()
        } else {
            attachment_list(o, row.id).await?
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
        accepted_at: row.accepted_at,
        replied_at: row.replied_at,
        closed_at: row.closed_at,
        metoo: 0,
        assist: None,
    })
}

/// The staff views of a queue page's rows, with their 同问 counts: category names and
/// photo ids come in one query each for the whole page, not one per row.
pub(crate) async fn page_items(
    o: &Opinions,
    p: &Principal,
    rows: &[OpinionRow],
    now: i64,
) -> AppResult<Vec<Opinion>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut category_ids: Vec<i64> = rows.iter().filter_map(|r| r.category_id).collect();
    category_ids.sort_unstable();
    category_ids.dedup();
    let names = store::category_names(&o.db, &category_ids).await?;
    let mut photos = store::photo_ids(&o.db, &ids).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let category = r.category_id.and_then(|c| names.get(&c).cloned());
        let photo_ids = photos.remove(&r.id).unwrap_or_default();
        items.push(view_with(o, p, r, now, category, photo_ids).await?);
    }
    let metoo = crate::assist::metoo::metoo_counts(o, &ids).await?;
    for i in &mut items {
        i.metoo = metoo.get(&i.id).copied().unwrap_or(0);
    }
    Ok(items)
}

async fn readable(o: &Opinions, p: &Principal, id: i64) -> AppResult<OpinionRow> {
    let mut conn = o.db.pool().acquire().await?;
    let row = store::by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !can_read(p, &row) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

pub async fn get(o: &Opinions, p: &Principal, id: i64) -> AppResult<Opinion> {
    let row = readable(o, p, id).await?;
    let mut item = view(o, p, &row, now_ms()).await?;
    let assist = crate::assist::api::assist_of(o, p, &row).await?;
    item.metoo = assist.metoo;
    item.assist = Some(assist);
    Ok(item)
}

/// The full timeline for staff who may read the item.
pub async fn timeline(o: &Opinions, p: &Principal, id: i64) -> AppResult<Vec<TimelineEvent>> {
    readable(o, p, id).await?;
    Ok(store::events(&o.db, id)
        .await?
        .into_iter()
        .map(|e| TimelineEvent {
            at: e.at,
            at_local: format_china(e.at),
            action: e.action,
            from_status: e.from,
            to_status: e.to,
            actor: format!("{}（{}）", e.actor_name, role_label(&e.actor_role)),
            note: e.note,
        })
        .collect())
}

/// A photo of an item, for staff who may read it.
pub async fn photo(
    o: &Opinions,
    p: &Principal,
    id: i64,
    file_id: i64,
) -> AppResult<(String, Vec<u8>)> {
    readable(o, p, id).await?;
    store::file_of_kind(&o.db, id, file_id, "photo")
        .await?
        .map(|(ct, _, b)| (ct, b))
        .ok_or(AppError::NotFound)
}

async fn attachment_list(o: &Opinions, id: i64) -> AppResult<Vec<AttachmentInfo>> {
    Ok(store::attachments(&o.db, id)
        .await?
        .into_iter()
        .map(|(id, name, content_type, size)| AttachmentInfo {
            id,
            name,
            content_type,
            size,
        })
        .collect())
}

/// A reply attachment for staff who may read the item: (content type, file name, bytes).
pub async fn attachment(
    o: &Opinions,
    p: &Principal,
    id: i64,
    file_id: i64,
) -> AppResult<(String, String, Vec<u8>)> {
    readable(o, p, id).await?;
    store::file_of_kind(&o.db, id, file_id, "reply")
        .await?
        .ok_or(AppError::NotFound)
}

/// A reply attachment for the citizen with the tracking number and query code (a wrong
/// code, a wrong number and a wrong file all give NotFound).
pub async fn citizen_attachment(
    o: &Opinions,
    tracking_no: &str,
    query_code: &str,
    file_id: i64,
) -> AppResult<(String, String, Vec<u8>)> {
    let row = citizen_row(o, tracking_no, query_code).await?;
    store::file_of_kind(&o.db, row.id, file_id, "reply")
        .await?
        .ok_or(AppError::NotFound)
}

/// The row behind a tracking number, if the query code matches (else NotFound, so a
/// wrong code and a wrong number look the same).
pub async fn citizen_row(
    o: &Opinions,
    tracking_no: &str,
    query_code: &str,
) -> AppResult<OpinionRow> {
    let row = store::by_tracking_no(&o.db, tracking_no.trim().to_ascii_uppercase().as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    if !code_matches(&row, query_code) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

/// What the citizen sees: status, timeline by role (no staff names), the reply.
pub async fn track(o: &Opinions, tracking_no: &str, query_code: &str) -> AppResult<CitizenView> {
    let row = citizen_row(o, tracking_no, query_code).await?;
    let timeline = store::events(&o.db, row.id)
        .await?
        .into_iter()
        .map(|e| {
            // Notes between staff (e.g. return reasons) stay internal; replies are shown.
            let public_note =
                matches!(e.to.as_str(), "replied" | "rejected") || e.actor_role == "citizen";
            TimelineEvent {
                at: e.at,
                at_local: format_china(e.at),
                action: e.action,
                from_status: e.from,
                to_status: e.to,
                actor: role_label(&e.actor_role).to_string(),
                note: if public_note { e.note } else { String::new() },
            }
        })
        .collect();
    Ok(CitizenView {
        tracking_no: row.tracking_no.clone(),
        status: row.status,
        status_label: row.status.label_zh().to_string(),
        title: row.title.clone(),
        body: row.body.clone(),
        created_at: row.created_at,
        reply_text: row.reply_text.clone(),
        replied_at: row.replied_at,
        attachments: attachment_list(o, row.id).await?,
        satisfaction: row.satisfaction.map(|s| s.as_str().to_string()),
        can_rate: row.status == crate::model::Status::Replied,
        timeline,
    })
}

pub use super::queue::{queue, QueueFilter};
