//! Writes the files the browser tests upload: `deputies.xlsx` with two new deputies of
//! the demo district's first township, `photo.png` (a tiny valid photo for a citizen's
//! submission), and `fixture.json` naming them, the demo deputy's public code and the
//! unit `dept1` works for. It loads the demo
//! into a throwaway database to learn the generated region and station names, so the
//! file always matches the demo that `yidu serve --demo` loads.
//!
//! Usage: cargo run -p yidu --example browser_fixture -- OUT_DIR

use rust_xlsxwriter::Workbook;
use yidu_db::{Db, Row};

/// A 4×4 red PNG (RGB, one zlib-compressed IDAT): small, but a real image with valid
/// chunk checksums, so the photo check accepts it.
const PHOTO_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x08, 0x02, 0x00, 0x00, 0x00, 0x26, 0x93, 0x09,
    0x29, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x61, 0xa3, 0x01,
    0x47, 0x0c, 0xc4, 0x71, 0x00, 0xf1, 0xc3, 0x12, 0xc1, 0x5c, 0xec, 0x06, 0xd7, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

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
    let unit: String = sqlx::query("SELECT name FROM units WHERE id = $1")
        .bind(demo.unit_id)
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
    std::fs::write(out.join("photo.png"), PHOTO_PNG)?;
    let fixture = serde_json::json!({
        "deputies": names,
        "township": township,
        "station": station,
        "deputy_id": demo.deputy_id,
        "deputy_code": demo.deputy_code,
        "unit_id": demo.unit_id,
        "unit": unit,
    });
    std::fs::write(out.join("fixture.json"), fixture.to_string())?;
    println!("wrote {}", out.display());
    Ok(())
}
