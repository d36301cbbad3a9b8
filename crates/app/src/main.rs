//! `yidu`: one binary for grassroots people's congress work.

use clap::Parser;

fn main() {
    limit_malloc_arenas();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("错误 / error: {e}");
            std::process::exit(1);
        });
    let cli = yidu_app::cli::Cli::parse();
    match runtime.block_on(yidu_app::cli::run(cli)) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// glibc's malloc gives threads that allocate at the same time arenas of their own (up to
/// eight per core) and reuses memory freed in one arena only for that arena, so a server
/// whose worker threads took turns holding large temporary data (the class rebuild, model
/// training, pages) keeps much more resident than it uses. Two arenas: idle RSS of `yidu
/// serve` with a million items 230 MB -> 176 MB, intake throughput unchanged within noise
/// (bench/memory/README.md, 2026-12-07). glibc reads the limit only from the environment
/// at start, so the process executes itself once more with it set; an operator's own
/// `MALLOC_ARENA_MAX` (any value) is left alone, and where re-executing fails the process
/// goes on as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MALLOC_ARENA_MAX";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let err = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(VAR, "2")
        .exec();
    // Only reached when the exec failed.
    eprintln!("yidu: could not restart with {VAR}=2 ({err}); going on without it");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
