//! Configuration: built-in defaults, then an optional TOML file, then `YIDU_*`
//! environment variables and command-line flags (clap reads both; flags win).

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub log_format: LogFormat,
    pub public_url: String,
    pub secure_cookies: bool,
    pub trust_forwarded_for: bool,
    pub frame_ancestors: Vec<String>,
    pub max_connections: u32,
    pub sqlite_synchronous: String,
    /// SQLite page cache per connection, in KiB.
    pub sqlite_cache_kb: u32,
    /// The SQLite writer connection's page cache, in KiB (given back when idle).
    pub sqlite_writer_cache_kb: u32,
    /// Tests only (never read from the file or the environment): SQLite readers refuse
    /// writes, to check that a path writes through the writer.
    pub sqlite_readers_query_only: bool,
    /// Group commit on SQLite: jobs per transaction and how long to wait for more.
    pub group_commit: yidu_db::GroupCommit,
    pub accounts: yidu_accounts::AccountsConfig,
    pub demo_password: String,
    /// Personal-data keys from configuration (`YIDU_DATA_KEY`); else the key file.
    pub data_key: Option<String>,
    pub opinions: yidu_opinions::OpinionsConfig,
    /// Class cases (类案): the clustering window and the smallest proposed class.
    pub classes: yidu_classes::ClassesConfig,
    /// Citizens' items the demo generates as two years of history.
    pub demo_history: usize,
    /// The working-day calendar: the shipped State Council notices plus the years of the
    /// deployment's own holiday file (`holidays_file`, `YIDU_HOLIDAYS_FILE`), which adds a year
    /// published after this release or replaces an amended one.
    pub calendar: std::sync::Arc<yidu_calendar::Calendar>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The default password of the demo accounts (README lists it).
pub const DEFAULT_DEMO_PASSWORD: &str = "Yidu@2026demo";

/// The TOML file's shape; every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub database: Option<String>,
    pub log_format: Option<String>,
    pub public_url: Option<String>,
    pub secure_cookies: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
    pub frame_ancestors: Option<Vec<String>>,
    pub max_connections: Option<u32>,
    pub sqlite_synchronous: Option<String>,
    pub sqlite_cache_kb: Option<u32>,
    pub sqlite_writer_cache_kb: Option<u32>,
    pub lockout_failures: Option<i64>,
    pub lockout_minutes: Option<i64>,
    pub session_idle_minutes: Option<i64>,
    pub token_hours: Option<i64>,
    pub demo_password: Option<String>,
    pub demo_history: Option<usize>,
    /// A holiday file in the format of crates/calendar/data/cn-holidays.toml.
    pub holidays_file: Option<PathBuf>,
    pub accept_days: Option<u32>,
    pub take_days: Option<u32>,
    pub reply_days: Option<u32>,
    pub max_reopens: Option<u32>,
    pub submissions_per_client_per_hour: Option<i64>,
    pub submissions_per_phone_per_day: Option<i64>,
    pub digest_time: Option<String>,
    pub route_cache_ms: Option<u64>,
    pub write_batch_max: Option<usize>,
    pub write_batch_wait_us: Option<u64>,
    pub write_batch_requests: Option<bool>,
    pub class_window_days: Option<u32>,
    pub class_min_size: Option<usize>,
    pub text_preselect_confidence: Option<f32>,
    pub text_similar_min: Option<f32>,
    pub text_train_min_items: Option<usize>,
    pub text_train_min_per_label: Option<usize>,
    pub text_retrain_min_new: Option<i64>,
}

/// The shipped holiday notices plus the deployment's holiday file, checked at start-up so
/// that a typing mistake in the file stops yidu instead of skewing every deadline.
fn calendar(file: Option<PathBuf>) -> anyhow::Result<yidu_calendar::Calendar> {
    let builtin = yidu_calendar::Calendar::builtin();
    let Some(path) = file else {
        return Ok(builtin);
    };
    let src = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "无法读取节假日文件 / cannot read the holiday file {}: {e}",
            path.display()
        )
    })?;
    builtin.with_extra_toml(&src).map_err(|e| {
        anyhow::anyhow!(
            "节假日文件 {} 有误 / {}: {e}",
            path.display(),
            path.display()
        )
    })
}

