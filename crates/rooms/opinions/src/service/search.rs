//! Chinese full-text search over citizens' opinions, inside the database itself (SQLite
//! FTS5, PostgreSQL tsvector with a GIN index), so that every app instance sees the same
//! index the moment an item is committed, with nothing to rebuild or keep in sync.
//!
//! Documents are indexed under three kinds of tokens, computed here and stored
//! space-separated (the database only splits on whitespace):
//! - jieba's search-mode words ([`Segmenter::search_tokens`]),
//! - every bigram of adjacent Chinese characters (also from `search_tokens`),
//! - every run of letters and digits that are not Chinese ("wifi", "3", "12345").
//!
//! A query is normalized the same way and becomes the bigrams of its Chinese runs plus its
//! letter/digit runs, all required. A query does not require jieba's words: a document may
//! have been segmented differently ("灯坏" is no word of "路灯坏了", but its bigram is), and
//! the bigrams of a query are present in every document that contains the query's text.
//! A lone Chinese character becomes a prefix term (any token starting with it).
//!
//! Tokens keep only letters and digits, so nothing in them means anything to FTS5's query
//! syntax or to `to_tsquery`: quotes, `*`, `:`, `-`, `&|!` and the like never reach SQL.
//!
//! Besides its words, every item is indexed under its *scope tokens* (see
//! [`scope_tokens`]): each leading prefix of its region path (`/1/4/17/` gives `r1域`,
//! `r1r4域`, `r1r4r17域`), its station (`s5域`) and its deputy (`d9域`). None of these ever
//! changes once an item is written (the handling loop changes the unit, never the region,
//! station or deputy), so a viewer's scope becomes one more term of the match and a
//! search's count comes from the index alone. A scope token mixes Latin letters and digits
//! with a Chinese character, and starts with a Latin letter: a query term is never mixed
//! (a query splits its runs where the script changes) and a prefix term always starts
//! with a Chinese character, so nothing a user types can match a scope token, and text
//! tokens that mix scripts are left out of the index so that no text can fake one.

use super::Opinions;
use yidu_db::{AnyConnection, Backend, Row};
use yidu_kernel::{AppError, AppResult};
use yidu_text::normalize::is_han;
use yidu_text::{normalize, Segmenter};

/// Longer runs are not words anyone searches for (pasted codes, keyboard mashing); they
/// would only bloat the index (PostgreSQL refuses lexemes over 2 KB).
const MAX_TOKEN_CHARS: usize = 48;
/// More query terms only narrow a result that is already narrow; this bounds query cost.
const MAX_QUERY_TERMS: usize = 24;

/// Splits a token into its letter/digit pieces: the only characters an index token holds.
fn clean_pieces(token: &str) -> impl Iterator<Item = &str> {
    token
        .split(|c: char| !c.is_alphanumeric())
        .filter(|p| !p.is_empty() && p.chars().count() <= MAX_TOKEN_CHARS)
}

/// Runs of letters and digits that are not Chinese, in normalized text.
fn non_han_runs(normalized: &str) -> impl Iterator<Item = &str> {
    normalized
        .split(|c: char| !c.is_alphanumeric() || is_han(c))
        .filter(|p| !p.is_empty() && p.chars().count() <= MAX_TOKEN_CHARS)
}

/// A token with Chinese and other letters or digits in it ("3号楼"). Queries never ask
/// for one (they split at every change of script and find "3号楼" as "3" and "号楼"),
/// and scope tokens are of this kind, so text tokens of this kind stay out of the index.
fn mixes_scripts(token: &str) -> bool {
    token.chars().any(is_han) && !token.chars().all(is_han)
}

/// The index tokens of an item's text: title and body tokenized separately (so that no
/// bigram spans the two), deduplicated, space-separated. See [`item_tokens`] for all of an
/// item's tokens.
pub fn document_tokens(segmenter: &Segmenter, title: &str, body: &str) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for text in [title, body] {
        let words = segmenter.search_tokens(text);
        let normalized = normalize(text);
        let tokens = words
            .iter()
            .flat_map(|w| clean_pieces(w))
            .filter(|t| !mixes_scripts(t))
            .chain(non_han_runs(&normalized));
        for t in tokens {
            if seen.insert(t.to_string()) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(t);
            }
        }
    }
    out
}

/// What marks a scope token (see the module documentation).
const SCOPE_MARK: char = '域';

