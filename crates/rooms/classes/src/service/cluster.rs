//! The machine side: grouping a district's items with `yidu_text`'s clusterer, in batch
//! ([`rebuild`]) and as items arrive ([`Model::assign`]), and turning machine clusters into
//! proposed classes without undoing what staff decided.
//!
//! The rules both paths follow:
//! - a pinned membership (staff placed the item, or took it out of every class) is never
//!   touched, and an item in a confirmed class stays there;
//! - a cluster that already has members in a class brings its new items into that class
//!   (a confirmed class grows; it never shrinks by the machine's hand);
//! - otherwise a cluster with at least `min_size` unplaced items becomes a proposed class,
//!   labelled with the cluster's distinctive words;
//! - proposed classes are the machine's own: a rebuild remakes them (keeping their ids where
//!   they still match most of the same items) and drops those nothing matches any more.

use super::{township_of, Classes, DAY_MS};
use crate::model::{ClassStatus, RebuildReport, KIND_OPINION};
use crate::store::{self, MemberRow, NewMember};
use std::collections::{HashMap, HashSet};
use yidu_audit::{Actor, Entry};
use yidu_db::AnyConnection;
use yidu_kernel::clock::now_ms;
use yidu_kernel::AppResult;
use yidu_opinions::service::feed::{self, FeedItem};
use yidu_text::cli::clustering_text;
use yidu_text::{Clusterer, Clustering};

/// A clustered item, as much as placing it needs.
#[derive(Debug, Clone)]
struct Placed {
    id: i64,
    region_path: String,
    grid_id: Option<i64>,
    created_at: i64,
}

/// A district's clusterer kept in memory by the worker, so that a new item is compared
/// with everything clustered before it without clustering everything again.
pub struct Model {
    pub district_id: i64,
    clusterer: Clusterer,
    items: Vec<Placed>,
    known: HashSet<i64>,
}

fn text_of(i: &FeedItem) -> String {
    clustering_text(Some(&i.title), &i.body)
}

fn placed_of(i: &FeedItem) -> Placed {
    Placed {
        id: i.id,
        region_path: i.region_path.clone(),
        grid_id: i.grid_id,
        created_at: i.created_at,
    }
}

async fn district_path(c: &Classes, district_id: i64) -> AppResult<String> {
    Ok(yidu_registry::scope::region_path(c.db(), district_id)
        .await?
        .map(|r| r.path)
        .unwrap_or_else(|| format!("/{district_id}/")))
}

