//! The three terminals: citizens' code pages, the deputy's home, the staff desk.

use crate::helpers::TestApp;
use yidu_db::Row;

#[tokio::test]
async fn a_deputy_logs_in_to_their_own_page_with_their_code() {
    let app = TestApp::spawn().await;
    let s = &app.demo.as_ref().unwrap().summary;
    let b = app.browser();
    let r = b.login("deputy1").await;
    assert_eq!(r.location(), "/deputy");
    let page = b.get("/deputy").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains(&format!("/c/d/{}/qr.svg", s.deputy_code)),
        "shows the deputy's own code"
    );
    assert!(html.contains("face-deputy"));
    // Staff are sent to their desk instead.
    let staff = app.browser();
    assert_eq!(staff.login("station1").await.location(), "/staff");
    assert_eq!(staff.get("/deputy").await.location(), "/staff");
}

#[tokio::test]
async fn public_code_pages_show_duties_but_no_contact_data() {
    let app = TestApp::spawn().await;
    let s = &app.demo.as_ref().unwrap().summary;
    let row = sqlx::query("SELECT name, phone FROM deputies WHERE id = $1")
        .bind(s.deputy_id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    let (name, phone): (String, String) = (row.get(0), row.get(1));
    let page = app.get(&format!("/c/d/{}", s.deputy_code), None).await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains(&name));
    assert!(
        !phone.is_empty() && !html.contains(&phone),
        "no phone number on a public page"
    );
    let station = app.get(&format!("/c/s/{}", s.station_code), None).await;
    assert_eq!(station.status, 200);
    assert!(
        station.text().contains(&name),
        "the station lists its deputies"
    );
    let svg = app
        .get(&format!("/c/d/{}/qr.svg", s.deputy_code), None)
        .await;
    assert_eq!(svg.status, 200);
    assert!(svg.text().contains("<svg"));
    let png = app
        .get(&format!("/c/s/{}/qr.png", s.station_code), None)
        .await;
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(app.get("/c/d/NOSUCHCODE", None).await.status, 404);
}