/// The ids of a region path ("/1/4/17/" → 1, 4, 17), as long as they are well formed:
/// stops at the first segment that is not a number, and at a missing final slash.
fn path_ids(path: &str) -> Vec<&str> {
    let Some(inner) = path.strip_prefix('/') else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    let mut rest = inner;
    while let Some((id, tail)) = rest.split_once('/') {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        ids.push(id);
        rest = tail;
    }
    ids
}

/// The scope token that stands for "region path starts with `path`" (a well-formed path
/// such as "/1/4/"; None for anything else, which the caller then checks in SQL).
pub fn region_token(path: &str) -> Option<String> {
    let ids = path_ids(path);
    let well_formed =
        !ids.is_empty() && ids.iter().map(|i| i.len() + 1).sum::<usize>() + 1 == path.len();
    well_formed.then(|| {
        let mut t: String = ids.iter().map(|i| format!("r{i}")).collect();
        t.push(SCOPE_MARK);
        t
    })
}

/// The scope token of a station ('s') or deputy ('d') id (None for an id no row has).
pub fn id_token(kind: char, id: i64) -> Option<String> {
    (id > 0).then(|| format!("{kind}{id}{SCOPE_MARK}"))
}

/// An item's scope tokens: every well-formed leading prefix of its region path, its
/// station and its deputy.
pub fn scope_tokens(
    region_path: &str,
    station_id: Option<i64>,
    deputy_id: Option<i64>,
) -> Vec<String> {
    let ids = path_ids(region_path);
    let mut out = Vec::with_capacity(ids.len() + 2);
    let mut t = String::new();
    for id in ids {
        t.push('r');
        t.push_str(id);
        out.push(format!("{t}{SCOPE_MARK}"));
    }
    out.extend(station_id.and_then(|s| id_token('s', s)));
    out.extend(deputy_id.and_then(|d| id_token('d', d)));
    out
}

/// How many consecutive ids share a bucket of the bucketed region tokens: 32,768.
pub const BUCKET_BITS: u32 = 15;

/// The bucket of an id (see [`bucket_token`]).
pub fn bucket_of(id: i64) -> i64 {
    id >> BUCKET_BITS
}

/// A region token ("r1r4域") limited to the items of one bucket of ids ("r1r4b30域";
/// PostgreSQL only). GIN reads a term's whole posting list before it returns a row, so a
/// common word searched within a township reads the township token's list of every item
/// there; the bucketed token's list holds only one bucket's items, and a search that
/// needs only the newest matches asks for the newest buckets. Like every scope token it
/// mixes scripts, so no query reaches it. None for anything but a region token.
pub fn bucket_token(region_token: &str, bucket: i64) -> Option<String> {
    let ids = region_token.strip_suffix(SCOPE_MARK)?;
    let well_formed = ids.starts_with('r')
        && ids[1..]
            .split('r')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then(|| format!("{ids}b{bucket}{SCOPE_MARK}"))
}

/// What PostgreSQL indexes an item under: its tokens and the bucketed form of its region
/// tokens (the rule migration 0016 applies to the rows written before it).
pub fn pg_tokens(id: i64, tokens: &str) -> String {
    let mut out = tokens.to_string();
    for t in tokens.split(' ') {
        if let Some(b) = bucket_token(t, bucket_of(id)) {
            out.push(' ');
            out.push_str(&b);
        }
    }
    out
}

/// Everything an item is indexed under: its text's tokens and its scope tokens.
pub fn item_tokens(
    segmenter: &Segmenter,
    title: &str,
    body: &str,
    region_path: &str,
    station_id: Option<i64>,
    deputy_id: Option<i64>,
) -> String {
    let mut out = document_tokens(segmenter, title, body);
    for t in scope_tokens(region_path, station_id, deputy_id) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
    }
    out
}

/// One required term of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// The token itself.
    Exact(String),
    /// Any token starting with this (a lone Chinese character).
    Prefix(String),
}

/// The terms a document must hold to match `query` (empty when the query has no letters,
/// digits or Chinese characters: then there is nothing to search for).
pub fn query_terms(query: &str) -> Vec<Term> {
    let mut terms: Vec<Term> = Vec::new();
    let mut push = |t: Term| {
        if !terms.contains(&t) {
            terms.push(t);
        }
    };
    // Words the user separated stay separate: normalizing the whole query would join
    // "路灯 垃圾" into "路灯垃圾" and require the bigram "灯垃".
    let parts = query.split(char::is_whitespace).map(normalize);
    let normalized: Vec<String> = parts.collect();
    let runs = normalized
        .iter()
        .flat_map(|part| part.split(|c: char| !c.is_alphanumeric()));
    for run in runs {
        let chars: Vec<char> = run.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let han = is_han(chars[i]);
            let start = i;
            while i < chars.len() && is_han(chars[i]) == han {
                i += 1;
            }
            let piece = &chars[start..i];
            if !han {
                if piece.len() <= MAX_TOKEN_CHARS {
                    push(Term::Exact(piece.iter().collect()));
                }
            } else if piece.len() == 1 {
                push(Term::Prefix(piece[0].to_string()));
            } else {
                for pair in piece.windows(2) {
                    push(Term::Exact(pair.iter().collect()));
                }
            }
        }
    }
    terms.truncate(MAX_QUERY_TERMS);
    terms
}

