//! Category and handling-unit models. Training reads the handled items (the category staff
//! confirmed on accepting an item, the unit an item is assigned to and that did not return
//! it), trains `yidu_text::Model` off the async runtime and stores the bytes in
//! `text_models`; every instance loads the newest row per kind.

use crate::Opinions;
use serde::Serialize;
use std::sync::Arc;
use yidu_audit::{Actor, Entry};
use yidu_db::Row;
use yidu_kernel::clock::now_ms;
use yidu_kernel::{AppError, AppResult, Principal, Role};
use yidu_text::{Model, Stop, TextError, TrainOptions};

// The minimums (items, items per label, new items before the daily run retrains) and
// the pre-selection confidence are the deployment's settings: `AssistConfig`.
/// The newest handled items a model learns from (bounds training time and memory).
const MAX_ITEMS: i64 = 50_000;
const CHECK_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Category,
    Unit,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Category, Kind::Unit];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Category => "category",
            Kind::Unit => "unit",
        }
    }
    fn examples_sql(self) -> &'static str {
        match self {
            // Accepted items only: the category then is the staff's, not just the citizen's.
            Kind::Category => "SELECT title, body, category_id FROM opinions WHERE category_id IS NOT NULL AND accepted_at IS NOT NULL ORDER BY id DESC LIMIT $1",
            Kind::Unit => "SELECT title, body, unit_id FROM opinions WHERE unit_id IS NOT NULL ORDER BY id DESC LIMIT $1",
        }
    }
    /// Handled items of the kind that came in after `$1` (ms).
    fn new_since_sql(self) -> &'static str {
        match self {
            Kind::Category => "SELECT COUNT(*) FROM opinions WHERE created_at > $1 AND category_id IS NOT NULL AND accepted_at IS NOT NULL",
            Kind::Unit => "SELECT COUNT(*) FROM opinions WHERE created_at > $1 AND unit_id IS NOT NULL",
        }
    }
}

/// A model in memory with its row's facts.
pub struct LoadedModel {
    pub id: i64,
    pub trained_at: i64,
    pub items: i64,
    pub model: Model,
}

#[derive(Default)]
pub struct Loaded {
    checked_at: i64,
    category: Option<Arc<LoadedModel>>,
    unit: Option<Arc<LoadedModel>>,
}

impl Loaded {
    fn get(&self, kind: Kind) -> Option<Arc<LoadedModel>> {
        match kind {
            Kind::Category => self.category.clone(),
            Kind::Unit => self.unit.clone(),
        }
    }
    fn slot(&mut self, kind: Kind) -> &mut Option<Arc<LoadedModel>> {
        match kind {
            Kind::Category => &mut self.category,
            Kind::Unit => &mut self.unit,
        }
    }
}

/// One suggestion: a category or unit, how sure the model is, and whether the forms
/// pre-select it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub name: String,
    /// 0–1.
    pub confidence: f32,
    pub preselect: bool,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    pub category: Option<Suggestion>,
    pub unit: Option<Suggestion>,
}

/// What one training run did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrainReport {
    pub kind: String,
    pub items: i64,
    pub labels: i64,
    /// Labels left out for having fewer than `text_train_min_per_label` items.
    pub left_out_labels: i64,
    /// The stored model's id; none when skipped.
    pub model_id: Option<i64>,
    /// Why no model was trained (zh / en).
    pub skipped: Option<String>,
    pub millis: i64,
}

