//! Attachments of a handler's reply: checked by content (PDF, JPEG, PNG), metadata
//! stripped from images, nothing stored when one file is bad, listed and downloadable
//! for staff who may read the item and for the citizen with tracking number and query
//! code, and for nobody else.

use crate::helpers::{csrf_in, multipart, TestApp, TestResponse};
use axum::body::Body;
use axum::http::{header, Request};
use serde_json::{json, Value};
use yidu_db::Row;

fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// A small JPEG whose EXIF block says where the camera stood.
fn jpeg_with_gps() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend(segment(0xE0, b"JFIF\0\x01\x01"));
    j.extend(segment(0xE1, b"Exif\0\0GPS 30.2741N 120.1551E"));
    j.extend(segment(0xDB, &[0u8; 65]));
    j.extend(segment(0xDA, &[1, 2, 3]));
    j.extend_from_slice(&[7, 7, 7, 0xFF, 0xD9]);
    j
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

async fn post_multipart(
    app: &TestApp,
    path: &str,
    auth: (&str, &str),
    parts: &[(&str, Option<&str>, &[u8])],
) -> TestResponse {
    let (ct, body) = multipart(parts);
    app.request(
        Request::post(path)
            .header(header::CONTENT_TYPE, ct)
            .header(auth.0, auth.1)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// A citizen's item with one photo through the deputy's code: (id, tracking no, code).
async fn submitted(app: &TestApp, title: &str) -> (i64, String, String) {
    let o = yidu_app::router::opinions(app.db.clone(), &app.config).unwrap();
    let s = yidu_opinions::model::Submission {
        title: title.into(),
        body: "楼道灯坏了两个月".into(),
        ..Default::default()
    };
    let r = yidu_opinions::service::submit::submit(
        &o,
        yidu_opinions::model::Channel::Deputy(
            app.demo.as_ref().unwrap().summary.deputy_code.clone(),
        ),
        &s,
        &[yidu_opinions::model::Upload {
            bytes: jpeg_with_gps(),
        }],
        &format!("198.51.100.{}", title.len()),
        None,
    )
    .await
    .unwrap();
    let id = sqlx::query("SELECT id FROM opinions WHERE tracking_no = $1")
        .bind(&r.tracking_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    (id, r.tracking_no, r.query_code)
}

async fn status(app: &TestApp, token: &str, id: i64) -> Value {
    let r = app
        .get(&format!("/api/v1/opinions/{id}"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test]
async fn a_reply_carries_attachments_to_staff_and_the_citizen() {
    let app = TestApp::spawn().await;
    let deputy = app.token("deputy1").await;
    let bearer = format!("Bearer {deputy}");
    let (id, no, code) = submitted(&app, "楼道灯不亮").await;
    let r = app
        .post_json(
            &format!("/api/v1/opinions/{id}/moves"),
            Some(&deputy),
            &json!({"action": "accept"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // Only replies take files.
    let r = post_multipart(
        &app,
        &format!("/api/v1/opinions/{id}/moves/multipart"),
        ("authorization", &bearer),
        &[
            ("action", None, b"start"),
            ("attachments", Some("a.pdf"), PDF),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"][0]["field"], "attachments");
    let r = app
        .post_json(
            &format!("/api/v1/opinions/{id}/moves"),
            Some(&deputy),
            &json!({"action": "start"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // One bad file refuses the whole reply; nothing is stored.
    let r = post_multipart(
        &app,
        &format!("/api/v1/opinions/{id}/moves/multipart"),
        ("authorization", &bearer),
        &[
            ("action", None, b"reply"),
            ("note", None, "已联系物业更换灯泡".as_bytes()),
            ("attachments", Some("答复函.pdf"), PDF),
            ("attachments", Some("x.pdf"), b"<html>not a pdf</html>"),
        ],
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["details"][0]["field"], "attachments[1]");
    assert_eq!(status(&app, &deputy, id).await["status"], "in_progress");

    let r = post_multipart(
        &app,
        &format!("/api/v1/opinions/{id}/moves/multipart"),
        ("authorization", &bearer),
        &[
            ("action", None, b"reply"),
            ("note", None, "已联系物业更换灯泡".as_bytes()),
            ("attachments", Some("答复函.pdf"), PDF),
            ("attachments", Some("../现场照片.jpg"), &jpeg_with_gps()),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "replied");
    let atts = v["opinion"]["attachments"].as_array().unwrap().clone();
    assert_eq!(atts.len(), 2, "{v}");
    assert_eq!(atts[0]["name"], "答复函.pdf");
    assert_eq!(atts[1]["name"], "现场照片.jpg");
    assert_eq!(atts[1]["content_type"], "image/jpeg");
    let (pdf_id, jpg_id) = (
        atts[0]["id"].as_i64().unwrap(),
        atts[1]["id"].as_i64().unwrap(),
    );
    // The photo the citizen sent is not an attachment of the reply.
    assert_eq!(v["opinion"]["photo_ids"].as_array().unwrap().len(), 1);
    let photo_id = v["opinion"]["photo_ids"][0].as_i64().unwrap();

    // Staff who may read the item download them; the image lost its GPS block.
    let r = app
        .get(
            &format!("/api/v1/opinions/{id}/attachments/{pdf_id}"),
            Some(&deputy),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PDF);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/pdf");
    let cd = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        cd.starts_with("attachment;") && cd.contains("UTF-8''"),
        "{cd}"
    );
    let office = app.token("office").await;
    let r = app
        .get(
            &format!("/api/v1/opinions/{id}/attachments/{jpg_id}"),
            Some(&office),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(!String::from_utf8_lossy(&r.body).contains("GPS"));
    assert!(r.body.ends_with(&[7, 7, 7, 0xFF, 0xD9]));
    // Someone who may not read the item learns nothing.
    let unit = app.token("dept1").await;
    let r = app
        .get(
            &format!("/api/v1/opinions/{id}/attachments/{pdf_id}"),
            Some(&unit),
        )
        .await;
    assert_eq!(r.status, 404);

    // The citizen sees and downloads them with the query code, only with it.
    let t = app
        .get(&format!("/api/v1/track/{no}?code={code}"), None)
        .await;
    assert_eq!(t.status, 200, "{}", t.text());
    assert_eq!(t.json()["attachments"].as_array().unwrap().len(), 2);
    let ok = app
        .get(
            &format!("/api/v1/track/{no}/attachments/{pdf_id}?code={code}"),
            None,
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.body, PDF);
    for path in [
        format!("/api/v1/track/{no}/attachments/{pdf_id}?code=WRONG1"),
        format!("/api/v1/track/{no}/attachments/{pdf_id}"),
        format!("/api/v1/track/{no}/attachments/{photo_id}?code={code}"),
    ] {
        assert_eq!(app.get(&path, None).await.status, 404, "{path}");
    }
    // Another item's code does not open this item's files.
    let (_, other_no, other_code) = submitted(&app, "另一件事").await;
    let r = app
        .get(
            &format!("/api/v1/track/{other_no}/attachments/{pdf_id}?code={other_code}"),
            None,
        )
        .await;
    assert_eq!(r.status, 404);

    // The tracking page lists them and downloads by form post (the code stays out of URLs).
    let b = app.browser();
    let r = b
        .post_form(
            "/track",
            "/track",
            &[("tracking_no", no.as_str()), ("code", code.as_str())],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("答复函.pdf") && html.contains("/track/attachment"));
    let csrf = csrf_in(&html).unwrap();
    let pdf_s = pdf_id.to_string();
    let r = b
        .post_form_raw(
            "/track/attachment",
            &[
                ("_csrf", csrf.as_str()),
                ("tracking_no", no.as_str()),
                ("code", code.as_str()),
                ("file_id", pdf_s.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, PDF);
    let r = b
        .post_form_raw(
            "/track/attachment",
            &[
                ("_csrf", csrf.as_str()),
                ("tracking_no", no.as_str()),
                ("code", "WRONG1"),
                ("file_id", pdf_s.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn staff_reply_with_files_on_the_detail_page() {
    let app = TestApp::spawn().await;
    let (id, _, _) = submitted(&app, "公园长椅损坏").await;
    let b = app.browser();
    b.login("office").await;
    let page = format!("/staff/opinions/{id}");
    let r = b
        .post_form(
            &page,
            &format!("/staff/opinions/{id}/moves"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let html = b.get(&page).await.text();
    assert!(
        html.contains("enctype=\"multipart/form-data\"") && html.contains("name=\"attachments\""),
        "the reply form takes files"
    );
    let csrf = csrf_in(&html).unwrap();
    let session = b.cookie("yidu_session").expect("logged in");
    let r = post_multipart(
        &app,
        &format!("/staff/opinions/{id}/moves/files?_csrf={csrf}"),
        ("cookie", &format!("yidu_session={session}")),
        &[
            ("action", None, b"answer_on_spot"),
            ("note", None, "已安排维修".as_bytes()),
            ("attachments", Some("维修单.pdf"), PDF),
        ],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let html = b.get(&page).await.text();
    assert!(html.contains("维修单.pdf"), "listed on the detail page");
    let file_id: i64 =
        sqlx::query("SELECT id FROM opinion_files WHERE opinion_id = $1 AND kind = 'reply'")
            .bind(id)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
    let r = b
        .get(&format!("/staff/opinions/{id}/attachments/{file_id}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, PDF);
    // Without the CSRF token the upload is refused.
    let r = post_multipart(
        &app,
        &format!("/staff/opinions/{id}/moves/files"),
        ("cookie", &format!("yidu_session={session}")),
        &[("action", None, b"close")],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
}
