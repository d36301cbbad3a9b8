//! The citizen's side after a reply: rating (reopening once, then closing) with no staff
//! names shown, the phone number kept from non-handlers, and the multipart API.

use super::*;

/// A district office clerk with a name that must never reach a citizen.
const CLERK: &str = "周办事员";

fn clerk(app: &TestApp) -> Principal {
    let s = &app.demo.as_ref().unwrap().summary;
    Principal {
        user_id: 0,
        username: "clerk".into(),
        display_name: CLERK.into(),
        role: yidu_kernel::Role::Office,
        scope_id: Some(s.district_id),
        scope_path: s.district_path.clone(),
        must_change_password: false,
    }
}

async fn handle(o: &yidu_opinions::Opinions, p: &Principal, id: i64, actions: &[&str]) {
    for a in actions {
        let input = MoveInput {
            action: a.to_string(),
            note: if *a == "reply" {
                "已修复路灯。".into()
            } else {
                String::new()
            },
            ..Default::default()
        };
        moves::apply(o, p, "test", id, &input)
            .await
            .unwrap_or_else(|e| panic!("{a}: {e:?}"));
    }
}

#[tokio::test]
async fn rating_after_a_reply_reopens_once_then_closes_and_shows_no_staff_names() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let r = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "title": "路灯不亮", "body": "b", "phone": PHONE, "name": "赵六", "consent": true}),
        None,
    )
    .await;
    let receipt = r.json();
    let no = receipt["tracking_no"].as_str().unwrap().to_string();
    let code = receipt["query_code"].as_str().unwrap().to_string();
    let id = id_of(&app, &no).await;

    // Rating before the reply is refused.
    let early = app
        .post_json(
            &format!("/api/v1/track/{no}/rating"),
            None,
            &json!({"code": code, "satisfaction": "satisfied"}),
        )
        .await;
    assert_eq!(early.status, 409, "{}", early.text());

    handle(&o, &clerk(&app), id, &["accept", "start", "reply"]).await;
    let t = app
        .get(&format!("/api/v1/track/{no}?code={code}"), None)
        .await
        .json();
    assert_eq!(t["status"], "replied");
    assert_eq!(t["can_rate"], true);
    assert_eq!(t["reply_text"], "已修复路灯。");
    let text = t.to_string();
    assert!(
        !text.contains(CLERK) && !text.contains("clerk"),
        "no staff names: {text}"
    );

    // The status page through the browser, with the rating form; rate unsatisfied there.
    let b = app.browser();
    let page = b
        .post_form("/track", "/track", &[("tracking_no", &no), ("code", &code)])
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(html.contains("已修复路灯。"));
    assert!(html.contains("action=\"/track/rating\"") && html.contains("value=\"unsatisfied\""));
    assert!(!html.contains(CLERK) && !html.contains(PHONE) && !html.contains("赵六"));
    let bad = b
        .post_form(
            "/track",
            "/track/rating",
            &[
                ("tracking_no", &no),
                ("code", &code),
                ("satisfaction", "meh"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    let rated = b
        .post_form(
            "/track",
            "/track/rating",
            &[
                ("tracking_no", &no),
                ("code", &code),
                ("satisfaction", "unsatisfied"),
                ("comment", "还是不亮"),
            ],
        )
        .await;
    assert_eq!(rated.status, 200, "{}", rated.text());
    assert!(rated.text().contains("重新办理"));
    let t = app
        .get(&format!("/api/v1/track/{no}?code={code}"), None)
        .await
        .json();
    assert_eq!(t["status"], "in_progress");

    // Replied again; unsatisfied once more closes it (one reopen allowed by default).
    handle(&o, &clerk(&app), id, &["reply"]).await;
    let last = app
        .post_json(
            &format!("/api/v1/track/{no}/rating"),
            None,
            &json!({"code": code, "satisfaction": "unsatisfied", "comment": "仍不满意"}),
        )
        .await;
    assert_eq!(last.status, 200, "{}", last.text());
    assert_eq!(last.json()["status"], "closed");
    let t = app
        .get(&format!("/api/v1/track/{no}?code={code}"), None)
        .await;
    assert_eq!(t.json()["status"], "closed");
    assert_eq!(t.json()["can_rate"], false);
    let timeline = t.json()["timeline"].to_string();
    assert!(!timeline.contains(CLERK), "{timeline}");
    assert!(timeline.contains("群众"));

    // A wrong code cannot rate.
    let wrong = app
        .post_json(
            &format!("/api/v1/track/{no}/rating"),
            None,
            &json!({"code": "ZZZZZZ", "satisfaction": "satisfied"}),
        )
        .await;
    assert_eq!(wrong.status, 404);
}

#[tokio::test]
async fn the_phone_number_reaches_no_page_and_no_answer_for_a_non_handler() {
    let app = seeded().await;
    let (deputy, station) = codes(&app);
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let r = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "title": "占道经营", "body": "b", "phone": PHONE, "name": "钱七", "consent": true}),
        Some("phone-test"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains(PHONE));
    let again = post_opinion(
        &app,
        &json!({"deputy_code": deputy, "title": "x", "body": "y"}),
        Some("phone-test"),
    )
    .await;
    assert!(
        !again.text().contains(PHONE),
        "the stored receipt holds no personal data"
    );
    let no = r.json()["tracking_no"].as_str().unwrap().to_string();
    let code = r.json()["query_code"].as_str().unwrap().to_string();
    let id = id_of(&app, &no).await;

    let b = app.browser();
    let mut pages = vec![
        b.get(&format!("/c/d/{deputy}")).await.text(),
        b.get(&format!("/c/s/{station}")).await.text(),
        b.get(&format!("/c/d/{deputy}/new")).await.text(),
        b.post_form("/track", "/track", &[("tracking_no", &no), ("code", &code)])
            .await
            .text(),
        app.get(&format!("/api/v1/track/{no}?code={code}"), None)
            .await
            .text(),
    ];
    // Staff who do not handle it see a masked number.
    let staff = read::get(&o, &clerk(&app), id).await.unwrap();
    assert!(!staff.personal_data_visible);
    let masked = staff.citizen_phone.clone().unwrap();
    assert!(masked.contains('*') && masked.ends_with("5678"), "{masked}");
    pages.push(serde_json::to_string(&staff).unwrap());
    for (i, p) in pages.iter().enumerate() {
        assert!(!p.contains(PHONE), "page {i} shows the phone number");
        assert!(!p.contains("钱七"), "page {i} shows the name");
    }
}

