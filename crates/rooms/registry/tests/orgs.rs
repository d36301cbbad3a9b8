//! Units, committees and the desk counts against a fresh database: scope rules for
//! every role, own-contact edits, validation.

mod common;

use common::*;
use yidu_kernel::{AppError, PageQuery};
use yidu_registry::model::*;
use yidu_registry::service::units::UnitFilter;
use yidu_registry::service::{counts, units};

fn page() -> PageQuery {
    PageQuery::default()
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> i64) -> Vec<i64> {
    let mut v: Vec<i64> = items.iter().map(id).collect();
    v.sort();
    v
}

fn fields(e: &AppError) -> Vec<String> {
    e.details().iter().map(|d| d.field.clone()).collect()
}

#[tokio::test]
async fn units_and_committees_scope() {
    let w = World::new().await;
    let f = UnitFilter::default();
    let seen = |items: &[Unit]| ids(items, |u| u.id);
    let both = vec![w.u1.id, w.u2.id];
    assert_eq!(
        seen(
            &units::list(&w.db, &w.office(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        both
    );
    // Townships, stations and deputies assign items to the district's units: they read them all.
    for p in [w.town1(), w.station1(), w.deputy1()] {
        assert_eq!(
            seen(&units::list(&w.db, &p, &f, &page()).await.unwrap().items),
            both,
            "{p:?}"
        );
    }
    assert_eq!(
        seen(
            &units::list(&w.db, &w.dept(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        both
    );
    assert_eq!(
        seen(
            &units::list(&w.db, &w.committee(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        both
    );
    units::get(&w.db, &w.station1(), w.u2.id).await.unwrap();
    let by_kind = UnitFilter {
        kind: Some("政府部门".into()),
        ..Default::default()
    };
    assert_eq!(
        seen(
            &units::list(&w.db, &admin(), &by_kind, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.u1.id]
    );

    // The unit's handler edits its own contacts, nothing else, nobody else's.
    let contacts = UnitPatch {
        contact_name: Some("新联系人".into()),
        contact_phone: Some("13900000000".into()),
        ..Default::default()
    };
    let u = units::update(&w.db, &w.dept(), "t", w.u2.id, contacts.clone())
        .await
        .unwrap();
    assert_eq!(u.contact_name, "新联系人");
    assert!(matches!(
        units::update(&w.db, &w.dept(), "t", w.u1.id, contacts.clone()).await,
        Err(AppError::Forbidden)
    ));
    let rename = UnitPatch {
        name: Some("改名".into()),
        ..Default::default()
    };
    assert!(matches!(
        units::update(&w.db, &w.dept(), "t", w.u2.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        units::retire(&w.db, &w.dept(), "t", w.u2.id).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        units::update(&w.db, &w.town1(), "t", w.u1.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    units::update(&w.db, &w.town1(), "t", w.u2.id, rename)
        .await
        .unwrap();
    let e = units::create(
        &w.db,
        &w.office(),
        "t",
        UnitInput {
            region_id: w.district.id,
            kind: "bank".into(),
            name: "发改局".into(),
            contact_name: String::new(),
            contact_phone: "x".into(),
        },
    )
    .await
    .unwrap_err();
    let mut f2 = fields(&e);
    f2.sort();
    assert_eq!(f2, vec!["contact_phone", "kind", "name"]);
    let u1 = units::retire(&w.db, &w.office(), "t", w.u1.id)
        .await
        .unwrap();
    assert!(u1.retired);
    assert!(matches!(
        units::retire(&w.db, &w.office(), "t", w.u1.id).await,
        Err(AppError::Conflict(_))
    ));

    // Committees.
    let cs = units::list_committees(&w.db, &w.dept(), &f, &page())
        .await
        .unwrap();
    assert_eq!(cs.total, 1);
    // Committees of the district are readable by its stations and townships too.
    assert_eq!(
        units::list_committees(&w.db, &w.station1(), &f, &page())
            .await
            .unwrap()
            .total,
        1
    );
    units::get_committee(&w.db, &w.town1(), w.k1.id)
        .await
        .unwrap();
    let own = CommitteePatch {
        contact_phone: Some("0574-12345678".into()),
        ..Default::default()
    };
    units::update_committee(&w.db, &w.committee(), "t", w.k1.id, own)
        .await
        .unwrap();
    let rename = CommitteePatch {
        name: Some("改名".into()),
        ..Default::default()
    };
    assert!(matches!(
        units::update_committee(&w.db, &w.committee(), "t", w.k1.id, rename).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        units::retire_committee(&w.db, &w.town1(), "t", w.k1.id).await,
        Err(AppError::Forbidden)
    ));
    units::retire_committee(&w.db, &w.office(), "t", w.k1.id)
        .await
        .unwrap();
}

#[tokio::test]
async fn desk_counts_follow_scope() {
    let w = World::new().await;
    let c = counts(&w.db, &w.office()).await.unwrap();
    assert_eq!(
        (c.regions, c.stations, c.deputies, c.units, c.committees),
        (6, 3, 2, 2, 1)
    );
    let c = counts(&w.db, &w.town1()).await.unwrap();
    assert_eq!(
        (c.regions, c.stations, c.deputies, c.units, c.committees),
        (4, 1, 1, 2, 1)
    );
    let c = counts(&w.db, &w.dept()).await.unwrap();
    assert_eq!((c.stations, c.deputies, c.units), (0, 0, 2));
}