/// Current 同问 counts of items (absent: none), read in chunks since the ids go into the
/// query text.
async fn same_asks_of(c: &Classes, ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(1_000) {
        out.extend(yidu_opinions::assist::metoo::metoo_counts(&c.opinions, chunk).await?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn add_member(
    conn: &mut AnyConnection,
    district_id: i64,
    class_id: i64,
    item: &Placed,
    rep_rank: i64,
    same_asks: &HashMap<i64, i64>,
    now: i64,
) -> AppResult<()> {
    store::insert_member(
        conn,
        &NewMember {
            kind: KIND_OPINION,
            item_id: item.id,
            class_id,
            district_id,
            region_path: &item.region_path,
            township_id: township_of(&item.region_path, district_id),
            grid_id: item.grid_id,
            item_at: item.created_at,
            rep_rank,
            same_asks: same_asks.get(&item.id).copied().unwrap_or(0),
        },
        now,
    )
    .await?;
    Ok(())
}

/// The active class most of these rows are in (confirmed before proposed, then the
/// older class), if any.
fn class_of_most(rows: &[&MemberRow]) -> Option<(i64, ClassStatus)> {
    let mut counts: HashMap<(i64, ClassStatus), usize> = HashMap::new();
    for r in rows {
        if let (Some(id), Some(st)) = (r.class_id, r.class_status) {
            if st != ClassStatus::Dissolved {
                *counts.entry((id, st)).or_insert(0) += 1;
            }
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| {
            a.1.cmp(&b.1)
                .then((a.0 .1 == ClassStatus::Confirmed).cmp(&(b.0 .1 == ClassStatus::Confirmed)))
                .then(b.0 .0.cmp(&a.0 .0))
        })
        .map(|(k, _)| k)
}

/// Ranks 1..3 of the cluster's most central members among `free`.
fn rep_ranks(clusterer: &Clusterer, cluster: u32, items: &[Placed]) -> HashMap<i64, i64> {
    clusterer
        .summary(cluster)
        .representatives
        .iter()
        .enumerate()
        .map(|(rank, &idx)| (items[idx].id, rank as i64 + 1))
        .collect()
}

/// Regroups one district: clusters its window (open items plus the last `window_days`),
/// remakes the proposed classes and adds new items to confirmed ones. Returns the report
/// and the model the worker keeps for items that arrive afterwards.
pub async fn rebuild(
    c: &Classes,
    district_id: i64,
    actor: &Actor,
) -> AppResult<(RebuildReport, Model)> {
    let now = now_ms();
    let since = now - i64::from(c.config.window_days) * DAY_MS;
    let items = feed::window(&c.opinions, district_id, since).await?;
    let texts: Vec<String> = items.iter().map(text_of).collect();
    let segmenter = (*c.opinions.segmenter).clone();
    let params = c.config.params.clone();
    // Clustering is CPU work; keep it off the async threads.
    let clustering =
        tokio::task::spawn_blocking(move || Clustering::run(&texts, segmenter, params))
            .await
            .map_err(yidu_kernel::AppError::internal)?;
    let placed: Vec<Placed> = items.iter().map(placed_of).collect();
    let path = district_path(c, district_id).await?;
    let ids: Vec<i64> = placed.iter().map(|p| p.id).collect();
    let asks = same_asks_of(c, &ids).await?;
    let mut report = RebuildReport {
        district_id,
        items: items.len(),
        clusters: clustering.clusterer.cluster_count(),
        ..Default::default()
    };

    let mut tx = c.db().begin().await?;
    let before = store::district_members(&mut tx, district_id, KIND_OPINION).await?;
    // Which proposed class each item was in, to keep class ids stable across rebuilds.
    let previously: HashMap<i64, i64> = before
        .iter()
        .filter(|r| r.class_status == Some(ClassStatus::Proposed) && !r.pinned)
        .filter_map(|r| r.class_id.map(|cl| (r.item_id, cl)))
        .collect();
    store::clear_proposed(&mut tx, district_id).await?;
    let kept: HashMap<i64, MemberRow> = before
        .into_iter()
        .filter(|r| r.class_status != Some(ClassStatus::Proposed) || r.pinned)
        .map(|r| (r.item_id, r))
        .collect();

    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); clustering.clusterer.cluster_count()];
    for (idx, &cl) in clustering.assignment.iter().enumerate() {
        groups[cl as usize].push(idx);
    }
    let mut reused: HashSet<i64> = HashSet::new();
    // Items that joined classes staff already decided about (which may be supervised).
    let mut joins: HashMap<i64, Vec<i64>> = HashMap::new();
    for (cl, group) in groups.iter().enumerate() {
        let free: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| !kept.contains_key(&placed[i].id))
            .collect();
        if free.is_empty() {
            continue;
        }
        let anchored: Vec<&MemberRow> = group
            .iter()
            .filter_map(|&i| kept.get(&placed[i].id))
            .collect();
        if let Some((class_id, _)) = class_of_most(&anchored) {
            for &i in &free {
                add_member(&mut tx, district_id, class_id, &placed[i], 0, &asks, now).await?;
                joins.entry(class_id).or_default().push(placed[i].id);
            }
            report.placed += free.len();
            continue;
        }
        if free.len() < c.config.min_size {
            continue;
        }
        let summary = clustering.clusterer.summary(cl as u32);
        let mut votes: HashMap<i64, usize> = HashMap::new();
        for &i in &free {
            if let Some(&old) = previously.get(&placed[i].id) {
                if !reused.contains(&old) {
                    *votes.entry(old).or_insert(0) += 1;
                }
            }
        }
        let old = votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(id, _)| id);
        let label = if summary.label.is_empty() {
            "未命名类案".to_string()
        } else {
            summary.label.clone()
        };
        let class_id = match old {
            Some(id) => {
                store::relabel_proposed(&mut tx, id, &label, now).await?;
                id
            }
            None => {
                store::insert_class(
                    &mut tx,
                    district_id,
                    &path,
                    &label,
                    ClassStatus::Proposed,
                    None,
                    now,
                )
                .await?
            }
        };
        reused.insert(class_id);
        let ranks = rep_ranks(&clustering.clusterer, cl as u32, &placed);
        for &i in &free {
            let rank = ranks.get(&placed[i].id).copied().unwrap_or(0);
            add_member(&mut tx, district_id, class_id, &placed[i], rank, &asks, now).await?;
        }
        report.proposed += 1;
        report.placed += free.len();
    }
    store::drop_empty_proposed(&mut tx, district_id).await?;
    store::bump_generation(&mut tx).await?;
    yidu_audit::record(
        &mut tx,
        actor,
        Entry::new("class.rebuild", "district", district_id)
            .at(&path, Some(district_id))
            .summary(format!(
                "{} items, {} clusters, {} proposed classes, {} items placed",
                report.items, report.clusters, report.proposed, report.placed
            )),
    )
    .await?;
    tx.commit().await?;
    let system = yidu_kernel::Principal::system();
    for (class_id, items) in joins {
        if let Err(e) = super::follow::joined(c, &system, &actor.client, class_id, &items).await {
            tracing::warn!(error = %e, class_id, "supervised class: joining items not assigned");
        }
    }
    let known = placed.iter().map(|p| p.id).collect();
    let model = Model {
        district_id,
        clusterer: clustering.clusterer,
        items: placed,
        known,
    };
    Ok((report, model))
}

impl Model {
    /// Whether the model has seen the item already (a rebuild included it).
    pub fn knows(&self, item_id: i64) -> bool {
        self.known.contains(&item_id)
    }

