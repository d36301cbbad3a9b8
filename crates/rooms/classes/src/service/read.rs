//! Reading classes: the list with sizes, places, time span and growth; one class with its
//! members (masked as the opinions room masks them); hot topics for the cockpit.

use super::{readable, Classes, DAY_MS};
use crate::model::{hot_score, ClassDetail, ClassStatus, ClassSummary, HotTopic, Member, Place};
use crate::store::{self, Bind, ClassStats, Order};
use serde::Deserialize;
use std::collections::HashMap;
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Page, PageQuery, Principal, Role};
use yidu_opinions::service::feed;

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClassFilter {
    /// proposed, confirmed, dissolved, or empty for the live ones (proposed and confirmed).
    pub status: Option<String>,
}

/// The scope condition on `classes c`, with placeholders from `$3` on.
fn scope_where(p: &Principal) -> AppResult<(String, Vec<Bind>)> {
    Ok(match p.role {
        Role::Admin => ("1 = 1".into(), vec![]),
        Role::Office => ("c.region_path LIKE $3".into(), vec![Bind::T(p.scope_like())]),
        Role::Township => (
            "EXISTS (SELECT 1 FROM class_members x WHERE x.class_id = c.id AND x.region_path LIKE $3)".into(),
            vec![Bind::T(p.scope_like())],
        ),
        Role::Department => (
            "c.lead_unit_id = $3".into(),
            vec![Bind::I(p.scope_id.unwrap_or(-1))],
        ),
        Role::Station | Role::Deputy | Role::Committee => return Err(AppError::Forbidden),
    })
}

fn windows(now: i64) -> (i64, i64) {
    (now - 7 * DAY_MS, now - 14 * DAY_MS)
}

/// Names of regions and units for display. Names are public registry data, so they are
/// read with the system's eyes: a unit's staff see the township names of their class.
struct Names {
    regions: HashMap<i64, (String, String)>,
    units: HashMap<i64, String>,
}

impl Names {
    async fn load(c: &Classes) -> AppResult<Names> {
        let system = Principal::system();
        let regions = yidu_registry::service::regions::all(c.db(), &system, &Default::default())
            .await?
            .into_iter()
            .map(|r| {
                let level = serde_json::to_value(r.level)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                (r.id, (r.name, level))
            })
            .collect();
        let units = yidu_registry::service::units::all(c.db(), &system, &Default::default())
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        Ok(Names { regions, units })
    }
    fn region(&self, id: i64) -> String {
        self.regions
            .get(&id)
            .map(|r| r.0.clone())
            .unwrap_or_else(|| format!("#{id}"))
    }
}

