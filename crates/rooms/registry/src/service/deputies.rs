//! Deputy use cases, including their stations and photos.

use super::access::{self, Entity};
use super::regions::writable_region;
use super::{given, invalid, loose_bool, opt_id, read_conn, Ctx};
use crate::model::kinds::{join_stored, parse_set};
use crate::model::{check, Deputy, DeputyInput, DeputyLevel, DeputyPatch, Gender};
use crate::store::{self, deputies as ds, regions as rs, stations as ss, Where};
use serde::Deserialize;
use serde_json::json;
use yidu_db::{AnyConnection, Db};
use yidu_kernel::error::Problems;
use yidu_kernel::{AppError, AppResult, FieldError, Page, PageQuery, Principal};

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeputyFilter {
    /// Only deputies whose home region lies in this region's subtree.
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub region: Option<i64>,
    /// Only deputies of this station.
    #[serde(default, deserialize_with = "opt_id")]
    #[param(value_type = Option<i64>)]
    pub station: Option<i64>,
    /// national, provincial, city, district or township.
    pub level: Option<String>,
    /// Part of the name, or the exact public code.
    pub q: Option<String>,
    #[serde(default, deserialize_with = "loose_bool")]
    #[param(value_type = Option<bool>)]
    pub include_retired: bool,
}

fn snapshot(d: &Deputy) -> serde_json::Value {
    json!({
        "code": d.code, "name": d.name, "gender": d.gender.map(|g| g.as_str()), "region_id": d.region.id,
        "levels": join_stored(&d.levels, DeputyLevel::as_str), "term": d.term, "sector": d.sector,
        "duties": d.duties,
        // Audit summaries never carry personal contact data in the clear.
        "phone": d.phone.as_deref().map(check::mask_phone),
        "stations": d.stations.iter().map(|s| s.id).collect::<Vec<_>>(), "retired": d.retired,
    })
}

fn level_error(bad: &str) -> FieldError {
    FieldError::new(
        "levels",
        format!("未知的代表层级“{bad}”，可选：{}", DeputyLevel::labels_zh()),
        format!(
            "unknown congress level \"{bad}\"; one of: {}",
            DeputyLevel::names()
        ),
    )
}

async fn filter_where(
    conn: &mut AnyConnection,
    db: &Db,
    f: &DeputyFilter,
    w: &mut Where,
) -> AppResult<()> {
    if !f.include_retired {
        w.and("d.retired = 0");
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
    if let Some(sid) = f.station {
        let p = w.int(sid);
        w.and(format!(
            "d.id IN (SELECT deputy_id FROM deputy_stations WHERE station_id = {p})"
        ));
    }
    if let Some(l) = given(&f.level) {
        let level = DeputyLevel::parse(l).ok_or_else(|| invalid(level_error(l)))?;
        // Levels are stored as "a,b"; commas added on both sides make a whole word match.
        let p = w.text(format!("%,{},%", level.as_str()));
        w.and(format!("(',' || d.levels || ',') LIKE {p}"));
    }
    if let Some(q) = given(&f.q) {
        let p = w.text(yidu_db::contains_pattern(q));
        let code = w.text(q.to_ascii_uppercase());
        let op = yidu_db::ilike(db.backend());
        w.and(format!("(d.name {op} {p} ESCAPE '\\' OR d.code = {code})"));
    }
    Ok(())
}

async fn scoped(
    conn: &mut AnyConnection,
    db: &Db,
    p: &Principal,
    f: &DeputyFilter,
) -> AppResult<Where> {
    let reach = access::reach(conn, p, Entity::Deputy)
        .await?
        .ok_or(AppError::Forbidden)?;
    let mut w = Where::default();
    reach.restrict(&mut w, "r.path", "d.id");
    filter_where(conn, db, f, &mut w).await?;
    Ok(w)
}

/// Hides the phone from those who may not see it.
fn shown(p: &Principal, mut d: Deputy) -> Deputy {
    if !access::sees_phone(p, d.id) {
        d.phone = None;
    }
    d
}

pub async fn list(
    db: &Db,
    p: &Principal,
    f: &DeputyFilter,
    q: &PageQuery,
) -> AppResult<Page<Deputy>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f).await?;
    let (items, total) = ds::list(&mut conn, &w, q.limit(), q.offset()).await?;
    Ok(Page::new(
        items.into_iter().map(|d| shown(p, d)).collect(),
        total,
        q,
    ))
}

pub async fn all(db: &Db, p: &Principal, f: &DeputyFilter) -> AppResult<Vec<Deputy>> {
    let mut conn = read_conn(db).await?;
    let w = scoped(&mut conn, db, p, f).await?;
    Ok(ds::all(&mut conn, &w)
        .await?
        .into_iter()
        .map(|d| shown(p, d))
        .collect())
}

