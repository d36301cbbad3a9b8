//! Placing one new item ([`super::cluster::Model::assign`]) as one job of the group commit.
//!
//! Why: the worker places every incoming item as it arrives. A transaction of its own per
//! item took SQLite's one writer connection for a BEGIN, a read and an fsync'd COMMIT
//! between the intake batches, once per item: under a load of 1,000+ submissions a second
//! that was a large part of the writer's time (bench_intake: with the worker and the
//! outbox stopped, 1,825 acknowledgements/s instead of 1,096). Now the placement is
//! decided from a read on a reader connection, everything the writes need (texts, label,
//! path) is fetched before, and the writes go through [`yidu_db::Db::write`], sharing
//! the COMMIT with the intake batches.
//!
//! The job reads the memberships again inside the transaction and writes only if they
//! still lead to the same decision; if staff moved something in between, it writes nothing
//! and the caller places the item the slow way (its own transaction, deciding on what it
//! reads there), so the outcome is always the one the rules give on the committed state.

use super::cluster::{add_member_owned, class_of_most};
use super::Classes;
use crate::model::{ClassStatus, KIND_OPINION};
use crate::store::{self, MemberRow};
use std::collections::{HashMap, HashSet};
use yidu_audit::{Actor, Entry};
use yidu_kernel::AppResult;

/// What the rules decide for a new item, given the memberships of its cluster's items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The item is placed already (by staff, or by another round).
    Already,
    /// It joins the class most of its cluster is in.
    Join(i64, ClassStatus),
    /// Its cluster's unplaced items (these) form a new proposed class.
    New(Vec<i64>),
    /// Too few unplaced items for a class: nothing to write.
    Nothing,
}

impl Decision {
    pub(crate) fn of(rows: &[MemberRow], item_id: i64, ids: &[i64], min_size: usize) -> Decision {
        if rows.iter().any(|r| r.item_id == item_id) {
            return Decision::Already;
        }
        let refs: Vec<&MemberRow> = rows.iter().collect();
        if let Some((class_id, status)) = class_of_most(&refs) {
            return Decision::Join(class_id, status);
        }
        let placed: HashSet<i64> = rows.iter().map(|r| r.item_id).collect();
        let free: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !placed.contains(id))
            .collect();
        if free.len() < min_size {
            Decision::Nothing
        } else {
            Decision::New(free)
        }
    }
}

/// Where a member lies, owned (the job outlives the caller's borrows).
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub id: i64,
    pub region_path: String,
    pub grid_id: Option<i64>,
    pub created_at: i64,
}

/// A new proposed class, ready to write.
pub(crate) struct NewClass {
    pub path: String,
    pub label: String,
    /// The unplaced items with their representative rank (0: not one of the three).
    pub members: Vec<(Member, i64)>,
}

/// Everything the writes of one placement need.
pub(crate) struct Plan {
    pub district_id: i64,
    pub min_size: usize,
    pub item: Member,
    /// The cluster's items (the new one included).
    pub ids: Vec<i64>,
    pub asks: HashMap<i64, i64>,
    pub now: i64,
    /// The decision the plan was made for; the job writes only if it still holds.
    pub expect: Decision,
    /// The new label of a proposed class the item joins.
    pub relabel: Option<String>,
    /// The class to create, for [`Decision::New`].
    pub new_class: Option<NewClass>,
}

/// How a planned placement went.
pub(crate) enum Written {
    /// Written (or nothing to write): the class the item joined, and whether it joined an
    /// existing class (which may be supervised: the caller follows up after the commit).
    Done { joined: Option<i64>, grew: bool },
    /// The memberships changed since the plan was made: nothing was written.
    Changed,
}

/// Writes the plan as one group-commit job.
pub(crate) async fn write(c: &Classes, plan: Plan) -> AppResult<Written> {
    c.db()
        .write(move |tx| Box::pin(async move { write_in(tx, plan).await }))
        .await
}

