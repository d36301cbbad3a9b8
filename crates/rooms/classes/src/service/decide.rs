//! Staff decisions about classes: confirm, rename, merge, split, take a member out,
//! dissolve. Each checks the principal, changes the class and its memberships and writes
//! the audit record in one transaction. Any decision but dissolving leaves the class
//! confirmed, and every item staff place is pinned, so no rebuild undoes a decision.
//! Items a merge brings into a supervised class, and items a split or removal takes out of
//! one, are followed up after the commit ([`super::follow`]).

use super::access::may_decide;
use super::{bump, readable, Classes};
use crate::model::{parse_label, ClassStatus, MergeInput, SplitInput, KIND_OPINION};
use crate::store::{self, ClassRow};
use yidu_audit::{Actor, Entry};
use yidu_db::Tx;
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Principal};

/// The class if `p` may decide about it (404 when it may not even read it, 403 when it
/// reads but does not decide), and not dissolved (409).
async fn decidable(c: &Classes, p: &Principal, id: i64) -> AppResult<ClassRow> {
    let row = readable(c, p, id).await?;
    if !may_decide(p, &row) {
        return Err(AppError::Forbidden);
    }
    if row.status == ClassStatus::Dissolved {
        return Err(AppError::conflict(
            "该类案已撤销或已并入其他类案",
            "this class was dissolved or merged into another",
        ));
    }
    Ok(row)
}

fn confirm_by(row: &mut ClassRow, p: &Principal, now: i64) {
    if row.status == ClassStatus::Proposed {
        row.status = ClassStatus::Confirmed;
        row.confirmed_by = Some(p.user_id);
        row.confirmed_at = Some(now);
    }
}

/// Writes the class guarded by the `updated_at` it was read with.
async fn save(tx: &mut Tx, row: &mut ClassRow, now: i64) -> AppResult<()> {
    let seen = row.updated_at;
    row.updated_at = bump(now, seen);
    if !store::update_class(tx, row, seen).await? {
        return Err(AppError::conflict(
            "该类案刚被他人修改，请刷新后再试",
            "Someone else just changed this class; reload and try again",
        ));
    }
    Ok(())
}

async fn audit(
    tx: &mut Tx,
    p: &Principal,
    client: &str,
    action: &str,
    row: &ClassRow,
    summary: String,
) -> AppResult<()> {
    yidu_audit::record(
        tx,
        &Actor::new(p, client),
        Entry::new(action, "class", row.id)
            .at(&row.region_path, Some(row.district_id))
            .summary(summary),
    )
    .await
}

