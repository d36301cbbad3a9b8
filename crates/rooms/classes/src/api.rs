//! JSON API of the class-case room under /api/v1/classes. Handlers reach [`Classes`]
//! through an axum `Extension`; every decision goes through the service's checks.

use crate::model::{
    ClassDetail, ClassStatus, ClassSummary, FanOut, HotTopic, Member, MergeInput, Place,
    RebuildReport, RenameInput, ReplyInput, Skipped, SplitInput, SuperviseInput,
};
use crate::service::read::{self, ClassFilter};
use crate::service::{cluster, decide, supervise, Classes};
use axum::extract::{Path, Query};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use yidu_kernel::{Page, PageQuery};
use yidu_web::form::ApiJson;
use yidu_web::{ApiResult, ApiUser, AppState, RequestMeta};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/classes", get(list_classes))
        .route("/api/v1/classes/hot", get(hot_topics))
        .route("/api/v1/classes/rebuild", post(rebuild_classes))
        .route("/api/v1/classes/{id}", get(get_class))
        .route("/api/v1/classes/{id}/confirm", post(confirm_class))
        .route("/api/v1/classes/{id}/rename", post(rename_class))
        .route("/api/v1/classes/{id}/merge", post(merge_class))
        .route("/api/v1/classes/{id}/split", post(split_class))
        .route("/api/v1/classes/{id}/dissolve", post(dissolve_class))
        .route(
            "/api/v1/classes/{id}/members/{item_id}",
            delete(remove_member),
        )
        .route("/api/v1/classes/{id}/supervise", post(supervise_class))
        .route("/api/v1/classes/{id}/reply", post(reply_class))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_classes,
        hot_topics,
        rebuild_classes,
        get_class,
        confirm_class,
        rename_class,
        merge_class,
        split_class,
        dissolve_class,
        remove_member,
        supervise_class,
        reply_class
    ),
    components(schemas(
        ClassSummary,
        ClassDetail,
        ClassStatus,
        Member,
        Place,
        HotTopic,
        RenameInput,
        MergeInput,
        SplitInput,
        SuperviseInput,
        ReplyInput,
        FanOut,
        Skipped,
        RebuildReport,
        Decision,
        yidu_opinions::service::feed::Brief
    ))
)]
pub struct ClassesApi;

/// The class a decision leaves (for a merge: the class merged into; for a split: the new one).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: i64,
}

type Err = yidu_web::error::ErrorBody;

/// Classes within the caller's scope: live ones by size unless a status is asked for.
#[utoipa::path(
    get, path = "/api/v1/classes", tag = "classes",
    params(ClassFilter, PageQuery),
    responses(
        (status = 200, description = "A page of classes", body = Page<ClassSummary>),
        (status = 400, description = "A filter is invalid", body = Err),
        (status = 403, description = "The role reads no classes", body = Err),
    ),
    security(("bearer" = []))
)]
async fn list_classes(
    Extension(c): Extension<Classes>,
    ApiUser(p): ApiUser,
    Query(f): Query<ClassFilter>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Page<ClassSummary>> {
    Ok(Json(read::list(&c, &p, &f, &q).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotQuery {
    /// At most this many (default 10, at most 100).
    pub limit: Option<i64>,
}

/// Hot topics: live classes ranked by size, growth and "me too" count.
#[utoipa::path(
    get, path = "/api/v1/classes/hot", tag = "classes",
    params(HotQuery),
    responses(
        (status = 200, description = "Hottest first", body = Vec<HotTopic>),
        (status = 403, description = "The role reads no classes", body = Err),
    ),
    security(("bearer" = []))
)]
async fn hot_topics(
    Extension(c): Extension<Classes>,
    ApiUser(p): ApiUser,
    Query(h): Query<HotQuery>,
) -> ApiResult<Vec<HotTopic>> {
    Ok(Json(read::hot(&c, &p, h.limit.unwrap_or(10)).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RebuildQuery {
    /// The district to regroup (default: the caller's, or every district for the administrator).
    pub district_id: Option<i64>,
}

/// Regroups a district's items now (proposed classes are remade; decisions stay).
#[utoipa::path(
    post, path = "/api/v1/classes/rebuild", tag = "classes",
    params(RebuildQuery),
    responses(
        (status = 200, description = "What each district's rebuild did", body = Vec<RebuildReport>),
        (status = 403, description = "Only the office and the administrator rebuild", body = Err),
    ),
    security(("bearer" = []))
)]
async fn rebuild_classes(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Query(r): Query<RebuildQuery>,
) -> ApiResult<Vec<RebuildReport>> {
    Ok(Json(
        cluster::rebuild_as(&c, &p, &meta.client, r.district_id).await?,
    ))
}

/// One class with its members (personal data masked unless the caller handles the item).
#[utoipa::path(
    get, path = "/api/v1/classes/{id}", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    responses(
        (status = 200, description = "The class", body = ClassDetail),
        (status = 404, description = "No such class in the caller's scope", body = Err),
    ),
    security(("bearer" = []))
)]
async fn get_class(
    Extension(c): Extension<Classes>,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<ClassDetail> {
    Ok(Json(read::get(&c, &p, id).await?))
}

/// Confirms a proposed class.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/confirm", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    responses(
        (status = 200, description = "Confirmed", body = Decision),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
        (status = 409, description = "Already confirmed or dissolved", body = Err),
    ),
    security(("bearer" = []))
)]
async fn confirm_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Decision> {
    decide::confirm(&c, &p, &meta.client, id).await?;
    Ok(Json(Decision { id }))
}

