//! The queue's search on PostgreSQL: how the page of a search is read from the GIN index.
//!
//! A GIN index answers "which rows hold these lexemes", in no useful order, and every
//! match it returns costs a visit to `opinion_search`'s heap to learn its id (about 90
//! bytes a row since migration 0015, the tsvector out of line; 1.2 KB before). So the work
//! is arranged around that:
//!
//! 1. One statement reads the ids of at most [`search::COUNT_CAP`] + 1 matches (any
//!    order). At most `COUNT_CAP` of them are all the matches: their number is the total,
//!    the page is a slice of them sorted newest first, and its rows are read by key. The
//!    count and the page used to be two statements, each visiting every match.
//! 2. More matches ("1000+"): the page is the newest of many. Walking the key backwards
//!    and testing each row's tsvector costs (rows wanted) / (share of rows that match);
//!    reading every match through the index and sorting costs the number of matches.
//!    The ids of step 1 came in heap order, which is id order as long as rows were written
//!    in id order (items are indexed when written; a rebuild rewrites them in id order), so
//!    the id span they cover estimates the share of matching rows. When the walk is the
//!    cheaper, it runs bounded to a window of ids a few times wider than the estimate
//!    asks for; a window that holds too few rows (the estimate was wrong: the heap was not
//!    in id order, the word was frequent only long ago) falls back to reading every match.
//!    Either way the rows and their order are exactly those of the plain statement.
//! 3. A single word searched by a viewer with no scope term and no SQL condition (the
//!    office of the only top-level region, the administrator) that the table's statistics
//!    put in at least [`SURELY_COMMON`] items is not counted at all: the GIN index would
//!    read its whole posting list (68,360 entries of "物业" at 1M: 31-50 ms) only to
//!    prove what the statistics already show ten times over. Its page is the bounded walk,
//!    which also checks that the word is still as common among the newest items as the
//!    statistics say; if the window holds too few matches, the search is counted as in 1.
//!    The total is then shown as "1000+", as for any search with more than 1,000 matches.
//!    Why that is truthful: the statistics sample 30,000 rows (at the default statistics
//!    target); a lexeme sampled in 1 % of them (300 rows) is held by far more than 0.1 %
//!    of the table, and an item's tokens never change (items are never deleted, and the
//!    scope and text tokens of a stored item are fixed), so a lexeme's count only grows
//!    after the statistics were taken. The estimate is used only once the index is in the
//!    current token format.
//! 4. A search within the viewer's region (a township; the office of the only top-level
//!    region, whose items all hold its token) whose terms the statistics know well enough
//!    to expect well over 1,000 matches among the newest items is first counted among
//!    them alone: the region term becomes the bucketed region tokens of the newest
//!    buckets of ids (migration 0016, [`search::bucket_token`]). GIN reads a term's whole
//!    posting list before it returns a row: the township token's list holds a tenth of all
//!    items (100,000 entries at 1M), a bucket's only the township's items of 32,768 ids.
//!    More than 1,000 matches there are more than 1,000 in all ("1000+"); the township's
//!    page is then read from the newest buckets alone when they hold enough matches (all
//!    of the township's items from a bucket's start onwards, so their newest matches are
//!    the search's). Fewer (the statistics were off, the words are frequent only in older
//!    items): counted over the whole index as in 1. The answers are those of 1-2 either
//!    way; only what the index reads changes.

use super::binds::{bind_all, Bind};
use super::search::{self, Source, Term};
use crate::store::{self, OpinionRow};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use yidu_db::{Backend, Row};
use yidu_kernel::{AppResult, PageQuery};

