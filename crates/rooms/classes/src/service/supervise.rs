//! Supervising a class as one (督办一类): one lead unit, one deadline, one reply that
//! reaches every member.
//!
//! The class's own change (lead unit, deadline, reply) and its audit record commit in one
//! transaction; then each member item moves through the opinions service, with the acting
//! person's permissions, each move in its own transaction with its own timeline entry and
//! audit record, exactly as if it had been made on the item. Members that cannot move
//! (finished, with another unit, changed meanwhile) are skipped and named in the answer.
//! Both moves can be repeated: items already done are skipped, so a second run finishes
//! what the first could not (and places members that joined later). Supervising again
//! with other working days changes the class's deadline, and with it the deadline of every
//! member that carries it.
//!
//! The class's deadline is *held* on each member it reaches (`yidu_opinions::service::
//! deadline`): taking, starting, returning, reassigning or reopening the item keeps it,
//! until the item leaves the class ([`super::follow::left`]) or the class reply ends the
//! supervision ([`reply`]).

use super::access::may_reply;
use super::{bump, readable, Classes};
use crate::model::{ClassStatus, FanOut, ReplyInput, Skipped, SuperviseInput, KIND_OPINION};
use crate::store::{self, ClassRow};
use yidu_audit::{Actor, Entry};
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Principal};
use yidu_opinions::model::{MoveInput, Status};
use yidu_opinions::service::feed::{self, FeedItem};
use yidu_opinions::service::{deadline as item_deadline, moves};

/// Longest deadline a class may get, in working days.
pub const MAX_DAYS: u32 = 250;

fn skipped(item: &FeedItem, zh: &str, en: &str) -> Skipped {
    Skipped {
        item_id: item.id,
        tracking_no: item.tracking_no.clone(),
        reason_zh: zh.to_string(),
        reason_en: en.to_string(),
    }
}

fn skipped_err(item: &FeedItem, e: &AppError) -> Skipped {
    let m = e.message();
    skipped(item, &m.zh, &m.en)
}

pub(crate) async fn member_items(c: &Classes, class_id: i64) -> AppResult<Vec<FeedItem>> {
    let mut conn = c.db().pool().acquire().await?;
    let ids: Vec<i64> = store::members_of(&mut conn, class_id)
        .await?
        .into_iter()
        .filter(|m| m.item_kind == KIND_OPINION)
        .map(|m| m.item_id)
        .collect();
    drop(conn);
    feed::states(&c.opinions, &ids).await
}

