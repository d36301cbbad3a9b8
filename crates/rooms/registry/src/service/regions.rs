//! Region tree use cases.

use super::access::{self, Entity};
use super::{given, invalid, loose_bool, opt_id, read_conn, Ctx};
use crate::model::{check, Region, RegionInput, RegionLevel, RegionNode, RegionPatch};
use crate::store::{self, regions as rs, Where};
use serde::Deserialize;
use serde_json::json;
use yidu_db::{AnyConnection, Db};
use yidu_kernel::error::Problems;
use yidu_kernel::{AppError, AppResult, FieldError, Page, PageQuery, Principal};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionFilter {
    /// Only the direct children of this region.
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub parent: Option<i64>,
    /// Only regions in this region's subtree (itself included).
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub under: Option<i64>,
    /// province, city, district, township, community or grid.
    pub level: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    /// Include retired regions.
    #[serde(default, deserialize_with = "loose_bool")]
    #[param(value_type = Option<bool>)]
    pub include_retired: bool,
}

fn snapshot(r: &Region) -> serde_json::Value {
    json!({
        "name": r.name, "level": r.level.as_str(), "parent_id": r.parent_id,
        "division_code": r.division_code, "has_boundary": r.has_boundary, "retired": r.retired,
    })
}

/// Adds the filter's conditions (the table is `r`).
pub(crate) async fn filter_where(
    conn: &mut AnyConnection,
    db: &Db,
    f: &RegionFilter,
    w: &mut Where,
) -> AppResult<()> {
    if !f.include_retired {
        w.and("r.retired = 0");
    }
    if let Some(pid) = f.parent {
        let p = w.int(pid);
        w.and(format!("r.parent_id = {p}"));
    }
    if let Some(under) = f.under {
        match rs::get(conn, under).await? {
            Some(u) => {
                let p = w.text(format!("{}%", u.path));
                w.and(format!("r.path LIKE {p}"));
            }
            None => w.and("1 = 0"),
        }
    }
    if let Some(l) = given(&f.level) {
        let level = RegionLevel::parse(l).ok_or_else(|| {
            AppError::field(
                "level",
                &format!("未知的层级，可选：{}", RegionLevel::labels_zh()),
                &format!("unknown level; one of: {}", RegionLevel::names()),
            )
        })?;
        let p = w.text(level.as_str());
        w.and(format!("r.level = {p}"));
    }
    if let Some(q) = given(&f.q) {
        let p = w.text(yidu_db::contains_pattern(q));
        w.and(format!(
            "r.name {} {p} ESCAPE '\\'",
            yidu_db::ilike(db.backend())
        ));
    }
    Ok(())
}

pub async fn list(
    db: &Db,
    p: &Principal,
    f: &RegionFilter,
    q: &PageQuery,
) -> AppResult<Page<Region>> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Region)
        .await?
        .ok_or(AppError::Forbidden)?;
    let mut w = Where::default();
    reach.restrict(&mut w, "r.path", "r.id");
    filter_where(&mut conn, db, f, &mut w).await?;
    let (items, total) = rs::list(&mut conn, &w, q.limit(), q.offset()).await?;
    Ok(Page::new(items, total, q))
}

/// Every readable region matching the filter, in tree order (for exports and dropdowns).
pub async fn all(db: &Db, p: &Principal, f: &RegionFilter) -> AppResult<Vec<Region>> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Region)
        .await?
        .ok_or(AppError::Forbidden)?;
    let mut w = Where::default();
    reach.restrict(&mut w, "r.path", "r.id");
    filter_where(&mut conn, db, f, &mut w).await?;
    Ok(rs::all(&mut conn, &w).await?)
}

