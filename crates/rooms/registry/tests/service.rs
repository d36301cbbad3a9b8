//! Registry use cases against a fresh database: scope rules for every role on every
//! entity, retire rules, validation, audit records.

mod common;

use common::*;
use yidu_kernel::{AppError, PageQuery};
use yidu_registry::model::*;
use yidu_registry::service::deputies::DeputyFilter;
use yidu_registry::service::regions::RegionFilter;
use yidu_registry::service::stations::StationFilter;
use yidu_registry::service::{deputies, regions, stations};

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
async fn regions_follow_the_tree_rules() {
    let w = World::new().await;
    let a = admin();
    assert_eq!(w.district.path, format!("/{}/", w.district.id));
    assert_eq!(
        w.c1.path,
        format!("/{}/{}/{}/", w.district.id, w.t1.id, w.c1.id)
    );
    assert_eq!(w.district.district_id, Some(w.district.id));
    assert_eq!(w.g1.district_id, Some(w.district.id));
    assert_eq!(w.g1.full_name, "测试区/一镇/东社区/一网格");

    // A child must sit below its parent.
    let e = regions::create(
        &w.db,
        &a,
        "t",
        region_input(Some(w.t1.id), "district", "错"),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["level"]);
    // Siblings have different names; unknown levels and bad boundaries are named.
    let mut bad = region_input(Some(w.t1.id), "planet", "东社区");
    bad.geojson = Some(r#"{"type":"Point","coordinates":[1,2]}"#.into());
    bad.division_code = Some("12x".into());
    let e = regions::create(&w.db, &a, "t", bad).await.unwrap_err();
    let mut f = fields(&e);
    f.sort();
    assert_eq!(f, vec!["division_code", "geojson", "level", "name"]);
    let e = regions::create(
        &w.db,
        &a,
        "t",
        region_input(Some(w.t1.id), "community", "东社区"),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["name"]);
    // A grid with a polygon.
    let mut g = region_input(Some(w.c1.id), "grid", "二网格");
    g.geojson = Some(
        r#"{"type":"Polygon","coordinates":[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.5,29.8]]]}"#.into(),
    );
    let g2 = regions::create(&w.db, &a, "t", g).await.unwrap();
    assert!(g2.has_boundary);
    assert!(regions::get(&w.db, &a, g2.id)
        .await
        .unwrap()
        .geojson
        .is_some());

    // Edit.
    let patch = RegionPatch {
        name: Some("东门社区".into()),
        division_code: Some("330203001001".into()),
        geojson: None,
    };
    let c1 = regions::update(&w.db, &w.town1(), "t", w.c1.id, patch)
        .await
        .unwrap();
    assert_eq!(c1.name, "东门社区");
    assert_eq!(c1.division_code.as_deref(), Some("330203001001"));

    // Filters: level, parent, name search.
    let f = RegionFilter {
        level: Some("community".into()),
        ..Default::default()
    };
    let p = regions::list(&w.db, &a, &f, &page()).await.unwrap();
    assert_eq!(ids(&p.items, |r| r.id), vec![w.c1.id, w.c2.id]);
    let f = RegionFilter {
        parent: Some(w.district.id),
        ..Default::default()
    };
    assert_eq!(
        regions::list(&w.db, &a, &f, &page()).await.unwrap().total,
        2
    );
    let f = RegionFilter {
        q: Some("东门".into()),
        ..Default::default()
    };
    assert_eq!(
        regions::list(&w.db, &a, &f, &page()).await.unwrap().items[0].id,
        w.c1.id
    );
    let tree = regions::tree(&w.db, &a).await.unwrap();
    assert_eq!(tree.len(), 1);
    assert_eq!(tree[0].children.len(), 2);
}

#[tokio::test]
async fn region_scope_by_role() {
    let w = World::new().await;
    let all = RegionFilter::default();
    let everything = vec![w.district.id, w.t1.id, w.t2.id, w.c1.id, w.c2.id, w.g1.id];
    let seen = |items: &[Region]| ids(items, |r| r.id);

    let p = regions::list(&w.db, &admin(), &all, &page()).await.unwrap();
    assert_eq!(seen(&p.items), everything);
    let p = regions::list(&w.db, &w.office(), &all, &page())
        .await
        .unwrap();
    assert_eq!(seen(&p.items), everything);
    // A township sees its subtree and its ancestors, not the other township.
    let p = regions::list(&w.db, &w.town1(), &all, &page())
        .await
        .unwrap();
    assert_eq!(
        seen(&p.items),
        vec![w.district.id, w.t1.id, w.c1.id, w.g1.id]
    );
    assert!(matches!(
        regions::get(&w.db, &w.town1(), w.c2.id).await,
        Err(AppError::NotFound)
    ));
    // Station staff: their station's community and up.
    let p = regions::list(&w.db, &w.station1(), &all, &page())
        .await
        .unwrap();
    assert_eq!(
        seen(&p.items),
        vec![w.district.id, w.t1.id, w.c1.id, w.g1.id]
    );
    // A deputy: home region and ancestors only.
    let p = regions::list(&w.db, &w.deputy1(), &all, &page())
        .await
        .unwrap();
    assert_eq!(seen(&p.items), vec![w.district.id, w.t1.id, w.c1.id]);
    assert!(matches!(
        regions::get(&w.db, &w.deputy1(), w.g1.id).await,
        Err(AppError::NotFound)
    ));
    // Department and committee staff read the whole district.
    let p = regions::list(&w.db, &w.dept(), &all, &page())
        .await
        .unwrap();
    assert_eq!(seen(&p.items), everything);
    let p = regions::list(&w.db, &w.committee(), &all, &page())
        .await
        .unwrap();
    assert_eq!(seen(&p.items), everything);

    // Writes: township inside, not outside, not above; nobody but admin creates a root.
    let t = w.town1();
    regions::create(
        &w.db,
        &t,
        "t",
        region_input(Some(w.c1.id), "grid", "三网格"),
    )
    .await
    .unwrap();
    for (who, parent) in [
        (w.town1(), Some(w.c2.id)),
        (w.town1(), Some(w.district.id)),
        (w.town1(), None),
        (w.office(), None),
        (w.station1(), Some(w.c1.id)),
        (w.deputy1(), Some(w.c1.id)),
        (w.dept(), Some(w.c1.id)),
        (w.committee(), Some(w.c1.id)),
    ] {
        let r = regions::create(&w.db, &who, "t", region_input(parent, "grid", "越权网格")).await;
        assert!(
            matches!(r, Err(AppError::Forbidden)),
            "{who:?} creating under {parent:?}: {r:?}"
        );
    }
    let r = regions::update(&w.db, &w.town1(), "t", w.c2.id, RegionPatch::default()).await;
    assert!(matches!(r, Err(AppError::Forbidden)));
    let r = regions::update(&w.db, &w.station1(), "t", w.c1.id, RegionPatch::default()).await;
    assert!(matches!(r, Err(AppError::Forbidden)));
    let r = regions::update(&w.db, &w.office(), "t", 999_999, RegionPatch::default()).await;
    assert!(matches!(r, Err(AppError::NotFound)));
}

#[tokio::test]
async fn retiring_regions_needs_an_empty_region() {
    let w = World::new().await;
    let before = w.audit_count().await;
    let e = regions::retire(&w.db, &w.office(), "t", w.t1.id)
        .await
        .unwrap_err();
    match &e {
        AppError::Conflict(m) => {
            assert!(m.zh.contains("下级区域 1 个"), "{}", m.zh);
            assert!(m.en.contains("1 sub-regions"), "{}", m.en);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Retiring the community's station and deputy is not enough while a grid remains.
    stations::retire(&w.db, &w.office(), "t", w.s1.id)
        .await
        .unwrap();
    deputies::retire(&w.db, &w.office(), "t", w.d1.id)
        .await
        .unwrap();
    assert!(matches!(
        regions::retire(&w.db, &w.office(), "t", w.c1.id).await,
        Err(AppError::Conflict(_))
    ));
    regions::retire(&w.db, &w.town1(), "t", w.g1.id)
        .await
        .unwrap();
    let c1 = regions::retire(&w.db, &w.town1(), "t", w.c1.id)
        .await
        .unwrap();
    assert!(c1.retired);
    // Retired regions are hidden unless asked for, and take no new records.
    let p = regions::list(&w.db, &w.town1(), &RegionFilter::default(), &page())
        .await
        .unwrap();
    assert!(!p.items.iter().any(|r| r.id == w.c1.id));
    let f = RegionFilter {
        include_retired: true,
        ..Default::default()
    };
    let p = regions::list(&w.db, &w.town1(), &f, &page()).await.unwrap();
    assert!(p.items.iter().any(|r| r.id == w.c1.id && r.retired));
    let e = stations::create(
        &w.db,
        &w.office(),
        "t",
        station_input(w.c1.id, "point", "新点"),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["region_id"]);
    assert!(matches!(
        regions::update(&w.db, &w.office(), "t", w.c1.id, RegionPatch::default()).await,
        Err(AppError::Conflict(_))
    ));
    // A township may not retire its own scope.
    assert!(matches!(
        regions::retire(&w.db, &w.town1(), "t", w.t1.id).await,
        Err(AppError::Forbidden)
    ));
    // Every change above wrote one audit record.
    assert_eq!(w.audit_count().await, before + 4);
}

#[tokio::test]
async fn station_scope_and_schedule_edits() {
    let w = World::new().await;
    let f = StationFilter::default();
    let seen = |items: &[Station]| ids(items, |s| s.id);
    assert_eq!(w.s1.code.len(), 8);
    assert_ne!(w.s1.code, w.s2.code);
    assert_eq!(w.s1.partners, vec![Partner::PartyService]);

    let all = vec![w.hub.id, w.s1.id, w.s2.id];
    assert_eq!(
        seen(
            &stations::list(&w.db, &admin(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        all
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &w.office(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        all
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &w.town1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s1.id]
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &w.station1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s1.id]
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &w.deputy1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s1.id]
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &w.committee(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        all
    );
    assert!(matches!(
        stations::list(&w.db, &w.dept(), &f, &page()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stations::get(&w.db, &w.town1(), w.s2.id).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        stations::get(&w.db, &w.deputy1(), w.hub.id).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        stations::get(&w.db, &w.dept(), w.s1.id).await,
        Err(AppError::NotFound)
    ));
    assert_eq!(
        stations::get(&w.db, &w.station1(), w.s1.id)
            .await
            .unwrap()
            .id,
        w.s1.id
    );

    // Filters: kind, name, code, region subtree.
    let by = |kind: Option<&str>, q: Option<&str>, region: Option<i64>| StationFilter {
        kind: kind.map(str::to_string),
        q: q.map(str::to_string),
        region,
        include_retired: false,
    };
    assert_eq!(
        seen(
            &stations::list(&w.db, &admin(), &by(Some("hub"), None, None), &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.hub.id]
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &admin(), &by(None, Some("西"), None), &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s2.id]
    );
    let code = w.s2.code.to_lowercase();
    assert_eq!(
        seen(
            &stations::list(&w.db, &admin(), &by(None, Some(&code), None), &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s2.id]
    );
    assert_eq!(
        seen(
            &stations::list(&w.db, &admin(), &by(None, None, Some(w.t1.id)), &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.s1.id]
    );
    assert!(
        stations::list(&w.db, &admin(), &by(Some("castle"), None, None), &page())
            .await
            .is_err()
    );

    // Station staff change their own schedule, and nothing else.
    let sched = StationPatch {
        opening_hours: Some("周一至周六".into()),
        reception_schedule: Some("每周三下午".into()),
        ..Default::default()
    };
    let s = stations::update(&w.db, &w.station1(), "t", w.s1.id, sched.clone())
        .await
        .unwrap();
    assert_eq!(s.reception_schedule, "每周三下午");
    let rename = StationPatch {
        name: Some("改名".into()),
        ..Default::default()
    };
    assert!(matches!(
        stations::update(&w.db, &w.station1(), "t", w.s1.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stations::update(&w.db, &w.station1(), "t", w.s2.id, sched.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stations::update(&w.db, &w.town1(), "t", w.s2.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stations::update(&w.db, &w.deputy1(), "t", w.s1.id, sched).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        stations::retire(&w.db, &w.station1(), "t", w.s1.id).await,
        Err(AppError::Forbidden)
    ));
    let s = stations::update(&w.db, &w.town1(), "t", w.s1.id, rename)
        .await
        .unwrap();
    assert_eq!(s.name, "改名");
    // Moving a station out of one's scope is refused.
    let away = StationPatch {
        region_id: Some(w.c2.id),
        ..Default::default()
    };
    assert!(matches!(
        stations::update(&w.db, &w.town1(), "t", w.s1.id, away).await,
        Err(AppError::Forbidden)
    ));
    // Validation names each bad field.
    let mut bad = station_input(w.c1.id, "castle", "");
    bad.partners = vec!["bank".into()];
    let e = stations::create(&w.db, &admin(), "t", bad)
        .await
        .unwrap_err();
    let mut f = fields(&e);
    f.sort();
    assert_eq!(f, vec!["kind", "name", "partners"]);
}

#[tokio::test]
async fn deputy_scope_phone_and_photo() {
    let w = World::new().await;
    let f = DeputyFilter::default();
    let seen = |items: &[Deputy]| ids(items, |d| d.id);
    assert_eq!(
        w.d1.levels,
        vec![DeputyLevel::District, DeputyLevel::Township]
    );
    assert_eq!(w.d1.stations[0].id, w.s1.id);
    assert_eq!(w.d1.gender, Some(Gender::Male));

    let both = vec![w.d1.id, w.d2.id];
    assert_eq!(
        seen(
            &deputies::list(&w.db, &admin(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        both
    );
    assert_eq!(
        seen(
            &deputies::list(&w.db, &w.office(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        both
    );
    assert_eq!(
        seen(
            &deputies::list(&w.db, &w.town1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.d1.id]
    );
    assert_eq!(
        seen(
            &deputies::list(&w.db, &w.station1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.d1.id]
    );
    assert_eq!(
        seen(
            &deputies::list(&w.db, &w.deputy1(), &f, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.d1.id]
    );
    assert!(matches!(
        deputies::list(&w.db, &w.dept(), &f, &page()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        deputies::get(&w.db, &w.town1(), w.d2.id).await,
        Err(AppError::NotFound)
    ));
    assert!(matches!(
        deputies::get(&w.db, &w.deputy1(), w.d2.id).await,
        Err(AppError::NotFound)
    ));

    // Phones: staff in scope and the deputy see them; committee staff do not.
    assert!(deputies::get(&w.db, &w.office(), w.d1.id)
        .await
        .unwrap()
        .phone
        .is_some());
    assert!(deputies::get(&w.db, &w.deputy1(), w.d1.id)
        .await
        .unwrap()
        .phone
        .is_some());
    let via_committee = deputies::list(&w.db, &w.committee(), &f, &page())
        .await
        .unwrap();
    assert_eq!(seen(&via_committee.items), both);
    assert!(via_committee.items.iter().all(|d| d.phone.is_none()));

    // A station's staff also see its deputies who live elsewhere.
    let patch = DeputyPatch {
        station_ids: Some(vec![w.s1.id, w.s2.id]),
        ..Default::default()
    };
    let d2 = deputies::update(&w.db, &admin(), "t", w.d2.id, patch)
        .await
        .unwrap();
    assert_eq!(d2.stations.len(), 2);
    assert!(deputies::get(&w.db, &w.station1(), w.d2.id)
        .await
        .unwrap()
        .phone
        .is_some());

    // Filters.
    let by_station = DeputyFilter {
        station: Some(w.s2.id),
        ..Default::default()
    };
    assert_eq!(
        seen(
            &deputies::list(&w.db, &admin(), &by_station, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.d2.id]
    );
    let by_level = DeputyFilter {
        level: Some("national".into()),
        ..Default::default()
    };
    assert_eq!(
        deputies::list(&w.db, &admin(), &by_level, &page())
            .await
            .unwrap()
            .total,
        0
    );
    let by_level = DeputyFilter {
        level: Some("乡镇".into()),
        q: Some("张".into()),
        ..Default::default()
    };
    assert_eq!(
        seen(
            &deputies::list(&w.db, &admin(), &by_level, &page())
                .await
                .unwrap()
                .items
        ),
        vec![w.d1.id]
    );

    // Writes.
    let rename = DeputyPatch {
        duties: Some("村委会主任".into()),
        ..Default::default()
    };
    assert!(matches!(
        deputies::update(&w.db, &w.town1(), "t", w.d2.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        deputies::update(&w.db, &w.station1(), "t", w.d1.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    assert!(matches!(
        deputies::update(&w.db, &w.deputy1(), "t", w.d1.id, rename.clone()).await,
        Err(AppError::Forbidden)
    ));
    deputies::update(&w.db, &w.town1(), "t", w.d1.id, rename)
        .await
        .unwrap();
    // A township may not attach its deputy to a station outside its scope.
    let e = deputies::create(
        &w.db,
        &w.town1(),
        "t",
        deputy_input(w.c1.id, "王二", vec![w.s2.id]),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&e), vec!["station_ids"]);
    let mut bad = deputy_input(w.c1.id, "", vec![]);
    bad.levels = vec![];
    bad.phone = "call me".into();
    bad.gender = "x".into();
    let e = deputies::create(&w.db, &admin(), "t", bad)
        .await
        .unwrap_err();
    let mut f = fields(&e);
    f.sort();
    assert_eq!(f, vec!["gender", "levels", "name", "phone"]);

    // Photos are checked by content.
    assert!(
        deputies::set_photo(&w.db, &admin(), "t", w.d1.id, b"GIF89a....")
            .await
            .is_err()
    );
    let png = b"\x89PNG\r\n\x1a\n0000";
    assert!(matches!(
        deputies::set_photo(&w.db, &w.town1(), "t", w.d2.id, png).await,
        Err(AppError::Forbidden)
    ));
    let d = deputies::set_photo(&w.db, &w.town1(), "t", w.d1.id, png)
        .await
        .unwrap();
    assert!(d.has_photo);
    let (ct, bytes) = deputies::photo(&w.db, &w.deputy1(), w.d1.id).await.unwrap();
    assert_eq!((ct.as_str(), bytes.as_slice()), ("image/png", &png[..]));
    assert!(matches!(
        deputies::photo(&w.db, &w.town1(), w.d2.id).await,
        Err(AppError::NotFound)
    ));
    let d = deputies::delete_photo(&w.db, &admin(), "t", w.d1.id)
        .await
        .unwrap();
    assert!(!d.has_photo);
}
