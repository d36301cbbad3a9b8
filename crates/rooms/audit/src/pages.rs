//! 工作端 page of the audit room: list and filter records.

use crate::model::AuditRecord;
use crate::service::{self, AuditFilter};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use yidu_kernel::{Page, PageQuery};
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/audit", get(audit_page))
}

#[derive(Template)]
#[template(path = "audit_list.html")]
struct AuditList {
    shell: Shell,
    filter: AuditFilter,
    page: Page<AuditRecord>,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn page_href(f: &AuditFilter, page: u32) -> String {
    let pairs = [
        ("action", f.action.clone().unwrap_or_default()),
        ("object_type", f.object_type.clone().unwrap_or_default()),
        ("object_id", f.object_id.clone().unwrap_or_default()),
        ("actor", f.actor.clone().unwrap_or_default()),
        ("from", f.from.clone().unwrap_or_default()),
        ("to", f.to.clone().unwrap_or_default()),
        ("page", page.to_string()),
    ];
    format!(
        "/staff/audit?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

async fn audit_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(filter): Query<AuditFilter>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let page = service::list(&state.db, &user.principal, &filter, &q).await?;
    let shell = Shell::for_user(&meta, &user, meta.lang.pick("审计记录", "Audit records"));
    let prev_href = (page.page > 1).then(|| page_href(&filter, page.page - 1));
    let next_href = (page.page < page.pages()).then(|| page_href(&filter, page.page + 1));
    let body = AuditList {
        shell,
        filter,
        page,
        prev_href,
        next_href,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}
