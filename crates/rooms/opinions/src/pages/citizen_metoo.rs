//! 同问 without script. The citizen form's script offers similar open items as the citizen
//! types; a browser that runs no script gets the same offer from the server instead: the
//! first send of a form that nobody checked for similar items comes back once as a step
//! listing them (titles and 同问 counts, nothing about the people who filed them), each
//! with a plain form posting to `/metoo`, and the filled-in form below it to file anyway.
//!
//! `/metoo` is an ordinary form post, so the shell's CSRF check covers it (double-submit
//! cookie for anonymous forms). It is idempotent: one 同问 per client and item (the
//! service's unique index), so a double click or a resend answers "already recorded".

use crate::assist::metoo::{self, MetooReceipt, PublicSimilar, SimilarQuery};
use crate::model::Submission;
use crate::Opinions;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::Extension;
use serde::Deserialize;
use yidu_kernel::{AppError, AppResult};
use yidu_web::auth::CsrfToken;
use yidu_web::form::PageForm;
use yidu_web::{PageResult, RequestMeta, Shell};

/// Open items like the submission in its place (the grid chosen, else the code's region).
pub(super) async fn offer(
    o: &Opinions,
    deputy_code: Option<&str>,
    station_code: Option<&str>,
    s: &Submission,
) -> AppResult<Vec<PublicSimilar>> {
    let q = SimilarQuery {
        region_id: None,
        grid_id: s.grid_id,
        deputy_code: deputy_code.map(str::to_string),
        station_code: station_code.map(str::to_string),
        title: s.title.clone(),
        body: s.body.clone(),
    };
    metoo::similar_public(o, &q).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MetooForm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    back: String,
}

/// A path of this site's own citizen forms, else the general form (never another site).
fn safe_back(back: &str) -> String {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && back.len() <= 200
        && back
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_'));
    if ok {
        back.to_string()
    } else {
        "/new".to_string()
    }
}

#[derive(Template)]
#[template(path = "citizen_metoo.html")]
struct MetooPage {
    shell: Shell,
    receipt: Option<MetooReceipt>,
    /// Why it was not recorded (zh, en), when it was not.
    refused: Option<(String, String)>,
    back: String,
}

pub(super) async fn metoo_post(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    PageForm(f): PageForm<MetooForm>,
) -> PageResult {
    let back = safe_back(f.back.trim());
    let id: i64 = f.id.trim().parse().map_err(|_| AppError::NotFound)?;
    let (status, receipt, refused) = match metoo::metoo(&o, &meta.client, id).await {
        Ok(r) => (StatusCode::OK, Some(r), None),
        Err(AppError::RateLimited) => (
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some((
                "操作过于频繁，请稍后再试".to_string(),
                "Too many requests; please try again later".to_string(),
            )),
        ),
        Err(AppError::Conflict(m)) => (StatusCode::CONFLICT, None, Some((m.zh, m.en))),
        Err(e) => return Err(e.into()),
    };
    let title = meta.lang.pick("同问", "Me too");
    let page = MetooPage {
        shell: Shell::public(&meta, &csrf, title),
        receipt,
        refused,
        back,
    };
    let body = page.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_back;

    #[test]
    fn back_stays_on_this_site() {
        assert_eq!(safe_back("/c/d/AB12cd/new"), "/c/d/AB12cd/new");
        assert_eq!(safe_back("//evil.example/new"), "/new");
        assert_eq!(safe_back("https://evil.example/"), "/new");
        assert_eq!(safe_back("/new?x=\"><script>"), "/new");
    }
}
