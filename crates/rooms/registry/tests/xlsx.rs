//! Spreadsheet import and export: templates, a good file, bad files rejected whole with
//! every problem by row and column, nothing half-imported, and export → import round
//! trips (the small test district and the demo district).

mod common;

use common::*;
use yidu_db::{Db, Row};
use yidu_kernel::{AppError, Principal};
use yidu_registry::xlsx::{self, sheet, Kind};

fn file(kind: Kind, rows: &[&[&str]]) -> Vec<u8> {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
    sheet::write("x", kind.columns(), &rows, false).unwrap()
}

/// (row, column) of each problem, sorted.
fn problems(e: &AppError) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = e
        .details()
        .iter()
        .map(|d| (d.row.unwrap_or(0), d.field.clone()))
        .collect();
    v.sort();
    v
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn totals(db: &Db) -> [i64; 6] {
    [
        count(db, "regions").await,
        count(db, "stations").await,
        count(db, "deputies").await,
        count(db, "units").await,
        count(db, "deputy_stations").await,
        count(db, "audit_log").await,
    ]
}

#[tokio::test]
async fn templates_have_the_headers_and_no_rows() {
    let w = World::new().await;
    for kind in Kind::ALL {
        let bytes = xlsx::template(kind).unwrap();
        assert!(bytes.starts_with(b"PK"));
        assert!(sheet::read(&bytes, kind.columns()).unwrap().rows.is_empty());
        let e = xlsx::import(&w.db, &admin(), "t", kind.as_str(), &bytes)
            .await
            .unwrap_err();
        assert_eq!(problems(&e), vec![(0, "文件".to_string())]);
    }
}