pub async fn confirm(c: &Classes, p: &Principal, client: &str, id: i64) -> AppResult<()> {
    let mut row = decidable(c, p, id).await?;
    if row.status == ClassStatus::Confirmed {
        return Err(AppError::conflict(
            "该类案已确认",
            "this class is already confirmed",
        ));
    }
    let now = now_ms();
    confirm_by(&mut row, p, now);
    let mut tx = c.db().begin().await?;
    save(&mut tx, &mut row, now).await?;
    audit(&mut tx, p, client, "class.confirm", &row, row.label.clone()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn rename(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    label: &str,
) -> AppResult<()> {
    let label = parse_label(label)?;
    let mut row = decidable(c, p, id).await?;
    let now = now_ms();
    let old = std::mem::replace(&mut row.label, label);
    confirm_by(&mut row, p, now);
    let mut tx = c.db().begin().await?;
    save(&mut tx, &mut row, now).await?;
    let summary = format!("{old} -> {}", row.label);
    audit(&mut tx, p, client, "class.rename", &row, summary).await?;
    tx.commit().await?;
    Ok(())
}

/// Merges class `id` into `input.into_id`: every member moves over (pinned), `id` is
/// dissolved and points at the class it went into, which is confirmed.
pub async fn merge(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MergeInput,
) -> AppResult<i64> {
    let into = input.into_id.ok_or_else(|| {
        AppError::field(
            "into_id",
            "请选择要并入的类案",
            "choose the class to merge into",
        )
    })?;
    if into == id {
        return Err(AppError::field(
            "into_id",
            "不能并入自身",
            "a class cannot be merged into itself",
        ));
    }
    let mut from = decidable(c, p, id).await?;
    let mut target = match decidable(c, p, into).await {
        Ok(t) => t,
        Err(AppError::NotFound | AppError::Conflict(_) | AppError::Forbidden) => {
            return Err(AppError::field(
                "into_id",
                "目标类案不存在、已撤销或无权处理",
                "the target class does not exist, is dissolved, or is out of your scope",
            ))
        }
        Err(e) => return Err(e),
    };
    if from.district_id != target.district_id {
        return Err(AppError::field(
            "into_id",
            "只能合并同一区的类案",
            "only classes of the same district can be merged",
        ));
    }
    if from.reply_state != "none" {
        return Err(AppError::conflict(
            "已督办的类案不能并入其他类案，请将其他类案并入它",
            "a supervised class cannot be merged away; merge the other class into it",
        ));
    }
    let now = now_ms();
    let mut tx = c.db().begin().await?;
    let incoming: Vec<i64> = store::members_of(&mut tx, from.id)
        .await?
        .into_iter()
        .filter(|m| m.item_kind == KIND_OPINION)
        .map(|m| m.item_id)
        .collect();
    let moved = store::move_all(&mut tx, from.id, target.id, p.user_id, now).await?;
    from.status = ClassStatus::Dissolved;
    from.merged_into = Some(target.id);
    save(&mut tx, &mut from, now).await?;
    confirm_by(&mut target, p, now);
    save(&mut tx, &mut target, now).await?;
    let summary = format!("{moved} items -> class {} ({})", target.id, target.label);
    audit(&mut tx, p, client, "class.merge", &from, summary).await?;
    tx.commit().await?;
    super::follow::joined(c, p, client, target.id, &incoming).await?;
    Ok(target.id)
}

/// Moves the chosen members into a new confirmed class; returns its id.
pub async fn split(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    input: &SplitInput,
) -> AppResult<i64> {
    let mut row = decidable(c, p, id).await?;
    let before = row.clone();
    let mut chosen: Vec<i64> = Vec::new();
    for i in &input.item_ids {
        if !chosen.contains(i) {
            chosen.push(*i);
        }
    }
    if chosen.is_empty() {
        return Err(AppError::field(
            "item_ids",
            "请选择要拆分出去的事项",
            "choose the items to split off",
        ));
    }
    let label = if input.label.trim().is_empty() {
        let base: String = row.label.chars().take(54).collect();
        format!("{base}（拆分）")
    } else {
        parse_label(&input.label)?
    };
    let now = now_ms();
    let mut tx = c.db().begin().await?;
    let members = store::members_of(&mut tx, row.id).await?;
    if let Some(stranger) = chosen.iter().find(|i| {
        !members
            .iter()
            .any(|m| m.item_id == **i && m.item_kind == KIND_OPINION)
    }) {
        return Err(AppError::field(
            "item_ids",
            &format!("事项 {stranger} 不在该类案中"),
            &format!("item {stranger} is not a member of this class"),
        ));
    }
    if chosen.len() >= members.len() {
        return Err(AppError::field(
            "item_ids",
            "不能拆分出全部事项，请改名或撤销",
            "cannot split off every member; rename or dissolve the class instead",
        ));
    }
    let new_id = store::insert_class(
        &mut tx,
        row.district_id,
        &row.region_path,
        &label,
        ClassStatus::Confirmed,
        Some(p.user_id),
        now,
    )
    .await?;
    for item in &chosen {
        store::place_member(&mut tx, KIND_OPINION, *item, Some(new_id), p.user_id, now).await?;
    }
    confirm_by(&mut row, p, now);
    save(&mut tx, &mut row, now).await?;
    let summary = format!("{} items -> new class {new_id} ({label})", chosen.len());
    audit(&mut tx, p, client, "class.split", &row, summary).await?;
    tx.commit().await?;
    super::follow::left(c, p, client, &before, &chosen).await?;
    Ok(new_id)
}

/// Takes one item out of the class; the machine leaves it alone from then on.
pub async fn remove_member(
    c: &Classes,
    p: &Principal,
    client: &str,
    id: i64,
    item_id: i64,
) -> AppResult<()> {
    let mut row = decidable(c, p, id).await?;
    let before = row.clone();
    let now = now_ms();
    let mut tx = c.db().begin().await?;
    let members = store::members_of(&mut tx, row.id).await?;
    if !members.iter().any(|m| m.item_id == item_id) {
        return Err(AppError::NotFound);
    }
    store::place_member(&mut tx, KIND_OPINION, item_id, None, p.user_id, now).await?;
    confirm_by(&mut row, p, now);
    save(&mut tx, &mut row, now).await?;
    audit(
        &mut tx,
        p,
        client,
        "class.remove_member",
        &row,
        format!("opinion {item_id}"),
    )
    .await?;
    tx.commit().await?;
    super::follow::left(c, p, client, &before, &[item_id]).await?;
    Ok(())
}

/// Gives the class up. Its members stay with it, pinned, so the machine does not propose
/// the same group again. If it was supervised, the lead unit answers each member on its own.
pub async fn dissolve(c: &Classes, p: &Principal, client: &str, id: i64) -> AppResult<()> {
    let mut row = decidable(c, p, id).await?;
    let before = row.clone();
    let now = now_ms();
    row.status = ClassStatus::Dissolved;
    let mut tx = c.db().begin().await?;
    let members: Vec<i64> = store::members_of(&mut tx, row.id)
        .await?
        .into_iter()
        .filter(|m| m.item_kind == KIND_OPINION)
        .map(|m| m.item_id)
        .collect();
    store::pin_all(&mut tx, row.id).await?;
    save(&mut tx, &mut row, now).await?;
    audit(
        &mut tx,
        p,
        client,
        "class.dissolve",
        &row,
        row.label.clone(),
    )
    .await?;
    tx.commit().await?;
    // A dissolved class gives no reply: members its lead unit holds are now its own.
    super::follow::left(c, p, client, &before, &members).await?;
    Ok(())
}
