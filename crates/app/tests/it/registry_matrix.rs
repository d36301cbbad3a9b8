//! Every role on every registry endpoint, in and out of scope. Reads outside scope
//! answer 404 (the caller learns nothing); writes by roles that may not write answer 403.

use crate::helpers::TestApp;
use serde_json::{json, Value};
use yidu_db::Row;

const ROLES: [&str; 7] = [
    "admin",
    "office",
    "town1",
    "station1",
    "deputy1",
    "dept1",
    "committee1",
];

struct Fixture {
    town_community: i64,
    other_community: i64,
    other_township: i64,
    station_in: i64,
    station_out: i64,
    deputy_in: i64,
    deputy_out: i64,
    unit: i64,
    township: i64,
}

async fn one(app: &TestApp, sql: &str, a: i64) -> i64 {
    sqlx::query(sql)
        .bind(a)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn fixture(app: &TestApp) -> Fixture {
    let s = &app.demo.as_ref().unwrap().summary;
    let township = s.township_id;
    let town_path: String = sqlx::query("SELECT path FROM regions WHERE id = $1")
        .bind(township)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    let other_township = one(
        app,
        "SELECT MIN(id) FROM regions WHERE level = 'township' AND id <> $1",
        township,
    )
    .await;
    let town_community = one(
        app,
        "SELECT MIN(id) FROM regions WHERE level = 'community' AND parent_id = $1",
        township,
    )
    .await;
    let other_community = one(
        app,
        "SELECT MIN(id) FROM regions WHERE level = 'community' AND parent_id = $1",
        other_township,
    )
    .await;
    let station_out: i64 = sqlx::query(
        "SELECT MIN(s.id) FROM stations s JOIN regions r ON r.id = s.region_id WHERE r.path LIKE $1 AND s.id <> $2",
    )
    .bind(format!("/%/{other_township}/%"))
    .bind(s.station_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    let deputy_out: i64 = sqlx::query(
        "SELECT MIN(d.id) FROM deputies d JOIN regions r ON r.id = d.region_id
         WHERE r.path NOT LIKE $1 AND d.id NOT IN (SELECT deputy_id FROM deputy_stations WHERE station_id = $2)",
    )
    .bind(format!("{town_path}%"))
    .bind(s.station_id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
    .get(0);
    Fixture {
        town_community,
        other_community,
        other_township,
        station_in: s.station_id,
        station_out,
        deputy_in: s.deputy_id,
        deputy_out,
        unit: s.unit_id,
        township,
    }
}

fn check(role: &str, what: &str, got: u16, allowed: &[u16], body: &str) {
    assert!(
        allowed.contains(&got),
        "{role} {what}: got {got}, expected one of {allowed:?}: {body}"
    );
}

#[tokio::test]
async fn reads_are_scoped_for_every_role() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    for role in ROLES {
        let t = app.token(role).await;
        let get = |path: String| {
            let t = t.clone();
            let app = &app;
            async move {
                let r = app.get(&path, Some(&t)).await;
                (r.status, r.text())
            }
        };
        // Lists never fail with a server error; roles without a right get 403.
        for list in ["regions", "stations", "deputies", "units", "committees"] {
            let (st, body) = get(format!("/api/v1/{list}")).await;
            check(role, &format!("list {list}"), st, &[200, 403], &body);
        }
        // Out-of-scope objects of another township.
        let (st, body) = get(format!("/api/v1/regions/{}", f.other_community)).await;
        let expected: &[u16] = match role {
            "admin" | "office" | "dept1" | "committee1" => &[200],
            _ => &[404],
        };
        check(role, "other township's community", st, expected, &body);
        let (st, body) = get(format!("/api/v1/stations/{}", f.station_out)).await;
        let expected: &[u16] = match role {
            "admin" | "office" | "committee1" => &[200],
            _ => &[404],
        };
        check(role, "other township's station", st, expected, &body);
        let (st, body) = get(format!("/api/v1/deputies/{}", f.deputy_out)).await;
        let expected: &[u16] = match role {
            "admin" | "office" | "committee1" => &[200],
            _ => &[404],
        };
        check(role, "deputy elsewhere", st, expected, &body);
        // In-scope objects.
        let (st, body) = get(format!("/api/v1/stations/{}", f.station_in)).await;
        let expected: &[u16] = match role {
            "dept1" => &[404],
            _ => &[200],
        };
        check(role, "own township's station", st, expected, &body);
        let (st, body) = get(format!("/api/v1/deputies/{}", f.deputy_in)).await;
        let expected: &[u16] = match role {
            "dept1" => &[404],
            _ => &[200],
        };
        check(role, "own station's deputy", st, expected, &body);
        let (st, body) = get(format!("/api/v1/units/{}", f.unit)).await;
        // Everyone assigns items to the district's units, so everyone reads them.
        check(role, "district unit", st, &[200], &body);
        // Phones: only staff whose scope covers the deputy, and the deputy, see them.
        if st == 200 && role == "committee1" {
            let d = app
                .get(&format!("/api/v1/deputies/{}", f.deputy_in), Some(&t))
                .await
                .json();
            assert!(
                d.get("phone").is_none(),
                "committee staff see no phones: {d}"
            );
        }
    }
}

fn deputy_body(region: i64, name: &str) -> Value {
    json!({"region_id": region, "name": name, "gender": "female", "levels": ["township"], "term": "第十八届",
           "sector": "", "duties": "", "phone": "", "station_ids": []})
}

#[tokio::test]
async fn writes_are_scoped_for_every_role() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    for role in ROLES {
        let t = app.token(role).await;
        // Create a community in the first township.
        let r = app
            .post_json(
                "/api/v1/regions",
                Some(&t),
                &json!({"parent_id": f.township, "level": "community", "name": format!("测试社区{role}")}),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" | "town1" => &[200, 201],
            _ => &[403],
        };
        check(
            role,
            "create community in town1's township",
            r.status,
            expected,
            &r.text(),
        );
        // Create one in another township.
        let r = app
            .post_json(
                "/api/v1/regions",
                Some(&t),
                &json!({"parent_id": f.other_township, "level": "community", "name": format!("外镇社区{role}")}),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" => &[200, 201],
            _ => &[403, 404, 422],
        };
        check(
            role,
            "create community in another township",
            r.status,
            expected,
            &r.text(),
        );
        // Create a deputy in and out of scope.
        let r = app
            .post_json(
                "/api/v1/deputies",
                Some(&t),
                &deputy_body(f.town_community, &format!("甲{role}")),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" | "town1" => &[200, 201],
            _ => &[403],
        };
        check(
            role,
            "create deputy in scope",
            r.status,
            expected,
            &r.text(),
        );
        let r = app
            .post_json(
                "/api/v1/deputies",
                Some(&t),
                &deputy_body(f.other_community, &format!("乙{role}")),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" => &[200, 201],
            _ => &[403, 404, 422],
        };
        check(
            role,
            "create deputy out of scope",
            r.status,
            expected,
            &r.text(),
        );
        // Edit a deputy elsewhere.
        let r = app
            .patch_json(
                &format!("/api/v1/deputies/{}", f.deputy_out),
                Some(&t),
                &json!({"duties": "改"}),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" => &[200],
            _ => &[403, 404],
        };
        check(role, "edit deputy elsewhere", r.status, expected, &r.text());
        // Edit the unit's contacts: the unit's own handler may.
        let r = app
            .patch_json(
                &format!("/api/v1/units/{}", f.unit),
                Some(&t),
                &json!({"contact_name": format!("联系人{role}")}),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" | "dept1" => &[200],
            _ => &[403, 404],
        };
        check(role, "edit unit contacts", r.status, expected, &r.text());
        // Retire a station elsewhere.
        let r = app
            .post_json(
                &format!("/api/v1/stations/{}/retire", f.station_out),
                Some(&t),
                &json!({}),
            )
            .await;
        let expected: &[u16] = match role {
            "admin" | "office" => &[200, 409],
            _ => &[403, 404],
        };
        check(
            role,
            "retire a station elsewhere",
            r.status,
            expected,
            &r.text(),
        );
    }
    // No request above left a half-written row or a broken audit chain.
    let report = yidu_audit::verify(&app.db).await.unwrap();
    assert!(report.first_problem.is_none(), "{report:?}");
}

#[tokio::test]
async fn anonymous_callers_get_401_everywhere() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/regions",
        "/api/v1/stations",
        "/api/v1/deputies",
        "/api/v1/units",
        "/api/v1/committees",
        "/api/v1/registry/counts",
    ] {
        assert_eq!(app.get(path, None).await.status, 401, "{path}");
    }
    let r = app
        .post_json(
            "/api/v1/regions",
            None,
            &json!({"parent_id": 1, "level": "community", "name": "x"}),
        )
        .await;
    assert_eq!(r.status, 401);
}
