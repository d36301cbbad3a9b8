//! Handlers move an item along the loop; the citizen rates the reply. Each move checks
//! permission and state, then in one transaction updates the item, adds the timeline
//! event, writes audit, notifies those concerned, queues the outbound event and, when a
//! deputy acted, records it in the deputy's duty record.

use super::access::may_move;
use super::submit::query_hash;
use super::{event_id, Opinions};
use crate::model::attachment::{CleanAttachment, NamedUpload};
use crate::model::flow::{next, ReopenPolicy};
use crate::model::{ConversionKind, MoveInput, MoveKind, Satisfaction, Status};
use crate::store::{self, Event, Notice, OpinionRow};
use yidu_audit::{Actor, Entry};
use yidu_kernel::{clock::now_ms, AppError, AppResult, Msg, Principal, Role};

fn parse_kind(s: &str) -> AppResult<MoveKind> {
    use MoveKind::*;
    [Accept, Reject, Merge, AnswerOnSpot, Assign, Take, Return, Escalate, Convert, Start, Reply, Close]
        .into_iter()
        .find(|k| k.as_str() == s.trim())
        .ok_or_else(|| {
            AppError::field(
                "action",
                "未知的办理动作",
                "unknown action: accept, reject, merge, answer_on_spot, assign, take, return, escalate, convert, start, reply or close",
            )
        })
}

fn wrong_state(from: Status, kind: MoveKind) -> AppError {
    AppError::Conflict(Msg::new(
        format!(
            "当前状态“{}”下不能执行此操作（{}）",
            from.label_zh(),
            kind.as_str()
        ),
        format!(
            "cannot {} an item that is {}",
            kind.as_str(),
            from.label_en().to_lowercase()
        ),
    ))
}

fn need_note(note: &str, zh: &str, en: &str) -> AppResult<String> {
    let n = note.trim();
    if n.is_empty() {
        return Err(AppError::field("note", zh, en));
    }
    if n.chars().count() > 4_000 {
        return Err(AppError::field(
            "note",
            "不能超过 4000 字",
            "must be at most 4000 characters",
        ));
    }
    Ok(n.to_string())
}

/// The duty-record kind when a deputy makes this move.
fn duty_kind(kind: MoveKind) -> &'static str {
    match kind {
        MoveKind::Accept => "opinion_accepted",
        MoveKind::Reply | MoveKind::AnswerOnSpot => "opinion_replied",
        MoveKind::Escalate => "opinion_escalated",
        MoveKind::Assign => "opinion_assigned",
        MoveKind::Convert => "opinion_converted",
        _ => "opinion_handled",
    }
}

/// Makes a handler's move on item `id`; returns the item's new state.
pub async fn apply(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MoveInput,
) -> AppResult<Status> {
    apply_with_files(o, p, client, id, input, &[]).await
}

/// A move with files: only a reply (or an answer on the spot) may carry attachments,
/// which are checked by content before anything is written and stored in the move's
/// transaction.
pub async fn apply_with_files(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MoveInput,
    files: &[NamedUpload],
) -> AppResult<Status> {
    apply_inner(o, p, client, id, input, files, None).await
}

/// An assignment on someone else's clock: the item's deadline becomes `due_at` instead of
/// the unit's usual time to take it, and stays held there for every later move until the
/// holder releases it ([`super::deadline`]). A supervised class (类案督办) assigns its
/// members this way, with the class's one deadline.
pub async fn assign_due(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MoveInput,
    due_at: Option<i64>,
) -> AppResult<Status> {
    if parse_kind(&input.action)? != MoveKind::Assign {
        return Err(AppError::field(
            "action",
            "此处只能交办",
            "only an assignment can carry a deadline here",
        ));
    }
    apply_inner(o, p, client, id, input, &[], due_at).await
}