/// Deadlines and limits of the opinions room: defaults, then the file, then YIDU_* variables.
fn opinions_config(file: &FileConfig) -> anyhow::Result<yidu_opinions::OpinionsConfig> {
    let mut c = yidu_opinions::OpinionsConfig::default();
    if let Some(v) = env_parse("YIDU_ACCEPT_DAYS")?.or(file.accept_days) {
        c.accept_days = v;
    }
    if let Some(v) = env_parse("YIDU_TAKE_DAYS")?.or(file.take_days) {
        c.take_days = v;
    }
    if let Some(v) = env_parse("YIDU_REPLY_DAYS")?.or(file.reply_days) {
        c.reply_days = v;
    }
    if let Some(v) = env_parse("YIDU_MAX_REOPENS")?.or(file.max_reopens) {
        c.max_reopens = v;
    }
    if let Some(v) =
        env_parse("YIDU_SUBMISSIONS_PER_CLIENT_PER_HOUR")?.or(file.submissions_per_client_per_hour)
    {
        c.per_client_per_hour = v;
    }
    if let Some(v) =
        env_parse("YIDU_SUBMISSIONS_PER_PHONE_PER_DAY")?.or(file.submissions_per_phone_per_day)
    {
        c.per_phone_per_day = v;
    }
    if let Some(v) = env("YIDU_DIGEST_TIME").or(file.digest_time.clone()) {
        c.digest_time =
            yidu_opinions::model::parse_digest_time(&v).map_err(|e| anyhow::anyhow!(e))?;
    }
    if let Some(v) = env_parse("YIDU_ROUTE_CACHE_MS")?.or(file.route_cache_ms) {
        c.route_cache_ms = v;
    }
    let a = &mut c.assist;
    if let Some(v) = env_parse("YIDU_TEXT_PRESELECT_CONFIDENCE")?.or(file.text_preselect_confidence)
    {
        a.preselect_confidence = v;
    }
    if let Some(v) = env_parse("YIDU_TEXT_SIMILAR_MIN")?.or(file.text_similar_min) {
        a.similar_min = v;
    }
    if let Some(v) = env_parse("YIDU_TEXT_TRAIN_MIN_ITEMS")?.or(file.text_train_min_items) {
        a.train_min_items = v;
    }
    if let Some(v) = env_parse("YIDU_TEXT_TRAIN_MIN_PER_LABEL")?.or(file.text_train_min_per_label) {
        a.train_min_per_label = v;
    }
    if let Some(v) = env_parse("YIDU_TEXT_RETRAIN_MIN_NEW")?.or(file.text_retrain_min_new) {
        a.retrain_min_new = v;
    }
    a.validate()
        .map_err(|e| anyhow::anyhow!("配置有误 / invalid setting: {e}"))?;
    anyhow::ensure!(
        c.accept_days >= 1 && c.take_days >= 1 && c.reply_days >= 1,
        "受理、接收和答复时限须至少 1 个工作日 / accept, take and reply deadlines must be at least 1 working day"
    );
    Ok(c)
}

/// Class cases: defaults, then the file, then YIDU_CLASS_* variables.
fn classes_config(file: &FileConfig) -> anyhow::Result<yidu_classes::ClassesConfig> {
    let mut c = yidu_classes::ClassesConfig::default();
    if let Some(v) = env_parse("YIDU_CLASS_WINDOW_DAYS")?.or(file.class_window_days) {
        c.window_days = v;
    }
    if let Some(v) = env_parse("YIDU_CLASS_MIN_SIZE")?.or(file.class_min_size) {
        c.min_size = v;
    }
    anyhow::ensure!(
        c.window_days >= 1 && c.min_size >= 2,
        "类案时间窗至少 1 天、最小规模至少 2 件 / class_window_days must be at least 1 and class_min_size at least 2"
    );
    Ok(c)
}

