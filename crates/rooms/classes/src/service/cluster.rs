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

use super::place::{self, Decision, Member, NewClass, Plan, Written};
use super::stream::{self, text_of, Stop, Window};
use super::{township_of, Classes, DAY_MS};
use crate::model::{ClassStatus, RebuildReport, KIND_OPINION};
use crate::store::{self, MemberRow, NewMember};
use std::collections::{HashMap, HashSet};
use yidu_audit::{Actor, Entry};
use yidu_db::AnyConnection;
use yidu_kernel::clock::now_ms;
use yidu_kernel::AppResult;
use yidu_opinions::service::feed::{self, FeedItem};
use yidu_text::{ClusterSummary, Clusterer};

/// Where a member lies, as its membership row records it.
#[derive(Debug, Clone, Copy)]
struct Placed<'a> {
    id: i64,
    region_path: &'a str,
    grid_id: Option<i64>,
    created_at: i64,
}

impl<'a> Placed<'a> {
    fn in_window(w: &'a Window, n: usize) -> Placed<'a> {
        let p = &w.places[n];
        Placed {
            id: p.id,
            region_path: &w.regions[p.region as usize],
            grid_id: p.grid_id,
            created_at: p.created_at,
        }
    }
}

/// A district's clusterer kept in memory by the worker, so that a new item is compared
/// with everything clustered before it without clustering everything again. It keeps the
/// clusterer and the item ids only (about 50 bytes an item: 14 MB for the 291,000 items
/// of the 1M benchmark, see bench/memory); what a membership needs of an item, and the
/// texts a label needs, are read back when needed.
pub struct Model {
    pub district_id: i64,
    clusterer: Clusterer,
    /// Item number (insertion order) -> opinion id.
    ids: Vec<i64>,
    /// The first `rebuilt` ids came from the rebuild, in ascending order.
    rebuilt: usize,
    /// Ids added since the rebuild.
    added: HashSet<i64>,
}

/// What a rebuild came to.
pub enum Rebuilt {
    Done(RebuildReport, Box<Model>),
    /// Asked to stop: nothing was written.
    Stopped,
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
    item: Placed<'_>,
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
            region_path: item.region_path,
            township_id: township_of(item.region_path, district_id),
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

fn member_of(i: &FeedItem) -> Member {
    Member {
        id: i.id,
        region_path: i.region_path.clone(),
        grid_id: i.grid_id,
        created_at: i.created_at,
    }
}

/// [`add_member`] for an owned member (a planned placement, see [`super::place`]).
pub(super) async fn add_member_owned(
    conn: &mut AnyConnection,
    district_id: i64,
    class_id: i64,
    m: &super::place::Member,
    rep_rank: i64,
    same_asks: &HashMap<i64, i64>,
    now: i64,
) -> AppResult<()> {
    let placed = Placed {
        id: m.id,
        region_path: &m.region_path,
        grid_id: m.grid_id,
        created_at: m.created_at,
    };
    add_member(
        conn,
        district_id,
        class_id,
        placed,
        rep_rank,
        same_asks,
        now,
    )
    .await
}

/// The active class most of these rows are in (confirmed before proposed, then the
/// older class), if any.
pub(super) fn class_of_most(rows: &[&MemberRow]) -> Option<(i64, ClassStatus)> {
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

/// Ranks 1..3 of the cluster's most central members, by opinion id.
fn rep_ranks(summary: &ClusterSummary, id_of: impl Fn(usize) -> i64) -> HashMap<i64, i64> {
    summary
        .representatives
        .iter()
        .enumerate()
        .map(|(rank, &idx)| (id_of(idx), rank as i64 + 1))
        .collect()
}

fn label_of(summary: &ClusterSummary) -> String {
    if summary.label.is_empty() {
        "未命名类案".to_string()
    } else {
        summary.label.clone()
    }
}

/// A district's memberships split into which proposed class each item was in (to keep
/// class ids stable across rebuilds) and what a rebuild keeps (staff's decisions: pinned
/// rows and members of classes that are not proposed), by item.
fn split_members(before: Vec<MemberRow>) -> (HashMap<i64, i64>, HashMap<i64, MemberRow>) {
    let previously = before
        .iter()
        .filter(|r| r.class_status == Some(ClassStatus::Proposed) && !r.pinned)
        .filter_map(|r| r.class_id.map(|cl| (r.item_id, cl)))
        .collect();
    let kept = before
        .into_iter()
        .filter(|r| r.class_status != Some(ClassStatus::Proposed) || r.pinned)
        .map(|r| (r.item_id, r))
        .collect();
    (previously, kept)
}

/// Clusters between two checks of the stop flag while writing.
const WRITE_CHECK_EVERY: usize = 256;

/// Regroups one district: clusters its window (open items plus the last `window_days`),
/// remakes the proposed classes and adds new items to confirmed ones. Returns the report
/// and the model the worker keeps for items that arrive afterwards, or `Stopped` (having
/// written nothing) when `stop` was set before it finished.
pub async fn rebuild(
    c: &Classes,
    district_id: i64,
    actor: &Actor,
    stop: &Stop,
) -> AppResult<Rebuilt> {
    let now = now_ms();
    let since = now - i64::from(c.config.window_days) * DAY_MS;
    let Some(window) = stream::cluster_window(c, district_id, since, stop).await? else {
        return Ok(Rebuilt::Stopped);
    };
    let assignment = window.clusterer.assignment();
    let cluster_count = window.clusterer.cluster_count();
    // Members of each cluster, cluster by cluster (a counting sort of the assignment).
    let mut starts = vec![0usize; cluster_count + 1];
    for &cl in assignment {
        starts[cl as usize + 1] += 1;
    }
    for k in 0..cluster_count {
        starts[k + 1] += starts[k];
    }
    let mut order = vec![0u32; assignment.len()];
    let mut fill = starts.clone();
    for (idx, &cl) in assignment.iter().enumerate() {
        order[fill[cl as usize]] = idx as u32;
        fill[cl as usize] += 1;
    }
    drop(fill);
    let group = |cl: usize| &order[starts[cl]..starts[cl + 1]];

    let path = district_path(c, district_id).await?;
    let ids = window.ids();
    let asks = same_asks_of(c, &ids).await?;
    let mut report = RebuildReport {
        district_id,
        items: ids.len(),
        clusters: cluster_count,
        ..Default::default()
    };

    // Staff decisions as they stand before the long third pass; read again inside the
    // transaction below (a decision made meanwhile wins; a cluster that qualifies only then
    // waits for the next rebuild).
    let (_, kept) = {
        let mut conn = c.db().pool().acquire().await?;
        split_members(store::district_members(&mut conn, district_id, KIND_OPINION).await?)
    };
    let id_of = |n: u32| window.places[n as usize].id;
    // The clusters that become proposed classes need a label and representatives: a third
    // pass over the window reads their members' texts.
    let to_propose: Vec<u32> = (0..cluster_count)
        .filter(|&cl| {
            let members = group(cl);
            let free = members
                .iter()
                .filter(|&&i| !kept.contains_key(&id_of(i)))
                .count();
            free >= c.config.min_size
                && !members.iter().any(|&i| {
                    kept.get(&id_of(i)).is_some_and(|r| {
                        r.class_id.is_some() && r.class_status != Some(ClassStatus::Dissolved)
                    })
                })
        })
        .map(|cl| cl as u32)
        .collect();
    let (window, summaries) =
        stream::summarize_window(c, district_id, since, window, to_propose, stop).await?;
    let Some(summaries) = summaries else {
        return Ok(Rebuilt::Stopped);
    };
    let id_of = |n: u32| window.places[n as usize].id;

    let mut tx = c.db().begin().await?;
    let (previously, kept) =
        split_members(store::district_members(&mut tx, district_id, KIND_OPINION).await?);
    store::clear_proposed(&mut tx, district_id).await?;
    let mut reused: HashSet<i64> = HashSet::new();
    // Items that joined classes staff already decided about (which may be supervised).
    let mut joins: HashMap<i64, Vec<i64>> = HashMap::new();
    for cl in 0..cluster_count {
        if cl % WRITE_CHECK_EVERY == 0 && stop.is_stopped() {
            // Dropping the transaction rolls it back: nothing half-written.
            return Ok(Rebuilt::Stopped);
        }
        let members = group(cl);
        let free: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&i| !kept.contains_key(&id_of(i)))
            .collect();
        if free.is_empty() {
            continue;
        }
        let anchored: Vec<&MemberRow> = members
            .iter()
            .filter_map(|&i| kept.get(&id_of(i)))
            .collect();
        if let Some((class_id, _)) = class_of_most(&anchored) {
            for &i in &free {
                let item = Placed::in_window(&window, i as usize);
                add_member(&mut tx, district_id, class_id, item, 0, &asks, now).await?;
                joins.entry(class_id).or_default().push(item.id);
            }
            report.placed += free.len();
            continue;
        }
        if free.len() < c.config.min_size {
            continue;
        }
        let Some(summary) = summaries.get(&(cl as u32)) else {
            continue;
        };
        let mut votes: HashMap<i64, usize> = HashMap::new();
        for &i in &free {
            if let Some(&old) = previously.get(&id_of(i)) {
                if !reused.contains(&old) {
                    *votes.entry(old).or_insert(0) += 1;
                }
            }
        }
        let old = votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(id, _)| id);
        let label = label_of(summary);
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
        let ranks = rep_ranks(summary, |n| window.places[n].id);
        for &i in &free {
            let item = Placed::in_window(&window, i as usize);
            let rank = ranks.get(&item.id).copied().unwrap_or(0);
            add_member(&mut tx, district_id, class_id, item, rank, &asks, now).await?;
        }
        report.proposed += 1;
        report.placed += free.len();
    }
    if stop.is_stopped() {
        return Ok(Rebuilt::Stopped);
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
    let rebuilt = ids.len();
    let model = Model {
        district_id,
        clusterer: window.clusterer,
        ids,
        rebuilt,
        added: HashSet::new(),
    };
    Ok(Rebuilt::Done(report, Box::new(model)))
}

impl Model {
    /// Whether the model has seen the item already (a rebuild included it).
    pub fn knows(&self, item_id: i64) -> bool {
        self.ids[..self.rebuilt].binary_search(&item_id).is_ok() || self.added.contains(&item_id)
    }

