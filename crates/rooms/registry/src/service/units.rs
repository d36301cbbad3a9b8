//! Handling units (承办单位) and working committees (工委): both are organisations with a
//! region and contacts. A unit's own handler, and a committee's own staff, may change
//! the contacts of their organisation and nothing else.

use super::access::{self, Entity};
use super::regions::writable_region;
use super::{given, invalid, loose_bool, opt_id, read_conn, Ctx};
use crate::model::{
    check, Committee, CommitteeInput, CommitteePatch, Unit, UnitInput, UnitKind, UnitPatch,
};
use crate::store::{self, regions as rs, units as us, Where};
use serde::Deserialize;
use serde_json::json;
use yidu_db::{AnyConnection, Db};
use yidu_kernel::error::Problems;
use yidu_kernel::{AppError, AppResult, FieldError, Page, PageQuery, Principal, Role};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitFilter {
    /// Only rows in this region's subtree.
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub region: Option<i64>,
    /// Units only: government_department, government, supervision_commission, court,
    /// procuratorate, township_government, other.
    pub kind: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    #[param(value_type = Option<bool>)]
    pub include_retired: bool,
}

fn unit_snapshot(u: &Unit) -> serde_json::Value {
    json!({
        "kind": u.kind.as_str(), "name": u.name, "region_id": u.region.id, "contact_name": u.contact_name,
        "contact_phone": check::mask_phone(&u.contact_phone), "retired": u.retired,
    })
}

fn committee_snapshot(c: &Committee) -> serde_json::Value {
    json!({
        "name": c.name, "region_id": c.region.id, "contact_name": c.contact_name,
        "contact_phone": check::mask_phone(&c.contact_phone), "retired": c.retired,
    })
}

fn kind_error(bad: &str) -> FieldError {
    FieldError::new(
        "kind",
        format!(
            "未知的单位类型“{}”，可选：{}",
            bad.trim(),
            UnitKind::labels_zh()
        ),
        format!(
            "unknown unit kind \"{}\"; one of: {}",
            bad.trim(),
            UnitKind::names()
        ),
    )
}

/// Adds the filter to `w`; `alias` is `u` or `c`.
async fn filter_where(
    conn: &mut AnyConnection,
    db: &Db,
    f: &UnitFilter,
    alias: &str,
    w: &mut Where,
) -> AppResult<()> {
    if !f.include_retired {
        w.and(format!("{alias}.retired = 0"));
    }
    if let Some(rid) = f.region {
        match rs::get(conn, rid).await? {
            Some(r) => {
                let p = w.text(format!("{}%", r.path));
                w.and(format!("r.path LIKE {p}"));
            }
            None => w.and("1 = 0"),
        }
    }
    if alias == "u" {
        if let Some(k) = given(&f.kind) {
            let kind = UnitKind::parse(k).ok_or_else(|| invalid(kind_error(k)))?;
            let p = w.text(kind.as_str());
            w.and(format!("u.kind = {p}"));
        }
    }
    if let Some(q) = given(&f.q) {
        let p = w.text(yidu_db::contains_pattern(q));
        w.and(format!(
            "{alias}.name {} {p} ESCAPE '\\'",
            yidu_db::ilike(db.backend())
        ));
    }
    Ok(())
}

async fn scoped(
    conn: &mut AnyConnection,
    db: &Db,
    p: &Principal,
    f: &UnitFilter,
    committee: bool,
) -> AppResult<Where> {
    let (entity, alias) = if committee {
        (Entity::Committee, "c")
    } else {
        (Entity::Unit, "u")
    };
    let reach = access::reach(conn, p, entity)
        .await?
        .ok_or(AppError::Forbidden)?;
    let mut w = Where::default();
    reach.restrict(&mut w, "r.path", &format!("{alias}.id"));
    filter_where(conn, db, f, alias, &mut w).await?;
    Ok(w)
}

pub async fn list(db: &Db, p: &Principal, f: &UnitFilter, q: &PageQuery) -> AppResult<Page<Unit>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f, false).await?;
    let (items, total) = us::units(&mut conn, &w, Some((q.limit(), q.offset()))).await?;
    Ok(Page::new(items, total, q))
}

pub async fn all(db: &Db, p: &Principal, f: &UnitFilter) -> AppResult<Vec<Unit>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f, false).await?;
    Ok(us::units(&mut conn, &w, None).await?.0)
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Unit> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Unit)
        .await?
        .ok_or(AppError::NotFound)?;
    let u = us::get_unit(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !reach.allows(&u.region.path, u.id) {
        return Err(AppError::NotFound);
    }
    Ok(u)
}

