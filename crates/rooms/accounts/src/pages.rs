//! Pages of the accounts room: log in and out, change password, manage users.

use crate::api::AccountsState;
use crate::model::{NewUser, User};
use crate::service;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_audit::Actor;
use yidu_kernel::{AppError, FieldError, Page, PageQuery, Role};
use yidu_web::auth::{CsrfToken, MaybeUser};
use yidu_web::form::PageForm;
use yidu_web::{cookies, AppState, PageError, PageResult, PageUser, RequestMeta, Shell};

pub fn router(config: crate::AccountsConfig) -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/password", get(password_page).post(password_submit))
        .route("/staff/users", get(users_page))
        .route("/staff/users/new", get(new_user_page).post(new_user_submit))
        .route("/staff/users/{id}/disable", post(disable_user))
        .route("/staff/users/{id}/enable", post(enable_user))
        .route("/staff/users/{id}/reset", post(reset_user))
        .merge(crate::pages_import::router())
        .layer(Extension(AccountsState { config }))
}

fn render(t: impl Template, status: StatusCode) -> PageResult {
    let body = t.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

/// Only local paths are accepted as a place to return to after login.
fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    (n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\")).then(|| n.to_string())
}

pub fn home_of(role: Role) -> &'static str {
    if role == Role::Deputy {
        "/deputy"
    } else {
        "/staff"
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Shell,
    username: String,
    next: String,
    error: Option<(String, String)>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    MaybeUser(user): MaybeUser,
    Query(q): Query<NextQuery>,
) -> PageResult {
    if let Some(u) = user {
        return Ok(Redirect::to(home_of(u.principal.role)).into_response());
    }
    let shell = Shell::public(&meta, &csrf, meta.lang.pick("登录", "Log in"));
    render(
        LoginPage {
            shell,
            username: String::new(),
            next: safe_next(q.next.as_deref()).unwrap_or_default(),
            error: None,
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    Extension(acc): Extension<AccountsState>,
    meta: RequestMeta,
    CsrfToken(csrf): CsrfToken,
    PageForm(form): PageForm<LoginForm>,
) -> PageResult {
    match service::authenticate(
        &state.db,
        &acc.config,
        &form.username,
        &form.password,
        &meta.client,
    )
    .await
    {
        Ok(p) => {
            let (token, _csrf) = service::start_session(&state.db, &p, &meta.client).await?;
            let to = if p.must_change_password {
                "/password".to_string()
            } else {
                safe_next(form.next.as_deref()).unwrap_or_else(|| home_of(p.role).to_string())
            };
            let mut resp = Redirect::to(&to).into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                cookies::set(
                    cookies::SESSION,
                    &token,
                    None,
                    true,
                    state.config.secure_cookies,
                ),
            );
            Ok(resp)
        }
        Err(e @ (AppError::Validation(_) | AppError::Locked(_))) => {
            let msg = match &e {
                AppError::Validation(v) => (v[0].zh.clone(), v[0].en.clone()),
                other => {
                    let m = other.message();
                    (m.zh, m.en)
                }
            };
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            let shell = Shell::public(&meta, &csrf, meta.lang.pick("登录", "Log in"));
            render(
                LoginPage {
                    shell,
                    username: form.username,
                    next: safe_next(form.next.as_deref()).unwrap_or_default(),
                    error: Some(msg),
                },
                status,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    headers: axum::http::HeaderMap,
) -> PageResult {
    if let Some(token) = cookies::get(&headers, cookies::SESSION) {
        service::end_session(&state.db, token, &Actor::new(&user.principal, &meta.client)).await?;
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        cookies::set(
            cookies::SESSION,
            "",
            Some(0),
            true,
            state.config.secure_cookies,
        ),
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    shell: Shell,
    forced: bool,
    errors: Vec<FieldError>,
}

async fn password_page(meta: RequestMeta, user: PageUser) -> PageResult {
    let forced = user.principal.must_change_password;
    let shell = Shell::for_user(&meta, &user, meta.lang.pick("修改密码", "Change password"));
    render(
        PasswordPage {
            shell,
            forced,
            errors: vec![],
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    old_password: String,
    new_password: String,
    confirm_password: String,
}

async fn password_submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(form): PageForm<PasswordForm>,
) -> PageResult {
    let result = if form.new_password != form.confirm_password {
        Err(AppError::field(
            "confirm_password",
            "两次输入的新密码不一致",
            "the two new passwords differ",
        ))
    } else {
        service::change_own_password(
            &state.db,
            &user.principal,
            &meta.client,
            &form.old_password,
            &form.new_password,
        )
        .await
    };
    match result {
        Ok(()) => Ok(Redirect::to(home_of(user.principal.role)).into_response()),
        Err(AppError::Validation(errors)) => {
            let forced = user.principal.must_change_password;
            let shell =
                Shell::for_user(&meta, &user, meta.lang.pick("修改密码", "Change password"));
            render(
                PasswordPage {
                    shell,
                    forced,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    shell: Shell,
    page: Page<User>,
    me: i64,
}

async fn users_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let page = service::list_users(&state.db, &user.principal, &q).await?;
    let me = user.principal.user_id;
    let shell = Shell::for_user(&meta, &user, meta.lang.pick("用户", "Users"));
    render(UsersPage { shell, page, me }, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewUserPage {
    shell: Shell,
    roles: Vec<(&'static str, &'static str, &'static str)>,
    form: NewUserForm,
    errors: Vec<FieldError>,
}

#[derive(Deserialize, Default)]
struct NewUserForm {
    username: String,
    display_name: String,
    role: String,
    scope_id: String,
    password: String,
}

fn creatable_roles(actor: Role) -> Vec<(&'static str, &'static str, &'static str)> {
    Role::ALL
        .into_iter()
        .filter(|r| match actor {
            Role::Admin => true,
            Role::Office => *r != Role::Admin,
            Role::Township => matches!(r, Role::Station | Role::Deputy),
            _ => false,
        })
        .map(|r| (r.as_str(), r.label_zh(), r.label_en()))
        .collect()
}

async fn new_user_page(meta: RequestMeta, user: PageUser) -> PageResult {
    let roles = creatable_roles(user.principal.role);
    if roles.is_empty() {
        return Err(AppError::Forbidden.into());
    }
    let shell = Shell::for_user(&meta, &user, meta.lang.pick("新建用户", "New user"));
    render(
        NewUserPage {
            shell,
            roles,
            form: NewUserForm::default(),
            errors: vec![],
        },
        StatusCode::OK,
    )
}

async fn new_user_submit(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(form): PageForm<NewUserForm>,
) -> PageResult {
    let scope_id = form.scope_id.trim();
    let parsed_scope = if scope_id.is_empty() {
        Ok(None)
    } else {
        scope_id.parse::<i64>().map(Some)
    };
    let result = match parsed_scope {
        Err(_) => Err(AppError::field(
            "scope_id",
            "所属范围编号应为数字",
            "scope id must be a number",
        )),
        Ok(scope) => {
            let input = NewUser {
                username: form.username.clone(),
                display_name: form.display_name.clone(),
                role: form.role.clone(),
                scope_id: scope,
                password: form.password.clone(),
            };
            service::create_user(&state.db, &user.principal, &meta.client, &input, true).await
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to("/staff/users").into_response()),
        Err(AppError::Validation(errors)) => {
            let roles = creatable_roles(user.principal.role);
            let shell = Shell::for_user(&meta, &user, meta.lang.pick("新建用户", "New user"));
            let form = NewUserForm {
                password: String::new(),
                ..form
            };
            render(
                NewUserPage {
                    shell,
                    roles,
                    form,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn disable_user(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    service::set_disabled(&state.db, &user.principal, &meta.client, id, true).await?;
    Ok(Redirect::to("/staff/users").into_response())
}

async fn enable_user(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    service::set_disabled(&state.db, &user.principal, &meta.client, id, false).await?;
    Ok(Redirect::to("/staff/users").into_response())
}

#[derive(Deserialize)]
struct ResetForm {
    password: String,
}

async fn reset_user(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(form): PageForm<ResetForm>,
) -> PageResult {
    service::reset_password(&state.db, &user.principal, &meta.client, id, &form.password)
        .await
        .map_err(PageError::from)?;
    Ok(Redirect::to("/staff/users").into_response())
}