#[tokio::test]
async fn the_multipart_api_takes_photos_with_double_submit_csrf_and_is_documented() {
    let app = seeded().await;
    let (deputy, _) = codes(&app);
    let png = tiny_png();
    let gif = b"GIF89a....".to_vec();
    let send = |photo: &[u8], token: &str| {
        let (ct, body) = multipart(&[
            ("deputy_code", None, deputy.as_bytes()),
            ("title", None, "路边树木倒伏".as_bytes()),
            ("body", None, "昨夜大风".as_bytes()),
            ("idempotency_key", None, b"mp-1"),
            ("photos", Some("p.jpg"), photo),
        ]);
        Request::post("/api/v1/opinions/multipart")
            .header(header::CONTENT_TYPE, ct)
            .header(header::COOKIE, "yidu_csrf=tok123")
            .header("x-csrf-token", token)
            .body(Body::from(body))
            .unwrap()
    };
    let forged = app.request(send(&png, "other")).await;
    assert_eq!(forged.status, 403, "CSRF applies to multipart");
    let bad = app.request(send(&gif, "tok123")).await;
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(bad.json()["details"][0]["field"], "photos[0]");
    let ok = app.request(send(&png, "tok123")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let again = app.request(send(&png, "tok123")).await;
    assert_eq!(ok.json(), again.json());
    let no = ok.json()["tracking_no"].as_str().unwrap().to_string();
    assert_eq!(count_no(&app, &no).await, 1);
    let id = id_of(&app, &no).await;
    let photos: i64 = sqlx::query("SELECT COUNT(*) FROM opinion_files WHERE opinion_id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(photos, 1);

    let doc = app.get("/api/openapi.json", None).await.json();
    for path in [
        "/api/v1/categories",
        "/api/v1/opinions",
        "/api/v1/opinions/multipart",
        "/api/v1/track/{tracking_no}",
        "/api/v1/track/{tracking_no}/rating",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
}
