//! Audit use cases: record (inside the caller's transaction), list (scoped), verify.

use crate::model::{Actor, AuditRecord, Entry, Problem, VerifyReport};
use crate::store;
use serde::Deserialize;
use yidu_db::{AnyConnection, Db, Row};
use yidu_kernel::{AppError, AppResult, Page, PageQuery, Principal, Role};

/// Writes the audit record of a state change. Call it with the transaction that makes
/// the change, so both commit or neither does.
pub async fn record(conn: &mut AnyConnection, actor: &Actor, entry: Entry) -> AppResult<()> {
    let now = yidu_kernel::clock::now_ms();
    store::append(conn, &entry, actor.user_id, &actor.name, &actor.client, now).await?;
    Ok(())
}

/// Records an event that has no other state change (e.g. a failed login) in its own
/// transaction.
pub async fn record_alone(db: &Db, actor: &Actor, entry: Entry) -> AppResult<()> {
    let mut tx = db.begin().await?;
    record(&mut tx, actor, entry).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    /// Action prefix, e.g. `deputy.` or `user.login`.
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    /// Username of the actor.
    pub actor: Option<String>,
    /// From this day (YYYY-MM-DD, Beijing time).
    pub from: Option<String>,
    /// Up to and including this day (YYYY-MM-DD, Beijing time).
    pub to: Option<String>,
}

fn day_start_ms(s: &str, field: &str) -> AppResult<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt).map_err(|_| {
        AppError::field(
            field,
            "日期格式应为 YYYY-MM-DD",
            "date must look like YYYY-MM-DD",
        )
    })?;
    let dt = d
        .with_hms(0, 0, 0)
        .expect("midnight")
        .assume_offset(yidu_kernel::clock::china_offset());
    Ok((dt.unix_timestamp()) * 1000)
}

/// Who may read audit records: administrators, and office and township staff for the
/// records of their own region.
fn may_read(p: &Principal) -> bool {
    matches!(p.role, Role::Admin | Role::Office | Role::Township)
}

pub async fn list(
    db: &Db,
    p: &Principal,
    f: &AuditFilter,
    q: &PageQuery,
) -> AppResult<Page<AuditRecord>> {
    if !may_read(p) {
        return Err(AppError::Forbidden);
    }
    let mut sql = String::from(" FROM audit_log WHERE region_path LIKE $1");
    let mut args: Vec<String> = vec![p.scope_like()];
    let mut ints: Vec<i64> = Vec::new();
    let push = |sql: &mut String, cond: &str, v: String, args: &mut Vec<String>| {
        args.push(v);
        sql.push_str(&format!(" AND {cond} ${}", args.len()));
    };
    if let Some(a) = f.action.as_deref().filter(|s| !s.trim().is_empty()) {
        push(
            &mut sql,
            "action LIKE",
            format!("{}%", yidu_db::like_escape(a.trim())),
            &mut args,
        );
        sql.push_str(" ESCAPE '\\'");
    }
    if let Some(t) = f.object_type.as_deref().filter(|s| !s.trim().is_empty()) {
        push(&mut sql, "object_type =", t.trim().to_string(), &mut args);
    }
    if let Some(t) = f.object_id.as_deref().filter(|s| !s.trim().is_empty()) {
        push(&mut sql, "object_id =", t.trim().to_string(), &mut args);
    }
    if let Some(t) = f.actor.as_deref().filter(|s| !s.trim().is_empty()) {
        push(&mut sql, "actor_name =", t.trim().to_string(), &mut args);
    }
    let mut problems = yidu_kernel::error::Problems::default();
    if let Some(d) = f.from.as_deref().filter(|s| !s.trim().is_empty()) {
        if let Some(ms) = problems.take(day_start_ms(d, "from")) {
            ints.push(ms);
        }
        sql.push_str(&format!(" AND at >= ${}", args.len() + ints.len()));
    }
    if let Some(d) = f.to.as_deref().filter(|s| !s.trim().is_empty()) {
        if let Some(ms) = problems.take(day_start_ms(d, "to")) {
            ints.push(ms + 86_400_000);
        }
        sql.push_str(&format!(" AND at < ${}", args.len() + ints.len()));
    }
    problems.finish()?;

    let count_sql = format!("SELECT COUNT(*){sql}");
    let mut cq = sqlx::query(&count_sql);
    for a in &args {
        cq = cq.bind(a.clone());
    }
    for i in &ints {
        cq = cq.bind(*i);
    }
    let total: i64 = cq.fetch_one(db.pool()).await?.get(0);

    let n = args.len() + ints.len();
    let list_sql = format!(
        "SELECT {}{sql} ORDER BY at DESC, id DESC LIMIT ${} OFFSET ${}",
        store::COLUMNS,
        n + 1,
        n + 2
    );
    let mut lq = sqlx::query(&list_sql);
    for a in &args {
        lq = lq.bind(a.clone());
    }
    for i in &ints {
        lq = lq.bind(*i);
    }
    let rows = lq
        .bind(q.limit())
        .bind(q.offset())
        .fetch_all(db.pool())
        .await?;
    let items = rows.iter().map(|r| store::from_row(r).record).collect();
    Ok(Page::new(items, total, q))
}

