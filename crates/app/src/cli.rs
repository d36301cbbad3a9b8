//! Command-line interface. Every command takes the same `--data`, `--database` and
//! `--config` options as `serve`. Messages are in Chinese and English.

use crate::config::{Config, LogFormat, Overrides};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use yidu_kernel::Principal;

#[derive(Debug, Parser)]
#[command(
    name = "yidu",
    version,
    about = "议督 yidu：基层人大工作平台 / grassroots people's congress work"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// 数据目录（SQLite 数据库、密钥）/ data directory (SQLite database, keys)
    #[arg(long, global = true, env = "YIDU_DATA")]
    pub data: Option<PathBuf>,
    /// 数据库地址 sqlite://PATH 或 postgres://… / database URL
    #[arg(long, global = true, env = "YIDU_DATABASE_URL")]
    pub database: Option<String>,
    /// TOML 配置文件 / TOML configuration file
    #[arg(long, global = true, env = "YIDU_CONFIG")]
    pub config: Option<PathBuf>,
    /// 日志格式 / log format
    #[arg(long, global = true, value_enum, env = "YIDU_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 启动服务 / run the server
    Serve {
        /// 监听地址 / address to listen on
        #[arg(long, env = "YIDU_LISTEN")]
        listen: Option<SocketAddr>,
        /// 对外访问地址（用于二维码）/ public base URL (used in QR codes)
        #[arg(long, env = "YIDU_PUBLIC_URL")]
        public_url: Option<String>,
        /// 空数据库时载入演示数据 / load the demo district into an empty database
        #[arg(long)]
        demo: bool,
    },
    /// 执行数据库迁移 / apply database migrations
    Migrate,
    /// 向空数据库载入演示区 / load the demo district into an empty database
    Demo,
    /// 用户管理 / manage users
    #[command(subcommand)]
    User(UserCommand),
    /// 从 .xlsx 导入名册 / import a registry list from .xlsx
    Import {
        /// regions | stations | deputies | units | users
        kind: String,
        file: PathBuf,
    },
    /// 导出名册为 .xlsx / export a registry list to .xlsx
    Export {
        /// regions | stations | deputies | units | users
        kind: String,
        file: PathBuf,
    },
    /// 在线备份 SQLite 数据库 / consistent online backup of the SQLite database
    Backup { file: PathBuf },
    /// 审计记录 / audit records
    #[command(subcommand)]
    Audit(AuditCommand),
    /// 外部渠道（Open311 API 密钥）/ external channels (Open311 API keys)
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// 民意类别树（CSV：一级分类,二级分类,三级分类）/ the category tree as CSV
    #[command(subcommand)]
    Categories(CategoriesCommand),
    /// 每日待办摘要 / the daily digest of due items
    #[command(subcommand)]
    Digest(DigestCommand),
    /// 中文文本：训练分类、分类、聚类（可在文件上评估）/ Chinese text: train, classify, cluster files
    #[command(subcommand)]
    Text(TextCommand),
    /// 类案：按区重新归类 / class cases: regroup a district's items
    #[command(subcommand)]
    Classes(ClassesCommand),
}

