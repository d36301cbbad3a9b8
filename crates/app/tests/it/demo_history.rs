//! The demo's history: each item has its own query code, derived from the seed and the
//! item's number, and the sample the demo prints opens the tracking page.

use crate::helpers::TestApp;
use std::collections::HashSet;
use yidu_db::Row;
use yidu_opinions::demo::{query_code, tracking_sample};
use yidu_opinions::service::read;

#[tokio::test]
async fn every_demo_item_has_its_own_code_and_the_printed_sample_works() {
    let app = TestApp::spawn().await;
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let seed = yidu_app::demo::HISTORY_SEED;
    yidu_opinions::demo::load_history(&o, 60, seed)
        .await
        .unwrap();

    let hashes: Vec<String> =
        sqlx::query("SELECT query_hash FROM opinions WHERE tracking_no LIKE 'D%'")
            .fetch_all(app.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(hashes.len(), 60);
    let codes: HashSet<String> = (0..60).map(|i| query_code(seed, i)).collect();
    assert!(codes.len() >= 59, "codes differ from item to item");
    assert_eq!(query_code(seed, 5), query_code(seed, 5), "deterministic");

    let (no, code) = tracking_sample(&o, seed).await.unwrap().expect("a sample");
    let v = read::track(&o, &no, &code).await.expect("the sample opens");
    assert_eq!(v.tracking_no, no);
    // The old shared code no longer opens anything, nor does another item's code.
    assert!(read::track(&o, &no, "DEMO22").await.is_err());
    let idx: usize = no[no.len() - 6..].parse().unwrap();
    let other = query_code(seed, idx + 1);
    if other != code {
        assert!(read::track(&o, &no, &other).await.is_err());
    }
    // Through the page, as the demo's printout tells people to.
    let b = app.browser();
    let r = b
        .post_form(
            "/track",
            "/track",
            &[("tracking_no", no.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(&no));

    // The demo report prints the sample.
    let report = yidu_app::demo::DemoReport {
        summary: app.demo.as_ref().unwrap().summary.clone(),
        users: vec![],
        password: String::new(),
        history: 60,
        tracking_sample: Some((no.clone(), code.clone())),
    };
    let text = report.describe();
    assert!(
        text.contains(&no) && text.contains(&code) && text.contains("/track"),
        "{text}"
    );
}
