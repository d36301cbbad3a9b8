//! The 工作端 page of the text models (/staff/text): what is trained from how many items,
//! and the button to retrain now (administrator and office).

use super::models::{self, ModelInfo, TrainReport};
use crate::Opinions;
use askama::Template;
use axum::extract::Query;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use yidu_kernel::clock::format_china;
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/text", get(models_page))
        .route("/staff/text/retrain", post(retrain_page))
}

pub struct ModelLine {
    pub m: ModelInfo,
    pub trained: String,
    pub kind_zh: &'static str,
}

#[derive(Template)]
#[template(path = "text_models.html")]
struct ModelsPage {
    shell: Shell,
    lines: Vec<ModelLine>,
    reports: Vec<TrainReport>,
    min_items: usize,
    min_per_label: usize,
}

fn kind_zh(kind: &str) -> &'static str {
    if kind == "unit" {
        "承办单位"
    } else {
        "类别"
    }
}

async fn render(
    o: &Opinions,
    meta: &RequestMeta,
    user: &PageUser,
    reports: Vec<TrainReport>,
) -> PageResult {
    let lines = models::list(o, &user.principal)
        .await?
        .into_iter()
        .map(|m| ModelLine {
            trained: format_china(m.trained_at),
            kind_zh: kind_zh(&m.kind),
            m,
        })
        .collect();
    let mut shell = Shell::for_user(meta, user, meta.lang.pick("文本模型", "Text models"));
    if !reports.is_empty() {
        shell = shell.with_flash(true, "已重新训练", "Retrained");
    }
    let body = ModelsPage {
        shell,
        lines,
        reports,
        min_items: o.config.assist.train_min_items,
        min_per_label: o.config.assist.train_min_per_label,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct Empty {}

async fn models_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    Query(_): Query<Empty>,
) -> PageResult {
    render(&o, &meta, &user, Vec::new()).await
}

async fn retrain_page(
    Extension(o): Extension<Opinions>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(_f): PageForm<Vec<(String, String)>>,
) -> PageResult {
    let reports = models::retrain(&o, &user.principal, &meta.client).await?;
    render(&o, &meta, &user, reports).await
}