    /// Places one new item: it joins the class its cluster's items are in, or completes a
    /// cluster into a new proposed class. Returns the class it joined, if any.
    pub async fn assign(&mut self, c: &Classes, item: &FeedItem) -> AppResult<Option<i64>> {
        if self.knows(item.id) {
            return Ok(None);
        }
        let cl = self.clusterer.add(&text_of(item));
        self.items.push(placed_of(item));
        self.known.insert(item.id);
        let group: Vec<usize> = self
            .clusterer
            .assignment()
            .iter()
            .enumerate()
            .filter(|(_, &a)| a == cl)
            .map(|(i, _)| i)
            .collect();
        let ids: Vec<i64> = group.iter().map(|&i| self.items[i].id).collect();
        let asks = same_asks_of(c, &ids).await?;
        let now = now_ms();
        let mut tx = c.db().begin().await?;
        let rows = store::members_for(&mut tx, KIND_OPINION, &ids).await?;
        if rows.iter().any(|r| r.item_id == item.id) {
            // Staff placed it already (or another round did): nothing for the machine to do.
            return Ok(None);
        }
        let refs: Vec<&MemberRow> = rows.iter().collect();
        let new = self.items.last().cloned().expect("just pushed");
        let district_id = self.district_id;
        let summary = self.clusterer.summary(cl);
        // True when the item joined an existing class (which may be supervised).
        let mut grew = false;
        let joined = if let Some((class_id, status)) = class_of_most(&refs) {
            grew = true;
            add_member(&mut tx, district_id, class_id, &new, 0, &asks, now).await?;
            if status == ClassStatus::Proposed && !summary.label.is_empty() {
                store::relabel_proposed(&mut tx, class_id, &summary.label, now).await?;
            }
            Some(class_id)
        } else {
            let placed_ids: HashSet<i64> = rows.iter().map(|r| r.item_id).collect();
            let free: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&i| !placed_ids.contains(&self.items[i].id))
                .collect();
            if free.len() < c.config.min_size {
                None
            } else {
                let path = district_path(c, district_id).await?;
                let label = if summary.label.is_empty() {
                    "未命名类案".to_string()
                } else {
                    summary.label.clone()
                };
                let class_id = store::insert_class(
                    &mut tx,
                    district_id,
                    &path,
                    &label,
                    ClassStatus::Proposed,
                    None,
                    now,
                )
                .await?;
                let ranks = rep_ranks(&self.clusterer, cl, &self.items);
                for &i in &free {
                    let rank = ranks.get(&self.items[i].id).copied().unwrap_or(0);
                    add_member(
                        &mut tx,
                        district_id,
                        class_id,
                        &self.items[i],
                        rank,
                        &asks,
                        now,
                    )
                    .await?;
                }
                yidu_audit::record(
                    &mut tx,
                    &Actor::system("class-worker"),
                    Entry::new("class.propose", "class", class_id)
                        .at(&path, Some(district_id))
                        .summary(format!("{} items: {label}", free.len())),
                )
                .await?;
                Some(class_id)
            }
        };
        tx.commit().await?;
        if let Some(class_id) = joined.filter(|_| grew) {
            let system = yidu_kernel::Principal::system();
            // The membership stands; a failed follow-up is logged (staff can supervise again).
            if let Err(e) =
                super::follow::joined(c, &system, "class-worker", class_id, &[item.id]).await
            {
                tracing::warn!(error = %e, class_id, item = item.id, "supervised class: joining item not assigned");
            }
        }
        Ok(joined)
    }
}

/// Rebuilds the given district, or every district with items.
pub async fn rebuild_all(
    c: &Classes,
    district: Option<i64>,
    actor: &Actor,
) -> AppResult<Vec<RebuildReport>> {
    let districts = match district {
        Some(d) => vec![d],
        None => feed::districts(&c.opinions).await?,
    };
    let mut out = Vec::with_capacity(districts.len());
    for d in districts {
        out.push(rebuild(c, d, actor).await?.0);
    }
    Ok(out)
}

/// A rebuild asked for by a person: the administrator for any district (or all), the
/// office for its own district. Audited as that person.
pub async fn rebuild_as(
    c: &Classes,
    p: &yidu_kernel::Principal,
    client: &str,
    district: Option<i64>,
) -> AppResult<Vec<RebuildReport>> {
    use yidu_kernel::{AppError, Role};
    let actor = Actor::new(p, client);
    match p.role {
        Role::Admin => rebuild_all(c, district, &actor).await,
        Role::Office => {
            let own = match p.scope_id {
                Some(id) => yidu_registry::scope::region_path(c.db(), id)
                    .await?
                    .and_then(|r| r.district_id),
                None => None,
            }
            .ok_or(AppError::Forbidden)?;
            if district.is_some_and(|d| d != own) {
                return Err(AppError::Forbidden);
            }
            rebuild_all(c, Some(own), &actor).await
        }
        _ => Err(AppError::Forbidden),
    }
}
