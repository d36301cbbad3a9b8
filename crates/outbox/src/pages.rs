//! 工作端 page: webhook subscriptions with their delivery health, a form to add one
//! (the secret is shown once on the result page) and revocation.

use crate::service::{self, Subscription, SubscriptionInput};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use yidu_kernel::AppError;
use yidu_web::form::PageForm;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/webhooks", get(webhooks_page).post(create_webhook))
        .route("/staff/webhooks/{id}/revoke", post(revoke_webhook))
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    shell: Shell,
    subs: Vec<Subscription>,
    form: FormValues,
    errors: Vec<String>,
    created: Option<(String, String)>,
}

#[derive(Default, serde::Deserialize)]
struct FormValues {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    topics: String,
}

async fn render(
    state: &AppState,
    meta: &RequestMeta,
    user: &PageUser,
    form: FormValues,
    errors: Vec<String>,
    created: Option<(String, String)>,
    flash: Option<bool>,
) -> PageResult {
    let subs = service::list(&state.db, &user.principal).await?;
    let mut shell = Shell::for_user(
        meta,
        user,
        meta.lang.pick("外发订阅（Webhook）", "Webhooks"),
    );
    if flash == Some(true) {
        shell = shell.with_flash(true, "已撤销", "Revoked");
    }
    let body = WebhooksPage {
        shell,
        subs,
        form,
        errors,
        created,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}

#[derive(serde::Deserialize)]
struct FlashQuery {
    #[serde(default)]
    flash: String,
}

async fn webhooks_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    axum::extract::Query(q): axum::extract::Query<FlashQuery>,
) -> PageResult {
    render(
        &state,
        &meta,
        &user,
        FormValues::default(),
        Vec::new(),
        None,
        Some(q.flash == "revoked"),
    )
    .await
}

async fn create_webhook(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    PageForm(form): PageForm<FormValues>,
) -> PageResult {
    let input = SubscriptionInput {
        name: form.name.clone(),
        url: form.url.clone(),
        topics: Some(form.topics.clone()),
    };
    match service::create(&state.db, &user.principal, &meta.client, &input).await {
        Ok(c) => {
            let created = Some((c.subscription.url.clone(), c.secret));
            render(
                &state,
                &meta,
                &user,
                FormValues::default(),
                Vec::new(),
                created,
                None,
            )
            .await
        }
        Err(AppError::Validation(errs)) => {
            let errors = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message(meta.lang)))
                .collect();
            render(&state, &meta, &user, form, errors, None, None).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke_webhook(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    Path(id): Path<i64>,
) -> PageResult {
    service::revoke(&state.db, &user.principal, &meta.client, id).await?;
    Ok(Redirect::to("/staff/webhooks?flash=revoked").into_response())
}
