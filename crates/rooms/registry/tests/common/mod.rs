//! A small district for the registry's service tests, on the backend under test
//! (SQLite by default, PostgreSQL when YIDU_TEST_POSTGRES is set).
#![allow(dead_code)]

use yidu_db::testing::{fresh_database_url, TempGuard};
use yidu_db::{Db, Row};
use yidu_kernel::{Principal, Role};
use yidu_registry::model::*;
use yidu_registry::service::{deputies, regions, stations, units};

pub async fn fresh_db() -> (Db, TempGuard) {
    let (url, guard) = fresh_database_url().await.expect("test database");
    let db = Db::connect(&url).await.expect("connect");
    yidu_db::migrate::run(&db).await.expect("migrate");
    (db, guard)
}

pub fn admin() -> Principal {
    Principal::system()
}

pub fn principal(role: Role, scope_id: i64, scope_path: &str) -> Principal {
    Principal {
        user_id: 100 + scope_id,
        username: format!("{}{}", role.as_str(), scope_id),
        display_name: "t".into(),
        role,
        scope_id: Some(scope_id),
        scope_path: scope_path.to_string(),
        must_change_password: false,
    }
}

/// The district:
/// 测试区 ─ 一镇 ─ 东社区 ─ 一网格
///        └ 二镇 ─ 西社区
/// stations: 总站 (district), 东站 (东社区), 西站 (西社区)
/// deputies: 张三 (东社区, 东站), 李四 (西社区, 西站)
/// units: 发改局 (district), 一镇政府 (一镇); committee: 社会建设工委 (district)
pub struct World {
    pub db: Db,
    pub _guard: TempGuard,
    pub district: Region,
    pub t1: Region,
    pub t2: Region,
    pub c1: Region,
    pub c2: Region,
    pub g1: Region,
    pub hub: Station,
    pub s1: Station,
    pub s2: Station,
    pub d1: Deputy,
    pub d2: Deputy,
    pub u1: Unit,
    pub u2: Unit,
    pub k1: Committee,
}

pub fn region_input(parent: Option<i64>, level: &str, name: &str) -> RegionInput {
    RegionInput {
        parent_id: parent,
        level: level.into(),
        name: name.into(),
        division_code: None,
        geojson: None,
    }
}

pub fn station_input(region: i64, kind: &str, name: &str) -> StationInput {
    StationInput {
        region_id: region,
        kind: kind.into(),
        name: name.into(),
        address: format!("{name}地址"),
        opening_hours: "周一至周五 9:00-17:00".into(),
        reception_schedule: "每月 15 日".into(),
        partners: vec!["party_service".into()],
        code: None,
    }
}

pub fn deputy_input(region: i64, name: &str, stations: Vec<i64>) -> DeputyInput {
    DeputyInput {
        region_id: region,
        name: name.into(),
        gender: "男".into(),
        levels: vec!["district".into(), "township".into()],
        term: "第十八届".into(),
        sector: "工人".into(),
        duties: "社区主任".into(),
        phone: "13800001234".into(),
        station_ids: stations,
        code: None,
    }
}

impl World {
    pub async fn new() -> World {
        let (db, guard) = fresh_db().await;
        let a = admin();
        let c = "test";
        let district = regions::create(&db, &a, c, region_input(None, "district", "测试区"))
            .await
            .unwrap();
        let t1 = regions::create(
            &db,
            &a,
            c,
            region_input(Some(district.id), "township", "一镇"),
        )
        .await
        .unwrap();
        let t2 = regions::create(
            &db,
            &a,
            c,
            region_input(Some(district.id), "township", "二镇"),
        )
        .await
        .unwrap();
        let c1 = regions::create(&db, &a, c, region_input(Some(t1.id), "community", "东社区"))
            .await
            .unwrap();
        let c2 = regions::create(&db, &a, c, region_input(Some(t2.id), "community", "西社区"))
            .await
            .unwrap();
        let g1 = regions::create(&db, &a, c, region_input(Some(c1.id), "grid", "一网格"))
            .await
            .unwrap();
        let hub = stations::create(&db, &a, c, station_input(district.id, "hub", "总站"))
            .await
            .unwrap();
        let s1 = stations::create(&db, &a, c, station_input(c1.id, "station", "东站"))
            .await
            .unwrap();
        let s2 = stations::create(&db, &a, c, station_input(c2.id, "station", "西站"))
            .await
            .unwrap();
        let d1 = deputies::create(&db, &a, c, deputy_input(c1.id, "张三", vec![s1.id]))
            .await
            .unwrap();
        let d2 = deputies::create(&db, &a, c, deputy_input(c2.id, "李四", vec![s2.id]))
            .await
            .unwrap();
        let u1 = units::create(
            &db,
            &a,
            c,
            UnitInput {
                region_id: district.id,
                kind: "government_department".into(),
                name: "发改局".into(),
                contact_name: "王五".into(),
                contact_phone: "0574-88880000".into(),
            },
        )
        .await
        .unwrap();
        let u2 = units::create(
            &db,
            &a,
            c,
            UnitInput {
                region_id: t1.id,
                kind: "township_government".into(),
                name: "一镇政府".into(),
                contact_name: "赵六".into(),
                contact_phone: "0574-88881111".into(),
            },
        )
        .await
        .unwrap();
        let k1 = units::create_committee(
            &db,
            &a,
            c,
            CommitteeInput {
                region_id: district.id,
                name: "社会建设工委".into(),
                contact_name: "钱七".into(),
                contact_phone: "".into(),
            },
        )
        .await
        .unwrap();
        World {
            db,
            _guard: guard,
            district,
            t1,
            t2,
            c1,
            c2,
            g1,
            hub,
            s1,
            s2,
            d1,
            d2,
            u1,
            u2,
            k1,
        }
    }

    pub fn office(&self) -> Principal {
        principal(Role::Office, self.district.id, &self.district.path)
    }
    pub fn town1(&self) -> Principal {
        principal(Role::Township, self.t1.id, &self.t1.path)
    }
    pub fn station1(&self) -> Principal {
        principal(Role::Station, self.s1.id, &self.c1.path)
    }
    pub fn deputy1(&self) -> Principal {
        principal(Role::Deputy, self.d1.id, &self.c1.path)
    }
    /// The handler of the township government unit (whose region is 一镇).
    pub fn dept(&self) -> Principal {
        principal(Role::Department, self.u2.id, &self.t1.path)
    }
    pub fn committee(&self) -> Principal {
        principal(Role::Committee, self.k1.id, &self.district.path)
    }

    pub async fn audit_count(&self) -> i64 {
        sqlx::query("SELECT COUNT(*) FROM audit_log")
            .fetch_one(self.db.pool())
            .await
            .unwrap()
            .get(0)
    }
}
