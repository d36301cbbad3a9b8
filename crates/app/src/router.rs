//! Joins the rooms' routers into one application and wraps it with the shell's
//! middleware. Adding an application means adding its routers here.

use crate::config::Config;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::sync::Arc;
use yidu_db::Db;
use yidu_web::{middleware, AppState};

pub fn state(db: Db, config: &Config) -> AppState {
    AppState {
        auth: Arc::new(yidu_accounts::AccountsAuth {
            db: db.clone(),
            config: config.accounts.clone(),
        }),
        db,
        config: Arc::new(config.web()),
        metrics: Arc::new(yidu_web::metrics::Metrics::default()),
    }
}

/// The opinions room's context: personal-data keys (from `YIDU_DATA_KEY` or the key file
/// in the data directory) and the holiday calendar.
pub fn opinions(db: Db, config: &Config) -> anyhow::Result<yidu_opinions::Opinions> {
    let keys = yidu_privacy::Keyring::configured(config.data_key.as_deref(), &config.data_dir)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(yidu_opinions::Opinions {
        db,
        keys: Arc::new(keys),
        calendar: config.calendar.clone(),
        config: Arc::new(config.opinions.clone()),
        segmenter: segmenter(),
        routes: Arc::new(yidu_opinions::service::routes::RouteCache::new(
            std::time::Duration::from_millis(config.opinions.route_cache_ms),
        )),
        assist: yidu_opinions::assist::TextAssist::new(),
        search: yidu_opinions::service::search_build::IndexState::new(),
    })
}

/// The search tokenizer, built once per process (loading jieba's dictionary takes a while)
/// and shared by every `Opinions` the process makes, tests included. No registry names as
/// user words: the same tokenizer must serve every database the process opens, and the
/// character bigrams already find names however jieba splits them.
fn segmenter() -> Arc<yidu_text::Segmenter> {
    static SEGMENTER: std::sync::OnceLock<Arc<yidu_text::Segmenter>> = std::sync::OnceLock::new();
    SEGMENTER
        .get_or_init(|| Arc::new(yidu_text::Segmenter::new()))
        .clone()
}

/// The class-case room over the opinions room.
pub fn classes(db: Db, config: &Config) -> anyhow::Result<yidu_classes::Classes> {
    Ok(yidu_classes::Classes::new(
        opinions(db, config)?,
        config.classes.clone(),
    ))
}

/// The whole application. Fails when the personal-data keys cannot be loaded.
pub fn build(state: AppState, config: &Config) -> anyhow::Result<Router> {
    let opinions = opinions(state.db.clone(), config)?;
    Ok(build_with(state, config, opinions))
}

/// The whole application over an opinions room made by the caller: `yidu serve` passes the
/// one its background tasks use, so the near-duplicate index they warm and the text models
/// they load are the ones the pages and the API read (a second room would load its own
/// copies, a second index of every open item among them).
pub fn build_with(state: AppState, config: &Config, opinions: yidu_opinions::Opinions) -> Router {
    let classes = yidu_classes::Classes::new(opinions.clone(), config.classes.clone());
    let app = Router::new()
        .merge(yidu_web::ops::router())
        .merge(crate::home::router())
        .merge(crate::openapi::router())
        .merge(yidu_accounts::api::router(config.accounts.clone()))
        .merge(yidu_accounts::pages::router(config.accounts.clone()))
        .merge(yidu_audit::api::router())
        .merge(yidu_audit::pages::router())
        .merge(yidu_registry::routers())
        .merge(yidu_opinions::api::router(opinions.clone()))
        .merge(yidu_opinions::open311::router(opinions.clone()))
        .merge(yidu_opinions::pages::router(opinions))
        .merge(yidu_classes::router(classes.clone()))
        // The cockpit shows the class-case room's hot topics through its panel hook.
        .merge(
            yidu_cockpit::router().layer(axum::Extension(yidu_classes::hot_topics_source(classes))),
        )
        .merge(yidu_outbox::api::router())
        .merge(yidu_outbox::pages::router());
    app.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::track,
    ))
    .fallback(crate::home::not_found)
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::shell,
    ))
    // Spreadsheets and photos are the largest bodies yidu takes.
    .layer(DefaultBodyLimit::max(20 * 1024 * 1024))
    .with_state(state)
}
