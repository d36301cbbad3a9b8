//! Managing external channels: pages under /staff/channels (list, create showing the key
//! once, limit to categories, revoke) and the JSON API under /api/v1/channels.

use super::channels::{self, Channel, NewChannelKey};
use crate::Opinions;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use yidu_db::Row;
use yidu_kernel::AppResult;
use yidu_web::form::{ApiJson, PageForm};
use yidu_web::{ApiResult, ApiUser, AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/channels", get(list_page).post(create_page))
        .route("/staff/channels/{id}/categories", post(limit_page))
        .route("/staff/channels/{id}/revoke", post(revoke_page))
        .route("/api/v1/channels", get(list_channels).post(create_channel))
        .route("/api/v1/channels/{id}/categories", post(limit_channel))
        .route("/api/v1/channels/{id}/revoke", post(revoke_channel))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list_channels, create_channel, limit_channel, revoke_channel),
    components(schemas(Channel, NewChannelKey, NewChannel, ChannelCategories))
)]
pub struct ChannelsApi;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewChannel {
    pub name: String,
    /// Categories it may file under (with subcategories); empty = all.
    #[serde(default)]
    pub category_ids: Vec<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChannelCategories {
    /// Empty = all categories.
    #[serde(default)]
    pub category_ids: Vec<i64>,
}

/// External channels (admin and office).
#[utoipa::path(
    get, path = "/api/v1/channels", tag = "channels",
    responses(
        (status = 200, description = "Every channel, live ones first", body = Vec<Channel>),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_channels(
    Extension(o): Extension<Opinions>,
    ApiUser(p): ApiUser,
) -> ApiResult<Vec<Channel>> {
    Ok(Json(channels::list(&o, &p).await?))
}

/// Creates a channel; the API key is in this answer only.
#[utoipa::path(
    post, path = "/api/v1/channels", tag = "channels",
    request_body = NewChannel,
    responses(
        (status = 200, description = "The channel and its API key (shown once)", body = NewChannelKey),
        (status = 400, description = "name or category_ids invalid", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 409, description = "The name is taken", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_channel(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    ApiJson(input): ApiJson<NewChannel>,
) -> ApiResult<NewChannelKey> {
    let (channel, api_key) =
        channels::create_channel(&o, &p, &meta.client, &input.name, &input.category_ids).await?;
    Ok(Json(NewChannelKey { channel, api_key }))
}

/// Limits a channel to categories (empty = all).
#[utoipa::path(
    post, path = "/api/v1/channels/{id}/categories", tag = "channels",
    params(("id" = i64, Path, description = "Channel id")),
    request_body = ChannelCategories,
    responses(
        (status = 200, description = "The channel", body = Channel),
        (status = 400, description = "A category does not exist", body = yidu_web::error::ErrorBody),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such channel", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn limit_channel(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ChannelCategories>,
) -> ApiResult<Channel> {
    Ok(Json(
        channels::limit_categories(&o, &p, &meta.client, id, &input.category_ids).await?,
    ))
}

/// Revokes a channel's API key.
#[utoipa::path(
    post, path = "/api/v1/channels/{id}/revoke", tag = "channels",
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 200, description = "The channel, revoked", body = Channel),
        (status = 403, description = "Only the administrator and the office", body = yidu_web::error::ErrorBody),
        (status = 404, description = "No such channel", body = yidu_web::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn revoke_channel(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Channel> {
    Ok(Json(channels::revoke(&o, &p, &meta.client, id).await?))
}

pub struct CategoryOption {
    pub id: i64,
    pub label: String,
}

pub struct ChannelRow {
    pub channel: Channel,
    pub categories: String,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ListPage {
    shell: Shell,
    rows: Vec<ChannelRow>,
    options: Vec<CategoryOption>,
}

#[derive(Template)]
#[template(path = "channels_created.html")]
struct CreatedPage {
    shell: Shell,
    channel: Channel,
    api_key: String,
}

async fn category_options(o: &Opinions) -> AppResult<Vec<CategoryOption>> {
    let rows = sqlx::query(
        "SELECT id, name, path, parent_id FROM categories WHERE retired = 0 ORDER BY sort, id",
    )
    .fetch_all(o.db.pool())
    .await?;
    let tree: Vec<(i64, Option<i64>)> = rows.iter().map(|r| (r.get(0), r.get(3))).collect();
    let ranks = crate::service::categories::tree_ranks(&tree);
    let mut options: Vec<(usize, CategoryOption)> = rows
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let path: String = r.get(2);
            let depth = path.matches('/').count().saturating_sub(2);
            let option = CategoryOption {
                id,
                label: format!("{}{}", "　".repeat(depth), r.get::<String, _>(1)),
            };
            (ranks.get(&id).copied().unwrap_or(usize::MAX), option)
        })
        .collect();
    options.sort_by_key(|(rank, _)| *rank);
    Ok(options.into_iter().map(|(_, o)| o).collect())
}

fn render(t: impl Template, status: StatusCode) -> PageResult {
    let body = t.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

fn title(meta: &RequestMeta) -> &'static str {
    meta.lang.pick("外部渠道", "Channels")
}

async fn list_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
) -> PageResult {
    let list = channels::list(&o, &user.principal).await?;
    let options = category_options(&o).await?;
    let rows = list
        .into_iter()
        .map(|c| {
            let categories = if c.category_ids.is_empty() {
                meta.lang.pick("全部类别", "All categories").to_string()
            } else {
                c.category_ids
                    .iter()
                    .map(|id| {
                        options
                            .iter()
                            .find(|x| x.id == *id)
                            .map(|x| x.label.trim_start_matches('　').to_string())
                            .unwrap_or_else(|| id.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            };
            ChannelRow {
                channel: c,
                categories,
            }
        })
        .collect();
    let mut shell = Shell::for_user(&meta, &user, title(&meta));
    let flash = meta.path.split_once("flash=").map(|(_, f)| f.to_string());
    shell = match flash.as_deref() {
        Some("limited") => shell.with_flash(true, "已更新类别", "Categories updated"),
        Some("revoked") => shell.with_flash(true, "已停用", "Revoked"),
        _ => shell,
    };
    render(
        ListPage {
            shell,
            rows,
            options,
        },
        StatusCode::OK,
    )
}

fn ids_of(form: &[(String, String)]) -> Vec<i64> {
    form.iter()
        .filter(|(k, _)| k == "category")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

async fn create_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let name = f
        .iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    let (channel, api_key) =
        channels::create_channel(&o, &user.principal, &meta.client, name, &ids_of(&f)).await?;
    // The key is rendered, never put in a redirect URL: it must not reach logs or history.
    let shell = Shell::for_user(&meta, &user, title(&meta)).with_flash(
        true,
        "已创建渠道",
        "Channel created",
    );
    render(
        CreatedPage {
            shell,
            channel,
            api_key,
        },
        StatusCode::OK,
    )
}

async fn limit_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    channels::limit_categories(&o, &user.principal, &meta.client, id, &ids_of(&f)).await?;
    Ok(Redirect::to("/staff/channels?flash=limited").into_response())
}

async fn revoke_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    channels::revoke(&o, &user.principal, &meta.client, id).await?;
    Ok(Redirect::to("/staff/channels?flash=revoked").into_response())
}