/// What the command line (and the environment, through clap) says.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data: Option<PathBuf>,
    pub database: Option<String>,
    pub log_format: Option<LogFormat>,
    pub public_url: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|s| !s.trim().is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            anyhow::anyhow!("环境变量 {name} 的值无效 / invalid value in {name}: {v}")
        }),
    }
}

impl Config {
    pub fn load(o: &Overrides) -> anyhow::Result<Config> {
        let file_path = o.config_file.clone();
        let file: FileConfig = match &file_path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let data_dir = o
            .data
            .clone()
            .or(file.data.clone())
            .unwrap_or_else(|| PathBuf::from("yidu-data"));
        let listen = match (&o.listen, &file.listen) {
            (Some(l), _) => *l,
            (None, Some(s)) => s.parse().map_err(|_| {
                anyhow::anyhow!("配置项 listen 无效 / config key listen is not an address: {s}")
            })?,
            _ => "127.0.0.1:8080".parse().expect("valid"),
        };
        let database_url = o
            .database
            .clone()
            .or(file.database.clone())
            .unwrap_or_else(|| format!("sqlite://{}/yidu.db", data_dir.display()));
        let log_format = match (o.log_format, file.log_format.as_deref()) {
            (Some(f), _) => f,
            (None, Some("json")) => LogFormat::Json,
            (None, Some("text")) | (None, None) => LogFormat::Text,
            (None, Some(other)) => anyhow::bail!(
                "配置项 log_format 应为 text 或 json / log_format must be text or json: {other}"
            ),
        };
        let mut accounts = yidu_accounts::AccountsConfig::default();
        if let Some(v) = env_parse("YIDU_LOCKOUT_FAILURES")?.or(file.lockout_failures) {
            accounts.max_failures = v;
        }
        if let Some(v) = env_parse("YIDU_LOCKOUT_MINUTES")?.or(file.lockout_minutes) {
            accounts.lockout_minutes = v;
        }
        if let Some(v) = env_parse("YIDU_SESSION_IDLE_MINUTES")?.or(file.session_idle_minutes) {
            accounts.idle_minutes = v;
        }
        if let Some(v) = env_parse("YIDU_TOKEN_HOURS")?.or(file.token_hours) {
            accounts.token_hours = v;
        }
        anyhow::ensure!(
            accounts.max_failures >= 1 && accounts.lockout_minutes >= 1 && accounts.idle_minutes >= 1,
            "锁定次数、锁定分钟和空闲超时须为正数 / lockout failures, lockout minutes and idle timeout must be positive"
        );
        let opinions = opinions_config(&file)?;
        let classes = classes_config(&file)?;
        let public_url = o
            .public_url
            .clone()
            .or(file.public_url.clone())
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        Ok(Config {
            listen,
            data_dir,
            database_url,
            log_format,
            secure_cookies: env_parse("YIDU_SECURE_COOKIES")?
                .or(file.secure_cookies)
                .unwrap_or(public_url.starts_with("https://")),
            public_url,
            trust_forwarded_for: env_parse("YIDU_TRUST_FORWARDED_FOR")?
                .or(file.trust_forwarded_for)
                .unwrap_or(false),
            frame_ancestors: env("YIDU_FRAME_ANCESTORS")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .or(file.frame_ancestors)
                .unwrap_or_default(),
            max_connections: env_parse("YIDU_MAX_CONNECTIONS")?
                .or(file.max_connections)
                .unwrap_or(8),
            sqlite_synchronous: env("YIDU_SQLITE_SYNCHRONOUS")
                .or(file.sqlite_synchronous)
                .unwrap_or_else(|| "FULL".into()),
            sqlite_cache_kb: env_parse("YIDU_SQLITE_CACHE_KB")?
                .or(file.sqlite_cache_kb)
                .unwrap_or(yidu_db::DbOptions::default().sqlite_cache_kb),
            sqlite_writer_cache_kb: env_parse("YIDU_SQLITE_WRITER_CACHE_KB")?
                .or(file.sqlite_writer_cache_kb)
                .unwrap_or(yidu_db::DbOptions::default().sqlite_writer_cache_kb),
            sqlite_readers_query_only: false,
            group_commit: {
                let d = yidu_db::GroupCommit::default();
                yidu_db::GroupCommit {
                    max_batch: env_parse("YIDU_WRITE_BATCH_MAX")?
                        .or(file.write_batch_max)
                        .unwrap_or(d.max_batch)
                        .max(1),
                    max_wait: env_parse("YIDU_WRITE_BATCH_WAIT_US")?
                        .or(file.write_batch_wait_us)
                        .map_or(d.max_wait, std::time::Duration::from_micros),
                    batch_requests: env_parse("YIDU_WRITE_BATCH_REQUESTS")?
                        .or(file.write_batch_requests)
                        .unwrap_or(d.batch_requests),
                    ..d
                }
            },
            accounts,
            data_key: env(yidu_privacy::KEY_ENV),
            demo_history: env_parse("YIDU_DEMO_HISTORY")?
                .or(file.demo_history)
                .unwrap_or(30_000),
            opinions,
            classes,
            calendar: std::sync::Arc::new(calendar(
                env("YIDU_HOLIDAYS_FILE")
                    .map(PathBuf::from)
                    .or(file.holidays_file.clone()),
            )?),
            demo_password: env("YIDU_DEMO_PASSWORD")
                .or(file.demo_password)
                .unwrap_or_else(|| DEFAULT_DEMO_PASSWORD.into()),
        })
    }