/// The engine's match expression for the terms (None when there are none). Terms hold
/// only letters and digits, so quoting them is enough to make them literal.
pub fn match_expr(backend: Backend, terms: &[Term]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    let parts: Vec<String> = terms
        .iter()
        .map(|t| match (backend, t) {
            (Backend::Sqlite, Term::Exact(s)) => format!("\"{s}\""),
            (Backend::Sqlite, Term::Prefix(s)) => format!("\"{s}\"*"),
            (Backend::Postgres, Term::Exact(s)) => format!("'{s}'"),
            (Backend::Postgres, Term::Prefix(s)) => format!("'{s}':*"),
        })
        .collect();
    Some(match backend {
        Backend::Sqlite => parts.join(" AND "),
        Backend::Postgres => parts.join(" & "),
    })
}

/// The SQL condition on `o.id` that keeps the items matching the expression bound at
/// `placeholder`. The one place where the two engines differ.
pub fn condition(backend: Backend, placeholder: &str) -> String {
    match backend {
        Backend::Sqlite => format!(
            "o.id IN (SELECT rowid FROM opinion_search WHERE opinion_search MATCH {placeholder})"
        ),
        Backend::Postgres => format!(
            "o.id IN (SELECT opinion_id FROM opinion_search WHERE tsv @@ to_tsquery('simple', {placeholder}))"
        ),
    }
}

/// How far a search's total is counted. Past this the queue shows "1000+": counting
/// every match of a common word in a million items costs far more than the page itself
/// (the count is most of a capped search's time), and nobody pages through fifty pages
/// of hits; they narrow the search instead.
pub const COUNT_CAP: i64 = 1_000;

/// Where a search's rows come from when the queue pages through them: the index joined to
/// the items, walked newest first straight from the index, so a page of a search with
/// 100,000 matches reads its 20 rows (plus those the other filters reject) instead of
/// sorting every match.
#[derive(Debug, Clone)]
pub struct Source {
    /// `FROM` clause (without the keyword) giving the items as `o`.
    pub from: String,
    /// The match condition on the index, for the `WHERE` clause.
    pub condition: String,
    /// `ORDER BY` expression: the newest match first.
    pub newest_first: &'static str,
    /// `FROM` clause of the index alone, for a count that needs nothing but the match:
    /// every index row belongs to an item (items are never deleted).
    pub index_only: &'static str,
}

/// The [`Source`] for the match expression bound at `placeholder`. SQLite: CROSS JOIN
/// keeps the FTS5 table as the outer loop, which yields rowids in descending order
/// itself; on PostgreSQL the queue chooses between walking the key backwards and reading
/// the matches through the GIN index (see `search_pg`).
pub fn source(backend: Backend, placeholder: &str) -> Source {
    match backend {
        Backend::Sqlite => Source {
            from: "opinion_search CROSS JOIN opinions o ON o.id = opinion_search.rowid".into(),
            condition: format!("opinion_search MATCH {placeholder}"),
            newest_first: "opinion_search.rowid DESC",
            index_only: "opinion_search",
        },
        Backend::Postgres => Source {
            from: "opinion_search s JOIN opinions o ON o.id = s.opinion_id".into(),
            condition: format!("s.tsv @@ to_tsquery('simple', {placeholder})"),
            newest_first: "s.opinion_id DESC",
            index_only: "opinion_search s",
        },
    }
}

fn insert_sql(backend: Backend, rows: usize) -> String {
    // PostgreSQL keeps only the tsvector, without positions (no query uses them): migration
    // 0015 explains why its table must stay narrow.
    let (cols, value): (&str, fn(usize) -> String) = match backend {
        Backend::Sqlite => ("rowid, tokens", |n| format!("${n}")),
        Backend::Postgres => ("opinion_id, tsv", |n| {
            format!("strip(to_tsvector('simple', ${n}))")
        }),
    };
    let values: Vec<String> = (0..rows)
        .map(|i| format!("(${}, {})", 2 * i + 1, value(2 * i + 2)))
        .collect();
    format!(
        "INSERT INTO opinion_search ({cols}) VALUES {}",
        values.join(", ")
    )
}

