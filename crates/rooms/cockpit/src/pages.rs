//! 工作端 page of the cockpit: KPI tiles, SVG charts, the grid map and the overdue list.

use crate::service::{self, Cockpit, Period};
use crate::svg;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Extension;
use axum::Router;
use yidu_db::Row;
use yidu_web::{AppState, PageResult, PageUser, RequestMeta, Shell};

pub fn router() -> Router<AppState> {
    Router::new().route("/staff/cockpit", get(cockpit_page))
}

#[derive(Template)]
#[template(path = "cockpit.html")]
struct CockpitPage {
    shell: Shell,
    c: Cockpit,
    trend_svg: String,
    township_svg: String,
    category_svg: String,
    map_svg: String,
    /// Grids with items but no polygon: listed instead of drawn.
    unmapped: Vec<(String, i64)>,
    /// Classes of the same problem, hottest first (None: no class-case room plugged in).
    hot: Option<Vec<crate::panels::HotTopicLine>>,
    /// How the hot topics are ranked, in the page's language.
    hot_formula: String,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "—".into())
}

impl CockpitPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(*v)
    }
    fn days(&self, v: &Option<f64>) -> String {
        v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "—".into())
    }
}

async fn cockpit_page(
    State(state): State<AppState>,
    meta: RequestMeta,
    user: PageUser,
    hot_source: Option<Extension<crate::panels::HotTopicsSource>>,
    Query(period): Query<Period>,
) -> PageResult {
    let c = service::cockpit(&state.db, &user.principal, &period).await?;
    let hot_formula = hot_source
        .as_ref()
        .map(|Extension(src)| {
            let (zh, en) = src.0.formula();
            meta.lang.pick(zh, en).to_string()
        })
        .unwrap_or_default();
    let hot = match hot_source {
        // A panel that fails leaves the rest of the cockpit standing.
        Some(Extension(src)) => match src.0.hot_topics(&user.principal, 10).await {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "hot topics panel failed");
                None
            }
        },
        None => None,
    };
    let lang = meta.lang;
    let labels: Vec<String> = c.weekly.iter().map(|w| w.week[5..].to_string()).collect();
    let trend_svg = svg::lines(
        lang.pick("近12周趋势", "Last 12 weeks"),
        &labels,
        &[
            (
                lang.pick("收到", "Received"),
                "#2f6fb5",
                c.weekly.iter().map(|w| w.received).collect(),
            ),
            (
                lang.pick("已办理", "Handled"),
                "#27ae60",
                c.weekly.iter().map(|w| w.handled).collect(),
            ),
        ],
    );
    let top = |v: &[service::Slice]| {
        v.iter()
            .take(15)
            .map(|s| (s.name.clone(), s.received))
            .collect::<Vec<_>>()
    };
    let township_svg = svg::bars(
        lang.pick("各镇街收到件数", "Received by township"),
        &top(&c.by_township),
    );
    let category_svg = svg::bars(
        lang.pick("各类别收到件数", "Received by category"),
        &top(&c.by_category),
    );

    // Grid polygons of the scope, shaded by the period's counts.
    let rows = sqlx::query("SELECT id, geojson FROM regions WHERE geojson IS NOT NULL AND level IN ('grid', 'community') AND path LIKE $1")
        .bind(user.principal.scope_like())
        .fetch_all(state.db.pool())
        .await
        .map_err(anyhow::Error::from)?;
    let mut shapes = Vec::new();
    let mut drawn = std::collections::HashSet::new();
    for r in &rows {
        let id: i64 = r.get(0);
        let geo: Option<String> = r.get(1);
        let rings = geo
            .and_then(|g| serde_json::from_str(&g).ok())
            .map(|g| svg::rings(&g))
            .unwrap_or_default();
        if rings.is_empty() {
            continue;
        }
        let g = c.grids.iter().find(|g| g.grid_id == id);
        shapes.push((
            g.map(|g| g.name.clone()).unwrap_or_default(),
            g.map(|g| g.received).unwrap_or(0),
            rings,
        ));
        drawn.insert(id);
    }
    let map_svg = svg::map(lang.pick("网格分布", "Items by grid"), &shapes);
    let unmapped = c
        .grids
        .iter()
        .filter(|g| !drawn.contains(&g.grid_id))
        .take(20)
        .map(|g| (g.name.clone(), g.received))
        .collect();
    let shell = Shell::for_user(&meta, &user, lang.pick("驾驶舱", "Cockpit"));
    let body = CockpitPage {
        shell,
        c,
        trend_svg,
        township_svg,
        category_svg,
        map_svg,
        unmapped,
        hot,
        hot_formula,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(Html(body).into_response())
}
