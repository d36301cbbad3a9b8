//! The demo district and its demo accounts, for trying yidu out and for tests.

use crate::config::Config;
use yidu_accounts::NewUser;
use yidu_db::{Db, Row};
use yidu_kernel::Principal;

pub struct DemoReport {
    pub summary: yidu_registry::demo::DemoSummary,
    pub users: Vec<String>,
    pub password: String,
    /// Citizens' items generated as history.
    pub history: usize,
    /// A history item to try the tracking page with: (tracking number, query code).
    pub tracking_sample: Option<(String, String)>,
}

/// The seed of the demo's history: its items and their query codes are the same on
/// every machine.
pub const HISTORY_SEED: u64 = 2026;

impl DemoReport {
    pub fn describe(&self) -> String {
        let s = &self.summary;
        let track = match &self.tracking_sample {
            Some((no, code)) => format!(
                "\n查询办理进度 / try tracking at /track: 受理编号 tracking number {no}  查询码 query code {code}"
            ),
            None => String::new(),
        };
        let text = format!(
            "已载入演示区 / demo district loaded: {} regions, {} stations, {} deputies, {} units, {} committees\n\
             {} 条群众意见历史 / citizens' items of history\n\
             演示账号 / demo accounts: {} (密码 / password: {})\n\
             代表码示例 / a deputy code: /c/d/{}   联络站码示例 / a station code: /c/s/{}",
            s.regions,
            s.stations,
            s.deputies,
            s.units,
            s.committees,
            self.history,
            self.users.join(", "),
            self.password,
            s.deputy_code,
            s.station_code
        );
        text + &track
    }
}

pub async fn is_empty(db: &Db) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM regions")
        .fetch_one(db.pool())
        .await?
        .get(0);
    Ok(n == 0)
}

/// Loads the demo district and creates the demo accounts; errors when the database
/// already holds a district.
pub async fn load(db: &Db, config: &Config) -> anyhow::Result<DemoReport> {
    anyhow::ensure!(
        is_empty(db).await?,
        "数据库不是空的，不能载入演示数据 / the database is not empty; the demo loads only into an empty database"
    );
    let summary = yidu_registry::demo::load_demo(db).await?;
    let system = Principal::system();
    let deputy_name = yidu_registry::scope::deputy_name(db, summary.deputy_id)
        .await?
        .unwrap_or_else(|| "代表".into());
    let pw = config.demo_password.clone();
    let accounts: [(&str, &str, &str, Option<i64>); 7] = [
        ("admin", "系统管理员", "admin", None),
        (
            "office",
            "区人大办 王主任",
            "office",
            Some(summary.district_id),
        ),
        (
            "town1",
            "乡镇人大 李专干",
            "township",
            Some(summary.township_id),
        ),
        (
            "station1",
            "联络站 赵站长",
            "station",
            Some(summary.station_id),
        ),
        ("deputy1", &deputy_name, "deputy", Some(summary.deputy_id)),
        (
            "dept1",
            "承办单位 陈科长",
            "department",
            Some(summary.unit_id),
        ),
        (
            "committee1",
            "社会建设工委 周干事",
            "committee",
            Some(summary.committee_id),
        ),
    ];
    let mut users = Vec::new();
    for (username, name, role, scope) in accounts {
        let input = NewUser {
            username: username.into(),
            display_name: name.into(),
            role: role.into(),
            scope_id: scope,
            password: pw.clone(),
        };
        yidu_accounts::service::create_user(db, &system, "demo", &input, false)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "演示账号 {username} 创建失败 / demo account {username} failed: {e}"
                )
            })?;
        users.push(username.to_string());
    }
    yidu_opinions::service::categories::seed_default_if_empty(db)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message().both()))?;
    let (history, tracking_sample) = if config.demo_history > 0 {
        let o = crate::router::opinions(db.clone(), config)?;
        let n = yidu_opinions::demo::load_history(&o, config.demo_history, HISTORY_SEED).await?;
        (
            n,
            yidu_opinions::demo::tracking_sample(&o, HISTORY_SEED).await?,
        )
    } else {
        (0, None)
    };
    Ok(DemoReport {
        summary,
        users,
        password: pw,
        history,
        tracking_sample,
    })
}

pub async fn load_if_empty(db: &Db, config: &Config) -> anyhow::Result<Option<DemoReport>> {
    if !is_empty(db).await? {
        return Ok(None);
    }
    load(db, config).await.map(Some)
}