/// Indexes one new item, in the caller's transaction (the one that inserts the item).
pub async fn index(
    conn: &mut AnyConnection,
    backend: Backend,
    id: i64,
    tokens: &str,
) -> Result<(), sqlx::Error> {
    let tokens = match backend {
        Backend::Sqlite => tokens.to_string(),
        Backend::Postgres => pg_tokens(id, tokens),
    };
    sqlx::query(&insert_sql(backend, 1))
        .bind(id)
        .bind(tokens)
        .execute(conn)
        .await?;
    Ok(())
}

/// Indexes many new items at once (demo history, reindex), in the caller's transaction.
pub async fn index_batch(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[(i64, String)],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(400) {
        let sql = yidu_db::positional(conn, insert_sql(backend, chunk.len()));
        let mut q = sqlx::query(&sql);
        for (id, tokens) in chunk {
            let tokens = match backend {
                Backend::Sqlite => tokens.clone(),
                Backend::Postgres => pg_tokens(*id, tokens),
            };
            q = q.bind(*id).bind(tokens);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rebuilds the index of every item from its title, body and scope (after a tokenizer
/// change, or to index items written before search existed); returns how many items were
/// indexed. Works page by page, each in its own transaction, so search keeps working
/// meanwhile. Start-up runs it once per token format through [`super::search_build`].
pub async fn reindex(o: &Opinions) -> AppResult<usize> {
    let mut after = 0i64;
    let mut done = 0usize;
    while let Some(page) = reindex_page(o, after, None).await? {
        done += page.items;
        after = page.last_id;
    }
    Ok(done)
}

/// One page of a rebuild: how many items and the last id.
pub struct ReindexPage {
    pub items: usize,
    pub last_id: i64,
}

/// Re-tokenizes the (up to) 1,000 items after `after`, replacing their index rows in one
/// transaction; None when there are no more items. With a claim (the versioned rebuild),
/// the page's transaction also records the checkpoint, and the page is rolled back and
/// None returned if the claim was lost to another instance.
pub async fn reindex_page(
    o: &Opinions,
    after: i64,
    claim: Option<&super::search_build::Claim>,
) -> AppResult<Option<ReindexPage>> {
    let backend = o.db.backend();
    let key = match backend {
        Backend::Sqlite => "rowid",
        Backend::Postgres => "opinion_id",
    };
    let rows = sqlx::query(
        "SELECT id, title, body, region_path, station_id, deputy_id FROM opinions
         WHERE id > $1 ORDER BY id LIMIT 1000",
    )
    .bind(after)
    .fetch_all(o.db.pool())
    .await?;
    let Some(last) = rows.last() else {
        return Ok(None);
    };
    let last: i64 = last.get(0);
    let docs: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            let (title, body, path): (String, String, String) = (r.get(1), r.get(2), r.get(3));
            let tokens = item_tokens(&o.segmenter, &title, &body, &path, r.get(4), r.get(5));
            (r.get(0), tokens)
        })
        .collect();
    // Exactly the rows read: an item committed meanwhile inside the id range (PostgreSQL
    // hands out ids before commit) was indexed by its own transaction and must stay.
    let ids: Vec<String> = docs.iter().map(|(id, _)| id.to_string()).collect();
    let mut tx = o.db.begin().await?;
    sqlx::query(&format!(
        "DELETE FROM opinion_search WHERE {key} IN ({})",
        ids.join(", ")
    ))
    .execute(&mut *tx)
    .await?;
    index_batch(&mut tx, backend, &docs)
        .await
        .map_err(AppError::from)?;
    if let Some(c) = claim {
        if !super::search_build::checkpoint(&mut tx, c, last).await? {
            return Ok(None);
        }
    }
    tx.commit().await?;
    Ok(Some(ReindexPage {
        items: docs.len(),
        last_id: last,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(s: &str) -> Term {
        Term::Exact(s.into())
    }

    #[test]
    fn query_terms_are_bigrams_runs_and_prefixes() {
        assert_eq!(query_terms("灯坏"), vec![exact("灯坏")]);
        assert_eq!(
            query_terms("路燈壞了"),
            vec![exact("路灯"), exact("灯坏"), exact("坏了")]
        );
        assert_eq!(
            query_terms("\"WiFi\" 3号楼 灯*"),
            vec![
                exact("wifi"),
                exact("3"),
                exact("号楼"),
                Term::Prefix("灯".into())
            ]
        );
        assert!(query_terms("*:-&|!'\"()").is_empty());
        assert_eq!(
            query_terms("路灯　垃圾"),
            vec![exact("路灯"), exact("垃圾")]
        );
    }

    #[test]
    fn match_expressions_quote_every_term() {
        let t = query_terms("路灯 AND x");
        assert_eq!(
            match_expr(Backend::Sqlite, &t).unwrap(),
            "\"路灯\" AND \"and\" AND \"x\""
        );
        assert_eq!(
            match_expr(
                Backend::Postgres,
                &[exact("路灯"), Term::Prefix("灯".into())]
            )
            .unwrap(),
            "'路灯' & '灯':*"
        );
        assert_eq!(match_expr(Backend::Sqlite, &[]), None);
    }

    #[test]
    fn scope_tokens_are_path_prefixes_station_and_deputy() {
        assert_eq!(region_token("/1/4/").as_deref(), Some("r1r4域"));
        for bad in ["", "/", "/1/4", "1/4/", "/1/x/", "/1//", "/1/4/%"] {
            assert_eq!(region_token(bad), None, "{bad}");
        }
        assert_eq!(
            scope_tokens("/1/4/17/", Some(5), Some(9)),
            vec!["r1域", "r1r4域", "r1r4r17域", "s5域", "d9域"]
        );
        // A malformed segment ends the prefixes: the viewer's LIKE would stop there too.
        assert_eq!(scope_tokens("/1/x/3/", None, None), vec!["r1域"]);
        assert_eq!(id_token('s', 0), None);
    }

    #[test]
    fn bucketed_tokens_are_region_tokens_of_one_bucket() {
        assert_eq!(bucket_token("r1r4域", 30).as_deref(), Some("r1r4b30域"));
        assert_eq!(bucket_token("r1域", 0).as_deref(), Some("r1b0域"));
        for other in [
            "s5域",
            "d9域",
            "r域",
            "rr1域",
            "r1r域",
            "r1",
            "路灯",
            "r1r4b3域",
        ] {
            assert_eq!(bucket_token(other, 1), None, "{other}");
        }
        assert_eq!(bucket_of((1 << BUCKET_BITS) - 1), 0);
        assert_eq!(bucket_of(1 << BUCKET_BITS), 1);
        let id = 3 << BUCKET_BITS;
        assert_eq!(
            pg_tokens(id, "路灯 r1域 r1r4域 s5域"),
            "路灯 r1域 r1r4域 s5域 r1b3域 r1r4b3域"
        );
        assert_eq!(pg_tokens(id, ""), "");
    }

    #[test]
    fn nothing_typed_or_written_is_a_scope_token() {
        let s = Segmenter::new();
        let mut scope = scope_tokens("/1/4/17/", Some(5), Some(9));
        scope.extend(["r1b3域".to_string(), "r1r4b3域".to_string()]);
        for q in [
            "r1",
            "r1r4",
            "r1r4域",
            "r1r4b3域",
            "s5域 d9域",
            "域",
            "r1域r1r4域",
            "R1R4域",
        ] {
            for t in query_terms(q) {
                match &t {
                    Term::Exact(e) => assert!(!scope.contains(e), "{q}: {e}"),
                    // Prefix terms start with a Chinese character, scope tokens never do.
                    Term::Prefix(p) => assert!(p.chars().all(is_han), "{q}: {p}"),
                }
            }
        }
        let doc = document_tokens(&s, "r1r4域 s5域", "编号r1域，d9域、3号楼");
        for t in doc.split(' ') {
            assert!(!scope.iter().any(|x| x == t), "{t} in {doc}");
            assert!(!mixes_scripts(t), "{t} in {doc}");
        }
        let all = item_tokens(&s, "路灯", "", "/1/4/", Some(5), None);
        assert!(all.ends_with(" r1域 r1r4域 s5域"), "{all}");
    }

    #[test]
    fn document_tokens_cover_query_terms() {
        let s = Segmenter::new();
        let doc = document_tokens(&s, "小区门口路灯坏了", "3号楼WiFi信号差, 已经一周!");
        let tokens: Vec<&str> = doc.split(' ').collect();
        for q in ["路灯", "灯坏", "路燈", "3号楼", "wifi", "信号差"] {
            for t in query_terms(q) {
                let Term::Exact(t) = t else { continue };
                assert!(tokens.contains(&t.as_str()), "{t} of {q} not in {doc}");
            }
        }
        assert!(doc.chars().all(|c| c == ' ' || c.is_alphanumeric()));
    }
}