/// The walk's cost per row over the cost per match of reading every match and sorting:
/// a walked row is a heap visit plus a tsvector read from TOAST and tested against the
/// query, a match read through the index is a posting entry and a heap visit for its id.
/// Measured at 1,000,000 items on the narrow table of migration 0015 (2026-12-07, 89 MB
/// of heap, small enough to stay in shared buffers): 2.8 µs per walked row and 1.2-1.9 µs
/// per match when cached, 6 µs per walked row with the TOAST pages in the OS cache only.
/// (On the wide table before it, with the heap in the OS cache, a match cost 36 µs and a
/// walked row 11: the ratio was 0.5.)
const WALK_COST_RATIO: f64 = 2.0;
/// How much wider than the estimate the walk's window is: a word's matches are not spread
/// evenly over time, and a window too narrow costs a second statement.
const WINDOW_SLACK: f64 = 4.0;

/// How many items the statistics must put a lexeme in before a search for it alone is
/// shown as "1000+" without counting: ten times the cap.
pub(crate) const SURELY_COMMON: f64 = 10.0 * search::COUNT_CAP as f64;
/// How long the very common lexemes read from the statistics are used before they are read
/// again (reading them costs 5-13 ms: the statistics keep 1,000 lexemes as an array).
const COMMON_REFRESH: Duration = Duration::from_secs(600);
/// The walk is the page of a very common word only up to this many rows (deep pages of a
/// less common one are counted and read as in the other cases).
const COMMON_MAX_WALK: f64 = 10_000.0;

/// The lexemes of the table's statistics with their share of rows, and when they were read.
#[derive(Debug)]
pub(crate) struct Common {
    read_at: Instant,
    /// The table's estimated number of rows when the statistics were read.
    rows: f64,
    share: HashMap<String, f64>,
}

/// The statistics' share of rows for each lexeme (None for one they do not know) and the
/// table's estimated number of rows (0 when there are no statistics yet).
async fn shares(o: &super::Opinions, lexemes: &[&str]) -> AppResult<(f64, Vec<Option<f64>>)> {
    let fresh = |c: &Option<Common>| {
        c.as_ref()
            .is_some_and(|c| c.read_at.elapsed() < COMMON_REFRESH)
    };
    let found = |c: &Common| {
        let each = lexemes.iter().map(|l| c.share.get(*l).copied()).collect();
        (c.rows.max(0.0), each)
    };
    {
        let cached = o.search.common.lock().unwrap_or_else(|e| e.into_inner());
        if fresh(&cached) {
            return Ok(cached
                .as_ref()
                .map_or((0.0, vec![None; lexemes.len()]), found));
        }
    }
    // The frequencies run three longer than the lexemes (minimum, maximum, share of
    // empty values): those pair with no lexeme.
    let rows = sqlx::query(
        "SELECT u.e, CAST(u.f AS DOUBLE PRECISION), CAST(c.reltuples AS DOUBLE PRECISION)
         FROM pg_stats s, pg_class c,
              unnest(CAST(CAST(s.most_common_elems AS TEXT) AS TEXT[]), s.most_common_elem_freqs) AS u(e, f)
         WHERE s.schemaname = current_schema() AND s.tablename = 'opinion_search' AND s.attname = 'tsv'
           AND c.oid = CAST('opinion_search' AS REGCLASS) AND u.e IS NOT NULL",
    )
    .fetch_all(o.db.pool())
    .await?;
    let common = Common {
        read_at: Instant::now(),
        rows: rows.first().map_or(0.0, |r| r.get(2)),
        share: rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
    };
    let out = found(&common);
    *o.search.common.lock().unwrap_or_else(|e| e.into_inner()) = Some(common);
    Ok(out)
}

/// The share of rows holding `lexeme` when the statistics put it in at least
/// [`SURELY_COMMON`] items; None otherwise (or when there are no statistics yet).
async fn common_share(o: &super::Opinions, lexeme: &str) -> AppResult<Option<f64>> {
    let (rows, share) = shares(o, &[lexeme]).await?;
    Ok(share[0].filter(|s| s * rows >= SURELY_COMMON))
}

