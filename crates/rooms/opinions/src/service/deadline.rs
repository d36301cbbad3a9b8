//! Deadlines another room holds for an item. A supervised class (类案督办, crates/rooms/classes)
//! promises one deadline for all its members; while an item's deadline is held
//! (`held_deadline_at`), every move that leaves it open (take, start, return, escalate, a
//! reassignment, a reopen after an unsatisfied rating) keeps its deadline at the held one
//! instead of starting the usual clock ([`super::moves`] applies this). `deadline_at` stays
//! the effective deadline, so the queue's order and indexes, the yellow/red marks, the
//! digest and the cockpit's overdue list need to know nothing about holds.
//!
//! A hold is set by an assignment with a deadline ([`super::moves::assign_due`]) or by
//! [`hold`] for an item that needs no move, moved by [`move_held`] when the holder changes
//! its deadline, and lifted by [`release`]. Each change is audited (`opinion.deadline`) in
//! its own transaction, and the unit holding the item is told when its deadline moves.

use super::access::{can_read, may_move};
use super::Opinions;
use crate::model::{MoveKind, Status};
use crate::store::{self, Notice, OpinionRow};
use yidu_audit::{Actor, Entry};
use yidu_kernel::clock::{format_china, now_ms};
use yidu_kernel::{AppError, AppResult, Principal};

/// The deadline the usual rules give an item that enters `status` at `now`: a claimer
/// has the acceptance time to route it (as after a return or an escalation), a unit its
/// time to take an assignment or to reply to what it took; answered and finished items
/// have none.
pub fn usual_deadline(o: &Opinions, status: Status, now: i64) -> Option<i64> {
    let days = match status {
        Status::Submitted | Status::Accepted | Status::Escalated => o.config.accept_days,
        Status::Assigned => o.config.take_days,
        Status::InProgress => o.config.reply_days,
        _ => return None,
    };
    o.deadline(now, days)
}

/// Holds item `id`'s deadline at `due_at`: if it is open, its deadline becomes `due_at`
/// now, and every later move keeps it there until [`release`]. `why` goes into the audit
/// record and the unit's notice. Returns whether anything changed. Only those who route
/// the item (its claimers, the office over it) may hold its deadline.
pub async fn hold(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    due_at: i64,
    why: &str,
) -> AppResult<bool> {
    change(o, p, client, id, why, |row, _now| {
        if !may_move(p, row, MoveKind::Assign) {
            return Err(AppError::Forbidden);
        }
        Ok(held_at(row, Some(due_at)))
    })
    .await
}

/// Like [`hold`], but only for an item whose deadline is held already (the holder moves
/// its one deadline; items it let go keep theirs).
pub async fn move_held(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    due_at: i64,
    why: &str,
) -> AppResult<bool> {
    change(o, p, client, id, why, |row, _now| {
        if row.held_deadline_at.is_none() {
            return Ok(None);
        }
        if !may_move(p, row, MoveKind::Assign) {
            return Err(AppError::Forbidden);
        }
        Ok(held_at(row, Some(due_at)))
    })
    .await
}

/// Lifts the hold on item `id`'s deadline (the class let it go, or its supervision
/// ended). An open item's deadline returns to the usual rule for the state it is in,
/// counted from now ([`usual_deadline`]), but never later than the held deadline it had:
/// letting an item go gives it no extra time, and an item already late stays late.
/// Nothing happens to an item whose deadline is not held. Its claimers and the unit
/// holding it may release it (releasing never lengthens a deadline).
pub async fn release(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    why: &str,
) -> AppResult<bool> {
    change(o, p, client, id, why, |row, now| {
        if row.held_deadline_at.is_none() {
            return Ok(None);
        }
        if !may_move(p, row, MoveKind::Assign) && !may_move(p, row, MoveKind::Take) {
            return Err(AppError::Forbidden);
        }
        let mut after = row.clone();
        after.held_deadline_at = None;
        if row.status.is_open() {
            after.deadline_at = match (usual_deadline(o, row.status, now), row.deadline_at) {
                (Some(usual), Some(had)) => Some(usual.min(had)),
                (usual, had) => usual.or(had),
            };
        }
        Ok(Some(after))
    })
    .await
}

/// The row with its deadline held at `due` (None: not held), or None when that changes
/// nothing.
fn held_at(row: &OpinionRow, due: Option<i64>) -> Option<OpinionRow> {
    let mut after = row.clone();
    after.held_deadline_at = due;
    if row.status.is_open() && due.is_some() {
        after.deadline_at = due;
    }
    let same =
        after.held_deadline_at == row.held_deadline_at && after.deadline_at == row.deadline_at;
    (!same).then_some(after)
}

/// Reads the item, lets `decide` make the changed row (None: nothing to do), and writes
/// it with its audit record and, when a unit holds the item and its deadline moved, the
/// unit's notice. A concurrent move makes it read again (a few times): a deadline change
/// is not a decision taken on what the person saw, so it applies to the item as it is.
async fn change<F>(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    why: &str,
    decide: F,
) -> AppResult<bool>
where
    F: Fn(&OpinionRow, i64) -> AppResult<Option<OpinionRow>>,
{
    for _ in 0..3 {
        let mut conn = o.db.pool().acquire().await?;
        let before = store::by_id(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        if !can_read(p, &before) {
            return Err(AppError::NotFound);
        }
        let now = now_ms();
        let Some(after) = decide(&before, now)? else {
            return Ok(false);
        };
        let mut tx = o.db.begin().await?;
        if !store::update_deadlines(&mut tx, &after, (before.status, before.updated_at), now)
            .await?
        {
            continue;
        }
        let shown = |d: Option<i64>| d.map(format_china).unwrap_or_else(|| "-".into());
        let with_unit = matches!(after.status, Status::Assigned | Status::InProgress);
        if after.deadline_at != before.deadline_at && with_unit && after.unit_id.is_some() {
            let text = format!(
                "办理期限调整为 {}（{why}）：{}",
                shown(after.deadline_at),
                before.title
            );
            let n = Notice {
                deputy_id: None,
                station_id: None,
                unit_id: after.unit_id,
                region_id: None,
                opinion_id: id,
                kind: "deadline",
                text: &text,
            };
            store::notify(&mut tx, &n, now).await?;
        }
        let summary = format!(
            "deadline {} -> {}, held {} -> {}: {why}",
            shown(before.deadline_at),
            shown(after.deadline_at),
            shown(before.held_deadline_at),
            shown(after.held_deadline_at),
        );
        yidu_audit::record(
            &mut tx,
            &Actor::new(p, client),
            Entry::new("opinion.deadline", "opinion", id)
                .at(&before.region_path, before.district_id)
                .summary(summary),
        )
        .await?;
        tx.commit().await?;
        return Ok(true);
    }
    Err(AppError::conflict(
        "该事项正被频繁处理，请稍后再试",
        "this item keeps changing; try again shortly",
    ))
}
