//! The entry pages that belong to no single room: the public home, the deputy's home,
//! language and elder-mode switches, and the not-found page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use yidu_kernel::{AppError, Role};
use yidu_web::auth::{CsrfToken, MaybeUser};
use yidu_web::{cookies, AppState, PageError, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(public_home))
        .route("/deputy", get(deputy_home))
        .route("/prefs/lang/{lang}", get(set_lang))
        .route("/prefs/elder/{mode}", get(set_elder))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    shell: Shell,
    logged_in_home: Option<&'static str>,
}

async fn public_home(
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    MaybeUser(user): MaybeUser,
) -> PageResult {
    let shell = Shell::public(
        &meta,
        &csrf,
        meta.lang.pick("议督 · 群众端", "yidu · citizens"),
    );
    let logged_in_home = user.map(|u| yidu_accounts::pages::home_of(u.principal.role));
    let body = HomePage {
        shell,
        logged_in_home,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

#[derive(Template)]
#[template(path = "deputy_home.html")]
struct DeputyHome {
    shell: Shell,
    deputy: yidu_registry::model::Deputy,
    levels: String,
}

/// The deputy's own page: who they are as citizens see them, their code to show, their stations.
async fn deputy_home(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
) -> PageResult {
    let p = &user.principal;
    if p.role != Role::Deputy {
        return Ok(Redirect::to("/staff").into_response());
    }
    let id = p.scope_id.ok_or(AppError::NotFound)?;
    let deputy = yidu_registry::service::deputies::get(&state.db, p, id).await?;
    let levels = deputy
        .levels
        .iter()
        .map(|l| meta.lang.pick(l.label_zh(), l.label_en()))
        .collect::<Vec<_>>()
        .join(meta.lang.pick("、", ", "));
    let shell = Shell::for_user(&meta, &user, meta.lang.pick("我的", "Mine"));
    let body = DeputyHome {
        shell,
        deputy,
        levels,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

fn back_to(b: &Back) -> String {
    match b.back.as_deref() {
        Some(p) if p.starts_with('/') && !p.starts_with("//") => p.to_string(),
        _ => "/".to_string(),
    }
}

fn with_cookie(to: &str, cookie: axum::http::HeaderValue) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}

const YEAR: i64 = 365 * 24 * 3600;

async fn set_lang(Path(lang): Path<String>, Query(b): Query<Back>) -> PageResult {
    let code = match lang.as_str() {
        "en" => "en",
        "zh-CN" | "zh" => "zh-CN",
        _ => return Err(PageError::Error(AppError::NotFound)),
    };
    Ok(with_cookie(
        &back_to(&b),
        cookies::set(cookies::LANG, code, Some(YEAR), false, false),
    ))
}

async fn set_elder(Path(mode): Path<String>, Query(b): Query<Back>) -> PageResult {
    let v = match mode.as_str() {
        "on" => "1",
        "off" => "0",
        _ => return Err(PageError::Error(AppError::NotFound)),
    };
    Ok(with_cookie(
        &back_to(&b),
        cookies::set(cookies::ELDER, v, Some(YEAR), false, false),
    ))
}

/// Unknown paths: JSON under /api, a page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        yidu_web::ApiError(AppError::NotFound).into_response()
    } else {
        let mut r = PageError::Error(AppError::NotFound).into_response();
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    }
}