/// Loads newer models from the database when the last check is a minute old (or `force`).
pub async fn refresh(o: &Opinions, force: bool) -> AppResult<()> {
    let now = now_ms();
    let current: Vec<(Kind, Option<i64>)> = {
        let l = o.assist.models.read().expect("models lock");
        if !force && now - l.checked_at < CHECK_EVERY_MS {
            return Ok(());
        }
        Kind::ALL
            .iter()
            .map(|&k| (k, l.get(k).map(|m| m.id)))
            .collect()
    };
    let mut fresh = Vec::new();
    for (kind, have) in current {
        let row = sqlx::query(
            "SELECT id, trained_at, items FROM text_models WHERE kind = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(kind.as_str())
        .fetch_optional(o.db.pool())
        .await?;
        let Some(row) = row else { continue };
        let id: i64 = row.get(0);
        if Some(id) == have {
            continue;
        }
        let bytes: Vec<u8> = sqlx::query("SELECT bytes FROM text_models WHERE id = $1")
            .bind(id)
            .fetch_one(o.db.pool())
            .await?
            .get(0);
        // Building the model's segmenter loads jieba's dictionary: off the runtime.
        let model = tokio::task::spawn_blocking(move || Model::from_bytes(&bytes))
            .await
            .map_err(AppError::internal)?;
        match model {
            Ok(model) => fresh.push((
                kind,
                LoadedModel {
                    id,
                    trained_at: row.get(1),
                    items: row.get(2),
                    model,
                },
            )),
            Err(e) => tracing::warn!(error = %e, id, "stored text model unreadable; retrain"),
        }
    }
    let mut l = o.assist.models.write().expect("models lock");
    l.checked_at = now;
    for (kind, m) in fresh {
        let newer = l.get(kind).is_none_or(|old| old.id < m.id);
        if newer {
            *l.slot(kind) = Some(Arc::new(m));
        }
    }
    Ok(())
}

/// The loaded model of a kind, if any.
pub fn loaded(o: &Opinions, kind: Kind) -> Option<Arc<LoadedModel>> {
    o.assist.models.read().expect("models lock").get(kind)
}

fn text_of(title: &str, body: &str) -> String {
    format!("{title}\n{body}")
}

/// Suggestions for a text; labels that no longer exist (or are retired) are not offered.
pub async fn suggest(o: &Opinions, title: &str, body: &str) -> AppResult<Suggestions> {
    refresh(o, false).await?;
    let text = text_of(title, body);
    let mut out = Suggestions::default();
    for kind in Kind::ALL {
        let Some(m) = loaded(o, kind) else { continue };
        let p = m.model.predict(&text);
        let Ok(id) = p.label.parse::<i64>() else {
            continue;
        };
        let sql = match kind {
            Kind::Category => "SELECT name FROM categories WHERE id = $1 AND retired = 0",
            Kind::Unit => "SELECT name FROM units WHERE id = $1 AND retired = 0",
        };
        let name: Option<String> = sqlx::query(sql)
            .bind(id)
            .fetch_optional(o.db.pool())
            .await?
            .map(|r| r.get(0));
        let Some(name) = name else { continue };
        let s = Suggestion {
            id,
            name,
            confidence: p.confidence,
            preselect: p.confidence >= o.config.assist.preselect_confidence,
        };
        match kind {
            Kind::Category => out.category = Some(s),
            Kind::Unit => out.unit = Some(s),
        }
    }
    Ok(out)
}

pub fn may_retrain(p: &Principal) -> AppResult<()> {
    if matches!(p.role, Role::Admin | Role::Office) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Retrains both models now (office and admin), whatever the number of new items.
pub async fn retrain(o: &Opinions, p: &Principal, client: &str) -> AppResult<Vec<TrainReport>> {
    may_retrain(p)?;
    let mut out = Vec::new();
    // Asked for by someone waiting on the page: it runs to the end.
    let never = Stop::new();
    for kind in Kind::ALL {
        match train_kind(o, kind, &Actor::new(p, client), &never).await? {
            Some(report) => out.push(report),
            None => return Err(AppError::internal(anyhow::anyhow!("training stopped"))),
        }
    }
    refresh(o, true).await?;
    Ok(out)
}

/// Handled items of a kind that came in after its newest model was trained (all of them
/// when there is no model yet), and whether there is a model. Not the handled total minus
/// the model's items: training reads at most `MAX_ITEMS`, so past that the difference never
/// shrinks and every night would retrain.
async fn new_items(o: &Opinions, kind: Kind) -> AppResult<(i64, bool)> {
    let trained_at: Option<i64> =
        sqlx::query("SELECT trained_at FROM text_models WHERE kind = $1 ORDER BY id DESC LIMIT 1")
            .bind(kind.as_str())
            .fetch_optional(o.db.pool())
            .await?
            .map(|r| r.get(0));
    let new: i64 = sqlx::query(kind.new_since_sql())
        .bind(trained_at.unwrap_or(i64::MIN))
        .fetch_one(o.db.pool())
        .await?
        .get(0);
    Ok((new, trained_at.is_some()))
}

/// What the daily run did.
#[derive(Debug)]
pub enum DailyRun {
    /// This instance had the day: a report for each kind it retrained (none may be due).
    Ran(Vec<TrainReport>),
    /// Another instance, or an earlier start of this one, has the day.
    TakenElsewhere,
    /// Stopped (the server is shutting down) before every due kind was trained: the day's
    /// claim is given back, so the next instance to start trains what is still due.
    Stopped,
}

/// The scheduled run: claims today's row (one instance wins), then retrains each kind
/// with at least `text_retrain_min_new` handled items that came in since its model was
/// trained, or whose stored model this version cannot read. Gives up at `stop`'s next
/// check.
pub async fn scheduled(o: &Opinions, day: &str, stop: &Stop) -> AppResult<DailyRun> {
    let claimed = sqlx::query(
        "INSERT INTO text_train_runs (day, claimed_at) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING",
    )
    .bind(day)
    .bind(now_ms())
    .execute(o.db.pool())
    .await?
    .rows_affected();
    if claimed == 0 {
        return Ok(DailyRun::TakenElsewhere);
    }
    // Load what can be loaded first: a stored model this version cannot read (one saved
    // in an older format) stays unloaded, and is replaced today rather than after the next
    // `text_retrain_min_new` items, so suggestions do not stop on an upgrade.
    refresh(o, true).await?;
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let (new, modelled) = new_items(o, kind).await?;
        let unreadable = modelled
            && o.assist
                .models
                .read()
                .expect("models lock")
                .get(kind)
                .is_none();
        if unreadable || new >= o.config.assist.retrain_min_new {
            match train_kind(o, kind, &Actor::system("text-retrain"), stop).await? {
                Some(report) => out.push(report),
                None => {
                    sqlx::query("DELETE FROM text_train_runs WHERE day = $1")
                        .bind(day)
                        .execute(o.db.pool())
                        .await?;
                    return Ok(DailyRun::Stopped);
                }
            }
        }
    }
    refresh(o, true).await?;
    Ok(DailyRun::Ran(out))
}

/// Trains and stores one kind's model; None when `stop` came first (nothing stored).
async fn train_kind(
    o: &Opinions,
    kind: Kind,
    actor: &Actor,
    stop: &Stop,
) -> AppResult<Option<TrainReport>> {
    let started = now_ms();
    let rows = sqlx::query(kind.examples_sql())
        .bind(MAX_ITEMS)
        .fetch_all(o.db.pool())
        .await?;
    let all: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let t: String = r.get(0);
            let b: String = r.get(1);
            let l: i64 = r.get(2);
            (text_of(&t, &b), l.to_string())
        })
        .collect();
    let settings = &o.config.assist;
    let (examples, labels, left_out) = keep_common_labels(all, settings.train_min_per_label);
    let mut report = TrainReport {
        kind: kind.as_str().into(),
        items: examples.len() as i64,
        labels: labels as i64,
        left_out_labels: left_out as i64,
        model_id: None,
        skipped: None,
        millis: 0,
    };
    if examples.len() < settings.train_min_items || labels < 2 {
        let (min, per) = (settings.train_min_items, settings.train_min_per_label);
        report.skipped = Some(format!(
            "已办理事项不足（需至少 {min} 件、2 个以上各有 {per} 件的类别或单位） / too few handled items (need {min}, with 2 or more labels of {per} items each)"
        ));
        return Ok(Some(report));
    }
    let stop_training = stop.clone();
    let trained = tokio::task::spawn_blocking(move || {
        let texts: Vec<&str> = examples.iter().map(|(t, _)| t.as_str()).collect();
        let labels: Vec<&str> = examples.iter().map(|(_, l)| l.as_str()).collect();
        Model::train_or_stop(&texts, &labels, &TrainOptions::default(), &stop_training)
            .map(|m| m.to_bytes())
    })
    .await
    .map_err(AppError::internal)?;
    let model = match trained {
        Ok(bytes) => bytes,
        Err(TextError::Stopped) => return Ok(None),
        Err(e) => return Err(AppError::internal(e)),
    };
    let now = now_ms();
    let mut tx = o.db.pool().begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO text_models (kind, trained_at, items, labels, bytes) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(now)
    .bind(report.items)
    .bind(report.labels)
    .bind(model.clone())
    .fetch_one(&mut *tx)
    .await?
    .get(0);
    yidu_audit::record(
        &mut tx,
        actor,
        Entry::new("text_model_trained", "text_model", id).summary(format!(
            "{}: {} items, {} labels, {} bytes",
            kind.as_str(),
            report.items,
            report.labels,
            model.len()
        )),
    )
    .await?;
    tx.commit().await?;
    // Old models are kept a while for comparison, not forever.
    sqlx::query("DELETE FROM text_models WHERE kind = $1 AND id < $2 AND id NOT IN (SELECT id FROM text_models WHERE kind = $1 ORDER BY id DESC LIMIT 3)")
        .bind(kind.as_str())
        .bind(id)
        .execute(o.db.pool())
        .await?;
    report.model_id = Some(id);
    report.millis = now_ms() - started;
    Ok(Some(report))
}