async fn save_class(
    c: &Classes,
    p: &Principal,
    client: &str,
    row: &mut ClassRow,
    action: &str,
    summary: String,
) -> AppResult<()> {
    let now = now_ms();
    let seen = row.updated_at;
    row.updated_at = bump(now, seen);
    let mut tx = c.db().begin().await?;
    if !store::update_class(&mut tx, row, seen).await? {
        return Err(AppError::conflict(
            "该类案刚被他人修改，请刷新后再试",
            "Someone else just changed this class; reload and try again",
        ));
    }
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new(action, "class", row.id)
            .at(&row.region_path, Some(row.district_id))
            .summary(summary),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a confirmed class its lead unit and deadline, and assigns every open member to
/// the lead unit (accepting those still waiting to be accepted).
pub async fn supervise(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    input: &SuperviseInput,
) -> AppResult<FanOut> {
    let mut row = readable(c, p, id).await?;
    if !super::access::may_decide(p, &row) {
        return Err(AppError::Forbidden);
    }
    if row.status != ClassStatus::Confirmed {
        return Err(AppError::conflict(
            "只有已确认的类案才能督办，请先确认",
            "only a confirmed class can be supervised; confirm it first",
        ));
    }
    if row.reply_state == "replied" {
        return Err(AppError::conflict(
            "该类案已答复",
            "this class has been replied to already",
        ));
    }
    let unit_id = input
        .lead_unit_id
        .ok_or_else(|| AppError::field("lead_unit_id", "请选择牵头单位", "choose the lead unit"))?;
    let unit = yidu_registry::scope::scope_region(c.db(), yidu_kernel::ScopeKind::Unit, unit_id)
        .await?
        .filter(|u| u.district_id.is_none() || u.district_id == Some(row.district_id))
        .ok_or_else(|| {
            AppError::field(
                "lead_unit_id",
                "牵头单位不存在或不在本区",
                "the lead unit does not exist or belongs to another district",
            )
        })?;
    let _ = unit;
    let days = input.days.ok_or_else(|| {
        AppError::field(
            "days",
            "请填写办理期限（工作日）",
            "give the deadline in working days",
        )
    })?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::field(
            "days",
            &format!("办理期限应为 1 至 {MAX_DAYS} 个工作日"),
            &format!("the deadline must be 1 to {MAX_DAYS} working days"),
        ));
    }
    let now = now_ms();
    let deadline = c.opinions.deadline(now, days).ok_or_else(|| {
        AppError::field(
            "days",
            "节假日安排尚未覆盖该期限，请管理员配置节假日文件",
            "the holiday calendar does not cover this deadline yet; an administrator must add the year's notice",
        )
    })?;
    let was = row
        .deadline_at
        .filter(|d| row.reply_state == "supervised" && *d != deadline);
    row.lead_unit_id = Some(unit_id);
    row.deadline_at = Some(deadline);
    row.supervised_at = Some(now);
    row.reply_state = "supervised".into();
    let mut summary = format!("lead unit {unit_id}, {days} working days, due {deadline}");
    if let Some(was) = was {
        summary.push_str(&format!(
            " (was due {was}; members' deadlines move with it)"
        ));
    }
    save_class(c, p, client, &mut row, "class.supervise", summary).await?;

    let note = format!("类案督办：{}（牵头单位统一办理）", row.label);
    let mut out = FanOut::default();
    for item in member_items(c, row.id).await? {
        to_lead(c, p, client, &item, unit_id, deadline, &note, &mut out).await;
    }
    Ok(out)
}

/// Brings one member to the lead unit with the class's deadline held on it (accepting it
/// first when it still waits for that), unless someone already handles it: assigned to or
/// taken by another unit, answered, finished. A member the lead unit holds already gets
/// the class's deadline held; one that carries the class's deadline with another unit
/// (the lead unit returned it and it was reassigned) keeps carrying it, moved to
/// `deadline`. What happened goes into `out`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn to_lead(
    c: &Classes,
    p: &Principal,
    client: &str,
    item: &FeedItem,
    unit_id: i64,
    deadline: i64,
    note: &str,
    out: &mut FanOut,
) {
    let why = "类案督办期限";
    match item.status {
        Status::Assigned | Status::InProgress if item.unit_id == Some(unit_id) => {
            match item_deadline::hold(&c.opinions, p, client, item.id, deadline, why).await {
                Ok(_) => out.done.push(item.id),
                Err(e) => out.skipped.push(skipped_err(item, &e)),
            }
            return;
        }
        Status::Assigned | Status::InProgress if item.unit_id.is_some() => {
            let moved =
                item_deadline::move_held(&c.opinions, p, client, item.id, deadline, why).await;
            if let Err(e) = moved {
                tracing::warn!(error = %e, item = item.id, "class deadline not moved");
            }
        }
        _ => {}
    }
    match item.status {
        Status::Assigned => {
            out.skipped.push(skipped(
                item,
                "已交办给其他承办单位",
                "assigned to another unit",
            ));
            return;
        }
        Status::InProgress if item.unit_id.is_some() => {
            out.skipped.push(skipped(
                item,
                "其他承办单位正在办理",
                "another unit is handling it",
            ));
            return;
        }
        s if !s.is_open() => {
            out.skipped.push(skipped(
                item,
                "已答复或已办结",
                "already replied or finished",
            ));
            return;
        }
        _ => {}
    }
    if item.status == Status::Submitted {
        let accept = MoveInput {
            action: "accept".into(),
            note: note.to_string(),
            level: Some("district".into()),
            ..Default::default()
        };
        if let Err(e) = moves::apply(&c.opinions, p, client, item.id, &accept).await {
            out.skipped.push(skipped_err(item, &e));
            return;
        }
    }
    let assign = MoveInput {
        action: "assign".into(),
        note: note.to_string(),
        unit_id: Some(unit_id),
        ..Default::default()
    };
    match moves::assign_due(&c.opinions, p, client, item.id, &assign, Some(deadline)).await {
        Ok(_) => out.done.push(item.id),
        Err(e) => out.skipped.push(skipped_err(item, &e)),
    }
}

