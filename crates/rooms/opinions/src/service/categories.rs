//! The category tree citizens pick from (分类). A default two-level tree of common
//! government-affairs areas is seeded into an empty database; a deployment may load its
//! own tree (up to three levels) from a CSV with the header 一级分类,二级分类,三级分类.
//! Staff edit categories later; here they are only listed, seeded and imported.
//!
//! Each category's `code` is its name path ("城乡建设/市政设施"), unique by construction,
//! and its `path` is the materialized path of ids ("/3/17/"), as for regions.

use super::Opinions;
use serde::Serialize;
use yidu_audit::{Actor, Entry};
use yidu_db::{AnyConnection, Db, Row};
use yidu_kernel::{clock::now_ms, AppError, AppResult, FieldError};

/// A category with its children, in display order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub name_en: String,
    /// Materialized path of ids, e.g. "/3/17/".
    pub path: String,
    #[schema(no_recursion)]
    pub children: Vec<Category>,
}

/// A name in Chinese and English.
type Names = (&'static str, &'static str);

/// The default tree: first-level area, its English name, and its second-level topics.
const DEFAULT_TREE: &[(&str, &str, &[Names])] = &[
    (
        "城乡建设",
        "Urban and rural construction",
        &[
            ("市政设施", "Municipal facilities"),
            ("道路与路灯", "Roads and street lights"),
            ("物业管理", "Property management"),
            ("老旧小区改造", "Old neighbourhood renewal"),
            ("违法建设", "Illegal construction"),
            ("供水供气供暖", "Water, gas and heating"),
        ],
    ),
    (
        "交通运输",
        "Transport",
        &[
            ("公交线路与站点", "Bus routes and stops"),
            ("停车管理", "Parking"),
            ("道路交通安全", "Road safety"),
            ("农村公路", "Rural roads"),
        ],
    ),
    (
        "环境保护",
        "Environment",
        &[
            ("大气污染", "Air pollution"),
            ("噪声扰民", "Noise"),
            ("水体污染", "Water pollution"),
            ("垃圾分类与清运", "Waste sorting and collection"),
            ("绿化养护", "Green spaces"),
        ],
    ),
    (
        "教育文体",
        "Education, culture and sport",
        &[
            ("学前教育", "Preschool"),
            ("义务教育", "Compulsory education"),
            ("文化设施", "Cultural facilities"),
            ("全民健身", "Public fitness"),
        ],
    ),
    (
        "卫生健康",
        "Health",
        &[
            ("基层医疗服务", "Community health care"),
            ("医疗保障", "Medical insurance"),
            ("食品安全", "Food safety"),
            ("公共卫生", "Public health"),
        ],
    ),
    (
        "劳动和社会保障",
        "Labour and social security",
        &[
            ("就业创业", "Employment"),
            ("劳动报酬", "Wages and arrears"),
            ("养老保险", "Pension insurance"),
            ("劳动关系", "Labour relations"),
        ],
    ),
    (
        "民政",
        "Civil affairs",
        &[
            ("社会救助", "Social assistance"),
            ("养老服务", "Elderly care"),
            ("残疾人服务", "Services for disabled people"),
            ("社区治理", "Community governance"),
            ("婚姻殡葬", "Marriage and funerals"),
        ],
    ),
    (
        "商贸旅游",
        "Commerce and tourism",
        &[
            ("市场秩序", "Market order"),
            ("消费维权", "Consumer rights"),
            ("旅游服务", "Tourism services"),
        ],
    ),
    (
        "农村农业",
        "Agriculture and rural affairs",
        &[
            ("农业生产", "Farming"),
            ("土地承包", "Land contracts"),
            ("村务管理", "Village affairs"),
            ("人居环境", "Rural living environment"),
            ("水利设施", "Irrigation and water works"),
        ],
    ),
    (
        "公共安全",
        "Public safety",
        &[
            ("社会治安", "Public order"),
            ("消防安全", "Fire safety"),
            ("安全生产", "Workplace safety"),
            ("防灾减灾", "Disaster prevention"),
        ],
    ),
    (
        "政务服务",
        "Government services",
        &[
            ("办事效率", "Service efficiency"),
            ("政务公开", "Open government"),
            ("工作作风", "Conduct of officials"),
        ],
    ),
    (
        "其他",
        "Other",
        &[
            ("意见建议", "Suggestions"),
            ("表扬感谢", "Thanks and praise"),
            ("其他事项", "Other matters"),
        ],
    ),
];