async fn apply_inner(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MoveInput,
    files: &[NamedUpload],
    due_at: Option<i64>,
) -> AppResult<Status> {
    let kind = parse_kind(&input.action)?;
    if !files.is_empty() && !matches!(kind, MoveKind::Reply | MoveKind::AnswerOnSpot) {
        return Err(AppError::field(
            "attachments",
            "只有答复可以附带附件",
            "only a reply may carry attachments",
        ));
    }
    let attachments = crate::model::attachment::clean_all(files)?;
    let mut conn = o.db.pool().acquire().await?;
    let before = store::by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    if !super::access::can_read(p, &before) {
        return Err(AppError::NotFound);
    }
    if !may_move(p, &before, kind) {
        return Err(AppError::Forbidden);
    }
    let reopen = ReopenPolicy {
        max_reopens: o.config.max_reopens,
        reopened: before.reopen_count as u32,
    };
    let to =
        next(before.status, kind, None, reopen).ok_or_else(|| wrong_state(before.status, kind))?;
    let now = now_ms();
    let mut after = before.clone();
    after.status = to;
    let mut note = input.note.trim().to_string();
    let mut notice: Option<Notice> = None;
    let unit_text;
    match kind {
        MoveKind::Accept => {
            after.accepted_at = Some(now);
            after.deadline_at = o.deadline(now, o.config.reply_days);
            if let Some(level) = input.level.as_deref().filter(|l| !l.trim().is_empty()) {
                if !matches!(level, "township" | "district") {
                    return Err(AppError::field(
                        "level",
                        "分级应为 township 或 district",
                        "level must be township or district",
                    ));
                }
                after.level = level.to_string();
            }
            if input.category_id.is_some() && input.category_id != before.category_id {
                super::submit::check_category(o, input.category_id).await?;
                after.category_id = input.category_id;
            }
        }
        MoveKind::Reject => {
            note = need_note(
                &input.note,
                "请写明不予受理的理由",
                "give the reason for not accepting",
            )?;
            after.closed_at = Some(now);
            after.deadline_at = None;
        }
        MoveKind::Merge => {
            let into = input.into_id.ok_or_else(|| {
                AppError::field(
                    "into_id",
                    "请选择要合并到的事项",
                    "choose the item to merge into",
                )
            })?;
            let mut conn = o.db.pool().acquire().await?;
            let target = store::by_id(&mut conn, into).await?;
            let ok = target
                .as_ref()
                .map(|t| t.id != id && super::access::can_read(p, t) && !t.status.is_final())
                .unwrap_or(false);
            if !ok {
                return Err(AppError::field(
                    "into_id",
                    "合并目标不存在、已办结或无权查看",
                    "the target item does not exist, is finished, or is out of your scope",
                ));
            }
            after.merged_into = Some(into);
            after.closed_at = Some(now);
            after.deadline_at = None;
            note = format!(
                "{} {}",
                target.map(|t| t.tracking_no).unwrap_or_default(),
                note
            )
            .trim()
            .to_string();
        }
        MoveKind::AnswerOnSpot | MoveKind::Reply => {
            note = need_note(&input.note, "请填写答复内容", "write the reply")?;
            after.reply_text = note.clone();
            after.replied_at = Some(now);
            after.deadline_at = None;
        }
        MoveKind::Assign => {
            let unit_id = input.unit_id.ok_or_else(|| {
                AppError::field("unit_id", "请选择承办单位", "choose the handling unit")
            })?;
            let unit =
                yidu_registry::scope::scope_region(&o.db, yidu_kernel::ScopeKind::Unit, unit_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::field(
                            "unit_id",
                            "承办单位不存在",
                            "the handling unit does not exist",
                        )
                    })?;
            if before.district_id.is_some()
                && unit.district_id.is_some()
                && unit.district_id != before.district_id
            {
                return Err(AppError::field(
                    "unit_id",
                    "承办单位不在本区",
                    "the unit belongs to another district",
                ));
            }
            after.unit_id = Some(unit_id);
            after.deadline_at = due_at.or_else(|| o.deadline(now, o.config.take_days));
            if due_at.is_some() {
                after.held_deadline_at = due_at;
            }
            unit_text = format!("交办：{}", before.title);
            notice = Some(Notice {
                deputy_id: None,
                station_id: None,
                unit_id: Some(unit_id),
                region_id: None,
                opinion_id: id,
                kind: "assigned",
                text: &unit_text,
            });
        }
        MoveKind::Take => {
            after.deadline_at = o.deadline(now, o.config.reply_days);
        }
        MoveKind::Return => {
            note = need_note(
                &input.note,
                "请写明退回理由",
                "give the reason for returning it",
            )?;
            after.unit_id = None;
            after.deadline_at = o.deadline(now, o.config.accept_days);
        }
        MoveKind::Escalate => {
            after.level = "district".into();
            after.deadline_at = o.deadline(now, o.config.accept_days);
        }
        MoveKind::Convert => {
            let to_kind = match input.convert_to.as_deref() {
                Some("suggestion") => ConversionKind::Suggestion,
                Some("supervision") => ConversionKind::Supervision,
                _ => {
                    return Err(AppError::field(
                        "convert_to",
                        "转化类型应为 suggestion（代表建议）或 supervision（督办事项）",
                        "convert_to must be suggestion or supervision",
                    ))
                }
            };
            after.converted_kind = match to_kind {
                ConversionKind::Suggestion => "suggestion".into(),
                ConversionKind::Supervision => "supervision".into(),
            };
            after.closed_at = Some(now);
            after.deadline_at = None;
        }
        MoveKind::Start => {
            after.deadline_at = o.deadline(now, o.config.reply_days);
        }
        MoveKind::Close => {
            after.closed_at = Some(now);
        }
        MoveKind::Rate => return Err(AppError::Forbidden),
    }
    keep_held(&mut after);
    let doer = Doer {
        user_id: p.user_id,
        name: p.display_name.clone(),
        role: p.role.as_str(),
        deputy_id: if p.role == Role::Deputy {
            p.scope_id
        } else {
            None
        },
    };
    commit_move(
        o,
        &before,
        &after,
        kind,
        &note,
        Actor::new(p, client),
        &doer,
        notice,
        &attachments,
        now,
    )
    .await?;
    Ok(to)
}

