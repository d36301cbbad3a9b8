//! Where a submission belongs: the deputy or station its code names, and the region
//! (the grid the citizen chose, else the station's or deputy's region).
//!
//! Resolving a code reads the registry's cards (deputy, stations, trails): about ten
//! queries per submission, more than writing it. Intake therefore keeps what it found
//! for a short time ([`crate::OpinionsConfig::route_cache_ms`], 2 s by default, 0 turns
//! it off). The price, accepted and documented: for up to that long after a deputy or
//! station is retired, moved or re-coded, its code still routes as before (on every
//! instance; nothing is shared). Codes that are not found are never cached, so a new
//! deputy's code works at once.

use super::Opinions;
use crate::model::Channel;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yidu_kernel::{AppError, AppResult};
use yidu_registry::codes::store as codes;
use yidu_registry::scope::{self, ScopeRegion};

/// Where an item belongs: its region, district and the deputy or station it came to.
#[derive(Debug, Clone)]
pub struct Routing {
    pub deputy_id: Option<i64>,
    pub station_id: Option<i64>,
    pub region_id: i64,
    pub region_path: String,
    pub district_id: Option<i64>,
}

/// What a code names: the deputy, the station taking care of it, and the region path.
#[derive(Debug, Clone)]
struct CodeRoute {
    deputy_id: Option<i64>,
    station_id: Option<i64>,
    path: String,
}

/// Entries older than the TTL are looked up again; the maps are emptied when they grow
/// past a bound (they only hold codes and regions that exist, so this is rare).
pub struct RouteCache {
    ttl: Duration,
    codes: Mutex<HashMap<(bool, String), (Instant, CodeRoute)>>,
    regions: Mutex<HashMap<i64, (Instant, ScopeRegion)>>,
}

const MAX_ENTRIES: usize = 50_000;

impl RouteCache {
    pub fn new(ttl: Duration) -> Self {
        RouteCache {
            ttl,
            codes: Mutex::default(),
            regions: Mutex::default(),
        }
    }

    fn get<K: std::hash::Hash + Eq, V: Clone>(
        &self,
        map: &Mutex<HashMap<K, (Instant, V)>>,
        k: &K,
    ) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let m = map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(k)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put<K: std::hash::Hash + Eq, V>(&self, map: &Mutex<HashMap<K, (Instant, V)>>, k: K, v: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut m = map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(k, (Instant::now(), v));
    }
}

fn region_id_of(path: &str) -> Option<i64> {
    path.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

async fn code_route(o: &Opinions, channel: &Channel) -> AppResult<Option<CodeRoute>> {
    let key = match channel {
        Channel::Deputy(c) => (true, c.clone()),
        Channel::Station(c) => (false, c.clone()),
        Channel::General | Channel::External(_) => return Ok(None),
    };
    if let Some(hit) = o.routes.get(&o.routes.codes, &key) {
        return Ok(Some(hit));
    }
    let found = if key.0 {
        let card = codes::deputy_by_code(&o.db, &key.1)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut route = CodeRoute {
            deputy_id: Some(card.id),
            station_id: None,
            path: card.region_path,
        };
        // The deputy's station takes care of items that come through the deputy's code.
        if let Some(s) = card.stations.first() {
            route.station_id = Some(s.id);
            if let Some(st) = codes::station_by_id(&o.db, s.id).await? {
                route.path = st.region_path;
            }
        }
        route
    } else {
        let card = codes::station_by_code(&o.db, &key.1)
            .await?
            .ok_or(AppError::NotFound)?;
        CodeRoute {
            deputy_id: None,
            station_id: Some(card.id),
            path: card.region_path,
        }
    };
    o.routes.put(&o.routes.codes, key, found.clone());
    Ok(Some(found))
}

async fn region(o: &Opinions, id: i64) -> AppResult<Option<ScopeRegion>> {
    if let Some(hit) = o.routes.get(&o.routes.regions, &id) {
        return Ok(Some(hit));
    }
    let found = scope::region_path(&o.db, id).await?;
    if let Some(r) = &found {
        o.routes.put(&o.routes.regions, id, r.clone());
    }
    Ok(found)
}

pub async fn route(o: &Opinions, channel: &Channel, grid_id: Option<i64>) -> AppResult<Routing> {
    let by_code = code_route(o, channel).await?;
    let (deputy_id, station_id) = by_code
        .as_ref()
        .map_or((None, None), |c| (c.deputy_id, c.station_id));
    let mut path = by_code.map(|c| c.path);
    // An external channel's item without a grid lands at the channel's region (its
    // district by default), with no grid: the grid is where it happened, which the
    // channel did not say.
    if let (Channel::External(name), None) = (channel, grid_id) {
        let at: Option<i64> = sqlx::query_scalar("SELECT region_id FROM channels WHERE name = $1")
            .bind(name)
            .fetch_optional(o.db.pool())
            .await?
            .flatten();
        if let Some(r) = at {
            path = region(o, r).await?.map(|r| r.path);
        }
    }
    if let Some(g) = grid_id {
        let grid = region(o, g).await?.ok_or_else(|| {
            AppError::field(
                "grid_id",
                "所选网格或社区不存在",
                "the chosen grid or community does not exist",
            )
        })?;
        // A grid names the place more precisely than the code does.
        path = Some(grid.path);
    }
    let path = path.ok_or_else(|| {
        AppError::field(
            "grid_id",
            "请选择问题所在的社区或网格",
            "choose the community or grid the problem is in",
        )
    })?;
    let region_id = region_id_of(&path).ok_or(AppError::NotFound)?;
    let region = region(o, region_id).await?.ok_or(AppError::NotFound)?;
    Ok(Routing {
        deputy_id,
        station_id,
        region_id,
        region_path: region.path,
        district_id: region.district_id,
    })
}