/// Renames a class (and confirms it).
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/rename", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = RenameInput,
    responses(
        (status = 200, description = "Renamed", body = Decision),
        (status = 400, description = "The name is empty or too long", body = Err),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
    ),
    security(("bearer" = []))
)]
async fn rename_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RenameInput>,
) -> ApiResult<Decision> {
    decide::rename(&c, &p, &meta.client, id, &input.label).await?;
    Ok(Json(Decision { id }))
}

/// Merges this class into another: all members move there, this one is dissolved.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/merge", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = MergeInput,
    responses(
        (status = 200, description = "The class merged into", body = Decision),
        (status = 400, description = "into_id is missing or invalid", body = Err),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
        (status = 409, description = "The class is dissolved or supervised", body = Err),
    ),
    security(("bearer" = []))
)]
async fn merge_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MergeInput>,
) -> ApiResult<Decision> {
    let into = decide::merge(&c, &p, &meta.client, id, &input).await?;
    Ok(Json(Decision { id: into }))
}

/// Splits the chosen members off into a new confirmed class.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/split", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = SplitInput,
    responses(
        (status = 200, description = "The new class", body = Decision),
        (status = 400, description = "item_ids or label is invalid", body = Err),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
    ),
    security(("bearer" = []))
)]
async fn split_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SplitInput>,
) -> ApiResult<Decision> {
    let new_id = decide::split(&c, &p, &meta.client, id, &input).await?;
    Ok(Json(Decision { id: new_id }))
}

/// Dissolves a class; its items stay out of machine-made classes.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/dissolve", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    responses(
        (status = 200, description = "Dissolved", body = Decision),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
    ),
    security(("bearer" = []))
)]
async fn dissolve_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult<Decision> {
    decide::dissolve(&c, &p, &meta.client, id).await?;
    Ok(Json(Decision { id }))
}

/// Takes one item out of the class.
#[utoipa::path(
    delete, path = "/api/v1/classes/{id}/members/{item_id}", tag = "classes",
    params(("id" = i64, Path, description = "Class id"), ("item_id" = i64, Path, description = "Opinion id")),
    responses(
        (status = 200, description = "Removed", body = Decision),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class or member in the caller's scope", body = Err),
    ),
    security(("bearer" = []))
)]
async fn remove_member(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path((id, item_id)): Path<(i64, i64)>,
) -> ApiResult<Decision> {
    decide::remove_member(&c, &p, &meta.client, id, item_id).await?;
    Ok(Json(Decision { id }))
}

/// Supervises a confirmed class as one: lead unit, one deadline in working days, and
/// every open member assigned to the lead unit.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/supervise", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = SuperviseInput,
    responses(
        (status = 200, description = "Members assigned and skipped", body = FanOut),
        (status = 400, description = "lead_unit_id or days is missing or invalid", body = Err),
        (status = 403, description = "The caller does not decide about classes", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
        (status = 409, description = "The class is not confirmed, or already replied", body = Err),
    ),
    security(("bearer" = []))
)]
async fn supervise_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<SuperviseInput>,
) -> ApiResult<FanOut> {
    Ok(Json(
        supervise::supervise(&c, &p, &meta.client, id, &input).await?,
    ))
}

/// The lead unit's one reply, which becomes the reply on every member it holds.
#[utoipa::path(
    post, path = "/api/v1/classes/{id}/reply", tag = "classes",
    params(("id" = i64, Path, description = "Class id")),
    request_body = ReplyInput,
    responses(
        (status = 200, description = "Members replied and skipped", body = FanOut),
        (status = 400, description = "The reply is empty or too long", body = Err),
        (status = 403, description = "Only the lead unit replies", body = Err),
        (status = 404, description = "No such class in the caller's scope", body = Err),
        (status = 409, description = "The class is not supervised", body = Err),
    ),
    security(("bearer" = []))
)]
async fn reply_class(
    Extension(c): Extension<Classes>,
    meta: RequestMeta,
    ApiUser(p): ApiUser,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReplyInput>,
) -> ApiResult<FanOut> {
    Ok(Json(
        supervise::reply(&c, &p, &meta.client, id, &input).await?,
    ))
}
