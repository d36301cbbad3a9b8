//! Spreadsheet pages: the import page (choose a kind, download its template, upload a
//! file, see every problem by row and column), template downloads and filtered exports.

use super::*;
use crate::api::xlsx_response;
use crate::xlsx::{self, ExportFilter, Kind};
use axum::extract::{Multipart, Path, Query, State};

pub struct KindOption {
    pub value: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "reg_import.html")]
struct ImportPage {
    shell: Shell,
    kinds: Vec<KindOption>,
    errors: Vec<FieldError>,
    report: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    kind: Option<String>,
    flash: Option<String>,
    created: Option<u32>,
}

fn kinds(selected: &str) -> Vec<KindOption> {
    Kind::ALL
        .iter()
        .map(|k| KindOption {
            value: k.as_str(),
            zh: k.label_zh(),
            en: k.label_en(),
            selected: k.as_str() == selected,
        })
        .collect()
}

fn page(
    meta: &RequestMeta,
    user: &PageUser,
    kind: &str,
    errors: Vec<FieldError>,
    report: Option<String>,
    flash: Option<&str>,
) -> PageResult {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = ImportPage {
        shell: shell(meta, user, "批量导入", "Bulk import", flash),
        kinds: kinds(kind),
        errors,
        report,
    };
    render(body, status)
}

pub async fn import_page(
    meta: RequestMeta,
    user: PageUser,
    Query(q): Query<ImportQuery>,
) -> PageResult {
    if !manages(&user.principal) {
        return Err(AppError::Forbidden.into());
    }
    let report = q.created.map(|n| format!("{n}"));
    page(
        &meta,
        &user,
        q.kind.as_deref().unwrap_or("deputies"),
        Vec::new(),
        report,
        q.flash.as_deref(),
    )
}

/// Multipart form: `kind` and `file` (the CSRF token rides in the query string).
pub async fn import_upload(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    mut multipart: Multipart,
) -> PageResult {
    let mut kind = String::new();
    let mut bytes: Vec<u8> = Vec::new();
    let unreadable = || AppError::bad_request("上传的内容无法读取", "The upload could not be read");
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("kind") => kind = field.text().await.map_err(|_| unreadable())?,
            Some("file") => bytes = field.bytes().await.map_err(|_| unreadable())?.to_vec(),
            _ => {}
        }
    }
    match xlsx::import(&state.db, &user.principal, &meta.client, &kind, &bytes).await {
        Ok(r) => Ok(Redirect::to(&format!(
            "/staff/import?kind={}&flash=imported&created={}",
            r.kind.as_str(),
            r.created
        ))
        .into_response()),
        Err(AppError::Validation(v)) => page(&meta, &user, &kind, v, None, None),
        Err(e) => Err(e.into()),
    }
}

pub async fn template(user: PageUser, Path(kind): Path<String>) -> PageResult {
    let _ = user;
    let kind = Kind::parse(&kind)?;
    Ok(xlsx_response(
        &format!("yidu-{}-template.xlsx", kind.as_str()),
        xlsx::template(kind)?,
    ))
}

pub async fn export(
    State(state): State<AppState>,
    user: PageUser,
    Path(kind): Path<String>,
    Query(f): Query<ExportFilter>,
) -> PageResult {
    let kind = Kind::parse(&kind)?;
    let bytes = xlsx::export_filtered(&state.db, &user.principal, kind, &f).await?;
    Ok(xlsx_response(&kind.file_name(), bytes))
}
