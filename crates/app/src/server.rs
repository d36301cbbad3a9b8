//! `yidu serve`: connect, migrate, optionally load the demo, and serve until SIGTERM or
//! Ctrl-C, finishing the requests in flight.

use crate::config::Config;
use std::net::SocketAddr;
use yidu_db::Db;

pub async fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect_with(&config.database_url, &config.db_options()).await?;
    let applied = yidu_db::migrate::run(&db).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    Ok(db)
}

pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let db = connect(&config).await?;
    serve_db(db, config, demo).await
}

/// `serve` on a database handle that is already connected and migrated (the intake
/// benchmark keeps a clone to read the write path's counters).
pub async fn serve_db(db: Db, config: Config, demo: bool) -> anyhow::Result<()> {
    if demo {
        match crate::demo::load_if_empty(&db, &config).await? {
            Some(report) => println!("{}", report.describe()),
            None => println!("数据库已有数据，未重复载入演示数据 / the database already has data; demo not loaded again"),
        }
    }
    if let Some(year) = config
        .calendar
        .missing_year(yidu_kernel::clock::to_china(yidu_kernel::clock::now_ms()))
    {
        // Deadlines that reach into that year stay empty until its notice is configured.
        tracing::warn!(
            year,
            "no holiday schedule for {year}: deadlines reaching into {year} cannot be computed; \
             add the State Council notice with holidays_file (YIDU_HOLIDAYS_FILE)"
        );
    }
    // Events leave through the outbox: webhooks, SMS and e-mail, retried until delivered.
    let outbound = yidu_outbox::OutboundConfig::from_env();
    let opinions = crate::router::opinions(db.clone(), &config)?;
    // The opinions room loaded jieba's dictionary from the compressed copy in the binary;
    // nothing reads that copy again, so its pages need not stay resident.
    crate::memory::release_static(yidu_text::segment::embedded_dictionary());
    let keys = opinions.keys.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dispatcher = yidu_outbox::spawn(
        yidu_outbox::Dispatcher::new(db.clone(), &outbound, Some(keys)),
        stop_rx.clone(),
    );
    // Class cases: new items join their class every few seconds (one instance at a time).
    // The worker, the background tasks and the router share this one opinions room (see
    // router::build_with).
    let class_worker = yidu_classes::worker::spawn(
        yidu_classes::Classes::new(opinions.clone(), config.classes.clone()),
        stop_rx.clone(),
    );
    // The daily digest of due items, at the configured Beijing time (once per person and
    // day however many instances run: see digest_send.rs).
    let digests = yidu_opinions::service::digest_send::spawn(opinions.clone(), stop_rx.clone());
    // Daily retraining of the category and unit models (one instance per day) and the
    // warm-up of the near-duplicate index; see the opinions room's assist module.
    // The search index in this binary's token format: rebuilt once, by one instance, when
    // an older format is found (searches check scope in SQL until then).
    let search_build =
        yidu_opinions::service::search_build::spawn(opinions.clone(), stop_rx.clone());
    // Memory freed by the class worker's rebuild, a model training or a large page goes
    // back to the system within seconds (glibc keeps it otherwise: see memory.rs).
    let trimmer = crate::memory::spawn_trimmer(crate::memory::TRIM_EVERY, stop_rx.clone());
    let assist = yidu_opinions::assist::models::spawn(opinions.clone(), stop_rx);
    let state = crate::router::state(db.clone(), &config);
    let app = crate::router::build_with(state, &config, opinions);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听 / cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    print_urls(&config, addr, demo);
    tracing::info!(%addr, database = %db.display_url(), "yidu listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = dispatcher.await;
    let _ = assist.await;
    // A rebuild in progress stops here: its open page rolls back, and the next instance
    // to start (or another one, after the lease) resumes from the last checkpoint.
    search_build.abort();
    if let Some(d) = digests {
        let _ = d.await;
    }
    let _ = class_worker.await;
    let _ = trimmer.await;
    db.close().await;
    Ok(())
}

fn print_urls(config: &Config, addr: SocketAddr, demo: bool) {
    let base = if config.public_url.contains(&addr.port().to_string()) {
        config.public_url.clone()
    } else {
        format!("http://{addr}")
    };
    println!("议督 yidu 已启动 / is running at {base}");
    println!("  群众端 Citizens: {base}/   (代表码 /c/d/<code>, 联络站码 /c/s/<code>)");
    println!("  代表端 Deputies: {base}/deputy");
    println!("  工作端 Staff:    {base}/staff");
    println!("  API:             {base}/api/openapi.json");
    if demo {
        println!(
            "  演示账号 Demo logins: admin, office, town1, station1, deputy1, dept1 — 密码 password: {}",
            config.demo_password
        );
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
