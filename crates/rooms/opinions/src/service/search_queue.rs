//! The queue with a search (`q`): matches newest first, straight from the index, counted
//! up to [`search::COUNT_CAP`].
//!
//! Whatever the index can answer becomes a term of the match: the viewer's region, station
//! or deputy scope and the region, station and deputy filters (their scope tokens, see
//! [`search::scope_tokens`]). What an item's handling changes (status, unit, category,
//! deadline) stays a SQL condition on `opinions`. When nothing is left in SQL, the capped
//! count reads the index alone and the page reads exactly its 20 rows. Until the index is
//! in the current token format ([`search_build::ready`]), scope is checked in SQL as before.
//! How PostgreSQL reads the total and the page from its GIN index: [`super::search_pg`].

use super::binds::{bind_all, Bind};
use super::read::{page_items, QueueFilter};
use super::search::{self, Term};
use super::{search_build, search_pg, Opinions};
use crate::model::Opinion;
use yidu_db::{Backend, Row};
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Page, PageQuery, Principal, Role};

/// SQL conditions and their binds, numbered as they are added.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// Adds a condition whose `$?` is the next placeholder.
    fn push(&mut self, cond: &str, bind: Bind) {
        self.binds.push(bind);
        self.sql
            .push(cond.replace("$?", &format!("${}", self.binds.len())));
    }
    fn next(&self) -> usize {
        self.binds.len() + 1
    }
}

pub(crate) async fn queue(
    o: &Opinions,
    p: &Principal,
    f: &QueueFilter,
    q: &PageQuery,
    mut terms: Vec<Term>,
) -> AppResult<Page<Opinion>> {
    let by_index = search_build::ready(o).await?;
    // A token when the index may answer and the value has one; else the SQL condition.
    let token = |t: Option<String>| t.filter(|_| by_index).map(Term::Exact);
    let mut c = Conditions::default();
    // PostgreSQL: the viewer's region token, and whether it is a term of the search.
    let mut window: Option<(String, bool)> = None;
    match p.role {
        Role::Admin => {}
        // The office of the only top-level region sees everything, as the administrator
        // does: its token would be held by every item and only slow the match down.
        Role::Office | Role::Township
            if yidu_registry::scope::is_only_root(&o.db, &p.scope_path).await? =>
        {
            window = search::region_token(&p.scope_path)
                .filter(|_| by_index)
                .map(|t| (t, false));
        }
        Role::Office | Role::Township => {
            match search::region_token(&p.scope_path).filter(|_| by_index) {
                Some(t) => {
                    window = Some((t.clone(), true));
                    terms.push(Term::Exact(t));
                }
                None => c.push("o.region_path LIKE $?", Bind::Text(p.scope_like())),
            }
        }
        Role::Station | Role::Deputy => {
            let (kind, col) = match p.role {
                Role::Station => ('s', "o.station_id"),
                _ => ('d', "o.deputy_id"),
            };
            let id = p.scope_id.unwrap_or(-1);
            match token(search::id_token(kind, id)) {
                Some(t) => terms.push(t),
                None => c.push(&format!("{col} = $?"), Bind::Int(id)),
            }
        }
        // Units change while an item is handled: not in the index.
        Role::Department => c.push("o.unit_id = $?", Bind::Int(p.scope_id.unwrap_or(-1))),
        Role::Committee => return Err(AppError::Forbidden),
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        let st = crate::model::Status::parse(s)
            .ok_or_else(|| AppError::field("status", "未知的状态", "unknown status"))?;
        c.push("o.status = $?", Bind::Text(st.as_str().to_string()));
    }
    if let Some(r) = f.region_id {
        let region = yidu_registry::scope::region_path(&o.db, r)
            .await?
            .ok_or_else(|| AppError::field("region_id", "区域不存在", "no such region"))?;
        match token(search::region_token(&region.path)) {
            Some(t) => terms.push(t),
            None => c.push(
                "o.region_path LIKE $?",
                Bind::Text(format!("{}%", region.path)),
            ),
        }
    }
    for (kind, col, v) in [
        ('s', "o.station_id", f.station_id),
        ('d', "o.deputy_id", f.deputy_id),
    ] {
        if let Some(v) = v {
            match token(search::id_token(kind, v)) {
                Some(t) => terms.push(t),
                None => c.push(&format!("{col} = $?"), Bind::Int(v)),
            }
        }
    }
    for (col, v) in [("o.unit_id", f.unit_id), ("o.category_id", f.category_id)] {
        if let Some(v) = v {
            c.push(&format!("{col} = $?"), Bind::Int(v));
        }
    }
    let now = now_ms();
    if f.overdue == Some(true) {
        c.push(
            "o.deadline_at < $? AND o.status IN ('submitted','accepted','assigned','in_progress','escalated')",
            Bind::Int(now),
        );
    }
    let backend = o.db.backend();
    let expr = search::match_expr(backend, &terms).ok_or(AppError::NotFound)?;
    let placeholder = format!("${}", c.next());
    c.binds.push(Bind::Text(expr));
    let source = search::source(backend, &placeholder);
    let mut all = vec![source.condition.clone()];
    all.extend(c.sql.iter().cloned());
    let body = format!(" FROM {} WHERE {}", source.from, all.join(" AND "));
    if backend == Backend::Postgres {
        // The statistics and the bucketed tokens describe the index only once it is in the
        // current token format.
        let indexed: &[Term] = if by_index { &terms } else { &[] };
        let window = window.as_ref().map(|(region, in_terms)| search_pg::Window {
            region,
            in_terms: *in_terms,
        });
        let (total, rows) =
            search_pg::page(o, q, &c.sql, &c.binds, &source, &body, indexed, window).await?;
        return finish(o, p, q, total, &rows, now).await;
    }
    let cap = search::COUNT_CAP + 1;
    // Nothing but the match: the count never touches the items.
    let count_sql = if c.sql.is_empty() {
        format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {} WHERE {} LIMIT {cap}) t",
            source.index_only, source.condition
        )
    } else {
        format!("SELECT COUNT(*) FROM (SELECT 1{body} LIMIT {cap}) t")
    };
    let total: i64 = bind_all(sqlx::query(&count_sql), &c.binds)
        .fetch_one(o.db.pool())
        .await?
        .get(0);
    let n = c.binds.len();
    let list_sql = format!(
        "SELECT {}{body} ORDER BY {} LIMIT ${} OFFSET ${}",
        crate::store::COLUMNS,
        source.newest_first,
        n + 1,
        n + 2
    );
    let rows = bind_all(sqlx::query(&list_sql), &c.binds)
        .bind(q.limit())
        .bind(q.offset())
        .fetch_all(o.db.pool())
        .await?;
    let rows: Vec<crate::store::OpinionRow> = rows.iter().map(crate::store::from_row).collect();
    finish(o, p, q, total, &rows, now).await
}

/// The page with its total: "1000+" past the cap.
async fn finish(
    o: &Opinions,
    p: &Principal,
    q: &PageQuery,
    total: i64,
    rows: &[crate::store::OpinionRow],
    now: i64,
) -> AppResult<Page<Opinion>> {
    let items = page_items(o, p, rows, now).await?;
    if total > search::COUNT_CAP {
        Ok(Page::capped(items, search::COUNT_CAP, q))
    } else {
        Ok(Page::new(items, total, q))
    }
}
