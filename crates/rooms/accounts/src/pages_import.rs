//! Pages for bulk user accounts: the import page (template download, upload, every
//! problem by row and column, or the created users with the passwords yidu generated,
//! shown this once), and the export of the users in scope.

use crate::xlsx::{self, GeneratedPassword};
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use yidu_kernel::{AppError, FieldError, Role};
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/staff/users/import",
            get(import_page)
                .post(import_upload)
                .layer(DefaultBodyLimit::max(xlsx::MAX_FILE_BYTES + 256 * 1024)),
        )
        .route("/staff/users/import/template.xlsx", get(template))
        .route("/staff/users/export.xlsx", get(export))
}

#[derive(Template)]
#[template(path = "users_import.html")]
struct ImportPage {
    shell: Shell,
    errors: Vec<FieldError>,
    created: Vec<String>,
    generated: Vec<GeneratedPassword>,
}

fn may_import(user: &PageUser) -> bool {
    matches!(
        user.principal.role,
        Role::Admin | Role::Office | Role::Township
    )
}

fn render(page: ImportPage, status: StatusCode) -> PageResult {
    let body = page.render().map_err(anyhow::Error::from)?;
    // The page may carry generated passwords: keep it out of every cache.
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response())
}

fn shell(meta: &RequestMeta, user: &PageUser) -> Shell {
    Shell::for_user(meta, user, meta.lang.pick("批量导入用户", "Import users"))
}

async fn import_page(meta: RequestMeta, user: PageUser) -> PageResult {
    if !may_import(&user) {
        return Err(AppError::Forbidden.into());
    }
    let page = ImportPage {
        shell: shell(&meta, &user),
        errors: vec![],
        created: vec![],
        generated: vec![],
    };
    render(page, StatusCode::OK)
}

/// Multipart form with a `file` field (the CSRF token rides in the query string).
async fn import_upload(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let unreadable = || AppError::bad_request("上传的内容无法读取", "The upload could not be read");
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        if field.name() == Some("file") {
            bytes = field.bytes().await.map_err(|_| unreadable())?.to_vec();
        }
    }
    match xlsx::import(&state.db, &user.principal, &meta.client, &bytes).await {
        Ok(report) => {
            let shell = shell(&meta, &user).with_flash(
                true,
                &format!("已导入 {} 个用户", report.created.len()),
                &format!("{} users imported", report.created.len()),
            );
            let page = ImportPage {
                shell,
                errors: vec![],
                created: report.created,
                generated: report.generated,
            };
            render(page, StatusCode::OK)
        }
        Err(AppError::Validation(errors)) => {
            let page = ImportPage {
                shell: shell(&meta, &user),
                errors,
                created: vec![],
                generated: vec![],
            };
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

fn xlsx_file(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn template(user: PageUser) -> PageResult {
    if !may_import(&user) {
        return Err(AppError::Forbidden.into());
    }
    Ok(xlsx_file("yidu-users-template.xlsx", xlsx::template()?))
}

async fn export(State(state): State<AppState>, user: PageUser) -> PageResult {
    let bytes = xlsx::export(&state.db, &user.principal).await?;
    Ok(xlsx_file("yidu-users.xlsx", bytes))
}