struct Flat {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    name_en: String,
    path: String,
}

/// The active categories as a tree, in their configured order.
pub async fn list(o: &Opinions) -> AppResult<Vec<Category>> {
    list_db(&o.db).await
}

pub async fn list_db(db: &Db) -> AppResult<Vec<Category>> {
    let rows = sqlx::query(
        "SELECT id, parent_id, name, name_en, path FROM categories WHERE retired = 0 ORDER BY sort, id",
    )
    .fetch_all(db.pool())
    .await?;
    let flat: Vec<Flat> = rows
        .iter()
        .map(|r| Flat {
            id: r.get(0),
            parent_id: r.get(1),
            name: r.get(2),
            name_en: r.get(3),
            path: r.get(4),
        })
        .collect();
    Ok(nest(&flat, None))
}

/// Ranks for listing a category tree flat in its configured order: depth first, siblings
/// by their `sort` then id. `rows` are `(id, parent_id)` already ordered by `(sort, id)`;
/// the answer maps each id to its position. (Sorting by the stored path would put `/10/`
/// before `/2/` and ignore `sort`.) A category whose parent is retired is listed as a top one.
pub fn tree_ranks(rows: &[(i64, Option<i64>)]) -> std::collections::HashMap<i64, usize> {
    use std::collections::HashMap;
    let known: std::collections::HashSet<i64> = rows.iter().map(|r| r.0).collect();
    let mut children: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
    for &(id, parent) in rows {
        let parent = parent.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(id);
    }
    let mut ranks = HashMap::with_capacity(rows.len());
    let mut stack: Vec<i64> = children.get(&None).cloned().unwrap_or_default();
    stack.reverse();
    while let Some(id) = stack.pop() {
        if ranks.contains_key(&id) {
            continue;
        }
        ranks.insert(id, ranks.len());
        if let Some(kids) = children.get(&Some(id)) {
            stack.extend(kids.iter().rev());
        }
    }
    // A cycle cannot come from the editor, but never drop a row because of one.
    for &(id, _) in rows {
        let next = ranks.len();
        ranks.entry(id).or_insert(next);
    }
    ranks
}

fn nest(flat: &[Flat], parent: Option<i64>) -> Vec<Category> {
    flat.iter()
        .filter(|f| f.parent_id == parent)
        .map(|f| Category {
            id: f.id,
            parent_id: f.parent_id,
            name: f.name.clone(),
            name_en: f.name_en.clone(),
            path: f.path.clone(),
            children: nest(flat, Some(f.id)),
        })
        .collect()
}

/// Finds the category named `name` under `parent` (by its name-path code), or creates it.
/// Returns its id, its materialized path, and whether it was created.
async fn find_or_create(
    conn: &mut AnyConnection,
    parent: Option<(i64, &str)>,
    code: &str,
    name: &str,
    name_en: &str,
    sort: i64,
    now: i64,
) -> Result<(i64, String, bool), sqlx::Error> {
    if let Some(r) = sqlx::query("SELECT id, path FROM categories WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok((r.get(0), r.get(1), false));
    }
    let id: i64 = sqlx::query(
        "INSERT INTO categories (parent_id, code, name, name_en, path, sort, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '', $5, 0, $6, $6) RETURNING id",
    )
    .bind(parent.map(|p| p.0))
    .bind(code)
    .bind(name)
    .bind(name_en)
    .bind(sort)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    let path = format!("{}{id}/", parent.map(|p| p.1).unwrap_or("/"));
    sqlx::query("UPDATE categories SET path = $1 WHERE id = $2")
        .bind(&path)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok((id, path, true))
}