/// The viewer's region scope, which the bucketed region tokens (migration 0016) can narrow
/// to the newest items.
pub(crate) struct Window<'a> {
    /// The viewer's region token ("r1r2域").
    pub region: &'a str,
    /// Whether the token is one of the search's terms (a township; an office below one of
    /// several top-level regions). False for the office of the only top-level region: its
    /// search has no scope term, and its items all hold the token, so the token only
    /// narrows what the count reads, never what the viewer sees.
    pub in_terms: bool,
}

/// A search's total (up to `COUNT_CAP` + 1) and the rows of the requested page.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn page(
    o: &super::Opinions,
    q: &PageQuery,
    conds: &[String],
    binds: &[Bind],
    source: &Source,
    body: &str,
    terms: &[Term],
    window: Option<Window<'_>>,
) -> AppResult<(i64, Vec<OpinionRow>)> {
    let cap = search::COUNT_CAP + 1;
    let (offset, limit) = (q.offset(), q.limit());
    let wanted = (offset + limit) as f64;
    // A lone word (no scope term, nothing in SQL) may be one the statistics know.
    let lone = match terms {
        [Term::Exact(t)] if conds.is_empty() => Some(t.as_str()),
        _ => None,
    };
    if let Some(lexeme) = lone {
        if let Some(share) = common_share(o, lexeme).await? {
            let walk_rows = wanted / share;
            if walk_rows <= COMMON_MAX_WALK {
                let floor = newest_id(o).await? - (walk_rows * WINDOW_SLACK).ceil() as i64;
                let rows = list(o, body, binds, offset, limit, Order::Walk(floor)).await?;
                if rows.len() as i64 == limit {
                    return Ok((cap, rows));
                }
            }
        }
    }
    // Nothing but the match: the ids come from the index table alone.
    let ids_sql = if conds.is_empty() {
        format!(
            "SELECT s.opinion_id FROM {} WHERE {} LIMIT {cap}",
            source.index_only, source.condition
        )
    } else {
        format!("SELECT s.opinion_id{body} LIMIT {cap}")
    };
    let mut window_ids = None;
    if let Some(plan) = match window {
        Some(w) => plan_window(o, terms, w).await?,
        None => None,
    } {
        let expr = plan.expr(plan.newest - plan.count_ids);
        let ids = match_ids(o, &ids_sql, &with_expr(binds, expr)).await?;
        // More than the cap among the newest items of the scope: more in all of them.
        if ids.len() as i64 > search::COUNT_CAP {
            if conds.is_empty() && plan.in_terms {
                // The page from the newest buckets alone, when they hold enough matches:
                // all of the scope's items from a bucket's start onwards, so their newest
                // matches are the search's.
                let from = plan.newest - (PAGE_SLACK * wanted / plan.share).ceil() as i64;
                let narrow = with_expr(binds, plan.expr(from));
                let order = Order::SortIds(source);
                let rows = list(o, body, &narrow, offset, limit, order).await?;
                if rows.len() as i64 == limit {
                    return Ok((cap, rows));
                }
            }
            window_ids = Some(ids);
        }
    }
    let ids = match window_ids {
        Some(ids) => ids,
        None => match_ids(o, &ids_sql, binds).await?,
    };
    let total = ids.len() as i64;
    if total <= search::COUNT_CAP {
        let mut ids = ids;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let page: Vec<i64> = ids
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        return Ok((total, by_ids(o, &page).await?));
    }
    let (lo, hi) = (
        ids.iter().copied().min().unwrap_or(0),
        ids.iter().copied().max().unwrap_or(0),
    );
    // Share of the rows in the span of the first matches that match.
    let share = ids.len() as f64 / (hi - lo + 1) as f64;
    let newest = newest_id(o).await?;
    let walk_rows = wanted / share;
    let all_matches = share * newest as f64;
    if walk_rows * WALK_COST_RATIO < all_matches {
        let floor = newest - (walk_rows * WINDOW_SLACK).ceil() as i64;
        let rows = list(o, body, binds, offset, limit, Order::Walk(floor)).await?;
        if rows.len() as i64 == limit {
            return Ok((total, rows));
        }
    }
    let order = if conds.is_empty() {
        Order::SortIds(source)
    } else {
        Order::SortJoined
    };
    Ok((total, list(o, body, binds, offset, limit, order).await?))
}

