//! The class-case room's SQL. Nothing else touches its tables (classes, class_members,
//! class_state).

use crate::model::ClassStatus;
use yidu_db::{AnyConnection, AnyRow, Row};

#[derive(Debug, Clone)]
pub struct ClassRow {
    pub id: i64,
    pub district_id: i64,
    pub region_path: String,
    pub label: String,
    pub status: ClassStatus,
    pub merged_into: Option<i64>,
    pub lead_unit_id: Option<i64>,
    pub deadline_at: Option<i64>,
    pub supervised_at: Option<i64>,
    pub reply_state: String,
    pub reply_text: String,
    pub replied_at: Option<i64>,
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const CLASS_COLUMNS: &str = "c.id, c.district_id, c.region_path, c.label, c.status, c.merged_into,
    c.lead_unit_id, c.deadline_at, c.supervised_at, c.reply_state, c.reply_text, c.replied_at,
    c.confirmed_by, c.confirmed_at, c.created_at, c.updated_at";

fn class_of(r: &AnyRow) -> ClassRow {
    let status: String = r.get("status");
    ClassRow {
        id: r.get("id"),
        district_id: r.get("district_id"),
        region_path: r.get("region_path"),
        label: r.get("label"),
        status: ClassStatus::parse(&status).unwrap_or(ClassStatus::Proposed),
        merged_into: r.get("merged_into"),
        lead_unit_id: r.get("lead_unit_id"),
        deadline_at: r.get("deadline_at"),
        supervised_at: r.get("supervised_at"),
        reply_state: r.get("reply_state"),
        reply_text: r.get("reply_text"),
        replied_at: r.get("replied_at"),
        confirmed_by: r.get("confirmed_by"),
        confirmed_at: r.get("confirmed_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

pub async fn class(conn: &mut AnyConnection, id: i64) -> Result<Option<ClassRow>, sqlx::Error> {
    let sql = format!("SELECT {CLASS_COLUMNS} FROM classes c WHERE c.id = $1");
    Ok(sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| class_of(&r)))
}

pub async fn insert_class(
    conn: &mut AnyConnection,
    district_id: i64,
    region_path: &str,
    label: &str,
    status: ClassStatus,
    confirmed_by: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let confirmed_at = confirmed_by.map(|_| now);
    Ok(sqlx::query(
        "INSERT INTO classes (district_id, region_path, label, status, confirmed_by, confirmed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(district_id)
    .bind(region_path)
    .bind(label)
    .bind(status.as_str())
    .bind(confirmed_by)
    .bind(confirmed_at)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0))
}

/// Writes the fields staff decisions change, guarded by the row's `updated_at` so that two
/// staff deciding at once do not overwrite each other; false when the row moved meanwhile.
pub async fn update_class(
    conn: &mut AnyConnection,
    c: &ClassRow,
    seen_updated_at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE classes SET label = $2, status = $3, merged_into = $4, lead_unit_id = $5,
            deadline_at = $6, supervised_at = $7, reply_state = $8, reply_text = $9, replied_at = $10,
            confirmed_by = $11, confirmed_at = $12, updated_at = $13
         WHERE id = $1 AND updated_at = $14",
    )
    .bind(c.id)
    .bind(&c.label)
    .bind(c.status.as_str())
    .bind(c.merged_into)
    .bind(c.lead_unit_id)
    .bind(c.deadline_at)
    .bind(c.supervised_at)
    .bind(&c.reply_state)
    .bind(&c.reply_text)
    .bind(c.replied_at)
    .bind(c.confirmed_by)
    .bind(c.confirmed_at)
    .bind(c.updated_at)
    .bind(seen_updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The machine relabels a proposed class as it grows.
pub async fn relabel_proposed(
    conn: &mut AnyConnection,
    id: i64,
    label: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE classes SET label = $2, updated_at = $3 WHERE id = $1 AND status = 'proposed'",
    )
    .bind(id)
    .bind(label)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct MemberRow {
    pub item_kind: String,
    pub item_id: i64,
    pub class_id: Option<i64>,
    /// Status of the class it is in (None when it is in none).
    pub class_status: Option<ClassStatus>,
    pub pinned: bool,
    pub added_at: i64,
    pub added_by: i64,
}

const MEMBER_COLUMNS: &str =
    "m.item_kind, m.item_id, m.class_id, c.status AS class_status, m.pinned, m.added_at, m.added_by";

fn member_of(r: &AnyRow) -> MemberRow {
    let status: Option<String> = r.get("class_status");
    MemberRow {
        item_kind: r.get("item_kind"),
        item_id: r.get("item_id"),
        class_id: r.get("class_id"),
        class_status: status.as_deref().and_then(ClassStatus::parse),
        pinned: r.get::<i64, _>("pinned") != 0,
        added_at: r.get("added_at"),
        added_by: r.get("added_by"),
    }
}

/// Every membership row of a district and kind.
pub async fn district_members(
    conn: &mut AnyConnection,
    district_id: i64,
    kind: &str,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM class_members m LEFT JOIN classes c ON c.id = m.class_id
         WHERE m.district_id = $1 AND m.item_kind = $2"
    );
    Ok(sqlx::query(&sql)
        .bind(district_id)
        .bind(kind)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(member_of)
        .collect())
}

/// Membership rows of the given items.
pub async fn members_for(
    conn: &mut AnyConnection,
    kind: &str,
    item_ids: &[i64],
) -> Result<Vec<MemberRow>, sqlx::Error> {
    if item_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..=item_ids.len() + 1).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM class_members m LEFT JOIN classes c ON c.id = m.class_id
         WHERE m.item_kind = $1 AND m.item_id IN ({})",
        marks.join(", ")
    );
    // A statement per number of items: not cached per connection.
    let mut q = sqlx::query(&sql).persistent(false).bind(kind);
    for id in item_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(member_of)
        .collect())
}