pub async fn list_committees(
    db: &Db,
    p: &Principal,
    f: &UnitFilter,
    q: &PageQuery,
) -> AppResult<Page<Committee>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f, true).await?;
    let (items, total) = us::committees(&mut conn, &w, Some((q.limit(), q.offset()))).await?;
    Ok(Page::new(items, total, q))
}

pub async fn get_committee(db: &Db, p: &Principal, id: i64) -> AppResult<Committee> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Committee)
        .await?
        .ok_or(AppError::NotFound)?;
    let c = us::get_committee(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !reach.allows(&c.region.path, c.id) {
        return Err(AppError::NotFound);
    }
    Ok(c)
}

/// Checked name and contacts; `field_prefix` is empty (all fields are top level).
fn clean_contacts(
    problems: &mut Problems,
    contact_name: &str,
    contact_phone: &str,
) -> (String, String) {
    (
        problems
            .take(check::optional("contact_name", contact_name, 30).map_err(invalid))
            .unwrap_or_default(),
        problems
            .take(check::phone("contact_phone", contact_phone).map_err(invalid))
            .unwrap_or_default(),
    )
}

pub async fn create(db: &Db, p: &Principal, client: &str, input: UnitInput) -> AppResult<Unit> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let u = create_in(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok(u)
}