pub async fn get(db: &Db, p: &Principal, id: i64) -> AppResult<Deputy> {
    let mut conn = read_conn(db).await?;
    let reach = access::reach(&mut conn, p, Entity::Deputy)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = ds::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if !reach.allows(&d.region.path, d.id) {
        return Err(AppError::NotFound);
    }
    Ok(shown(p, d))
}

/// Stations chosen for a deputy: each must exist, be active and be readable by the writer.
async fn check_stations(
    conn: &mut AnyConnection,
    p: &Principal,
    ids: &[i64],
    problems: &mut Problems,
) -> AppResult<Vec<i64>> {
    let reach = access::reach(conn, p, Entity::Station).await?;
    let mut out: Vec<i64> = Vec::new();
    for id in ids {
        let ok = match ss::get(conn, *id).await? {
            Some(s) => {
                !s.retired
                    && reach
                        .as_ref()
                        .is_some_and(|r| r.allows(&s.region.path, s.id))
            }
            None => false,
        };
        if !ok {
            problems.add(FieldError::new(
                "station_ids",
                format!("联络站 {id} 不存在、已撤销或不在您的范围内"),
                format!("station {id} does not exist, is retired or is outside your scope"),
            ));
        } else if !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

struct Clean {
    name: String,
    gender: String,
    levels: String,
    term: String,
    sector: String,
    duties: String,
    phone: String,
}

#[allow(clippy::too_many_arguments)]
fn clean(
    problems: &mut Problems,
    name: &str,
    gender: &str,
    levels: &[String],
    term: &str,
    sector: &str,
    duties: &str,
    phone: &str,
) -> Clean {
    let name = problems
        .take(check::required("name", name, 30).map_err(invalid))
        .unwrap_or_default();
    let gender = match gender.trim() {
        "" => String::new(),
        g => match Gender::parse(g) {
            Some(g) => g.as_str().to_string(),
            None => {
                problems.push(
                    "gender",
                    "性别应为“男”或“女”",
                    "gender must be male or female",
                );
                String::new()
            }
        },
    };
    let levels = match parse_set(levels, DeputyLevel::parse) {
        Ok(v) if v.is_empty() => {
            problems.push(
                "levels",
                "请至少选择一个代表层级",
                "choose at least one congress level",
            );
            String::new()
        }
        Ok(v) => join_stored(&v, DeputyLevel::as_str),
        Err(bad) => {
            problems.add(level_error(&bad));
            String::new()
        }
    };
    Clean {
        name,
        gender,
        levels,
        term: problems
            .take(check::optional("term", term, 20).map_err(invalid))
            .unwrap_or_default(),
        sector: problems
            .take(check::optional("sector", sector, 50).map_err(invalid))
            .unwrap_or_default(),
        duties: problems
            .take(check::optional("duties", duties, 200).map_err(invalid))
            .unwrap_or_default(),
        phone: problems
            .take(check::phone("phone", phone).map_err(invalid))
            .unwrap_or_default(),
    }
}

impl Clean {
    fn row(&self, region_id: i64) -> ds::DeputyRow<'_> {
        ds::DeputyRow {
            region_id,
            name: &self.name,
            gender: &self.gender,
            levels: &self.levels,
            term: &self.term,
            sector: &self.sector,
            duties: &self.duties,
            phone: &self.phone,
        }
    }
}

pub async fn create(db: &Db, p: &Principal, client: &str, input: DeputyInput) -> AppResult<Deputy> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let d = create_in(&mut tx, &ctx, &input).await?;
    tx.commit().await?;
    Ok(d)
}

pub async fn create_in(
    conn: &mut AnyConnection,
    ctx: &Ctx<'_>,
    input: &DeputyInput,
) -> AppResult<Deputy> {
    let p = ctx.principal;
    let region = writable_region(conn, p, "region_id", input.region_id).await?;
    let mut problems = Problems::default();
    let c = clean(
        &mut problems,
        &input.name,
        &input.gender,
        &input.levels,
        &input.term,
        &input.sector,
        &input.duties,
        &input.phone,
    );
    let stations = check_stations(conn, p, &input.station_ids, &mut problems).await?;
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
    problems.finish()?;
    let code = match code {
        Some(c) => c,
        None => store::fresh_code(conn).await?,
    };
    let now = yidu_kernel::clock::now_ms();
    let id = ds::insert(conn, &code, &c.row(region.id), now).await?;
    ds::set_stations(conn, id, &stations).await?;
    let d = ds::get(conn, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        conn,
        "deputy.create",
        "deputy",
        id,
        (&d.region.path, d.region.district_id),
        &json!({}),
        &snapshot(&d),
    )
    .await?;
    Ok(shown(p, d))
}