/// Active regions the principal may attach records to (create children, stations,
/// deputies, units under), for the dropdowns of the forms. Grids are left out unless
/// asked for: records hang on communities and above.
pub async fn choices(db: &Db, p: &Principal, with_grids: bool) -> AppResult<Vec<Region>> {
    let all = all(db, p, &RegionFilter::default()).await?;
    Ok(all
        .into_iter()
        .filter(|r| p.manages_registry_at(&r.path) && (with_grids || r.level != RegionLevel::Grid))
        .collect())
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Region> {
    let mut conn = read_conn(db).await?;
    get_in(&mut conn, p, id).await
}

pub(crate) async fn get_in(conn: &mut AnyConnection, p: &Principal, id: i64) -> AppResult<Region> {
    let reach = access::reach(conn, p, Entity::Region)
        .await?
        .ok_or(AppError::NotFound)?;
    let r = rs::get(conn, id).await?.ok_or(AppError::NotFound)?;
    if !reach.allows(&r.path, r.id) {
        return Err(AppError::NotFound);
    }
    Ok(r)
}

/// The readable, active part of the tree, nested.
pub async fn tree(db: &Db, p: &Principal) -> AppResult<Vec<RegionNode>> {
    let regions = all(db, p, &RegionFilter::default()).await?;
    Ok(nest(&regions))
}

/// Nests regions listed in path order; a region whose parent is not listed becomes a root.
pub fn nest(regions: &[Region]) -> Vec<RegionNode> {
    fn build(all: &[Region], parent: &Region) -> Vec<RegionNode> {
        all.iter()
            .filter(|r| r.parent_id == Some(parent.id))
            .map(|r| RegionNode {
                id: r.id,
                level: r.level,
                name: r.name.clone(),
                children: build(all, r),
            })
            .collect()
    }
    let ids: std::collections::HashSet<i64> = regions.iter().map(|r| r.id).collect();
    regions
        .iter()
        .filter(|r| r.parent_id.is_none_or(|pid| !ids.contains(&pid)))
        .map(|r| RegionNode {
            id: r.id,
            level: r.level,
            name: r.name.clone(),
            children: build(regions, r),
        })
        .collect()
}

/// The parent given for a new record: it must exist, be active, and be inside the
/// writer's scope.
pub(crate) async fn writable_region(
    conn: &mut AnyConnection,
    p: &Principal,
    field: &str,
    id: i64,
) -> AppResult<Region> {
    let Some(r) = rs::get(conn, id).await? else {
        return Err(invalid(FieldError::new(
            field,
            "所选区域不存在",
            "the chosen region does not exist",
        )));
    };
    if !p.manages_registry_at(&r.path) {
        return Err(AppError::Forbidden);
    }
    if r.retired {
        return Err(invalid(FieldError::new(
            field,
            "所选区域已撤销",
            "the chosen region is retired",
        )));
    }
    Ok(r)
}

pub async fn create(db: &Db, p: &Principal, client: &str, input: RegionInput) -> AppResult<Region> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let r = create_in(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok(r)
}

pub async fn create_in(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    input: &RegionInput,
) -> AppResult<Region> {
    let p = ctx.principal;
    let parent = match input.parent_id {
        Some(pid) => Some(writable_region(conn, p, "parent_id", pid).await?),
        None if p.manages_registry_at("/") => None,
        None => return Err(AppError::Forbidden),
    };
    let mut problems = Problems::default();
    let name = check::required("name", &input.name, 50)
        .map_err(|e| problems.add(e))
        .ok();
    let level = RegionLevel::parse(&input.level);
    if level.is_none() {
        problems.add(level_error(&input.level));
    }
    let division = check::division_code(
        "division_code",
        input.division_code.as_deref().unwrap_or(""),
    )
    .map_err(|e| problems.add(e))
    .ok()
    .flatten();
    let geo = check::geojson("geojson", input.geojson.as_deref().unwrap_or(""))
        .map_err(|e| problems.add(e))
        .ok()
        .flatten();
    if let (Some(l), Some(par)) = (level, &parent) {
        if l.rank() <= par.level.rank() {
            problems.add(FieldError::new(
                "level",
                format!("层级须低于上级区域（上级为{}）", par.level.label_zh()),
                format!(
                    "the level must be below the parent's ({})",
                    par.level.label_en()
                ),
            ));
        }
    }
    if let Some(n) = &name {
        if rs::sibling_named(conn, input.parent_id, n, None).await? {
            problems.push(
                "name",
                "同一上级下已有同名区域",
                "a region of that name already exists under the same parent",
            );
        }
    }
    problems.finish()?;
    let (name, level) = (name.unwrap_or_default(), level.unwrap_or(RegionLevel::Grid));
    let now = yidu_kernel::clock::now_ms();
    let id = rs::insert(
        conn,
        &rs::NewRegion {
            parent: parent.as_ref(),
            level,
            name: &name,
            division_code: division.as_deref(),
            geojson: geo.as_deref(),
        },
        now,
    )
    .await?;
    let r = rs::get(conn, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        conn,
        "region.create",
        "region",
        id,
        (&r.path, r.district_id),
        &json!({}),
        &snapshot(&r),
    )
    .await?;
    Ok(r)
}

fn level_error(given: &str) -> FieldError {
    FieldError::new(
        "level",
        format!(
            "未知的层级“{}”，可选：{}",
            given.trim(),
            RegionLevel::labels_zh()
        ),
        format!(
            "unknown level \"{}\"; one of: {}",
            given.trim(),
            RegionLevel::names()
        ),
    )
}

/// The region to change: it must exist and lie in the writer's scope.
async fn for_write(conn: &mut AnyConnection, p: &Principal, id: i64) -> AppResult<Region> {
    let r = rs::get(conn, id).await?.ok_or(AppError::NotFound)?;
    if !p.manages_registry_at(&r.path) {
        return Err(AppError::Forbidden);
    }
    if r.retired {
        return Err(AppError::conflict(
            "该区域已撤销，不能修改",
            "This region is retired and cannot be changed",
        ));
    }
    Ok(r)
}

pub async fn update(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    patch: RegionPatch,
) -> AppResult<Region> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = for_write(&mut tx, p, id).await?;
    let mut problems = Problems::default();
    let name = match &patch.name {
        Some(n) => check::required("name", n, 50)
            .map_err(|e| problems.add(e))
            .ok(),
        None => Some(before.name.clone()),
    };
    let division = match &patch.division_code {
        Some(d) => check::division_code("division_code", d)
            .map_err(|e| problems.add(e))
            .ok()
            .flatten(),
        None => before.division_code.clone(),
    };
    let geo = match &patch.geojson {
        Some(g) => check::geojson("geojson", g)
            .map_err(|e| problems.add(e))
            .ok()
            .flatten(),
        None => before.geojson.clone(),
    };
    if let Some(n) = &name {
        if *n != before.name && rs::sibling_named(&mut tx, before.parent_id, n, Some(id)).await? {
            problems.push(
                "name",
                "同一上级下已有同名区域",
                "a region of that name already exists under the same parent",
            );
        }
    }
    problems.finish()?;
    let now = yidu_kernel::clock::now_ms();
    rs::update(
        &mut tx,
        id,
        &name.unwrap_or_default(),
        division.as_deref(),
        geo.as_deref(),
        now,
    )
    .await?;
    let after = rs::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "region.update",
        "region",
        id,
        (&after.path, after.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn retire(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<Region> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = for_write(&mut tx, p, id).await?;
    // Staff may not retire the region their own scope hangs on.
    if !p.is_admin() && before.path == p.scope_path {
        return Err(AppError::Forbidden);
    }
    let [children, stations, deputies, units, committees] = rs::dependants(&mut tx, id).await?;
    if children + stations + deputies + units + committees > 0 {
        return Err(AppError::conflict(
            &format!(
                "该区域下仍有未撤销的下级区域 {children} 个、联络站 {stations} 个、代表 {deputies} 名、承办单位 {units} 个、工委 {committees} 个，请先撤销或移走它们"
            ),
            &format!(
                "This region still holds {children} sub-regions, {stations} stations, {deputies} deputies, {units} units and {committees} committees that are not retired; retire or move them first"
            ),
        ));
    }
    let now = yidu_kernel::clock::now_ms();
    store::retire(&mut tx, store::Table::Regions, id, now).await?;
    let after = rs::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "region.retire",
        "region",
        id,
        (&after.path, after.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}