/// Inserts the default two-level tree (what is already there by the same name is kept).
/// Returns how many categories were created.
pub async fn seed_default(conn: &mut AnyConnection) -> Result<usize, sqlx::Error> {
    let now = now_ms();
    let mut created = 0;
    for (i, (name, name_en, children)) in DEFAULT_TREE.iter().enumerate() {
        let (id, path, new) =
            find_or_create(conn, None, name, name, name_en, (i as i64 + 1) * 100, now).await?;
        created += new as usize;
        for (j, (child, child_en)) in children.iter().enumerate() {
            let code = format!("{name}/{child}");
            let (_, _, new) = find_or_create(
                conn,
                Some((id, &path)),
                &code,
                child,
                child_en,
                (i as i64 + 1) * 100 + j as i64 + 1,
                now,
            )
            .await?;
            created += new as usize;
        }
    }
    Ok(created)
}

/// Seeds the default tree when there are no categories yet (called by the demo loader
/// and on first start). Returns how many were created (0 when a tree was there).
pub async fn seed_default_if_empty(db: &Db) -> AppResult<usize> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM categories")
        .fetch_one(db.pool())
        .await?
        .get(0);
    if n > 0 {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let created = seed_default(&mut tx).await?;
    yidu_audit::record(
        &mut tx,
        &Actor::system("opinions.categories"),
        Entry::new("category.seed", "category", 0)
            .summary(format!("default tree, {created} categories")),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Splits one CSV line into fields (RFC 4180 quoting; no line breaks inside fields,
/// which category names never need).
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                _ => cur.push(c),
            }
        } else {
            match c {
                '"' if at_start => {
                    quoted = true;
                    at_start = false;
                }
                ',' => {
                    out.push(std::mem::take(&mut cur));
                    at_start = true;
                }
                _ => {
                    cur.push(c);
                    at_start = false;
                }
            }
        }
    }
    if quoted {
        return Err("unclosed quote");
    }
    out.push(cur);
    Ok(out)
}

const HEADER: [&str; 3] = ["一级分类", "二级分类", "三级分类"];