#[tokio::test]
async fn a_good_file_imports_every_row() {
    let w = World::new().await;
    let t = w.town1();
    let before = count(&w.db, "audit_log").await;
    // A community and its grids; the grid names its parent created two rows above.
    let regions = file(
        Kind::Regions,
        &[
            &["南社区", "社区", "一镇", "330203001002", ""],
            &[
                "南一网格",
                "网格",
                "一镇/南社区",
                "",
                r#"{"type":"Polygon","coordinates":[[[121.5,29.8],[121.6,29.8],[121.6,29.9],[121.5,29.8]]]}"#,
            ],
            &["南二网格", "网格", "测试区/一镇/南社区", "", ""],
        ],
    );
    let r = xlsx::import(&w.db, &t, "t", "regions", &regions)
        .await
        .unwrap();
    assert_eq!((r.rows, r.created), (3, 3));
    let stations = file(
        Kind::Stations,
        &[&[
            "南站",
            "站",
            "南社区",
            "南路 1 号",
            "周一至周五",
            "每月 1 日",
            "党群服务中心、社会治理中心",
            "",
        ]],
    );
    xlsx::import(&w.db, &t, "t", "stations", &stations)
        .await
        .unwrap();
    let deputies = file(
        Kind::Deputies,
        &[
            &[
                "王大",
                "男",
                "南社区",
                "区、乡镇",
                "第十八届",
                "农业",
                "村支书",
                "13800000001",
                "南站、东站",
                "",
            ],
            &[
                "王二",
                "女",
                "一镇/东社区",
                "乡镇",
                "",
                "",
                "",
                "",
                "",
                "ABCD2345",
            ],
        ],
    );
    let r = xlsx::import(&w.db, &t, "t", "deputies", &deputies)
        .await
        .unwrap();
    assert_eq!(r.created, 2);
    let units = file(
        Kind::Units,
        &[&["一镇派出所", "其他", "一镇", "孙八", "0574-1234567"]],
    );
    xlsx::import(&w.db, &t, "t", "departments", &units)
        .await
        .unwrap();

    let wang: (String, String, String) = {
        let row = sqlx::query("SELECT levels, phone, code FROM deputies WHERE name = '王二'")
            .fetch_one(w.db.pool())
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(
        wang,
        (
            "township".to_string(),
            String::new(),
            "ABCD2345".to_string()
        )
    );
    let links: i64 = sqlx::query(
        "SELECT COUNT(*) FROM deputy_stations ds JOIN deputies d ON d.id = ds.deputy_id WHERE d.name = '王大'",
    )
    .fetch_one(w.db.pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(links, 2);
    // One record per created row plus one per import.
    assert_eq!(
        count(&w.db, "audit_log").await,
        before + 3 + 1 + 1 + 2 + 1 + 1 + 1 + 1
    );
    let imports: i64 =
        sqlx::query("SELECT COUNT(*) FROM audit_log WHERE action = 'registry.import'")
            .fetch_one(w.db.pool())
            .await
            .unwrap()
            .get(0);
    assert_eq!(imports, 4);
}

#[tokio::test]
async fn a_bad_file_lists_every_problem_and_imports_nothing() {
    let w = World::new().await;
    let before = totals(&w.db).await;
    let deputies = file(
        Kind::Deputies,
        &[
            &["好人", "男", "东社区", "区", "", "", "", "", "东站", ""], // row 2: fine on its own
            &["", "男", "东社区", "区", "", "", "", "", "", ""],         // row 3: no name
            &["甲", "不详", "火星", "外星", "", "", "", "电话", "", ""], // row 4: gender, region, levels, phone
            &["乙", "女", "东社区", "区", "", "", "", "", "无此站", ""], // row 5: unknown station
            &["好人", "男", "东社区", "区", "", "", "", "", "", ""], // row 6: duplicate of row 2
            &["丙", "女", "西社区", "区", "", "", "", "", "", "BAD0"], // row 7: bad code
        ],
    );
    let e = xlsx::import(&w.db, &admin(), "t", "deputies", &deputies)
        .await
        .unwrap_err();
    let got = problems(&e);
    let want: Vec<(u32, String)> = [
        (3, "姓名"),
        (4, "所属区域"),
        (5, "所属联络站"),
        (6, "姓名"),
        (7, "编码"),
    ]
    .iter()
    .map(|(r, c)| (*r, c.to_string()))
    .collect();
    for w in &want {
        assert!(got.contains(w), "missing {w:?} in {got:?}");
    }
    // Row 4's region is unknown, so its other cells are checked only once that is fixed;
    // fix it and all of them are named.
    let deputies = file(
        Kind::Deputies,
        &[&["甲", "不详", "东社区", "外星", "", "", "", "电话", "", ""]],
    );
    let e = xlsx::import(&w.db, &admin(), "t", "deputies", &deputies)
        .await
        .unwrap_err();
    assert_eq!(
        problems(&e),
        vec![
            (2, "代表层级".into()),
            (2, "性别".into()),
            (2, "电话".into())
        ]
    );
    for d in e.details() {
        assert!(!d.zh.is_empty() && !d.en.is_empty());
    }
    assert_eq!(totals(&w.db).await, before, "nothing written");

    // A township may not import into another township; the first rows were fine and
    // are rolled back with the rest.
    let stations = file(
        Kind::Stations,
        &[
            &["新站", "点", "东社区", "", "", "", "", ""],
            &["越界站", "点", "西社区", "", "", "", "", ""],
            &["怪站", "城堡", "东社区", "", "", "", "银行", ""],
        ],
    );
    let e = xlsx::import(&w.db, &w.town1(), "t", "stations", &stations)
        .await
        .unwrap_err();
    assert_eq!(
        problems(&e),
        vec![
            (3, "所属区域".into()),
            (4, "共建阵地".into()),
            (4, "类型".into())
        ]
    );
    assert_eq!(totals(&w.db).await, before, "nothing written");

    // Regions: a wrong level, a child of a failed row, a sibling twice, a bad boundary.
    let regions = file(
        Kind::Regions,
        &[
            &["新社区", "区县", "一镇", "", ""],
            &["新网格", "网格", "一镇/新社区", "", ""],
            &["北社区", "社区", "一镇", "", ""],
            &["北社区", "社区", "一镇", "", ""],
            &["东社区", "社区", "一镇", "", "{}"],
        ],
    );
    let e = xlsx::import(&w.db, &w.office(), "t", "regions", &regions)
        .await
        .unwrap_err();
    assert_eq!(
        problems(&e),
        vec![
            (2, "层级".into()),
            (3, "上级区域".into()),
            (5, "名称".into()),
            (6, "名称".into()),
            (6, "边界GeoJSON".into())
        ]
    );
    assert_eq!(totals(&w.db).await, before, "nothing written");
}

#[tokio::test]
async fn wrong_files_are_rejected_by_content() {
    let w = World::new().await;
    let a = admin();
    let e = xlsx::import(&w.db, &a, "t", "deputies", b"name,phone\nx,1\n")
        .await
        .unwrap_err();
    assert_eq!(problems(&e), vec![(0, "文件".into())]);
    let e = xlsx::import(&w.db, &a, "t", "deputies", b"PK\x03\x04not really a zip")
        .await
        .unwrap_err();
    assert_eq!(problems(&e), vec![(0, "文件".into())]);
    // A units file offered as deputies: its headers are named, with the missing ones.
    let units = file(Kind::Units, &[&["x", "其他", "东社区", "", ""]]);
    let e = xlsx::import(&w.db, &a, "t", "deputies", &units)
        .await
        .unwrap_err();
    let got = problems(&e);
    for c in ["名称", "类型", "联系人", "联系电话", "姓名", "代表层级"] {
        assert!(got.contains(&(1, c.to_string())), "{c} in {got:?}");
    }
    assert!(matches!(
        xlsx::import(&w.db, &a, "t", "planets", &units).await,
        Err(AppError::BadRequest(_))
    ));
    assert!(matches!(
        xlsx::import(&w.db, &w.station1(), "t", "units", &units).await,
        Err(AppError::Forbidden)
    ));
}

/// Every kind's export, parsed back into cells.
async fn exported(db: &Db, p: &Principal) -> Vec<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let bytes = xlsx::export(db, p, kind.as_str()).await.unwrap();
        let t = sheet::read(&bytes, kind.columns()).unwrap();
        out.push(t.rows.into_iter().map(|(_, cells)| cells).collect());
    }
    out
}