/// Drops the examples of labels with fewer than `min_per_label` of them; returns the
/// examples kept, the number of labels kept and the number left out.
fn keep_common_labels(
    all: Vec<(String, String)>,
    min_per_label: usize,
) -> (Vec<(String, String)>, usize, usize) {
    let mut per: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (_, l) in &all {
        *per.entry(l.clone()).or_insert(0) += 1;
    }
    let kept: Vec<(String, String)> = all
        .into_iter()
        .filter(|(_, l)| per.get(l).copied().unwrap_or(0) >= min_per_label)
        .collect();
    let labels = per.values().filter(|&&n| n >= min_per_label).count();
    (kept, labels, per.len() - labels)
}

/// Model facts for the staff page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelInfo {
    pub kind: String,
    pub id: i64,
    pub trained_at: i64,
    pub items: i64,
    pub labels: i64,
}

pub async fn list(o: &Opinions, p: &Principal) -> AppResult<Vec<ModelInfo>> {
    may_retrain(p)?;
    let rows = sqlx::query(
        "SELECT kind, id, trained_at, items, labels FROM text_models ORDER BY id DESC LIMIT 20",
    )
    .fetch_all(o.db.pool())
    .await?;
    Ok(rows
        .iter()
        .map(|r| ModelInfo {
            kind: r.get(0),
            id: r.get(1),
            trained_at: r.get(2),
            items: r.get(3),
            labels: r.get(4),
        })
        .collect())
}

