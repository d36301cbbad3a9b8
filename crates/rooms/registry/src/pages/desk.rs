//! The staff desk (工作台): counts of what lies within the user's scope, and links.

use super::{manages, render, shell, FlashQuery};
use crate::model::Counts;
use crate::service;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use yidu_kernel::Role;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

#[derive(Template)]
#[template(path = "reg_desk.html")]
struct DeskPage {
    shell: Shell,
    counts: Counts,
    scope_name: String,
    manages: bool,
}

pub async fn desk(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let p = &user.principal;
    // Deputies have their own terminal.
    if p.role == Role::Deputy {
        return Ok(Redirect::to("/deputy").into_response());
    }
    let counts = service::counts(&state.db, p).await?;
    let scope_name = match p.role {
        Role::Admin => meta.lang.pick("全部", "Everything").to_string(),
        _ => {
            let id = p
                .scope_path
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .and_then(|s| s.parse().ok());
            match id {
                Some(id) => service::regions::get(&state.db, p, id)
                    .await
                    .map(|r| r.full_name)
                    .unwrap_or_default(),
                None => String::new(),
            }
        }
    };
    let page = DeskPage {
        shell: shell(&meta, &user, "工作台", "Desk", fq.flash.as_deref()),
        counts,
        scope_name,
        manages: manages(p),
    };
    render(page, StatusCode::OK)
}