pub async fn create_in(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    input: &UnitInput,
) -> AppResult<Unit> {
    let region = writable_region(conn, ctx.principal, "region_id", input.region_id).await?;
    let mut problems = Problems::default();
    let name = problems.take(check::required("name", &input.name, 80).map_err(invalid));
    let kind = UnitKind::parse(&input.kind);
    if kind.is_none() {
        problems.add(kind_error(&input.kind));
    }
    let (cn, cp) = clean_contacts(&mut problems, &input.contact_name, &input.contact_phone);
    if let Some(n) = &name {
        if us::name_taken(conn, false, region.id, n, None).await? {
            problems.push(
                "name",
                "该区域已有同名承办单位",
                "a unit of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let row = us::UnitRow {
        region_id: region.id,
        kind: kind.unwrap_or(UnitKind::Other),
        name: name.as_deref().unwrap_or(""),
        contact_name: &cn,
        contact_phone: &cp,
    };
    let id = us::insert_unit(conn, &row, yidu_kernel::clock::now_ms()).await?;
    let u = us::get_unit(conn, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        conn,
        "unit.create",
        "unit",
        id,
        (&u.region.path, u.region.district_id),
        &json!({}),
        &unit_snapshot(&u),
    )
    .await?;
    Ok(u)
}

pub async fn update(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    patch: UnitPatch,
) -> AppResult<Unit> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = us::get_unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let own = p.role == Role::Department && p.scope_id == Some(id);
    may_edit_org(p, &before.region.path, own && patch.only_contacts())?;
    if before.retired {
        return Err(AppError::conflict(
            "该单位已撤销，不能修改",
            "This unit is retired and cannot be changed",
        ));
    }
    let region_id = target_region(&mut tx, p, patch.region_id, before.region.id).await?;
    let mut problems = Problems::default();
    let name = match &patch.name {
        Some(n) => problems.take(check::required("name", n, 80).map_err(invalid)),
        None => Some(before.name.clone()),
    };
    let kind = match &patch.kind {
        Some(k) => UnitKind::parse(k).or_else(|| {
            problems.add(kind_error(k));
            None
        }),
        None => Some(before.kind),
    };
    let (cn, cp) = clean_contacts(
        &mut problems,
        patch
            .contact_name
            .as_deref()
            .unwrap_or(&before.contact_name),
        patch
            .contact_phone
            .as_deref()
            .unwrap_or(&before.contact_phone),
    );
    if let Some(n) = &name {
        if (*n != before.name || region_id != before.region.id)
            && us::name_taken(&mut tx, false, region_id, n, Some(id)).await?
        {
            problems.push(
                "name",
                "该区域已有同名承办单位",
                "a unit of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let row = us::UnitRow {
        region_id,
        kind: kind.unwrap_or(before.kind),
        name: name.as_deref().unwrap_or(""),
        contact_name: &cn,
        contact_phone: &cp,
    };
    us::update_unit(&mut tx, id, &row, yidu_kernel::clock::now_ms()).await?;
    let after = us::get_unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "unit.update",
        "unit",
        id,
        (&after.region.path, after.region.district_id),
        &unit_snapshot(&before),
        &unit_snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn retire(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<Unit> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = us::get_unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !p.manages_registry_at(&before.region.path) {
        return Err(AppError::Forbidden);
    }
    if before.retired {
        return Err(AppError::conflict(
            "该单位已撤销",
            "This unit is already retired",
        ));
    }
    store::retire(
        &mut tx,
        store::Table::Units,
        id,
        yidu_kernel::clock::now_ms(),
    )
    .await?;
    let after = us::get_unit(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "unit.retire",
        "unit",
        id,
        (&after.region.path, after.region.district_id),
        &unit_snapshot(&before),
        &unit_snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn create_committee(
    db: &Db,
    p: &Principal,
    client: &str,
    input: CommitteeInput,
) -> AppResult<Committee> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let region = writable_region(&mut tx, p, "region_id", input.region_id).await?;
    let mut problems = Problems::default();
    let name = problems.take(check::required("name", &input.name, 80).map_err(invalid));
    let (cn, cp) = clean_contacts(&mut problems, &input.contact_name, &input.contact_phone);
    if let Some(n) = &name {
        if us::name_taken(&mut tx, true, region.id, n, None).await? {
            problems.push(
                "name",
                "该区域已有同名工委",
                "a committee of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let row = us::CommitteeRow {
        region_id: region.id,
        name: name.as_deref().unwrap_or(""),
        contact_name: &cn,
        contact_phone: &cp,
    };
    let id = us::insert_committee(&mut tx, &row, yidu_kernel::clock::now_ms()).await?;
    let c = us::get_committee(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "committee.create",
        "committee",
        id,
        (&c.region.path, c.region.district_id),
        &json!({}),
        &committee_snapshot(&c),
    )
    .await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn update_committee(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    patch: CommitteePatch,
) -> AppResult<Committee> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = us::get_committee(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own = p.role == Role::Committee && p.scope_id == Some(id);
    may_edit_org(p, &before.region.path, own && patch.only_contacts())?;
    if before.retired {
        return Err(AppError::conflict(
            "该工委已撤销，不能修改",
            "This committee is retired and cannot be changed",
        ));
    }
    let region_id = target_region(&mut tx, p, patch.region_id, before.region.id).await?;
    let mut problems = Problems::default();
    let name = match &patch.name {
        Some(n) => problems.take(check::required("name", n, 80).map_err(invalid)),
        None => Some(before.name.clone()),
    };
    let (cn, cp) = clean_contacts(
        &mut problems,
        patch
            .contact_name
            .as_deref()
            .unwrap_or(&before.contact_name),
        patch
            .contact_phone
            .as_deref()
            .unwrap_or(&before.contact_phone),
    );
    if let Some(n) = &name {
        if (*n != before.name || region_id != before.region.id)
            && us::name_taken(&mut tx, true, region_id, n, Some(id)).await?
        {
            problems.push(
                "name",
                "该区域已有同名工委",
                "a committee of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let row = us::CommitteeRow {
        region_id,
        name: name.as_deref().unwrap_or(""),
        contact_name: &cn,
        contact_phone: &cp,
    };
    us::update_committee(&mut tx, id, &row, yidu_kernel::clock::now_ms()).await?;
    let after = us::get_committee(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "committee.update",
        "committee",
        id,
        (&after.region.path, after.region.district_id),
        &committee_snapshot(&before),
        &committee_snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn retire_committee(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
) -> AppResult<Committee> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = us::get_committee(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !p.manages_registry_at(&before.region.path) {
        return Err(AppError::Forbidden);
    }
    if before.retired {
        return Err(AppError::conflict(
            "该工委已撤销",
            "This committee is already retired",
        ));
    }
    store::retire(
        &mut tx,
        store::Table::Committees,
        id,
        yidu_kernel::clock::now_ms(),
    )
    .await?;
    let after = us::get_committee(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "committee.retire",
        "committee",
        id,
        (&after.region.path, after.region.district_id),
        &committee_snapshot(&before),
        &committee_snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Whether the principal may change anything of this unit (for edit links).
pub fn may_edit_unit(p: &Principal, u: &Unit) -> bool {
    p.manages_registry_at(&u.region.path)
        || (p.role == Role::Department && p.scope_id == Some(u.id))
}

pub fn may_edit_committee(p: &Principal, c: &Committee) -> bool {
    p.manages_registry_at(&c.region.path) || (p.role == Role::Committee && p.scope_id == Some(c.id))
}

/// A unit or committee is edited by registry managers over its region, or by its own
/// staff when they change only the contacts.
fn may_edit_org(p: &Principal, region_path: &str, own_contacts_only: bool) -> AppResult<()> {
    if p.manages_registry_at(region_path) || own_contacts_only {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The region an edited unit or committee ends up in: a new one must be writable.
async fn target_region(
    tx: &mut yidu_db::AnyConnection,
    p: &Principal,
    requested: Option<i64>,
    current: i64,
) -> AppResult<i64> {
    match requested {
        Some(rid) if rid != current => Ok(writable_region(tx, p, "region_id", rid).await?.id),
        _ => Ok(current),
    }
}