#[derive(Debug, Subcommand)]
pub enum ClassesCommand {
    /// 重新归类（保留人工确认、合并、拆分的结果）/ regroup (staff decisions are kept)
    Rebuild {
        /// 区编号（不给则所有有事项的区）/ district id (default: every district with items)
        #[arg(long)]
        district: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TextCommand {
    /// 用带标签的 CSV（id,text,label）训练分类模型 / train a classifier from a labelled CSV
    Train {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        model: PathBuf,
        /// 用户词典，每行一个词 / user dictionary, one word per line
        #[arg(long)]
        user_dict: Option<PathBuf>,
    },
    /// 对 CSV（id,text）分类，写出 id,label,confidence / classify a CSV
    Classify {
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
    /// 对 CSV（id,text 或 id,title,text）聚类，写出 id,cluster 并打印最大的类 / cluster a CSV
    Cluster {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long)]
        user_dict: Option<PathBuf>,
        /// 摘要中列出的类数 / clusters listed in the summary
        #[arg(long, default_value_t = 20)]
        top: usize,
    },
    /// 用本系统已办理的事项重新训练类别与承办单位建议模型（需要数据库）/ retrain the
    /// category and unit suggestion models from this deployment's handled items (database)
    Retrain,
}

#[derive(Debug, Subcommand)]
pub enum CategoriesCommand {
    /// 从 CSV 导入类别，已有的同名类别保留 / load categories from CSV (existing ones are kept)
    Import { file: PathBuf },
    /// 把使用中的类别导出为 CSV / write the active categories as CSV
    Export { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// 发送某日（北京时间）的待办摘要，每人每天只发一次 / send a day's digest (once per person and day)
    Send {
        /// 日期 YYYY-MM-DD（默认今天）/ day, YYYY-MM-DD (default today)
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// 新建渠道，输出的最后一个词是 API 密钥 / add a channel; the last word printed is its API key
    Add {
        name: String,
        /// 限定可提交的类别编号（可多次）/ category id it may file under (repeatable)
        #[arg(long = "category")]
        categories: Vec<i64>,
    },
    /// 列出渠道 / list channels
    List,
    /// 停用渠道的密钥 / revoke a channel's key
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// 新建用户 / add a user
    Add {
        username: String,
        /// admin | office | township | station | deputy | department | committee
        #[arg(long)]
        role: String,
        /// 所属范围编号（区域、联络站、代表、单位或工委）/ scope id
        #[arg(long)]
        scope: Option<i64>,
        /// 姓名 / display name
        #[arg(long)]
        name: String,
        /// 初始密码（不给则从标准输入读一行）/ initial password (else one line from stdin)
        #[arg(long, env = "YIDU_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// 重设密码（用户下次登录须修改）/ set a new initial password
    Passwd {
        username: String,
        #[arg(long, env = "YIDU_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// 停用用户 / disable a user
    Disable { username: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// 校验审计哈希链；有问题时以非零状态退出 / verify the hash chains; exits non-zero on any problem
    Verify,
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data: self.data.clone(),
            database: self.database.clone(),
            log_format: self.log_format,
            ..Default::default()
        }
    }
}

fn read_password(given: Option<String>) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    eprintln!("请输入密码后回车 / type the password and press Enter:");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!pw.is_empty(), "未读到密码 / no password given");
    Ok(pw)
}

/// `yidu import users` and `yidu export users` go to the accounts room.
fn is_users(kind: &str) -> bool {
    matches!(kind.trim(), "users" | "用户")
}

fn app_err(e: yidu_kernel::AppError) -> anyhow::Error {
    let mut text = e.message().both();
    for d in e.details() {
        let row = d
            .row
            .map(|r| format!("第 {r} 行 / row {r}: "))
            .unwrap_or_default();
        text.push_str(&format!("\n  {row}{}: {} / {}", d.field, d.zh, d.en));
    }
    anyhow::anyhow!(text)
}

/// Runs one command; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut o = cli.global.overrides();
    if let Command::Serve {
        listen, public_url, ..
    } = &cli.command
    {
        o.listen = *listen;
        o.public_url = public_url.clone();
    }
    // Text commands work on files only: no configuration or database needed.
    if let Command::Text(cmd) = &cli.command {
        if !matches!(cmd, TextCommand::Retrain) {
            return run_text(cmd);
        }
    }
    let config = Config::load(&o)?;
    init_tracing(config.log_format);
    let system = Principal::system();
    match cli.command {
        Command::Serve { demo, .. } => {
            crate::server::serve(config, demo).await?;
        }
        Command::Migrate => {
            let db = yidu_db::Db::connect_with(&config.database_url, &config.db_options()).await?;
            let applied = yidu_db::migrate::run(&db).await?;
            println!(
                "迁移完成，本次应用 {} 个 / migrations done, {} applied now; schema version {}",
                applied.len(),
                applied.len(),
                yidu_db::migrate::latest_version()
            );
        }
        Command::Demo => {
            let db = crate::server::connect(&config).await?;
            let report = crate::demo::load(&db, &config).await?;
            println!("{}", report.describe());
        }
        Command::User(cmd) => {
            let db = crate::server::connect(&config).await?;
            match cmd {
                UserCommand::Add {
                    username,
                    role,
                    scope,
                    name,
                    password,
                } => {
                    let input = yidu_accounts::NewUser {
                        username,
                        display_name: name,
                        role,
                        scope_id: scope,
                        password: read_password(password)?,
                    };
                    let u = yidu_accounts::service::create_user(&db, &system, "cli", &input, true)
                        .await
                        .map_err(app_err)?;
                    println!("已创建用户 / user created: {} (id {})", u.username, u.id);
                }
                UserCommand::Passwd { username, password } => {
                    let id = yidu_accounts::service::user_id_by_name(&db, &username)
                        .await
                        .map_err(app_err)?;
                    let pw = read_password(password)?;
                    yidu_accounts::service::reset_password(&db, &system, "cli", id, &pw)
                        .await
                        .map_err(app_err)?;
                    println!("已重设密码，用户下次登录须修改 / password set; the user must change it at next login");
                }
                UserCommand::Disable { username } => {
                    let id = yidu_accounts::service::user_id_by_name(&db, &username)
                        .await
                        .map_err(app_err)?;
                    yidu_accounts::service::set_disabled(&db, &system, "cli", id, true)
                        .await
                        .map_err(app_err)?;
                    println!("已停用 / disabled: {username}");
                }
            }
        }
        Command::Import { kind, file } => {
            let db = crate::server::connect(&config).await?;
            let bytes = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("无法读取 / cannot read {}: {e}", file.display()))?;
            if is_users(&kind) {
                let report = yidu_accounts::xlsx::import(&db, &system, "cli", &bytes)
                    .await
                    .map_err(app_err)?;
                println!(
                    "导入完成：新建 {} 个用户 / imported {} users: {}",
                    report.created.len(),
                    report.created.len(),
                    report.created.join(", ")
                );
                if !report.generated.is_empty() {
                    // Printed once for the operator to hand over; never logged.
                    println!("系统生成的初始密码（只显示这一次，首次登录须修改）/ generated initial passwords (shown once; must be changed at first login):");
                    for g in &report.generated {
                        println!("  {}\t{}", g.username, g.password);
                    }
                }
                return Ok(0);
            }
            let report = yidu_registry::xlsx::import(&db, &system, "cli", &kind, &bytes)
                .await
                .map_err(app_err)?;
            println!(
                "导入完成：{} 行，新建 {} 条 / imported {:?}: {} rows, {} created",
                report.rows, report.created, report.kind, report.rows, report.created
            );
        }
        Command::Export { kind, file } => {
            let db = crate::server::connect(&config).await?;
            let bytes = if is_users(&kind) {
                yidu_accounts::xlsx::export(&db, &system)
                    .await
                    .map_err(app_err)?
            } else {
                yidu_registry::xlsx::export(&db, &system, &kind)
                    .await
                    .map_err(app_err)?
            };
            std::fs::write(&file, bytes)?;
            println!("已导出 / exported to {}", file.display());
        }
        Command::Backup { file } => {
            let db = yidu_db::Db::connect_with(&config.database_url, &config.db_options()).await?;
            db.sqlite_backup(&file).await?;
            println!("备份完成 / backup written to {}", file.display());
        }
        Command::Channel(cmd) => {
            let db = crate::server::connect(&config).await?;
            let o = crate::router::opinions(db, &config)?;
            use yidu_opinions::open311::channels;
            match cmd {
                ChannelCommand::Add { name, categories } => {
                    let (c, key) = channels::create_channel(&o, &system, "cli", &name, &categories)
                        .await
                        .map_err(app_err)?;
                    println!("已创建渠道 {} / channel created; API 密钥只显示这一次 / API key (shown once): {key}", c.name);
                }
                ChannelCommand::List => {
                    for c in channels::list(&o, &system).await.map_err(app_err)? {
                        let cats = c
                            .category_ids
                            .iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(",");
                        let state = if c.revoked { "revoked" } else { "live" };
                        println!(
                            "{}\t{state}\tcategories={}\t{}",
                            c.name,
                            if cats.is_empty() { "all" } else { &cats },
                            c.created_at_local
                        );
                    }
                }
                ChannelCommand::Revoke { name } => {
                    let c = channels::by_name(&o, &system, &name)
                        .await
                        .map_err(app_err)?;
                    channels::revoke(&o, &system, "cli", c.id)
                        .await
                        .map_err(app_err)?;
                    println!("已停用 / revoked: {name}");
                }
            }
        }
        Command::Categories(cmd) => {
            let db = crate::server::connect(&config).await?;
            let o = crate::router::opinions(db, &config)?;
            use yidu_opinions::service::{categories, category_edit};
            match cmd {
                CategoriesCommand::Import { file } => {
                    let text = std::fs::read_to_string(&file).map_err(|e| {
                        anyhow::anyhow!("无法读取 / cannot read {}: {e}", file.display())
                    })?;
                    let created = categories::import_csv(&o, &text).await.map_err(app_err)?;
                    println!(
                        "导入完成：新建 {created} 个类别 / imported: {created} categories created"
                    );
                }
                CategoriesCommand::Export { file } => {
                    let csv = category_edit::export_csv(&o, &system)
                        .await
                        .map_err(app_err)?;
                    std::fs::write(&file, csv)?;
                    println!("已导出 / exported to {}", file.display());
                }
            }
        }
        Command::Digest(DigestCommand::Send { date }) => {
            let db = crate::server::connect(&config).await?;
            let o = crate::router::opinions(db, &config)?;
            use yidu_opinions::service::digest_send;
            let now = yidu_kernel::clock::now_ms();
            let today = yidu_kernel::clock::to_china(now).date();
            let day = match date {
                Some(d) => digest_send::parse_day(&d).map_err(app_err)?,
                None => today,
            };
            // Another day is computed as it stood at that day's digest time.
            let at = if day == today {
                now
            } else {
                let (h, m) = o.config.digest_time.unwrap_or((8, 0));
                digest_send::at_china_time(day, h, m)
            };
            let r = digest_send::send_daily(&o, &system, day, at)
                .await
                .map_err(app_err)?;
            println!(
                "{} 待办摘要：{} 人有待办，本次发送 {} 份（短信 {} 条），此前已发 {} 份 / digest for {}: {} with due items, {} sent now ({} by SMS), {} already sent",
                r.day, r.with_items, r.sent, r.outbound, r.already_sent,
                r.day, r.with_items, r.sent, r.outbound, r.already_sent
            );
        }
        Command::Text(TextCommand::Retrain) => {
            let db = crate::server::connect(&config).await?;
            let o = crate::router::opinions(db, &config)?;
            let reports = yidu_opinions::assist::models::retrain(&o, &system, "cli")
                .await
                .map_err(app_err)?;
            for r in reports {
                match (r.model_id, r.skipped) {
                    (Some(id), _) => println!(
                        "{}：已训练模型 #{id}，{} 件事项，{} 个标签，用时 {} ms / {}: trained model #{id} from {} items, {} labels in {} ms",
                        r.kind, r.items, r.labels, r.millis, r.kind, r.items, r.labels, r.millis
                    ),
                    (None, why) => println!("{}：{}", r.kind, why.unwrap_or_default()),
                }
            }
        }
        Command::Text(cmd) => return run_text(&cmd),
        Command::Classes(ClassesCommand::Rebuild { district }) => {
            let db = crate::server::connect(&config).await?;
            let c = crate::router::classes(db, &config)?;
            let reports = yidu_classes::service::cluster::rebuild_all(
                &c,
                district,
                &yidu_audit::Actor::system("cli"),
            )
            .await
            .map_err(app_err)?;
            for r in reports {
                println!(
                    "区 {} / district {}: {} 件 items, {} 簇 clusters, {} 个待确认类案 proposed classes, {} 件归类 items placed",
                    r.district_id, r.district_id, r.items, r.clusters, r.proposed, r.placed
                );
            }
        }
        Command::Audit(AuditCommand::Verify) => {
            let db = yidu_db::Db::connect_with(&config.database_url, &config.db_options()).await?;
            let report = yidu_audit::verify(&db).await?;
            match report.first_problem {
                None => {
                    println!(
                        "审计链完好：{} 条链，{} 条记录 / audit chains intact: {} chains, {} records",
                        report.chains, report.records, report.chains, report.records
                    );
                }
                Some(p) => {
                    let id = p
                        .record_id
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "-".into());
                    eprintln!(
                        "审计链被篡改 / audit chain broken: chain {} seq {} record id {}: {} / {}",
                        p.chain, p.seq, id, p.reason_zh, p.reason_en
                    );
                    return Ok(2);
                }
            }
        }
    }
    Ok(0)
}