async fn summaries(
    c: &Classes,
    p: &Principal,
    stats: Vec<ClassStats>,
) -> AppResult<Vec<ClassSummary>> {
    let ids: Vec<i64> = stats.iter().map(|s| s.class.id).collect();
    let names = Names::load(c).await?;
    let mut conn = c.db().pool().acquire().await?;
    let mut places: HashMap<i64, HashMap<(i64, &'static str), i64>> = HashMap::new();
    for (class, township, grid, n) in store::places(&mut conn, &ids).await? {
        let entry = places.entry(class).or_default();
        if let Some(t) = township {
            *entry.entry((t, "township")).or_insert(0) += n;
        }
        if let Some(g) = grid {
            *entry.entry((g, "grid")).or_insert(0) += n;
        }
    }
    let mut reps: HashMap<i64, Vec<i64>> = HashMap::new();
    for (class, item) in store::representatives(&mut conn, &ids).await? {
        let v = reps.entry(class).or_default();
        // A few candidates: some may be outside the viewer's scope.
        if v.len() < 10 {
            v.push(item);
        }
    }
    drop(conn);
    let mut out = Vec::with_capacity(stats.len());
    for s in stats {
        let candidates = reps.remove(&s.class.id).unwrap_or_default();
        let mut representatives = feed::briefs(&c.opinions, p, &candidates).await?;
        representatives.truncate(3);
        let mut place_list: Vec<Place> = places
            .remove(&s.class.id)
            .unwrap_or_default()
            .into_iter()
            .map(|((id, level), n)| Place {
                region_id: id,
                name: names.region(id),
                level: level.to_string(),
                items: n,
            })
            .collect();
        place_list.sort_by(|a, b| {
            (a.level != "township")
                .cmp(&(b.level != "township"))
                .then(b.items.cmp(&a.items))
                .then(a.region_id.cmp(&b.region_id))
        });
        out.push(ClassSummary {
            id: s.class.id,
            district_id: s.class.district_id,
            label: s.class.label.clone(),
            status: s.class.status,
            merged_into: s.class.merged_into,
            size: s.size,
            recent: s.recent,
            previous: s.previous,
            growth: s.recent - s.previous,
            same_asks: s.same_asks,
            first_at: s.first_at,
            last_at: s.last_at,
            representatives,
            places: place_list,
            lead_unit_id: s.class.lead_unit_id,
            lead_unit: s.class.lead_unit_id.map(|u| {
                names
                    .units
                    .get(&u)
                    .cloned()
                    .unwrap_or_else(|| format!("#{u}"))
            }),
            deadline_at: s.class.deadline_at,
            reply_state: s.class.reply_state.clone(),
            updated_at: s.class.updated_at,
        });
    }
    Ok(out)
}

/// The classes the principal may read, live ones by size unless a status is asked for.
pub async fn list(
    c: &Classes,
    p: &Principal,
    f: &ClassFilter,
    q: &PageQuery,
) -> AppResult<Page<ClassSummary>> {
    let (scope, mut binds) = scope_where(p)?;
    let status_sql = match f.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => "c.status <> 'dissolved'".to_string(),
        Some(s) => {
            let st = ClassStatus::parse(s).ok_or_else(|| {
                AppError::field(
                    "status",
                    "状态应为 proposed、confirmed 或 dissolved",
                    "status must be proposed, confirmed or dissolved",
                )
            })?;
            binds.push(Bind::T(st.as_str().to_string()));
            format!("c.status = ${}", binds.len() + 2)
        }
    };
    let mut conn = c.db().pool().acquire().await?;
    let (stats, total) = store::stats(
        &mut conn,
        &format!("{scope} AND {status_sql}"),
        &binds,
        windows(now_ms()),
        Order::List,
        q.limit(),
        q.offset(),
    )
    .await?;
    drop(conn);
    Ok(Page::new(summaries(c, p, stats).await?, total, q))
}

/// One class with its members; members outside the viewer's scope are counted only.
pub async fn get(c: &Classes, p: &Principal, id: i64) -> AppResult<ClassDetail> {
    let row = readable(c, p, id).await?;
    let mut conn = c.db().pool().acquire().await?;
    let (stats, _) = store::stats(
        &mut conn,
        "c.id = $3",
        &[Bind::I(row.id)],
        windows(now_ms()),
        Order::List,
        1,
        0,
    )
    .await?;
    let rows = store::members_of(&mut conn, row.id).await?;
    drop(conn);
    let class = summaries(c, p, stats)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let mut members = Vec::with_capacity(rows.len());
    let mut hidden = 0;
    for m in rows {
        match yidu_opinions::service::read::get(&c.opinions, p, m.item_id).await {
            Ok(o) => members.push(Member {
                item_kind: m.item_kind,
                item_id: m.item_id,
                pinned: m.pinned,
                added_at: m.added_at,
                added_by: m.added_by,
                opinion: Some(o),
            }),
            Err(AppError::NotFound) => hidden += 1,
            Err(e) => return Err(e),
        }
    }
    Ok(ClassDetail {
        class,
        reply_text: row.reply_text,
        replied_at: row.replied_at,
        confirmed_by: row.confirmed_by,
        confirmed_at: row.confirmed_at,
        members,
        hidden_members: hidden,
    })
}

/// Live classes ranked by size, growth and "me too" count (see [`hot_score`]).
/// Aggregates only, so the cockpit stays fast.
pub async fn hot(c: &Classes, p: &Principal, limit: i64) -> AppResult<Vec<HotTopic>> {
    let (scope, binds) = scope_where(p)?;
    let mut conn = c.db().pool().acquire().await?;
    let (stats, _) = store::stats(
        &mut conn,
        &format!("{scope} AND c.status <> 'dissolved'"),
        &binds,
        windows(now_ms()),
        Order::Hot,
        limit.clamp(1, 100),
        0,
    )
    .await?;
    Ok(stats
        .into_iter()
        .map(|s| {
            let growth = s.recent - s.previous;
            HotTopic {
                id: s.class.id,
                label: s.class.label,
                status: s.class.status,
                size: s.size,
                recent: s.recent,
                previous: s.previous,
                growth,
                same_asks: s.same_asks,
                score: hot_score(s.size, growth, s.same_asks),
            }
        })
        .collect())
}
