//! 工作端 pages of the registry: the desk (工作台), lists with filters and search,
//! detail pages, create and edit forms with dropdowns of what yidu already knows,
//! retire buttons, photo upload, and spreadsheet import and export. Every page works
//! without JavaScript: forms post, the server redirects with a flash (post/redirect/get),
//! and a form with mistakes is shown again with each problem named.

mod deputies;
mod desk;
mod orgs;
mod regions;
mod stations;
mod transfer;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use yidu_kernel::{AppError, FieldError, Page};
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(desk::desk))
        .route("/staff/regions", get(regions::list).post(regions::create))
        .route("/staff/regions/new", get(regions::new_form))
        .route(
            "/staff/regions/{id}",
            get(regions::detail).post(regions::update),
        )
        .route("/staff/regions/{id}/edit", get(regions::edit_form))
        .route("/staff/regions/{id}/retire", post(regions::retire))
        .route(
            "/staff/stations",
            get(stations::list).post(stations::create),
        )
        .route("/staff/stations/new", get(stations::new_form))
        .route(
            "/staff/stations/{id}",
            get(stations::detail).post(stations::update),
        )
        .route("/staff/stations/{id}/edit", get(stations::edit_form))
        .route("/staff/stations/{id}/retire", post(stations::retire))
        .route(
            "/staff/deputies",
            get(deputies::list).post(deputies::create),
        )
        .route("/staff/deputies/new", get(deputies::new_form))
        .route(
            "/staff/deputies/{id}",
            get(deputies::detail).post(deputies::update),
        )
        .route("/staff/deputies/{id}/edit", get(deputies::edit_form))
        .route("/staff/deputies/{id}/retire", post(deputies::retire))
        .route(
            "/staff/deputies/{id}/photo",
            get(deputies::photo).post(deputies::upload_photo).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::model::check::MAX_PHOTO_BYTES + 256 * 1024,
                ),
            ),
        )
        .route(
            "/staff/deputies/{id}/photo/delete",
            post(deputies::delete_photo),
        )
        .route(
            "/staff/units",
            get(orgs::list_units).post(orgs::create_unit),
        )
        .route("/staff/units/new", get(orgs::new_unit))
        .route(
            "/staff/units/{id}",
            get(orgs::unit_detail).post(orgs::update_unit),
        )
        .route("/staff/units/{id}/edit", get(orgs::edit_unit))
        .route("/staff/units/{id}/retire", post(orgs::retire_unit))
        .route(
            "/staff/committees",
            get(orgs::list_committees).post(orgs::create_committee),
        )
        .route("/staff/committees/new", get(orgs::new_committee))
        .route(
            "/staff/committees/{id}",
            get(orgs::committee_detail).post(orgs::update_committee),
        )
        .route("/staff/committees/{id}/edit", get(orgs::edit_committee))
        .route(
            "/staff/committees/{id}/retire",
            post(orgs::retire_committee),
        )
        .route(
            "/staff/import",
            get(transfer::import_page)
                .post(transfer::import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::xlsx::MAX_FILE_BYTES + 256 * 1024,
                )),
        )
        .route(
            "/staff/import/{kind}/template.xlsx",
            get(transfer::template),
        )
        .route("/staff/export/{kind}", get(transfer::export))
}

/// Renders a template with a status.
pub(crate) fn render(t: impl Template, status: StatusCode) -> PageResult {
    let body = t.render().map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

/// The page's shell, with the flash named in `?flash=` after a redirect.
pub(crate) fn shell(
    meta: &RequestMeta,
    user: &PageUser,
    zh: &str,
    en: &str,
    flash: Option<&str>,
) -> Shell {
    let shell = Shell::for_user(meta, user, meta.lang.pick(zh, en));
    let msg = match flash {
        Some("created") => Some(("已创建", "Created")),
        Some("saved") => Some(("已保存", "Saved")),
        Some("retired") => Some(("已撤销", "Retired")),
        Some("photo") => Some(("照片已更新", "Photo updated")),
        Some("imported") => Some(("导入成功", "Imported")),
        _ => None,
    };
    match msg {
        Some((zh, en)) => shell.with_flash(true, zh, en),
        None => shell,
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FlashQuery {
    pub flash: Option<String>,
}

/// A redirect after a successful post.
pub(crate) fn done(to: &str, flash: &str) -> PageResult {
    Ok(Redirect::to(&format!("{to}?flash={flash}")).into_response())
}

/// The fields of a posted form, repeated names kept (checkbox groups).
pub(crate) struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }
}

/// Field errors to show above a form, when the use case refused the input. Other errors
/// go to the error page.
pub(crate) fn form_errors(e: AppError) -> Result<Vec<FieldError>, AppError> {
    match e {
        AppError::Validation(v) => Ok(v),
        AppError::Conflict(m) => Ok(vec![FieldError::new("", m.zh, m.en)]),
        other => Err(other),
    }
}

/// One option of a dropdown.
#[derive(Debug, Clone)]
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A dropdown of vocabulary words (stored name, zh, en).
pub(crate) fn word_choices<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    zh: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
    en_lang: bool,
    selected: &[String],
) -> Vec<Choice> {
    all.iter()
        .map(|w| Choice {
            value: name(*w).to_string(),
            label: if en_lang { en(*w) } else { zh(*w) }.to_string(),
            selected: selected.iter().any(|s| s == name(*w)),
        })
        .collect()
}

/// Regions to choose from, each labelled with its full name.
pub(crate) fn region_choices(regions: &[crate::model::Region], selected: i64) -> Vec<Choice> {
    regions
        .iter()
        .map(|r| Choice {
            value: r.id.to_string(),
            label: format!("{}（{}）", r.full_name, r.level.label_zh()),
            selected: r.id == selected,
        })
        .collect()
}

/// Links to the previous and next pages, keeping the filters.
pub(crate) struct Pager {
    pub prev: Option<String>,
    pub next: Option<String>,
    pub page: u32,
    pub pages: u32,
    pub total: i64,
}

impl Pager {
    pub fn new<T>(base: &str, filters: &[(&str, String)], page: &Page<T>) -> Pager {
        let href = |n: u32| {
            let mut pairs: Vec<(&str, String)> = filters
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            pairs.push(("page", n.to_string()));
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(&pairs).unwrap_or_default()
            )
        };
        Pager {
            prev: (page.page > 1).then(|| href(page.page - 1)),
            next: (page.page < page.pages()).then(|| href(page.page + 1)),
            page: page.page,
            pages: page.pages(),
            total: page.total,
        }
    }

    /// The export link with the same filters.
    pub fn export_href(kind: &str, filters: &[(&str, String)]) -> String {
        let pairs: Vec<(&str, String)> = filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        format!(
            "/staff/export/{kind}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

pub(crate) fn opt_str(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

pub(crate) fn opt_id_str(v: Option<i64>) -> String {
    v.map(|i| i.to_string()).unwrap_or_default()
}

/// Whether the principal may change the registry anywhere (shows "new" buttons and the
/// import page).
pub(crate) fn manages(p: &yidu_kernel::Principal) -> bool {
    matches!(
        p.role,
        yidu_kernel::Role::Admin | yidu_kernel::Role::Office | yidu_kernel::Role::Township
    )
}
