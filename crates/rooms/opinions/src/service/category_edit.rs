//! Staff editing of the category tree: add, rename, reorder, move, retire and restore,
//! delete what was never used, and export as the CSV that `import_csv` reads. Only the
//! administrator and the congress office edit: the tree is the deployment's, shared by
//! the citizen form and Open311. Every change is one transaction with its audit record.
//!
//! A category that any item carries is never deleted, only retired: it stays on the old
//! items but is no longer offered to citizens, to Open311 clients or when staff classify
//! an item. Retiring a category retires its subtree; restoring needs an active parent.
//! Renaming and moving rewrite the `code` (the name path) and `path` of the whole subtree.

use super::Opinions;
use serde::{Deserialize, Serialize};
use yidu_audit::{Actor, Entry};
use yidu_db::{AnyConnection, Row};
use yidu_kernel::{clock::now_ms, AppError, AppResult, Principal, Role};

/// At most three levels, as the CSV import allows.
pub const MAX_DEPTH: usize = 3;

/// A category as staff manage it (retired ones included).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub path: String,
    /// 1 for the top level.
    pub depth: usize,
    pub sort: i64,
    pub retired: bool,
    /// Items filed under this category (deleting is possible only at 0).
    pub used: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewCategory {
    /// None for a top-level category.
    pub parent_id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RenameCategory {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MoveCategory {
    /// The new parent; None moves it to the top level.
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct OrderCategory {
    /// "up" or "down" among its siblings.
    pub direction: String,
}

pub fn may_edit(p: &Principal) -> AppResult<()> {
    match p.role {
        Role::Admin | Role::Office => Ok(()),
        _ => Err(AppError::Forbidden),
    }
}

fn depth_of(path: &str) -> usize {
    path.matches('/').count().saturating_sub(1)
}

fn check_name(name: &str, name_en: &str) -> AppResult<(String, String)> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 50 || n.contains('/') {
        return Err(AppError::field(
            "name",
            "名称须为 1-50 字，且不能含“/”",
            "the name must be 1-50 characters without '/'",
        ));
    }
    let en = name_en.trim();
    if en.chars().count() > 100 || en.contains('/') {
        return Err(AppError::field(
            "name_en",
            "英文名称不能超过 100 字，且不能含“/”",
            "the English name must be at most 100 characters without '/'",
        ));
    }
    Ok((n.to_string(), en.to_string()))
}

async fn row(conn: &mut AnyConnection, id: i64) -> AppResult<CategoryRow> {
    let r = sqlx::query(
        "SELECT c.id, c.parent_id, c.code, c.name, c.name_en, c.path, c.sort, c.retired,
                (SELECT COUNT(*) FROM opinions o WHERE o.category_id = c.id)
         FROM categories c WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(from_row(&r))
}

fn from_row(r: &yidu_db::AnyRow) -> CategoryRow {
    let path: String = r.get(5);
    CategoryRow {
        id: r.get(0),
        parent_id: r.get(1),
        code: r.get(2),
        name: r.get(3),
        name_en: r.get(4),
        depth: depth_of(&path),
        path,
        sort: r.get(6),
        retired: r.get::<i64, _>(7) != 0,
        used: r.get(8),
    }
}

/// Every category, retired ones too, parents before their children and siblings in
/// their order.
pub async fn list_all(o: &Opinions, p: &Principal) -> AppResult<Vec<CategoryRow>> {
    may_edit(p)?;
    let rows = sqlx::query(
        "SELECT c.id, c.parent_id, c.code, c.name, c.name_en, c.path, c.sort, c.retired,
                (SELECT COUNT(*) FROM opinions o WHERE o.category_id = c.id)
         FROM categories c ORDER BY c.sort, c.id",
    )
    .fetch_all(o.db.pool())
    .await?;
    let flat: Vec<CategoryRow> = rows.iter().map(from_row).collect();
    let mut out = Vec::with_capacity(flat.len());
    fn walk(flat: &[CategoryRow], parent: Option<i64>, out: &mut Vec<CategoryRow>) {
        for c in flat.iter().filter(|c| c.parent_id == parent) {
            out.push(c.clone());
            walk(flat, Some(c.id), out);
        }
    }
    walk(&flat, None, &mut out);
    Ok(out)
}

fn taken() -> AppError {
    AppError::field(
        "name",
        "同一上级下已有同名类别",
        "a category of this name exists under the same parent",
    )
}

async fn code_taken(conn: &mut AnyConnection, code: &str, except: i64) -> AppResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM categories WHERE code = $1 AND id <> $2")
            .bind(code)
            .bind(except)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

async fn audit(
    conn: &mut AnyConnection,
    p: &Principal,
    client: &str,
    action: &str,
    id: i64,
    before: Option<&CategoryRow>,
    after: Option<&CategoryRow>,
) -> AppResult<()> {
    let json = |c: Option<&CategoryRow>| {
        c.map(|c| {
            serde_json::json!({"code": c.code, "name_en": c.name_en, "path": c.path, "sort": c.sort, "retired": c.retired})
        })
        .unwrap_or(serde_json::Value::Null)
    };
    let summary = after.or(before).map(|c| c.code.clone()).unwrap_or_default();
    yidu_audit::record(
        conn,
        &Actor::new(p, client),
        Entry::new(action, "category", id)
            .summary(summary)
            .changes(&json(before), &json(after)),
    )
    .await?;
    Ok(())
}

/// Adds a category at the end of its siblings.
pub async fn create(
    o: &Opinions,
    p: &Principal,
    client: &str,
    input: &NewCategory,
) -> AppResult<CategoryRow> {
    may_edit(p)?;
    let (name, name_en) = check_name(&input.name, &input.name_en)?;
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let (parent_code, parent_path) = match input.parent_id {
        None => (String::new(), "/".to_string()),
        Some(pid) => {
            let parent = row(&mut tx, pid).await.map_err(|_| {
                AppError::field("parent_id", "上级类别不存在", "the parent does not exist")
            })?;
            if parent.retired {
                return Err(AppError::field(
                    "parent_id",
                    "上级类别已停用",
                    "the parent category is retired",
                ));
            }
            if parent.depth >= MAX_DEPTH {
                return Err(AppError::field(
                    "parent_id",
                    "类别最多三级",
                    "categories have at most three levels",
                ));
            }
            (format!("{}/", parent.code), parent.path)
        }
    };
    let code = format!("{parent_code}{name}");
    if code_taken(&mut tx, &code, -1).await? {
        return Err(taken());
    }
    let sort: i64 = sqlx::query(
        "SELECT COALESCE(MAX(sort), 0) + 1 FROM categories WHERE parent_id IS NOT DISTINCT FROM $1",
    )
    .bind(input.parent_id)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    let id: i64 = sqlx::query(
        "INSERT INTO categories (parent_id, code, name, name_en, path, sort, retired, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '', $5, 0, $6, $6) RETURNING id",
    )
    .bind(input.parent_id)
    .bind(&code)
    .bind(&name)
    .bind(&name_en)
    .bind(sort)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    sqlx::query("UPDATE categories SET path = $1 WHERE id = $2")
        .bind(format!("{parent_path}{id}/"))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let after = row(&mut tx, id).await?;
    audit(
        &mut tx,
        p,
        client,
        "category.create",
        id,
        None,
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Rewrites code and path of `id`'s subtree after a rename or a move: every descendant's
/// code starts with the old code + "/", its path with the old path.
async fn rewrite_subtree(
    conn: &mut AnyConnection,
    before: &CategoryRow,
    code: &str,
    path: &str,
    now: i64,
) -> AppResult<()> {
    let rows = sqlx::query("SELECT id, code, path FROM categories WHERE path LIKE $1 AND id <> $2")
        .bind(format!("{}%", before.path))
        .bind(before.id)
        .fetch_all(&mut *conn)
        .await?;
    for r in rows {
        let (cid, ccode, cpath): (i64, String, String) = (r.get(0), r.get(1), r.get(2));
        let new_code = format!("{code}{}", &ccode[before.code.len().min(ccode.len())..]);
        let new_path = format!("{path}{}", &cpath[before.path.len().min(cpath.len())..]);
        if code_taken(conn, &new_code, cid).await? {
            return Err(taken());
        }
        sqlx::query("UPDATE categories SET code = $1, path = $2, updated_at = $3 WHERE id = $4")
            .bind(new_code)
            .bind(new_path)
            .bind(now)
            .bind(cid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Renames a category (and its English name).
pub async fn rename(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &RenameCategory,
) -> AppResult<CategoryRow> {
    may_edit(p)?;
    let (name, name_en) = check_name(&input.name, &input.name_en)?;
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let before = row(&mut tx, id).await?;
    let code = match before.code.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/{name}"),
        None => name.clone(),
    };
    if code_taken(&mut tx, &code, id).await? {
        return Err(taken());
    }
    sqlx::query(
        "UPDATE categories SET name = $1, name_en = $2, code = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(&name)
    .bind(&name_en)
    .bind(&code)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    rewrite_subtree(&mut tx, &before, &code, &before.path, now).await?;
    let after = row(&mut tx, id).await?;
    audit(
        &mut tx,
        p,
        client,
        "category.rename",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a category (with its subtree) under another parent, or to the top level.
pub async fn move_to(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &MoveCategory,
) -> AppResult<CategoryRow> {
    may_edit(p)?;
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let before = row(&mut tx, id).await?;
    let height: i64 = sqlx::query("SELECT path FROM categories WHERE path LIKE $1")
        .bind(format!("{}%", before.path))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| depth_of(&r.get::<String, _>(0)) as i64)
        .max()
        .unwrap_or(before.depth as i64)
        - before.depth as i64;
    let (parent_code, parent_path, parent_depth) = match input.parent_id {
        None => (String::new(), "/".to_string(), 0),
        Some(pid) => {
            let parent = row(&mut tx, pid).await.map_err(|_| {
                AppError::field("parent_id", "上级类别不存在", "the parent does not exist")
            })?;
            if parent.path.starts_with(&before.path) {
                return Err(AppError::field(
                    "parent_id",
                    "不能移到自身或其下级之下",
                    "a category cannot move under itself or its own subcategory",
                ));
            }
            if parent.retired && !before.retired {
                return Err(AppError::field(
                    "parent_id",
                    "上级类别已停用",
                    "the parent category is retired",
                ));
            }
            (format!("{}/", parent.code), parent.path, parent.depth)
        }
    };
    if parent_depth + 1 + height as usize > MAX_DEPTH {
        return Err(AppError::field(
            "parent_id",
            "移动后将超过三级",
            "the move would make more than three levels",
        ));
    }
    let code = format!("{parent_code}{}", before.name);
    let path = format!("{parent_path}{id}/");
    if code_taken(&mut tx, &code, id).await? {
        return Err(taken());
    }
    let sort: i64 = sqlx::query(
        "SELECT COALESCE(MAX(sort), 0) + 1 FROM categories WHERE parent_id IS NOT DISTINCT FROM $1",
    )
    .bind(input.parent_id)
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    sqlx::query("UPDATE categories SET parent_id = $1, code = $2, path = $3, sort = $4, updated_at = $5 WHERE id = $6")
        .bind(input.parent_id)
        .bind(&code)
        .bind(&path)
        .bind(sort)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    rewrite_subtree(&mut tx, &before, &code, &path, now).await?;
    let after = row(&mut tx, id).await?;
    audit(
        &mut tx,
        p,
        client,
        "category.move",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Moves a category one place up or down among its siblings.
pub async fn reorder(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    input: &OrderCategory,
) -> AppResult<CategoryRow> {
    may_edit(p)?;
    let up = match input.direction.trim() {
        "up" => true,
        "down" => false,
        _ => {
            return Err(AppError::field(
                "direction",
                "方向应为 up 或 down",
                "direction must be up or down",
            ))
        }
    };
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let before = row(&mut tx, id).await?;
    let mut siblings: Vec<i64> = sqlx::query(
        "SELECT id FROM categories WHERE parent_id IS NOT DISTINCT FROM $1 ORDER BY sort, id",
    )
    .bind(before.parent_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.get(0))
    .collect();
    let at = siblings.iter().position(|s| *s == id).unwrap_or(0);
    let other = if up { at.checked_sub(1) } else { Some(at + 1) };
    match other.filter(|o| *o < siblings.len()) {
        Some(o) => siblings.swap(at, o),
        // Already first (or last): nothing to do, nothing to record.
        None => return Ok(before),
    }
    // Siblings are numbered afresh so equal sort values (e.g. after an import) still move.
    for (i, sid) in siblings.iter().enumerate() {
        sqlx::query("UPDATE categories SET sort = $1, updated_at = $2 WHERE id = $3")
            .bind(i as i64 + 1)
            .bind(now)
            .bind(sid)
            .execute(&mut *tx)
            .await?;
    }
    let after = row(&mut tx, id).await?;
    audit(
        &mut tx,
        p,
        client,
        "category.reorder",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Retires a category and its subtree (`retire = true`) or restores just this one
/// (its parent must be active).
pub async fn set_retired(
    o: &Opinions,
    p: &Principal,
    client: &str,
    id: i64,
    retire: bool,
) -> AppResult<CategoryRow> {
    may_edit(p)?;
    let now = now_ms();
    let mut tx = o.db.begin().await?;
    let before = row(&mut tx, id).await?;
    if retire {
        sqlx::query(
            "UPDATE categories SET retired = 1, updated_at = $1 WHERE path LIKE $2 AND retired = 0",
        )
        .bind(now)
        .bind(format!("{}%", before.path))
        .execute(&mut *tx)
        .await?;
    } else {
        if let Some(pid) = before.parent_id {
            if row(&mut tx, pid).await?.retired {
                return Err(AppError::conflict(
                    "上级类别已停用，请先恢复上级",
                    "the parent category is retired; restore it first",
                ));
            }
        }
        sqlx::query("UPDATE categories SET retired = 0, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let after = row(&mut tx, id).await?;
    let action = if retire {
        "category.retire"
    } else {
        "category.restore"
    };
    audit(&mut tx, p, client, action, id, Some(&before), Some(&after)).await?;
    tx.commit().await?;
    Ok(after)
}

/// Deletes a category no item, channel or subcategory refers to; anything used can only
/// be retired.
pub async fn delete(o: &Opinions, p: &Principal, client: &str, id: i64) -> AppResult<()> {
    may_edit(p)?;
    let mut tx = o.db.begin().await?;
    let before = row(&mut tx, id).await?;
    let children: i64 = sqlx::query("SELECT COUNT(*) FROM categories WHERE parent_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?
        .get(0);
    // Channels keep their limits as a comma list of ids.
    let channels: i64 =
        sqlx::query("SELECT COUNT(*) FROM channels WHERE (',' || category_ids || ',') LIKE $1")
            .bind(format!("%,{id},%"))
            .fetch_one(&mut *tx)
            .await?
            .get(0);
    if before.used > 0 || children > 0 || channels > 0 {
        return Err(AppError::conflict(
            "该类别已被事项、下级类别或外部渠道使用，不能删除，只能停用",
            "the category is used by items, subcategories or channels: retire it instead of deleting",
        ));
    }
    sqlx::query("DELETE FROM categories WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        p,
        client,
        "category.delete",
        id,
        Some(&before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An uploaded category CSV (the page's file field): UTF-8, with or without the byte-order
/// mark spreadsheet programs write; loaded all or nothing by `categories::import_csv_by`.
pub async fn import_upload(
    o: &Opinions,
    p: &Principal,
    client: &str,
    bytes: &[u8],
) -> AppResult<usize> {
    may_edit(p)?;
    if bytes.is_empty() {
        return Err(AppError::field("file", "请选择文件", "choose a file"));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        AppError::field(
            "file",
            "文件不是 UTF-8 编码的 CSV（可在表格软件中另存为“CSV UTF-8”）",
            "the file is not a UTF-8 CSV (save it as \"CSV UTF-8\" in a spreadsheet program)",
        )
    })?;
    super::categories::import_csv_by(o, &Actor::new(p, client), text).await
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The active tree as the CSV `import_csv` reads (one row per leaf and per category
/// without children), so a tree can move between deployments.
pub async fn export_csv(o: &Opinions, p: &Principal) -> AppResult<String> {
    may_edit(p)?;
    let all: Vec<CategoryRow> = list_all(o, p)
        .await?
        .into_iter()
        .filter(|c| !c.retired)
        .collect();
    let mut out = String::from("一级分类,二级分类,三级分类\n");
    for c in &all {
        let has_children = all.iter().any(|x| x.parent_id == Some(c.id));
        if has_children {
            continue;
        }
        let mut levels: Vec<String> = c.code.split('/').map(csv_field).collect();
        levels.resize(MAX_DEPTH, String::new());
        out.push_str(&levels.join(","));
        out.push('\n');
    }
    Ok(out)
}