/// The lead unit's one reply: it becomes the reply of every member the unit holds, so
/// each member's citizen sees it on the tracking page and rates it on their own.
pub async fn reply(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    input: &ReplyInput,
) -> AppResult<FanOut> {
    let mut row = readable(c, p, id).await?;
    if !may_reply(p, &row) {
        return Err(AppError::Forbidden);
    }
    let text = input.text.trim();
    if text.is_empty() {
        return Err(AppError::field("text", "请填写答复内容", "write the reply"));
    }
    if text.chars().count() > 4_000 {
        return Err(AppError::field(
            "text",
            "不能超过 4000 字",
            "must be at most 4000 characters",
        ));
    }
    if row.status == ClassStatus::Dissolved {
        return Err(AppError::conflict(
            "该类案已撤销，请逐件答复",
            "this class was dissolved; reply to each item on its own",
        ));
    }
    if row.reply_state == "none" || row.lead_unit_id.is_none() {
        return Err(AppError::conflict(
            "该类案尚未督办（没有牵头单位）",
            "this class is not supervised yet (no lead unit)",
        ));
    }
    let unit_id = row.lead_unit_id;
    let now = now_ms();
    row.reply_text = text.to_string();
    row.replied_at = Some(now);
    row.reply_state = "replied".into();
    let summary = format!("reply of {} characters", text.chars().count());
    save_class(c, p, client, &mut row, "class.reply", summary).await?;

    let mut out = FanOut::default();
    for item in member_items(c, row.id).await? {
        let with_lead = item.unit_id == unit_id;
        let step = match item.status {
            Status::Assigned if with_lead => vec!["take", "reply"],
            Status::InProgress if with_lead => vec!["reply"],
            Status::Replied | Status::Closed => {
                out.skipped.push(skipped(
                    &item,
                    "已答复或已办结，未重复答复",
                    "already replied or finished; not replied again",
                ));
                continue;
            }
            s if s.is_final() => {
                out.skipped.push(skipped(&item, "已办结", "finished"));
                continue;
            }
            _ => {
                out.skipped.push(skipped(
                    &item,
                    "未交办给牵头单位，请先督办（交办）",
                    "not assigned to the lead unit; supervise (assign) it first",
                ));
                continue;
            }
        };
        let mut failed = None;
        for action in step {
            let m = MoveInput {
                action: action.into(),
                note: if action == "reply" {
                    text.to_string()
                } else {
                    String::new()
                },
                ..Default::default()
            };
            if let Err(e) = moves::apply(&c.opinions, p, client, item.id, &m).await {
                failed = Some(e);
                break;
            }
        }
        match failed {
            None => out.done.push(item.id),
            Some(e) => out.skipped.push(skipped_err(&item, &e)),
        }
    }
    end_holds(c, client, &row).await?;
    Ok(out)
}

/// The class reply ends the supervision: no member's deadline is held by the class any
/// more. A member it answered that the citizen reopens is handled on the usual clock; one
/// it did not reach (finished, with another unit, returned) goes back to the usual rule
/// ([`item_deadline::release`]). The system acts: the replying unit may not read members
/// it does not hold, and the reply itself was checked and audited above.
async fn end_holds(c: &Classes, client: &str, row: &ClassRow) -> AppResult<()> {
    let system = Principal::system();
    let why = format!("类案 {} 已统一答复，督办结束", row.id);
    for item in member_items(c, row.id).await? {
        if let Err(e) = item_deadline::release(&c.opinions, &system, client, item.id, &why).await {
            tracing::warn!(error = %e, item = item.id, "class deadline not released");
        }
    }
    Ok(())
}