/// One valid CSV row: one to three non-empty levels, from the top down.
fn parse_rows(csv_text: &str) -> AppResult<Vec<Vec<String>>> {
    let text = csv_text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().enumerate();
    let header_ok = lines
        .next()
        .and_then(|(_, l)| csv_fields(l).ok())
        .map(|f| f.iter().map(|s| s.trim()).collect::<Vec<_>>() == HEADER)
        .unwrap_or(false);
    if !header_ok {
        return Err(AppError::Validation(vec![FieldError::new(
            "header",
            "第一行须为：一级分类,二级分类,三级分类",
            "the first line must be: 一级分类,二级分类,三级分类",
        )
        .at_row(1)]));
    }
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for (i, line) in lines {
        let row = i as u32 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = match csv_fields(line) {
            Ok(f) => f,
            Err(_) => {
                problems.push(
                    FieldError::new("row", "引号未闭合", "a quote is not closed").at_row(row),
                );
                continue;
            }
        };
        if fields.len() > 3 {
            problems.push(FieldError::new("row", "最多三列", "at most three columns").at_row(row));
            continue;
        }
        let levels: Vec<String> = fields.iter().map(|f| f.trim().to_string()).collect();
        // A level may be empty only when all those below it are empty too.
        let depth = levels.iter().take_while(|l| !l.is_empty()).count();
        if depth == 0 {
            problems.push(
                FieldError::new(
                    HEADER[0],
                    "一级分类不能为空",
                    "the first level must not be empty",
                )
                .at_row(row),
            );
            continue;
        }
        if levels[depth..].iter().any(|l| !l.is_empty()) {
            problems.push(
                FieldError::new(
                    HEADER[depth],
                    "上级分类为空时不能填写下级分类",
                    "a lower level needs the level above it",
                )
                .at_row(row),
            );
            continue;
        }
        if let Some((k, _)) = levels[..depth]
            .iter()
            .enumerate()
            .find(|(_, l)| l.chars().count() > 50 || l.contains('/'))
        {
            problems.push(
                FieldError::new(
                    HEADER[k],
                    "名称不能超过 50 字，且不能含“/”",
                    "at most 50 characters and no '/'",
                )
                .at_row(row),
            );
            continue;
        }
        rows.push(levels[..depth].to_vec());
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    if rows.is_empty() {
        return Err(AppError::Validation(vec![FieldError::new(
            "file",
            "文件中没有分类",
            "the file holds no categories",
        )]));
    }
    Ok(rows)
}

/// Loads a three-level category CSV (header 一级分类,二级分类,三级分类). All or nothing:
/// any bad row refuses the whole file with every problem named by row and column.
/// Categories already present under the same names are kept. Returns how many were created.
pub async fn import_csv(o: &Opinions, csv_text: &str) -> AppResult<usize> {
    import_csv_by(o, &Actor::system("opinions.categories"), csv_text).await
}

/// `import_csv` on behalf of `actor` (a staff member uploading on the category page), who
/// is named in the audit record.
pub async fn import_csv_by(o: &Opinions, actor: &Actor, csv_text: &str) -> AppResult<usize> {
    let rows = parse_rows(csv_text)?;
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let mut created = 0;
    let base: i64 = sqlx::query("SELECT COALESCE(MAX(sort), 0) FROM categories")
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    for (i, levels) in rows.iter().enumerate() {
        let mut parent: Option<(i64, String)> = None;
        let mut code = String::new();
        for name in levels {
            if !code.is_empty() {
                code.push('/');
            }
            code.push_str(name);
            let (id, path, new) = find_or_create(
                &mut tx,
                parent.as_ref().map(|(id, p)| (*id, p.as_str())),
                &code,
                name,
                "",
                base + i as i64 + 1,
                now,
            )
            .await?;
            created += new as usize;
            parent = Some((id, path));
        }
    }
    yidu_audit::record(
        &mut tx,
        actor,
        Entry::new("category.import", "category", 0)
            .summary(format!("{} rows, {created} created", rows.len())),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    #[test]
    fn tree_ranks_follow_sort_depth_first() {
        // Rows as the database returns them by (sort, id): 12 sorts before 2.
        let rows = [
            (12, None),
            (2, None),
            (30, Some(2)),
            (13, Some(12)),
            (11, Some(12)),
            (40, Some(99)),
        ];
        let ranks = super::tree_ranks(&rows);
        let mut ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        ids.sort_by_key(|id| ranks[id]);
        assert_eq!(ids, vec![12, 13, 11, 2, 30, 40]);
    }

    use super::*;

    #[test]
    fn csv_fields_handle_quotes() {
        assert_eq!(
            csv_fields("a,\"b,c\",\"d\"\"e\"").unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert_eq!(csv_fields("a,,").unwrap(), ["a", "", ""]);
        assert!(csv_fields("\"a").is_err());
    }

    #[test]
    fn rows_are_checked_all_at_once() {
        let ok = parse_rows("一级分类,二级分类,三级分类\n甲,乙,丙\n甲,乙,\n丁,,\n").unwrap();
        assert_eq!(ok, [vec!["甲", "乙", "丙"], vec!["甲", "乙"], vec!["丁"]]);
        match parse_rows("一级分类,二级分类,三级分类\n,乙,丙\n甲,,丙\n甲,乙,丙\n")
        {
            Err(AppError::Validation(v)) => {
                let at: Vec<_> = v.iter().map(|e| (e.row, e.field.as_str())).collect();
                assert_eq!(at, [(Some(2), "一级分类"), (Some(3), "二级分类")]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_rows("a,b,c\n甲,乙,丙"),
            Err(AppError::Validation(_))
        ));
    }

    #[test]
    fn the_default_tree_has_two_levels_and_english_names() {
        assert_eq!(DEFAULT_TREE.len(), 12);
        for (name, en, kids) in DEFAULT_TREE {
            assert!(!en.is_empty() && !name.contains('/'));
            assert!((3..=6).contains(&kids.len()), "{name}");
        }
    }
}
