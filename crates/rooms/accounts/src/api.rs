//! JSON API of the accounts room.

use crate::model::{NewUser, User};
use crate::service;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use yidu_audit::Actor;
use yidu_kernel::{AppError, Page, PageQuery, Principal};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

/// The accounts settings the API needs, kept in the router's state extension.
#[derive(Clone)]
pub struct AccountsState {
    pub config: crate::AccountsConfig,
}

pub fn router(config: crate::AccountsConfig) -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", get(get_user).patch(update_user))
        .route("/api/v1/users/{id}/password", post(reset_password))
        .layer(axum::Extension(AccountsState { config }))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        login,
        logout,
        me,
        change_password,
        list_users,
        create_user,
        get_user,
        update_user,
        reset_password
    ),
    components(schemas(
        LoginRequest,
        LoginResponse,
        NewUser,
        User,
        PasswordChange,
        UserUpdate,
        PasswordReset,
        Principal
    ))
)]
pub struct AccountsApi;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// UTC milliseconds.
    pub expires_at: i64,
    pub user: Principal,
}

/// Exchanges a username and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 422, description = "Wrong username or password", body = yidu_web::error::ErrorBody),
        (status = 423, description = "Locked after repeated failures", body = yidu_web::error::ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    axum::Extension(acc): axum::Extension<AccountsState>,
    meta: RequestMeta,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<LoginResponse> {
    let p = service::authenticate(
        &state.db,
        &acc.config,
        &req.username,
        &req.password,
        &meta.client,
    )
    .await?;
    let (token, expires_at) =
        service::issue_token(&state.db, &acc.config, &p, "api-login", &meta.client).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user: p,
    }))
}

/// Revokes the bearer token the request carries.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 200, description = "Token revoked")), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    meta: RequestMeta,
    headers: HeaderMap,
) -> ApiResult<serde_json::Value> {
    if let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        service::revoke_token(&state.db, token.trim(), &Actor::new(&p, &meta.client)).await?;
    }
    Ok(Json(serde_json::json!({"status": "logged_out"})))
}

/// The caller, with role and scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Principal)), security(("bearer" = [])))]
async fn me(ApiUser(p): ApiUser) -> ApiResult<Principal> {
    Ok(Json(p))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    #[schema(format = Password)]
    pub old_password: String,
    #[schema(format = Password)]
    pub new_password: String,
}

/// Changes the caller's own password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 200), (status = 422, body = yidu_web::error::ErrorBody)), security(("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    meta: RequestMeta,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<serde_json::Value> {
    service::change_own_password(
        &state.db,
        &p,
        &meta.client,
        &req.old_password,
        &req.new_password,
    )
    .await?;
    Ok(Json(serde_json::json!({"status": "changed"})))
}

/// Users within the caller's scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(PageQuery),
    responses((status = 200, body = Page<User>), (status = 403, body = yidu_web::error::ErrorBody)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<User>> {
    Ok(Json(service::list_users(&state.db, &p, &q).await?))
}

/// Creates a user bound to a role and scope; the user must change the password at first login.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 200, body = User), (status = 422, body = yidu_web::error::ErrorBody), (status = 403, body = yidu_web::error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    meta: RequestMeta,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<User> {
    Ok(Json(
        service::create_user(&state.db, &p, &meta.client, &req, true).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = yidu_web::error::ErrorBody)), security(("bearer" = [])))]
async fn get_user(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<User> {
    Ok(Json(service::get_user(&state.db, &p, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
}

/// Renames, disables or enables a user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 404, body = yidu_web::error::ErrorBody)), security(("bearer" = [])))]
async fn update_user(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    meta: RequestMeta,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<UserUpdate>,
) -> ApiResult<User> {
    if req.display_name.is_none() && req.disabled.is_none() {
        return Err(
            AppError::field("display_name", "没有要修改的内容", "nothing to change").into(),
        );
    }
    let mut user = service::get_user(&state.db, &p, id).await?;
    if let Some(name) = &req.display_name {
        user = service::rename(&state.db, &p, &meta.client, id, name).await?;
    }
    if let Some(d) = req.disabled {
        user = service::set_disabled(&state.db, &p, &meta.client, id, d).await?;
    }
    Ok(Json(user))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    #[schema(format = Password)]
    pub password: String,
}

/// Sets a new initial password for a user (who must change it at next login).
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "users", params(("id" = i64, Path)), request_body = PasswordReset,
    responses((status = 200), (status = 404, body = yidu_web::error::ErrorBody)), security(("bearer" = [])))]
async fn reset_password(
    State(state): State<AppState>,
    ApiUser(p): ApiUser,
    meta: RequestMeta,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> ApiResult<serde_json::Value> {
    service::reset_password(&state.db, &p, &meta.client, id, &req.password).await?;
    Ok(Json(serde_json::json!({"status": "reset"})))
}