async fn round_trip(db: &Db) {
    let a = admin();
    let first = exported(db, &a).await;
    let (copy, _g) = fresh_db().await;
    for kind in Kind::ALL {
        let bytes = xlsx::export(db, &a, kind.as_str()).await.unwrap();
        xlsx::import(&copy, &a, "t", kind.as_str(), &bytes)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{kind:?}: {:?}",
                    e.details().iter().take(5).collect::<Vec<_>>()
                )
            });
    }
    let second = exported(&copy, &a).await;
    // Rows come in tree order of ids, which differ between the two databases.
    for (k, (x, y)) in first.into_iter().zip(second).enumerate() {
        let (mut x, mut y) = (x, y);
        x.sort();
        y.sort();
        assert_eq!(x.len(), y.len(), "row count of {:?}", Kind::ALL[k]);
        if let Some(i) = (0..x.len()).find(|i| x[*i] != y[*i]) {
            panic!("{:?} differ: {:?} vs {:?}", Kind::ALL[k], x[i], y[i]);
        }
    }
}

#[tokio::test]
async fn export_then_import_gives_the_same_registry() {
    let w = World::new().await;
    round_trip(&w.db).await;
    // A township's export holds its own part only.
    let t = exported(&w.db, &w.town1()).await;
    assert_eq!(
        t[0].iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        vec!["一镇", "东社区", "一网格"]
    );
    assert_eq!(t[2].len(), 1);
}

#[tokio::test]
async fn the_demo_district_round_trips() {
    let (db, _g) = fresh_db().await;
    yidu_registry::demo::load_demo(&db).await.expect("demo");
    round_trip(&db).await;
}
