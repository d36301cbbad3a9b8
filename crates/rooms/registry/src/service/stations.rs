//! Liaison station use cases.

use super::access::{self, Entity};
use super::regions::writable_region;
use super::{given, invalid, loose_bool, opt_id, read_conn, Ctx};
use crate::model::kinds::{join_stored, parse_set};
use crate::model::{check, Partner, Station, StationInput, StationKind, StationPatch};
use crate::store::{self, regions as rs, stations as ss, Where};
use serde::Deserialize;
use serde_json::json;
use yidu_db::{AnyConnection, Db};
use yidu_kernel::error::Problems;
use yidu_kernel::{AppError, AppResult, FieldError, Page, PageQuery, Principal, Role};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationFilter {
    /// Only stations in this region's subtree.
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub region: Option<i64>,
    /// hub, station or point.
    pub kind: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    #[param(value_type = Option<bool>)]
    pub include_retired: bool,
}

fn snapshot(s: &Station) -> serde_json::Value {
    json!({
        "code": s.code, "kind": s.kind.as_str(), "name": s.name, "region_id": s.region.id,
        "address": s.address, "opening_hours": s.opening_hours, "reception_schedule": s.reception_schedule,
        "partners": join_stored(&s.partners, Partner::as_str), "retired": s.retired,
    })
}

async fn filter_where(
    conn: &mut AnyConnection,
    db: &Db,
    f: &StationFilter,
    w: &mut Where,
) -> AppResult<()> {
    if !f.include_retired {
        w.and("s.retired = 0");
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
    if let Some(k) = given(&f.kind) {
        let kind = StationKind::parse(k).ok_or_else(|| invalid(kind_error(k)))?;
        let p = w.text(kind.as_str());
        w.and(format!("s.kind = {p}"));
    }
    if let Some(q) = given(&f.q) {
        let p = w.text(yidu_db::contains_pattern(q));
        let code = w.text(q.to_ascii_uppercase());
        let op = yidu_db::ilike(db.backend());
        w.and(format!("(s.name {op} {p} ESCAPE '\\' OR s.code = {code})"));
    }
    Ok(())
}

fn kind_error(given: &str) -> FieldError {
    FieldError::new(
        "kind",
        format!(
            "未知的站点类型“{}”，可选：{}",
            given.trim(),
            StationKind::labels_zh()
        ),
        format!(
            "unknown station kind \"{}\"; one of: {}",
            given.trim(),
            StationKind::names()
        ),
    )
}

async fn scoped(
    conn: &mut AnyConnection,
    db: &Db,
    p: &Principal,
    f: &StationFilter,
) -> AppResult<Where> {
    let reach = access::reach(conn, p, Entity::Station)
        .await?
        .ok_or(AppError::Forbidden)?;
    let mut w = Where::default();
    reach.restrict(&mut w, "r.path", "s.id");
    filter_where(conn, db, f, &mut w).await?;
    Ok(w)
}

pub async fn list(
    db: &Db,
    p: &Principal,
    f: &StationFilter,
    q: &PageQuery,
) -> AppResult<Page<Station>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f).await?;
    let (items, total) = ss::list(&mut conn, &w, q.limit(), q.offset()).await?;
    Ok(Page::new(items, total, q))
}

pub async fn all(db: &Db, p: &Principal, f: &StationFilter) -> AppResult<Vec<Station>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f).await?;
    Ok(ss::all(&mut conn, &w).await?)
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Station> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Station)
        .await?
        .ok_or(AppError::NotFound)?;
    let s = ss::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if !reach.allows(&s.region.path, s.id) {
        return Err(AppError::NotFound);
    }
    Ok(s)
}

fn clean_partners(items: &[String], problems: &mut Problems) -> String {
    match parse_set(items, Partner::parse) {
        Ok(v) => join_stored(&v, Partner::as_str),
        Err(bad) => {
            problems.add(FieldError::new(
                "partners",
                format!("未知的共建阵地“{bad}”，可选：{}", Partner::labels_zh()),
                format!(
                    "unknown partner centre \"{bad}\"; one of: {}",
                    Partner::names()
                ),
            ));
            String::new()
        }
    }
}

pub async fn create(
    db: &Db,
    p: &Principal,
    client: &str,
    input: StationInput,
) -> AppResult<Station> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let s = create_in(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok(s)
}