/// Daily training and model refresh until `shutdown` turns true. Runs after 02:00 Beijing
/// time; the day's claim row makes a restart or a second instance harmless.
pub fn spawn(
    o: Opinions,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    // Training checks this flag (a district's 50,000 items take half a minute of CPU):
    // shutdown must not wait for it.
    let stop = Stop::new();
    let mut told = shutdown.clone();
    let stop_on_shutdown = stop.clone();
    tokio::spawn(async move {
        while !*told.borrow() {
            if told.changed().await.is_err() {
                break;
            }
        }
        stop_on_shutdown.stop();
    });
    tokio::spawn(async move {
        // Warm the near-duplicate index so the first lookup is fast.
        if let Err(e) = super::similar::refresh(&o, true).await {
            tracing::warn!(error = %e, "near-duplicate index not loaded");
        }
        let mut done_for = String::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = now_ms();
            let day = crate::service::digest_send::china_day(now);
            if yidu_kernel::clock::to_china(now).hour() >= 2 && day != done_for {
                match scheduled(&o, &day, &stop).await {
                    Ok(DailyRun::Stopped) => break,
                    Ok(r) => {
                        if let DailyRun::Ran(r) = r {
                            tracing::info!(?r, "text models retrained");
                        }
                        done_for = day;
                    }
                    Err(e) => tracing::warn!(error = %e, "text model training failed"),
                }
            }
            if let Err(e) = refresh(&o, false).await {
                tracing::warn!(error = %e, "text model refresh failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                r = shutdown.changed() => if r.is_err() { break },
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::keep_common_labels;

    #[test]
    fn rare_labels_are_left_out() {
        let ex = |l: &str| ("text".to_string(), l.to_string());
        let all = vec![ex("a"), ex("a"), ex("a"), ex("b"), ex("b"), ex("c")];
        let (kept, labels, out) = keep_common_labels(all.clone(), 2);
        assert_eq!((kept.len(), labels, out), (5, 2, 1));
        let (kept, labels, out) = keep_common_labels(all, 1);
        assert_eq!((kept.len(), labels, out), (6, 3, 0));
    }
}