/// A held deadline (a supervised class's, see [`super::deadline`]) outlasts the move: an
/// item that stays open keeps it, whatever the usual rule would give.
fn keep_held(after: &mut OpinionRow) {
    if let Some(held) = after.held_deadline_at {
        if after.status.is_open() {
            after.deadline_at = Some(held);
        }
    }
}

/// Who made a move, as the timeline records it.
struct Doer {
    user_id: i64,
    name: String,
    role: &'static str,
    /// Set when a deputy acted: the move goes into the deputy's duty record.
    deputy_id: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
async fn commit_move(
    o: &Opinions,
    before: &OpinionRow,
    after: &OpinionRow,
    kind: MoveKind,
    note: &str,
    actor: Actor,
    doer: &Doer,
    notice: Option<Notice<'_>>,
    attachments: &[CleanAttachment],
    now: i64,
) -> AppResult<()> {
    let mut tx = o.db.begin().await?;
    let moved =
        store::update_after_move(&mut tx, after, (before.status, before.updated_at), now).await?;
    if !moved {
        return Err(AppError::conflict(
            "该事项刚被他人处理，请刷新后再试",
            "Someone else just moved this item; reload and try again",
        ));
    }
    let event = store::insert_event(
        &mut tx,
        &Event {
            opinion_id: before.id,
            at: now,
            actor_id: doer.user_id,
            actor_name: &doer.name,
            actor_role: doer.role,
            action: kind.as_str(),
            from: before.status,
            to: after.status,
            note,
            unit_id: after.unit_id,
        },
    )
    .await?;
    for a in attachments {
        store::insert_attachment(
            &mut tx,
            before.id,
            event,
            a.content_type,
            &a.name,
            &a.bytes,
            now,
        )
        .await?;
    }
    yidu_cockpit::counters::record(
        &mut tx,
        &yidu_cockpit::Change::moved(
            &o.calendar,
            o.config.reply_days,
            crate::demo::cockpit_item(before),
            crate::demo::cockpit_item(after),
        ),
    )
    .await?;
    if let Some(n) = notice {
        store::notify(&mut tx, &n, now).await?;
    }
    if kind == MoveKind::Return {
        let text = format!("承办单位退回：{}", before.title);
        store::notify(
            &mut tx,
            &Notice {
                deputy_id: before.deputy_id,
                station_id: before.station_id,
                unit_id: None,
                region_id: Some(before.region_id),
                opinion_id: before.id,
                kind: "returned",
                text: &text,
            },
            now,
        )
        .await?;
    }
    if kind == MoveKind::Escalate {
        let text = format!("提级至区人大常委会：{}", before.title);
        store::notify(
            &mut tx,
            &Notice {
                deputy_id: None,
                station_id: None,
                unit_id: None,
                // The item's own region: the district office over it and the township it
                // leaves both see the escalation; nobody outside sees it.
                region_id: Some(before.region_id),
                opinion_id: before.id,
                kind: "escalated",
                text: &text,
            },
            now,
        )
        .await?;
    }
    if let Some(d) = doer.deputy_id {
        store::record_duty(&mut tx, d, duty_kind(kind), before.id, &before.title, now).await?;
    }
    let topic = format!("opinion.{}", kind.as_str());
    let payload = serde_json::json!({
        "event": topic, "tracking_no": before.tracking_no, "from": before.status.as_str(),
        "status": after.status.as_str(), "unit_id": after.unit_id, "at": now,
    });
    store::enqueue_event(&mut tx, &event_id(), &topic, &payload.to_string(), now).await?;
    yidu_audit::record(
        &mut tx,
        &actor,
        Entry::new(&format!("opinion.{}", kind.as_str()), "opinion", before.id)
            .at(&before.region_path, before.district_id)
            .summary(if attachments.is_empty() {
                format!("{} -> {}", before.status.as_str(), after.status.as_str())
            } else {
                format!(
                    "{} -> {} attachments={}",
                    before.status.as_str(),
                    after.status.as_str(),
                    attachments.len()
                )
            }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Tells those concerned with an item about a decision that is not a move on it (another
/// room's, such as a class case letting the item go): an inbox notice to `unit` and, with
/// `office`, to the staff over the item's region; audited as `opinion.notice`. The
/// principal must be able to read the item.
#[allow(clippy::too_many_arguments)]
pub async fn notify(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    kind: &str,
    text: &str,
    unit: Option<i64>,
    office: bool,
) -> AppResult<()> {
    let mut conn = o.db.pool().acquire().await?;
    let row = store::by_id(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    if !super::access::can_read(p, &row) {
        return Err(AppError::NotFound);
    }
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    if unit.is_some() {
        let n = Notice {
            deputy_id: None,
            station_id: None,
            unit_id: unit,
            region_id: None,
            opinion_id: id,
            kind,
            text,
        };
        store::notify(&mut tx, &n, now).await?;
    }
    if office {
        let n = Notice {
            deputy_id: None,
            station_id: None,
            unit_id: None,
            region_id: Some(row.region_id),
            opinion_id: id,
            kind,
            text,
        };
        store::notify(&mut tx, &n, now).await?;
    }
    yidu_audit::record(
        &mut tx,
        &Actor::new(p, client),
        Entry::new("opinion.notice", "opinion", id)
            .at(&row.region_path, row.district_id)
            .summary(format!("{kind}: {text}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The citizen rates the reply with the tracking number and query code. An unsatisfied
/// rating reopens the item for its handler as often as configured.
pub async fn rate(
    o: &Opinions,
    tracking_no: &str,
    query_code: &str,
    satisfaction: &str,
    comment: &str,
    client: &str,
) -> AppResult<Status> {
    let before = super::read::citizen_row(o, tracking_no, query_code).await?;
    let sat = Satisfaction::parse(satisfaction).ok_or_else(|| {
        AppError::field(
            "satisfaction",
            "请选择满意、基本满意或不满意",
            "choose satisfied, basic or unsatisfied",
        )
    })?;
    if comment.chars().count() > 1_000 {
        return Err(AppError::field(
            "comment",
            "评价不能超过 1000 字",
            "comment must be at most 1000 characters",
        ));
    }
    let reopen = ReopenPolicy {
        max_reopens: o.config.max_reopens,
        reopened: before.reopen_count as u32,
    };
    let to = next(before.status, MoveKind::Rate, Some(sat), reopen)
        .ok_or_else(|| wrong_state(before.status, MoveKind::Rate))?;
    let now = now_ms();
    let mut after = before.clone();
    after.status = to;
    after.satisfaction = Some(sat);
    after.rating_comment = comment.trim().to_string();
    if to == Status::InProgress {
        after.reopen_count += 1;
        after.replied_at = None;
        after.deadline_at = o.deadline(now, o.config.reply_days);
        keep_held(&mut after);
    } else {
        after.closed_at = Some(now);
    }
    let citizen = Doer {
        user_id: 0,
        name: "群众".into(),
        role: "citizen",
        deputy_id: None,
    };
    let actor = Actor {
        user_id: 0,
        name: "citizen".into(),
        client: client.to_string(),
    };
    let reopened_text = format!("群众不满意，事项重新办理：{}", before.title);
    let notice = (to == Status::InProgress).then(|| Notice {
        deputy_id: if before.unit_id.is_none() {
            before.deputy_id
        } else {
            None
        },
        station_id: if before.unit_id.is_none() {
            before.station_id
        } else {
            None
        },
        unit_id: before.unit_id,
        region_id: None,
        opinion_id: before.id,
        kind: "reopened",
        text: &reopened_text,
    });
    let note = format!("{} {}", sat.label_zh(), after.rating_comment)
        .trim()
        .to_string();
    commit_move(
        o,
        &before,
        &after,
        MoveKind::Rate,
        &note,
        actor,
        &citizen,
        notice,
        &[],
        now,
    )
    .await?;
    Ok(to)
}

/// Checks a tracking number and query code together (used by reads and ratings).
pub fn code_matches(row: &OpinionRow, query_code: &str) -> bool {
    let expected = query_hash(&row.tracking_no, query_code);
    yidu_web::csrf::same_token(&expected, &row.query_hash)
}