async fn for_write(conn: &mut AnyConnection, p: &Principal, id: i64) -> AppResult<Deputy> {
    let d = ds::get(conn, id).await?.ok_or(AppError::NotFound)?;
    if !p.manages_registry_at(&d.region.path) {
        return Err(AppError::Forbidden);
    }
    if d.retired {
        return Err(AppError::conflict(
            "该代表已撤销，不能修改",
            "This deputy is retired and cannot be changed",
        ));
    }
    Ok(d)
}

pub async fn update(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    patch: DeputyPatch,
) -> AppResult<Deputy> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = for_write(&mut tx, p, id).await?;
    let region_id = match patch.region_id {
        Some(rid) if rid != before.region.id => {
            writable_region(&mut tx, p, "region_id", rid).await?.id
        }
        _ => before.region.id,
    };
    let old_levels: Vec<String> = before
        .levels
        .iter()
        .map(|l| l.as_str().to_string())
        .collect();
    let mut problems = Problems::default();
    let c = clean(
        &mut problems,
        patch.name.as_deref().unwrap_or(&before.name),
        patch
            .gender
            .as_deref()
            .unwrap_or(before.gender.map(|g| g.as_str()).unwrap_or("")),
        patch.levels.as_deref().unwrap_or(&old_levels),
        patch.term.as_deref().unwrap_or(&before.term),
        patch.sector.as_deref().unwrap_or(&before.sector),
        patch.duties.as_deref().unwrap_or(&before.duties),
        patch
            .phone
            .as_deref()
            .unwrap_or(before.phone.as_deref().unwrap_or("")),
    );
    let stations = match &patch.station_ids {
        Some(ids) => Some(check_stations(&mut tx, p, ids, &mut problems).await?),
        None => None,
    };
    problems.finish()?;
    let now = yidu_kernel::clock::now_ms();
    ds::update(&mut tx, id, &c.row(region_id), now).await?;
    if let Some(ids) = stations {
        ds::set_stations(&mut tx, id, &ids).await?;
    }
    let after = ds::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "deputy.update",
        "deputy",
        id,
        (&after.region.path, after.region.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(shown(p, after))
}

pub async fn retire(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<Deputy> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let before = for_write(&mut tx, p, id).await?;
    store::retire(
        &mut tx,
        store::Table::Deputies,
        id,
        yidu_kernel::clock::now_ms(),
    )
    .await?;
    let after = ds::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    ctx.audit(
        &mut tx,
        "deputy.retire",
        "deputy",
        id,
        (&after.region.path, after.region.district_id),
        &snapshot(&before),
        &snapshot(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(shown(p, after))
}

/// The deputy's photo (content type, bytes) for those who may read the deputy.
pub async fn photo(db: &Db, p: &Principal, id: i64) -> AppResult<(String, Vec<u8>)> {
    get(db, p, id).await?;
    let mut conn = read_conn(db).await?;
    ds::photo(&mut conn, id).await?.ok_or(AppError::NotFound)
}

/// Stores a JPEG or PNG photo, checked by its content.
pub async fn set_photo(
    db: &Db,
    p: &Principal,
    client: &str,
    id: i64,
    bytes: &[u8],
) -> AppResult<Deputy> {
    let content_type = check::photo_type(bytes)?;
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let d = for_write(&mut tx, p, id).await?;
    ds::set_photo(
        &mut tx,
        id,
        content_type,
        bytes,
        yidu_kernel::clock::now_ms(),
    )
    .await?;
    ctx.audit(
        &mut tx,
        "deputy.photo",
        "deputy",
        id,
        (&d.region.path, d.region.district_id),
        &json!({"has_photo": d.has_photo}),
        &json!({"has_photo": true, "bytes": bytes.len()}),
    )
    .await?;
    tx.commit().await?;
    get(db, p, id).await
}

pub async fn delete_photo(db: &Db, p: &Principal, client: &str, id: i64) -> AppResult<Deputy> {
    let ctx = Ctx::new(p, client);
    let mut tx = db.begin().await?;
    let d = for_write(&mut tx, p, id).await?;
    if ds::delete_photo(&mut tx, id).await? {
        ctx.audit(
            &mut tx,
            "deputy.photo_delete",
            "deputy",
            id,
            (&d.region.path, d.region.district_id),
            &json!({"has_photo": true}),
            &json!({"has_photo": false}),
        )
        .await?;
    }
    tx.commit().await?;
    get(db, p, id).await
}

/// Whether the principal may change this deputy (for showing edit links).
pub fn may_edit(p: &Principal, d: &Deputy) -> bool {
    p.manages_registry_at(&d.region.path)
}