/// Members of a class: representatives first, then the newest.
pub async fn members_of(
    conn: &mut AnyConnection,
    class_id: i64,
) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM class_members m JOIN classes c ON c.id = m.class_id
         WHERE m.class_id = $1
         ORDER BY CASE WHEN m.rep_rank > 0 THEN 0 ELSE 1 END, m.rep_rank, m.item_at DESC, m.item_id"
    );
    Ok(sqlx::query(&sql)
        .bind(class_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(member_of)
        .collect())
}

/// Items of the class that fall under a region path (for a township's view).
pub async fn class_touches(
    conn: &mut AnyConnection,
    class_id: i64,
    path_like: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "SELECT 1 FROM class_members WHERE class_id = $1 AND region_path LIKE $2 LIMIT 1",
    )
    .bind(class_id)
    .bind(path_like)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

pub struct NewMember<'a> {
    pub kind: &'a str,
    pub item_id: i64,
    pub class_id: i64,
    pub district_id: i64,
    pub region_path: &'a str,
    pub township_id: Option<i64>,
    pub grid_id: Option<i64>,
    pub item_at: i64,
    pub rep_rank: i64,
    /// The item's 同问 count when it is placed.
    pub same_asks: i64,
}

/// Adds a machine membership (not pinned).
pub async fn insert_member(
    conn: &mut AnyConnection,
    m: &NewMember<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_members (item_kind, item_id, class_id, district_id, region_path, township_id,
            grid_id, item_at, added_at, added_by, pinned, rep_rank, same_asks)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, $10, $11)",
    )
    .bind(m.kind)
    .bind(m.item_id)
    .bind(m.class_id)
    .bind(m.district_id)
    .bind(m.region_path)
    .bind(m.township_id)
    .bind(m.grid_id)
    .bind(m.item_at)
    .bind(now)
    .bind(m.rep_rank)
    .bind(m.same_asks)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Copies items' current 同问 counts (item id, count) into their membership rows.
