//! The 工作端 page for the category tree (/staff/categories): administrator and office
//! add, rename, reorder, move, retire, restore and delete categories. Forms work without
//! JavaScript; each posts and redirects back with a flash. The whole tree also loads from
//! and saves to the same CSV as `yidu categories import|export`.

use crate::service::category_edit::{
    self, CategoryRow, MoveCategory, NewCategory, OrderCategory, RenameCategory,
};
use crate::Opinions;
use askama::Template;
use axum::extract::{Multipart, Path, Query};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_kernel::{AppError, FieldError};
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/categories", get(list_page).post(create_page))
        .route("/staff/categories/import", post(import_page))
        .route("/staff/categories/export", get(export_csv))
        .route("/staff/categories/{id}/{action}", post(act_page))
}

/// One line of the tree as shown.
pub struct Line {
    pub c: CategoryRow,
    pub indent: String,
    pub has_children: bool,
}

impl Line {
    pub fn is_child_of(&self, id: &i64) -> bool {
        self.c.parent_id == Some(*id)
    }
}

/// A parent a category can move under.
pub struct ParentOption {
    pub id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "categories.html")]
struct ListPage {
    shell: Shell,
    lines: Vec<Line>,
    parents: Vec<ParentOption>,
    /// Problems of a refused CSV upload, by row and column.
    errors: Vec<FieldError>,
}

#[derive(Debug, Default, Deserialize)]
struct FlashQuery {
    flash: Option<String>,
    created: Option<usize>,
}

async fn list_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let mut shell = Shell::for_user(&meta, &user, meta.lang.pick("民意类别", "Categories"));
    match (fq.flash.as_deref(), fq.created) {
        (Some("imported"), Some(n)) => {
            shell = shell.with_flash(
                true,
                &format!("导入完成：新建 {n} 个类别"),
                &format!("Imported: {n} categories created"),
            )
        }
        (Some(_), _) => shell = shell.with_flash(true, "已保存", "Saved"),
        _ => {}
    }
    render_list(&o, &user, shell, Vec::new()).await
}

async fn render_list(
    o: &Opinions,
    user: &PageUser,
    shell: Shell,
    errors: Vec<FieldError>,
) -> PageResult {
    let all = category_edit::list_all(o, &user.principal).await?;
    let lines: Vec<Line> = all
        .iter()
        .map(|c| Line {
            indent: "　　".repeat(c.depth.saturating_sub(1)),
            has_children: all.iter().any(|x| x.parent_id == Some(c.id)),
            c: c.clone(),
        })
        .collect();
    let parents = all
        .iter()
        .filter(|c| !c.retired && c.depth < category_edit::MAX_DEPTH)
        .map(|c| ParentOption {
            id: c.id,
            label: c.code.clone(),
        })
        .collect();
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = ListPage {
        shell,
        lines,
        parents,
        errors,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok((status, Html(body)).into_response())
}

/// Multipart form with the `file` field (the CSRF token rides in the query string, as for
/// every upload). A refused file is shown on the page with every problem by row and column.
async fn import_page(
    Extension(o): Extension<Opinions>,
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
    match category_edit::import_upload(&o, &user.principal, &meta.client, &bytes).await {
        Ok(created) => Ok(Redirect::to(&format!(
            "/staff/categories?flash=imported&created={created}"
        ))
        .into_response()),
        Err(AppError::Validation(errors)) => {
            let shell = Shell::for_user(&meta, &user, meta.lang.pick("民意类别", "Categories"));
            render_list(&o, &user, shell, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The active tree as CSV, in the format the import reads.
async fn export_csv(Extension(o): Extension<Opinions>, user: PageUser) -> PageResult {
    let csv = category_edit::export_csv(&o, &user.principal).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"yidu-categories.csv\"",
            ),
        ],
        // The byte-order mark lets spreadsheet programs read the Chinese names as UTF-8.
        format!("\u{feff}{csv}"),
    )
        .into_response())
}

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn parent_of(f: &[(String, String)]) -> Option<i64> {
    field(f, "parent_id").parse().ok()
}

async fn create_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let input = NewCategory {
        parent_id: parent_of(&f),
        name: field(&f, "name").to_string(),
        name_en: field(&f, "name_en").to_string(),
    };
    category_edit::create(&o, &user.principal, &meta.client, &input).await?;
    Ok(Redirect::to("/staff/categories?flash=saved").into_response())
}

async fn act_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Path((id, action)): Path<(i64, String)>,
    PageForm(f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let (p, client) = (&user.principal, meta.client.as_str());
    match action.as_str() {
        "rename" => {
            let input = RenameCategory {
                name: field(&f, "name").to_string(),
                name_en: field(&f, "name_en").to_string(),
            };
            category_edit::rename(&o, p, client, id, &input).await?;
        }
        "move" => {
            let input = MoveCategory {
                parent_id: parent_of(&f),
            };
            category_edit::move_to(&o, p, client, id, &input).await?;
        }
        "order" => {
            let input = OrderCategory {
                direction: field(&f, "direction").to_string(),
            };
            category_edit::reorder(&o, p, client, id, &input).await?;
        }
        "retire" => {
            category_edit::set_retired(&o, p, client, id, true).await?;
        }
        "restore" => {
            category_edit::set_retired(&o, p, client, id, false).await?;
        }
        "delete" => category_edit::delete(&o, p, client, id).await?,
        _ => return Err(yidu_kernel::AppError::NotFound.into()),
    }
    Ok(Redirect::to("/staff/categories?flash=saved").into_response())
}