/// Walks every chain from its first record: sequence numbers without gaps, each record's
/// stored hash equal to the hash of its contents, each record linked to its
/// predecessor, and the chain head pointing at the last record.
pub async fn verify(db: &Db) -> anyhow::Result<VerifyReport> {
    let heads = sqlx::query("SELECT chain, seq, head_hash FROM audit_chains ORDER BY chain")
        .fetch_all(db.pool())
        .await?;
    let mut report = VerifyReport {
        chains: heads.len(),
        records: 0,
        first_problem: None,
    };
    // Records whose chain has no head row were inserted behind the chain's back.
    let orphan = sqlx::query(
        "SELECT id, chain, seq FROM audit_log WHERE chain NOT IN (SELECT chain FROM audit_chains) ORDER BY id LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    if let Some(o) = orphan {
        report.first_problem = Some(Problem {
            chain: o.get(1),
            seq: o.get(2),
            record_id: Some(o.get(0)),
            reason_zh: "记录所属的链不存在".into(),
            reason_en: "record belongs to no known chain".into(),
        });
        return Ok(report);
    }
    const BATCH: i64 = 5_000;
    for head in heads {
        let chain: String = head.get(0);
        let head_seq: i64 = head.get(1);
        let head_hash: String = head.get(2);
        let mut expected_seq = 1;
        let mut prev_hash = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM audit_log WHERE chain = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                store::COLUMNS
            ))
            .bind(&chain)
            .bind(expected_seq)
            .bind(BATCH)
            .fetch_all(db.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let rec = store::from_row(row);
                let bad = |zh: &str, en: &str| Problem {
                    chain: chain.clone(),
                    seq: rec.record.seq,
                    record_id: Some(rec.record.id),
                    reason_zh: zh.to_string(),
                    reason_en: en.to_string(),
                };
                let problem = if rec.record.seq != expected_seq {
                    Some(Problem {
                        seq: expected_seq,
                        record_id: None,
                        ..bad(
                            &format!("缺少序号 {expected_seq} 的记录（已被删除）"),
                            &format!("record number {expected_seq} is missing (removed)"),
                        )
                    })
                } else if rec.prev_hash != prev_hash {
                    Some(bad(
                        "与前一条记录的链接断开",
                        "link to the previous record is broken",
                    ))
                } else if store::hash(&store::stamp_of(&rec)) != rec.hash {
                    Some(bad("记录内容被修改", "record content was changed"))
                } else {
                    None
                };
                if problem.is_some() {
                    report.first_problem = problem;
                    return Ok(report);
                }
                report.records += 1;
                prev_hash = rec.hash.clone();
                expected_seq += 1;
            }
        }
        if expected_seq - 1 != head_seq || prev_hash != head_hash {
            report.first_problem = Some(Problem {
                chain: chain.clone(),
                seq: expected_seq,
                record_id: None,
                reason_zh: format!(
                    "链尾缺少记录：应有 {head_seq} 条，实有 {} 条",
                    expected_seq - 1
                ),
                reason_en: format!(
                    "records missing at the end of the chain: {head_seq} expected, {} found",
                    expected_seq - 1
                ),
            });
            return Ok(report);
        }
    }
    Ok(report)
}