pub(crate) async fn write_in(tx: &mut yidu_db::Tx, plan: Plan) -> AppResult<Written> {
    let rows = store::members_for(tx, KIND_OPINION, &plan.ids).await?;
    if Decision::of(&rows, plan.item.id, &plan.ids, plan.min_size) != plan.expect {
        return Ok(Written::Changed);
    }
    match &plan.expect {
        Decision::Already | Decision::Nothing => Ok(Written::Done {
            joined: None,
            grew: false,
        }),
        Decision::Join(class_id, status) => {
            add_member_owned(
                tx,
                plan.district_id,
                *class_id,
                &plan.item,
                0,
                &plan.asks,
                plan.now,
            )
            .await?;
            if *status == ClassStatus::Proposed {
                if let Some(label) = plan.relabel.as_deref().filter(|l| !l.is_empty()) {
                    store::relabel_proposed(tx, *class_id, label, plan.now).await?;
                }
            }
            Ok(Written::Done {
                joined: Some(*class_id),
                grew: true,
            })
        }
        Decision::New(_) => {
            let Some(new) = &plan.new_class else {
                // A plan for a new class always carries it; without, decide again slowly.
                return Ok(Written::Changed);
            };
            let class_id = store::insert_class(
                tx,
                plan.district_id,
                &new.path,
                &new.label,
                ClassStatus::Proposed,
                None,
                plan.now,
            )
            .await?;
            for (m, rank) in &new.members {
                add_member_owned(
                    tx,
                    plan.district_id,
                    class_id,
                    m,
                    *rank,
                    &plan.asks,
                    plan.now,
                )
                .await?;
            }
            yidu_audit::record(
                tx,
                &Actor::system("class-worker"),
                Entry::new("class.propose", "class", class_id)
                    .at(&new.path, Some(plan.district_id))
                    .summary(format!("{} items: {}", new.members.len(), new.label)),
            )
            .await?;
            Ok(Written::Done {
                joined: Some(class_id),
                grew: false,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yidu_db::Db;

    fn row(item_id: i64, class: Option<(i64, ClassStatus)>) -> MemberRow {
        MemberRow {
            item_kind: KIND_OPINION.into(),
            item_id,
            class_id: class.map(|c| c.0),
            class_status: class.map(|c| c.1),
            pinned: false,
            added_at: 0,
            added_by: 0,
        }
    }

    #[test]
    fn the_rules_decide_from_the_memberships() {
        let ids = [1, 2, 3, 4];
        assert_eq!(Decision::of(&[row(4, None)], 4, &ids, 3), Decision::Already);
        assert_eq!(
            Decision::of(&[row(1, Some((7, ClassStatus::Proposed)))], 4, &ids, 3),
            Decision::Join(7, ClassStatus::Proposed)
        );
        // Taken out of every class by staff (a row without a class): not free.
        assert_eq!(
            Decision::of(&[row(1, None)], 4, &ids, 3),
            Decision::New(vec![2, 3, 4])
        );
        assert_eq!(Decision::of(&[row(1, None)], 4, &ids, 4), Decision::Nothing);
        assert_eq!(
            Decision::of(&[], 4, &ids, 4),
            Decision::New(vec![1, 2, 3, 4])
        );
    }

    async fn members(db: &Db) -> Vec<(i64, Option<i64>)> {
        use yidu_db::Row;
        sqlx::query("SELECT item_id, class_id FROM class_members ORDER BY item_id")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    fn member(id: i64) -> Member {
        Member {
            id,
            region_path: "/1/".into(),
            grid_id: None,
            created_at: 1,
        }
    }

    fn plan(expect: Decision) -> Plan {
        Plan {
            district_id: 1,
            min_size: 2,
            item: member(3),
            ids: vec![1, 2, 3],
            asks: HashMap::new(),
            now: 10,
            expect,
            relabel: Some("新标签".into()),
            new_class: Some(NewClass {
                path: "/1/".into(),
                label: "标签".into(),
                members: vec![(member(2), 1), (member(3), 0)],
            }),
        }
    }

    /// A plan writes only while the memberships it was made from still stand; otherwise
    /// it writes nothing and says so (the caller then places the item the slow way).
    #[tokio::test]
    async fn a_plan_writes_only_if_its_decision_still_holds() {
        let (url, _guard) = yidu_db::testing::fresh_database_url().await.unwrap();
        let db = Db::connect(&url).await.unwrap();
        yidu_db::migrate::run(&db).await.unwrap();
        sqlx::query(
            "INSERT INTO regions (id, level, name, path, created_at, updated_at) VALUES (1, 'district', '区', '/1/', 0, 0)",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let mut tx = db.begin().await.unwrap();
        let class = store::insert_class(&mut tx, 1, "/1/", "旧", ClassStatus::Proposed, None, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // Planned as a new class, but item 1 has joined a class since: nothing written.
        let mut tx = db.begin().await.unwrap();
        add_member_owned(&mut tx, 1, class, &member(1), 0, &HashMap::new(), 5)
            .await
            .unwrap();
        let out = write_in(&mut tx, plan(Decision::New(vec![2, 3])))
            .await
            .unwrap();
        assert!(matches!(out, Written::Changed));
        tx.commit().await.unwrap();
        assert_eq!(members(&db).await, vec![(1, Some(class))]);

        // Planned on the current memberships: the item joins and the label follows.
        let mut tx = db.begin().await.unwrap();
        let out = write_in(&mut tx, plan(Decision::Join(class, ClassStatus::Proposed)))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(matches!(out, Written::Done { joined: Some(c), grew: true } if c == class));
        assert_eq!(members(&db).await, vec![(1, Some(class)), (3, Some(class))]);
        let label: String = sqlx::query_scalar("SELECT label FROM classes WHERE id = $1")
            .bind(class)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(label, "新标签");
    }
}
