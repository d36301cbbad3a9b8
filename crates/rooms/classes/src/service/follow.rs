//! A supervised class (督办) keeps its promise while its membership changes.
//!
//! - An item that joins it afterwards (the worker places it, a rebuild adds it, staff merge
//!   another class into it) goes to the lead unit with the class's one deadline, exactly as
//!   the members did at supervision: each move through the opinions service, with its own
//!   timeline entry, audit record and the unit's "assigned" notice. Items someone already
//!   handles (assigned to or taken by another unit, answered, finished) stay where they are.
//!   The office over the item is told, and the class gets one `class.join` audit record.
//! - An item that leaves it (split off, taken out, or the class dissolved) is no longer
//!   covered by the class's one reply, nor held to its deadline: the deadline returns to
//!   the usual rule for the item's state, counted from now but never later than the class's
//!   (`yidu_opinions::service::deadline::release`). If the lead unit holds it, it stays with
//!   the unit, and the unit and the office are told to answer it on its own, so nobody
//!   waits for a class reply that will never reach it.

use super::supervise::to_lead;
use super::Classes;
use crate::model::{ClassStatus, FanOut};
use crate::store::{self, ClassRow};
use yidu_audit::{Actor, Entry};
use yidu_kernel::{AppResult, Principal};
use yidu_opinions::model::Status;
use yidu_opinions::service::{deadline, feed, moves};

/// A class whose members go to a lead unit: confirmed, supervised, not yet replied.
fn supervised(row: &ClassRow) -> Option<(i64, i64)> {
    if row.status != ClassStatus::Confirmed || row.reply_state != "supervised" {
        return None;
    }
    Some((row.lead_unit_id?, row.deadline_at?))
}

/// Items that just joined class `class_id`: to its lead unit if it is supervised. `p` is
/// who made them join (the system for the worker and rebuilds, the person for a merge).
pub async fn joined(
    c: &Classes,
    p: &Principal,
    client: &str,
    class_id: i64,
    items: &[i64],
) -> AppResult<FanOut> {
    let mut out = FanOut::default();
    if items.is_empty() {
        return Ok(out);
    }
    let mut conn = c.db().pool().acquire().await?;
    let row = store::class(&mut conn, class_id).await?;
    drop(conn);
    let Some(row) = row else { return Ok(out) };
    let Some((unit_id, deadline)) = supervised(&row) else {
        return Ok(out);
    };
    let note = format!("加入督办类案：{}（牵头单位统一办理）", row.label);
    let mut moved = Vec::new();
    for item in feed::states(&c.opinions, items).await? {
        let with_lead = matches!(item.status, Status::Assigned | Status::InProgress)
            && item.unit_id == Some(unit_id);
        let before = out.done.len();
        to_lead(c, p, client, &item, unit_id, deadline, &note, &mut out).await;
        if out.done.len() > before && !with_lead {
            moved.push(item);
        }
    }
    for item in &moved {
        let text = format!(
            "新事项加入督办类案“{}”，已交办牵头单位：{}",
            row.label, item.title
        );
        moves::notify(
            &c.opinions,
            p,
            client,
            item.id,
            "class_joined",
            &text,
            None,
            true,
        )
        .await?;
    }
    let skipped: Vec<String> = out
        .skipped
        .iter()
        .map(|s| format!("{} ({})", s.item_id, s.reason_en))
        .collect();
    let mut tx = c.db().begin().await?;
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("class.join", "class", row.id)
            .at(&row.region_path, Some(row.district_id))
            .summary(format!(
                "to lead unit {unit_id}: {:?}; left alone: [{}]",
                out.done,
                skipped.join(", ")
            )),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

/// Items that just left `before` (the class as it was read before the decision): if the
/// lead unit holds them on the class's behalf, they are now its own to answer.
pub async fn left(
    c: &Classes,
    p: &Principal,
    client: &str,
    before: &ClassRow,
    items: &[i64],
) -> AppResult<Vec<i64>> {
    let Some((unit_id, _)) = supervised(before) else {
        return Ok(Vec::new());
    };
    let mut told = Vec::new();
    let why = format!("移出督办类案 {}", before.id);
    for item in feed::states(&c.opinions, items).await? {
        // Before the notice, so the unit reads the item with the deadline it now has.
        if let Err(e) = deadline::release(&c.opinions, p, client, item.id, &why).await {
            tracing::warn!(error = %e, item = item.id, "class deadline not released");
        }
        let held = matches!(item.status, Status::Assigned | Status::InProgress)
            && item.unit_id == Some(unit_id);
        if !held {
            continue;
        }
        let text = format!(
            "事项已移出督办类案“{}”，不再随类案统一答复，请单独办理并答复：{}",
            before.label, item.title
        );
        moves::notify(
            &c.opinions,
            p,
            client,
            item.id,
            "class_left",
            &text,
            Some(unit_id),
            true,
        )
        .await?;
        told.push(item.id);
    }
    Ok(told)
}