/// The ids of up to `COUNT_CAP` + 1 matches, in heap order.
async fn match_ids(o: &super::Opinions, ids_sql: &str, binds: &[Bind]) -> AppResult<Vec<i64>> {
    // Through the text index: a planner that believes a word common reads the table in
    // order instead and tests every row's TOASTed tsvector until it has enough matches
    // (118 ms for the first 1,001 of "物业" at 1M, measured), and for words common alone
    // but rare together it would read the whole table.
    let mut tx = o.db.begin().await?;
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await?;
    let ids: Vec<i64> = bind_all(sqlx::query(ids_sql), binds)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    tx.commit().await?;
    Ok(ids)
}

/// The binds with the match expression (always the last) replaced.
fn with_expr(binds: &[Bind], expr: String) -> Vec<Bind> {
    let mut out = binds.to_vec();
    if let Some(last) = out.last_mut() {
        *last = Bind::Text(expr);
    }
    out
}

/// A search narrowed to the newest buckets of the viewer's region.
struct WindowPlan {
    /// The search's terms but the region's.
    others: Vec<Term>,
    region: String,
    in_terms: bool,
    /// Estimated share of all rows that match (region included).
    share: f64,
    newest: i64,
    /// How many of the newest ids the count reads.
    count_ids: i64,
}

impl WindowPlan {
    /// The search's terms with the region limited to the buckets from `from_id`'s onwards.
    fn expr(&self, from_id: i64) -> String {
        let last = search::bucket_of(self.newest);
        let first = search::bucket_of(from_id.max(0)).max(last - MAX_BUCKETS + 1);
        let buckets: Vec<String> = (first..=last)
            .filter_map(|b| search::bucket_token(&self.region, b))
            .map(|t| format!("'{t}'"))
            .collect();
        let others = search::match_expr(Backend::Postgres, &self.others).unwrap_or_default();
        format!("{others} & ({})", buckets.join(" | "))
    }
}

/// How many matches the window of the count is sized for: enough margin over the 1,001 it
/// needs for the estimate (words taken as independent) to be off by a third.
const WINDOW_MATCHES: f64 = 1.5 * search::COUNT_CAP as f64;
/// The page's window is sized for this many times the rows it needs.
const PAGE_SLACK: f64 = 2.0;
/// A window spans at most this many buckets (the expression lists each).
const MAX_BUCKETS: i64 = 64;

/// Whether a search within the viewer's region is better counted among the newest buckets:
/// when the statistics know every term, the window spans at most half of the ids, and the
/// posting entries it reads are estimated at under two thirds of the plain search's.
///
/// Cost model, from EXPLAIN (ANALYZE) of the GIN bitmap scan at 1M: the scan costs about
/// the sum of its terms' posting lists, not the shortest one's ("工资" alone, 43,259
/// entries: 2.9 ms; with the township's token, 98,600 more: 7.2 ms; "希望" and the
/// township: 14.8 ms), and a window reads the entries of its id range only ("希望" in the
/// newest three buckets: 0.6 ms, 1,033 matches). The plain search's terms are the words
/// and, in a township, its token; the window's are the words and the bucketed token,
/// which for the office of the only top-level region is held by every item.
async fn plan_window(
    o: &super::Opinions,
    terms: &[Term],
    w: Window<'_>,
) -> AppResult<Option<WindowPlan>> {
    let region = Term::Exact(w.region.to_string());
    let others: Vec<Term> = terms.iter().filter(|t| **t != region).cloned().collect();
    let mut lexemes = vec![w.region];
    for t in &others {
        match t {
            Term::Exact(e) => lexemes.push(e),
            // A prefix stands for many lexemes: no estimate.
            Term::Prefix(_) => return Ok(None),
        }
    }
    if others.is_empty() {
        return Ok(None);
    }
    let (rows, known) = shares(o, &lexemes).await?;
    let Some(known) = known.into_iter().collect::<Option<Vec<f64>>>() else {
        return Ok(None);
    };
    if rows <= 0.0 {
        return Ok(None);
    }
    let region_share = known[0];
    let words: f64 = known[1..].iter().sum();
    let share: f64 = known.iter().product();
    let newest = newest_id(o).await?;
    let count_ids = WINDOW_MATCHES / share;
    let window_entries = count_ids * (words + region_share);
    let plain_entries = rows * (words + if w.in_terms { region_share } else { 0.0 });
    if count_ids > newest as f64 / 2.0 || 1.5 * window_entries > plain_entries {
        return Ok(None);
    }
    Ok(Some(WindowPlan {
        others,
        region: w.region.to_string(),
        in_terms: w.in_terms,
        share,
        newest,
        count_ids: count_ids.ceil() as i64,
    }))
}