pub async fn set_same_asks(
    conn: &mut AnyConnection,
    kind: &str,
    counts: &[(i64, i64)],
) -> Result<u64, sqlx::Error> {
    let mut changed = 0;
    for (item, n) in counts {
        changed += sqlx::query(
            "UPDATE class_members SET same_asks = $3 WHERE item_kind = $1 AND item_id = $2 AND same_asks <> $3",
        )
        .bind(kind)
        .bind(*item)
        .bind(*n)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(changed)
}

/// Staff place one item: into `to` (None: out of every class), pinned.
pub async fn place_member(
    conn: &mut AnyConnection,
    kind: &str,
    item_id: i64,
    to: Option<i64>,
    by: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE class_members SET class_id = $3, pinned = 1, added_by = $4, added_at = $5, rep_rank = 0
         WHERE item_kind = $1 AND item_id = $2",
    )
    .bind(kind)
    .bind(item_id)
    .bind(to)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Staff move every member of `from` into `to`, pinned.
pub async fn move_all(
    conn: &mut AnyConnection,
    from: i64,
    to: i64,
    by: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE class_members SET class_id = $2, pinned = 1, added_by = $3, added_at = $4, rep_rank = 0
         WHERE class_id = $1",
    )
    .bind(from)
    .bind(to)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Pins every member of a class where it is (a dissolved class keeps its items away from
/// the machine: staff said they are not a class).
pub async fn pin_all(conn: &mut AnyConnection, class_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE class_members SET pinned = 1 WHERE class_id = $1")
        .bind(class_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Before a rebuild: the machine's memberships in proposed classes go (they are remade).
pub async fn clear_proposed(conn: &mut AnyConnection, district_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM class_members WHERE pinned = 0 AND class_id IN
            (SELECT id FROM classes WHERE district_id = $1 AND status = 'proposed')",
    )
    .bind(district_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// After a rebuild: proposed classes nothing was put back into disappear.
pub async fn drop_empty_proposed(
    conn: &mut AnyConnection,
    district_id: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM classes WHERE district_id = $1 AND status = 'proposed'
           AND NOT EXISTS (SELECT 1 FROM class_members m WHERE m.class_id = classes.id)",
    )
    .bind(district_id)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

// ---------------------------------------------------------------------------------------
// Lists

/// One bound value of a list query.
#[derive(Debug, Clone)]
pub enum Bind {
    T(String),
    I(i64),
}

/// Aggregates of each class: size, growth windows, "me too" count and time span.
#[derive(Debug, Clone)]
pub struct ClassStats {
    pub class: ClassRow,
    pub size: i64,
    pub recent: i64,
    pub previous: i64,
    pub same_asks: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
}

/// `$1` and `$2` are the starts of the last 7 days and of the 7 before.
const STATS: &str = "COUNT(m.id) AS size,
    CAST(COALESCE(SUM(CASE WHEN m.item_at >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS recent,
    CAST(COALESCE(SUM(CASE WHEN m.item_at >= $2 AND m.item_at < $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS previous,
    CAST(COALESCE(SUM(m.same_asks), 0) AS BIGINT) AS same_asks,
    MIN(m.item_at) AS first_at, MAX(m.item_at) AS last_at";

/// The hot-topic score of `crate::model::hot_score`, written out in SQL with the same
/// weights so both engines can order by it.
pub fn score_sql() -> String {
    use crate::model::{HOT_GROWTH, HOT_SAME_ASKS, HOT_SIZE};
    let recent = "SUM(CASE WHEN m.item_at >= $1 THEN 1 ELSE 0 END)";
    let previous = "SUM(CASE WHEN m.item_at >= $2 AND m.item_at < $1 THEN 1 ELSE 0 END)";
    format!(
        "({HOT_SIZE} * COUNT(m.id)
          + {HOT_GROWTH} * CASE WHEN {recent} > {previous} THEN {recent} - {previous} ELSE 0 END
          + {HOT_SAME_ASKS} * COALESCE(SUM(m.same_asks), 0))"
    )
}

pub enum Order {
    /// Undecided and decided before dissolved, then the largest.
    List,
    /// The hot-topic score, highest first.
    Hot,
}

/// Classes matching `where_sql` (placeholders from `$3` on, bound from `binds`) with
/// their aggregates, plus the total count.
pub async fn stats(
    conn: &mut AnyConnection,
    where_sql: &str,
    binds: &[Bind],
    windows: (i64, i64),
    order: Order,
    limit: i64,
    offset: i64,
) -> Result<(Vec<ClassStats>, i64), sqlx::Error> {
    let n = binds.len() + 2;
    let order_sql = match order {
        Order::List => {
            "CASE WHEN c.status = 'dissolved' THEN 1 ELSE 0 END, COUNT(m.id) DESC, c.id DESC"
                .to_string()
        }
        Order::Hot => format!("{} DESC, COUNT(m.id) DESC, c.id DESC", score_sql()),
    };
    let sql = format!(
        "SELECT {CLASS_COLUMNS}, {STATS}
         FROM classes c LEFT JOIN class_members m ON m.class_id = c.id
         WHERE {where_sql}
         GROUP BY c.id, c.district_id, c.region_path, c.label, c.status, c.merged_into, c.lead_unit_id,
            c.deadline_at, c.supervised_at, c.reply_state, c.reply_text, c.replied_at, c.confirmed_by,
            c.confirmed_at, c.created_at, c.updated_at
         ORDER BY {order_sql}
         LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(&sql).bind(windows.0).bind(windows.1);
    for b in binds {
        q = match b {
            Bind::T(t) => q.bind(t.clone()),
            Bind::I(i) => q.bind(*i),
        };
    }
    let rows = q.bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .map(|r| ClassStats {
            class: class_of(r),
            size: r.get("size"),
            recent: r.get("recent"),
            previous: r.get("previous"),
            same_asks: r.get("same_asks"),
            first_at: r.get("first_at"),
            last_at: r.get("last_at"),
        })
        .collect();
    // The count uses the same placeholders; $1 and $2 are bound but unused.
    let count_sql =
        format!("SELECT COUNT(*) FROM classes c WHERE ($1 = $1 AND $2 = $2) AND {where_sql}");
    let mut cq = sqlx::query(&count_sql).bind(windows.0).bind(windows.1);
    for b in binds {
        cq = match b {
            Bind::T(t) => cq.bind(t.clone()),
            Bind::I(i) => cq.bind(*i),
        };
    }
    let total: i64 = cq.fetch_one(&mut *conn).await?.get(0);
    Ok((items, total))
}

/// Townships and grids of the members of the given classes: (class, township, grid, items).
pub async fn places(
    conn: &mut AnyConnection,
    class_ids: &[i64],
) -> Result<Vec<(i64, Option<i64>, Option<i64>, i64)>, sqlx::Error> {
    if class_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=class_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT class_id, township_id, grid_id, COUNT(*) FROM class_members
         WHERE class_id IN ({}) GROUP BY class_id, township_id, grid_id",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in class_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}

/// Representative item ids of the given classes, best first: (class, item).
pub async fn representatives(
    conn: &mut AnyConnection,
    class_ids: &[i64],
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if class_ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=class_ids.len()).map(|i| format!("${i}")).collect();
    // Machine-ranked items first; classes staff built get their earliest items.
    let sql = format!(
        "SELECT class_id, item_id FROM class_members WHERE class_id IN ({})
         ORDER BY class_id, CASE WHEN rep_rank > 0 THEN 0 ELSE 1 END, rep_rank, item_at, item_id",
        marks.join(", ")
    );
    let mut q = sqlx::query(&sql);
    for id in class_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

// ---------------------------------------------------------------------------------------
// The worker's state

/// Takes or renews the lease for `holder` until `until`; true when `holder` has it.
pub async fn take_lease(
    conn: &mut AnyConnection,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE class_state SET holder = $1, until_at = $3
         WHERE name = 'lease' AND (holder = $1 OR until_at < $2)",
    )
    .bind(holder)
    .bind(now)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Lets the lease go at shutdown so another instance takes over at once.
pub async fn release_lease(conn: &mut AnyConnection, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE class_state SET until_at = 0 WHERE name = 'lease' AND holder = $1")
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn counter(conn: &mut AnyConnection, name: &str) -> Result<i64, sqlx::Error> {
    Ok(sqlx::query("SELECT num FROM class_state WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.get(0))
        .unwrap_or(0))
}

/// Sets a counter, creating its row the first time (the 同问 watermark came after the
/// table's first rows).
pub async fn set_counter(
    conn: &mut AnyConnection,
    name: &str,
    value: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO class_state (name, num) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET num = excluded.num",
    )
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Bumps the rebuild generation; returns the new value.
pub async fn bump_generation(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query("UPDATE class_state SET num = num + 1 WHERE name = 'generation'")
        .execute(&mut *conn)
        .await?;
    counter(conn, "generation").await
}