pub async fn create_in(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    input: &StationInput,
) -> AppResult<Station> {
    let region = writable_region(conn, ctx.principal, "region_id", input.region_id).await?;
    let mut problems = Problems::default();
    let name = problems.take(check::required("name", &input.name, 80).map_err(super::invalid));
    let kind = StationKind::parse(&input.kind);
    if kind.is_none() {
        problems.add(kind_error(&input.kind));
    }
    let address = problems.take(check::optional("address", &input.address, 200).map_err(invalid));
    let hours =
        problems.take(check::optional("opening_hours", &input.opening_hours, 500).map_err(invalid));
    let sched = problems.take(
        check::optional("reception_schedule", &input.reception_schedule, 1000).map_err(invalid),
    );
    let partners = clean_partners(&input.partners, &mut problems);
    let code = match input
        .code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(c) => match check::check_code("code", c) {
            Ok(c) if store::code_taken(conn, &c).await? => {
                problems.push("code", "该编码已被使用", "this code is already in use");
                None
            }
            Ok(c) => Some(c),
            Err(e) => {
                problems.add(e);
                None
            }
        },
        None => None,
    };
    if let Some(n) = &name {
        if ss::name_taken(conn, region.id, n, None).await? {
            problems.push(
                "name",
                "该区域已有同名联络站",
                "a station of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let code = match code {
        Some(c) => c,
        None => store::fresh_code(conn).await?,
    };
    let row = ss::StationRow {
        region_id: region.id,
        kind: kind.unwrap_or(StationKind::Point),
        name: name.as_deref().unwrap_or(""),
        address: address.as_deref().unwrap_or(""),
        opening_hours: hours.as_deref().unwrap_or(""),
        reception_schedule: sched.as_deref().unwrap_or(""),
        partners: &partners,
    };
    let now = yidu_kernel::clock::now_ms();
    let id = ss::insert(conn, &code, &row, now).await?;
    let s = ss::get(conn, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        conn,
        "station.create",
        "station",
        id,
        (&s.region.path, s.region.district_id),
        &json!({}),
        &snapshot(&s),
    )
    .await?;
    Ok(s)
}

/// Whether the principal is the staff of this very station (who may change its schedule).
fn own_station(p: &Principal, id: i64) -> bool {
    p.role == Role::Station && p.scope_id == Some(id)
}

pub async fn update(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    patch: StationPatch,
) -> AppResult<Station> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = ss::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let manages = p.manages_registry_at(&before.region.path);
    let schedule_of_own = own_station(p, id) && patch.only_schedule();
    if !(manages || schedule_of_own) {
        return Err(AppError::Forbidden);
    }
    if before.retired {
        return Err(AppError::conflict(
            "该联络站已撤销，不能修改",
            "This station is retired and cannot be changed",
        ));
    }
    let region_id = match patch.region_id {
        Some(rid) if rid != before.region.id => {
            writable_region(&mut tx, p, "region_id", rid).await?.id
        }
        _ => before.region.id,
    };
    let mut problems = Problems::default();
    let name = match &patch.name {
        Some(n) => problems.take(check::required("name", n, 80).map_err(invalid)),
        None => Some(before.name.clone()),
    };
    let kind = match &patch.kind {
        Some(k) => StationKind::parse(k).or_else(|| {
            problems.add(kind_error(k));
            None
        }),
        None => Some(before.kind),
    };
    let text =
        |problems: &mut Problems, v: &Option<String>, field: &str, max: usize, old: &str| match v {
            Some(t) => problems
                .take(check::optional(field, t, max).map_err(invalid))
                .unwrap_or_default(),
            None => old.to_string(),
        };
    let address = text(
        &mut problems,
        &patch.address,
        "address",
        200,
        &before.address,
    );
    let hours = text(
        &mut problems,
        &patch.opening_hours,
        "opening_hours",
        500,
        &before.opening_hours,
    );
    let sched = text(
        &mut problems,
        &patch.reception_schedule,
        "reception_schedule",
        1000,
        &before.reception_schedule,
    );
    let partners = match &patch.partners {
        Some(items) => clean_partners(items, &mut problems),
        None => join_stored(&before.partners, Partner::as_str),
    };
    if let Some(n) = &name {
        if (*n != before.name || region_id != before.region.id)
            && ss::name_taken(&mut tx, region_id, n, Some(id)).await?
        {
            problems.push(
                "name",
                "该区域已有同名联络站",
                "a station of that name already exists in this region",
            );
        }
    }
    problems.finish()?;
    let row = ss::StationRow {
        region_id,
        kind: kind.unwrap_or(before.kind),
        name: name.as_deref().unwrap_or(""),
        address: &address,
        opening_hours: &hours,
        reception_schedule: &sched,
        partners: &partners,
    };
    ss::update(&mut tx, id, &row, yidu_kernel::clock::now_ms()).await?;
    let after = ss::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "station.update",
        "station",
        id,
        (&after.region.path, after.region.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn retire(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<Station> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = ss::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !p.manages_registry_at(&before.region.path) {
        return Err(AppError::Forbidden);
    }
    if before.retired {
        return Err(AppError::conflict(
            "该联络站已撤销",
            "This station is already retired",
        ));
    }
    store::retire(
        &mut tx,
        store::Table::Stations,
        id,
        yidu_kernel::clock::now_ms(),
    )
    .await?;
    let after = ss::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "station.retire",
        "station",
        id,
        (&after.region.path, after.region.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Whether the principal may change anything of this station (for showing edit links).
pub fn may_edit(p: &Principal, s: &Station) -> bool {
    p.manages_registry_at(&s.region.path) || own_station(p, s.id)
}