    pub fn web(&self) -> yidu_web::WebConfig {
        yidu_web::WebConfig {
            secure_cookies: self.secure_cookies,
            trust_forwarded_for: self.trust_forwarded_for,
            frame_ancestors: self.frame_ancestors.clone(),
            public_url: self.public_url.clone(),
            session_idle_minutes: self.accounts.idle_minutes,
        }
    }

    pub fn db_options(&self) -> yidu_db::DbOptions {
        yidu_db::DbOptions {
            max_connections: self.max_connections,
            sqlite_synchronous: self.sqlite_synchronous.clone(),
            sqlite_cache_kb: self.sqlite_cache_kb,
            sqlite_writer_cache_kb: self.sqlite_writer_cache_kb,
            sqlite_readers_query_only: self.sqlite_readers_query_only,
            group_commit: self.group_commit,
        }
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p).map_err(|e| {
        anyhow::anyhow!(
            "无法读取配置文件 / cannot read config file {}: {e}",
            p.display()
        )
    })?;
    toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("配置文件有误 / config file {} is invalid: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_then_file_then_flags() {
        let dir = std::env::temp_dir().join(format!("yidu-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("yidu.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9000\"\npublic_url = \"https://yidu.example.org/\"\nlockout_minutes = 7\n").unwrap();
        let c = Config::load(&Overrides {
            config_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.public_url, "https://yidu.example.org");
        assert!(c.secure_cookies, "https public URL implies secure cookies");
        assert_eq!(c.accounts.lockout_minutes, 7);
        assert_eq!(c.database_url, "sqlite://yidu-data/yidu.db");
        let c = Config::load(&Overrides {
            config_file: Some(f.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.listen.port(), 9100);
        std::fs::write(&f, "listn = \"x\"\n").unwrap();
        let err = Config::load(&Overrides {
            config_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        // The text assist's thresholds come from the file and are checked at start-up.
        std::fs::write(
            &f,
            "text_preselect_confidence = 0.8\ntext_train_min_per_label = 5\n",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.opinions.assist.preselect_confidence, 0.8);
        assert_eq!(c.opinions.assist.train_min_per_label, 5);
        assert_eq!(c.opinions.assist.train_min_items, 10);
        std::fs::write(&f, "text_similar_min = 1.5\n").unwrap();
        let err = Config::load(&Overrides {
            config_file: Some(f.clone()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("text_similar_min"), "{err}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