fn run_text(cmd: &TextCommand) -> anyhow::Result<i32> {
    use yidu_text::cli as text;
    match cmd {
        TextCommand::Train {
            input,
            model,
            user_dict,
        } => {
            let args = text::TrainArgs {
                input: input.clone(),
                model: model.clone(),
                user_dict: user_dict.clone(),
            };
            let r = text::train_with(&args, &Default::default())?;
            println!(
                "已训练 / trained: {} rows, {} labels, {} features -> {}",
                r.rows,
                r.labels.len(),
                r.features,
                model.display()
            );
        }
        TextCommand::Classify {
            model,
            input,
            output,
        } => {
            let n = text::classify(model, input, output)?;
            println!("已分类 / classified {n} rows -> {}", output.display());
        }
        // Needs the database: handled in `run`.
        TextCommand::Retrain => {}
        TextCommand::Cluster {
            input,
            output,
            user_dict,
            top,
        } => {
            let args = text::ClusterArgs {
                input: input.clone(),
                output: output.clone(),
                user_dict: user_dict.clone(),
                top: *top,
            };
            let r = text::cluster_with(&args, &Default::default())?;
            println!(
                "{} rows, {} clusters -> {}",
                r.rows,
                r.clusters,
                output.display()
            );
        }
    }
    Ok(0)
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YIDU_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=error"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
