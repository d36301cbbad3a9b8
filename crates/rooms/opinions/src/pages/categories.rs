//! The 工作端 page for the category tree (/staff/categories): administrator and office
//! add, rename, reorder, move, retire, restore and delete categories. Forms work without
//! JavaScript; each posts and redirects back with a flash.

use crate::service::category_edit::{
    self, CategoryRow, MoveCategory, NewCategory, OrderCategory, RenameCategory,
};
use crate::Opinions;
use askama::Template;
use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/categories", get(list_page).post(create_page))
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
}

#[derive(Debug, Default, Deserialize)]
struct FlashQuery {
    flash: Option<String>,
}

async fn list_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Query(fq): Query<FlashQuery>,
) -> PageResult {
    let all = category_edit::list_all(&o, &user.principal).await?;
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
    let mut shell = Shell::for_user(&meta, &user, meta.lang.pick("民意类别", "Categories"));
    if fq.flash.is_some() {
        shell = shell.with_flash(true, "已保存", "Saved");
    }
    let body = ListPage {
        shell,
        lines,
        parents,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
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