    /// Items the model holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Approximate heap bytes held (for benchmarks).
    pub fn heap_bytes(&self) -> usize {
        self.clusterer.heap_bytes()
            + self.ids.capacity() * std::mem::size_of::<i64>()
            + self.added.capacity() * (std::mem::size_of::<i64>() + 1)
    }

    /// The summary of a cluster, from its members' texts read back (members gone from the
    /// database are left out).
    fn summary(&self, cl: u32, items: &[FeedItem]) -> ClusterSummary {
        let index: HashMap<i64, usize> = self
            .clusterer
            .members(cl)
            .into_iter()
            .map(|n| (self.ids[n], n))
            .collect();
        let texts: Vec<(usize, String)> = items
            .iter()
            .filter_map(|i| index.get(&i.id).map(|&n| (n, text_of(i))))
            .collect();
        self.clusterer
            .summary(cl, texts.iter().map(|(n, t)| (*n, t.as_str())))
    }

    /// Places one new item: it joins the class its cluster's items are in, or completes a
    /// cluster into a new proposed class. Returns the class it joined, if any.
    pub async fn assign(&mut self, c: &Classes, item: &FeedItem) -> AppResult<Option<i64>> {
        if self.knows(item.id) {
            return Ok(None);
        }
        let cl = self.clusterer.add(&text_of(item));
        self.ids.push(item.id);
        self.added.insert(item.id);
        let group: Vec<usize> = self.clusterer.members(cl);
        let ids: Vec<i64> = group.iter().map(|&i| self.ids[i]).collect();
        let arrival = Arrival { item, cl, ids };
        // Decided on a reader connection and written as one job of the group commit
        // (see super::place); the slow path below only if staff moved something between.
        let (joined, grew) = match self.plan(c, &arrival).await? {
            None => (None, false),
            Some(plan) => match place::write(c, plan).await? {
                Written::Done { joined, grew } => (joined, grew),
                Written::Changed => self.place_in_own_tx(c, &arrival).await?,
            },
        };
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

    /// The placement of a new item as the memberships on a reader connection decide it,
    /// with what its writes need fetched; None when there is nothing to write.
    async fn plan(&self, c: &Classes, a: &Arrival<'_>) -> AppResult<Option<Plan>> {
        let rows = {
            let mut conn = c.db().pool().acquire().await?;
            store::members_for(&mut conn, KIND_OPINION, &a.ids).await?
        };
        self.plan_from(c, a, &rows).await
    }

    /// The plan the memberships `rows` of the cluster's items lead to. The 同问 counts,
    /// texts and path are read only when there is something to write (most arrivals join
    /// nothing).
    async fn plan_from(
        &self,
        c: &Classes,
        a: &Arrival<'_>,
        rows: &[MemberRow],
    ) -> AppResult<Option<Plan>> {
        let expect = Decision::of(rows, a.item.id, &a.ids, c.config.min_size);
        let (mut relabel, mut new_class) = (None, None);
        match &expect {
            Decision::Already | Decision::Nothing => return Ok(None),
            Decision::Join(_, status) => {
                if *status == ClassStatus::Proposed {
                    let items = feed::items(&c.opinions, &a.ids).await?;
                    relabel = Some(self.summary(a.cl, &items).label);
                }
            }
            Decision::New(free) => {
                let items = feed::items(&c.opinions, &a.ids).await?;
                let summary = self.summary(a.cl, &items);
                let ranks = rep_ranks(&summary, |n| self.ids[n]);
                let free: HashSet<i64> = free.iter().copied().collect();
                new_class = Some(NewClass {
                    path: district_path(c, self.district_id).await?,
                    label: label_of(&summary),
                    members: items
                        .iter()
                        .filter(|i| free.contains(&i.id))
                        .map(|i| (member_of(i), ranks.get(&i.id).copied().unwrap_or(0)))
                        .collect(),
                });
            }
        }
        Ok(Some(Plan {
            district_id: self.district_id,
            min_size: c.config.min_size,
            item: member_of(a.item),
            ids: a.ids.clone(),
            asks: same_asks_of(c, &a.ids).await?,
            now: now_ms(),
            expect,
            relabel,
            new_class,
        }))
    }

    /// Places the item in a transaction of its own, deciding on what it reads there (the
    /// writer is held while the label's texts are read): the path when a planned placement
    /// found the memberships changed. Returns the class it joined and whether that class
    /// existed before.
    async fn place_in_own_tx(
        &self,
        c: &Classes,
        a: &Arrival<'_>,
    ) -> AppResult<(Option<i64>, bool)> {
        let mut tx = c.db().begin().await?;
        let rows = store::members_for(&mut tx, KIND_OPINION, &a.ids).await?;
        let Some(plan) = self.plan_from(c, a, &rows).await? else {
            // Placed already, or too few free items: nothing for the machine to do.
            return Ok((None, false));
        };
        let written = place::write_in(&mut tx, plan).await?;
        tx.commit().await?;
        Ok(match written {
            Written::Done { joined, grew } => (joined, grew),
            // Decided on this transaction's own reads: cannot happen.
            Written::Changed => (None, false),
        })
    }
}

/// A new item as the clusterer placed it: its cluster and the cluster's items.
struct Arrival<'a> {
    item: &'a FeedItem,
    cl: u32,
    ids: Vec<i64>,
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
    // Asked for by a person (or the CLI): runs to its end.
    let never = Stop::new();
    for d in districts {
        if let Rebuilt::Done(report, _) = rebuild(c, d, actor, &never).await? {
            out.push(report);
        }
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
