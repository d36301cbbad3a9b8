//! Writes the files the browser tests upload: `deputies.xlsx` with two new deputies of
//! the demo district's first township, and `fixture.json` naming them. It loads the demo
//! into a throwaway database to learn the generated region and station names, so the
//! file always matches the demo that `yidu serve --demo` loads.
//!
//! Usage: cargo run -p yidu --example browser_fixture -- OUT_DIR

use rust_xlsxwriter::Workbook;
use yidu_db::{Db, Row};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "browser-fixtures".into()),
    );
    std::fs::create_dir_all(&out)?;
    let (url, _guard) = yidu_db::testing::fresh_sqlite_url()?;
    let db = Db::connect(&url).await?;
    yidu_db::migrate::run(&db).await?;
    let demo = yidu_registry::demo::load_demo(&db).await?;
    let township: String = sqlx::query("SELECT name FROM regions WHERE id = $1")
        .bind(demo.township_id)
        .fetch_one(db.pool())
        .await?
        .get(0);
    let station: String = sqlx::query("SELECT name FROM stations WHERE id = $1")
        .bind(demo.station_id)
        .fetch_one(db.pool())
        .await?
        .get(0);
    db.close().await;

    let names = ["试导入甲", "试导入乙"];
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let header = yidu_registry::xlsx::DEPUTY_COLUMNS;
    for (c, col) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, col.header)?;
    }
    for (r, name) in names.iter().enumerate() {
        let row = (r + 1) as u32;
        let values = [
            *name,
            "女",
            township.as_str(),
            "区",
            "第十八届",
            "社会福利界",
            "社区党委书记",
            "13700000000",
            station.as_str(),
            "",
        ];
        for (c, col) in header.iter().enumerate() {
            let v = values.get(c).copied().unwrap_or("");
            sheet.write_string(row, c as u16, if col.header == "姓名" { name } else { v })?;
        }
    }
    book.save(out.join("deputies.xlsx"))?;
    let fixture = serde_json::json!({"deputies": names, "township": township, "station": station});
    std::fs::write(out.join("fixture.json"), fixture.to_string())?;
    println!("wrote {}", out.display());
    Ok(())
}