/// The newest indexed id (the key's last entry).
async fn newest_id(o: &super::Opinions) -> AppResult<i64> {
    Ok(
        sqlx::query("SELECT COALESCE(MAX(opinion_id), 0) FROM opinion_search")
            .fetch_one(o.db.pool())
            .await?
            .get(0),
    )
}

/// The rows of these ids, newest first.
async fn by_ids(o: &super::Opinions, ids: &[i64]) -> AppResult<Vec<OpinionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let sql = format!(
        "SELECT {} FROM opinions o WHERE o.id IN ({}) ORDER BY o.id DESC",
        store::COLUMNS,
        list.join(", ")
    );
    let rows = sqlx::query(&sql).fetch_all(o.db.pool()).await?;
    Ok(rows.iter().map(store::from_row).collect())
}

/// How a page of many matches is read.
enum Order<'a> {
    /// Walk the key backwards from the newest id down to (not including) this id.
    Walk(i64),
    /// Read every match's id through the text index, sort the ids, join the page's rows.
    SortIds(&'a Source),
    /// Read every match through the text index joined to the items, then sort.
    SortJoined,
}

async fn list(
    o: &super::Opinions,
    body: &str,
    binds: &[Bind],
    offset: i64,
    limit: i64,
    order: Order<'_>,
) -> AppResult<Vec<OpinionRow>> {
    let n = binds.len();
    let (sql, setting) = match order {
        // The planner thinks words that are common together rare (bigrams of one word
        // are counted as independent) and would read every match instead.
        Order::Walk(floor) => (
            format!(
                "SELECT {}{body} AND s.opinion_id > {floor} ORDER BY s.opinion_id DESC LIMIT ${} OFFSET ${}",
                store::COLUMNS,
                n + 1,
                n + 2
            ),
            "SET LOCAL enable_bitmapscan = off",
        ),
        // `+ 0`: no index serves the order, so the planner cannot choose to walk the key
        // (which costs the whole table for a word it wrongly believes common), and with
        // `enable_seqscan` off it reads the matches through the text index. Only the
        // page's ids are joined to the items.
        Order::SortIds(source) => (
            format!(
                "SELECT {} FROM opinions o WHERE o.id IN (SELECT s.opinion_id FROM {} WHERE {} \
                 ORDER BY s.opinion_id + 0 DESC LIMIT ${} OFFSET ${}) ORDER BY o.id DESC",
                store::COLUMNS,
                source.index_only,
                source.condition,
                n + 1,
                n + 2
            ),
            "SET LOCAL enable_seqscan = off",
        ),
        Order::SortJoined => (
            format!(
                "SELECT {}{body} ORDER BY s.opinion_id + 0 DESC LIMIT ${} OFFSET ${}",
                store::COLUMNS,
                n + 1,
                n + 2
            ),
            "SET LOCAL enable_seqscan = off",
        ),
    };
    let mut tx = o.db.begin().await?;
    sqlx::query(setting).execute(&mut *tx).await?;
    let rows = bind_all(sqlx::query(&sql), binds)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.iter().map(store::from_row).collect())
}
