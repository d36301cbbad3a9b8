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
/// (bench/memory/README.md, 2026-12-07).
///
/// A fixed mmap threshold does the same for large blocks: by default glibc raises the
/// threshold to the size of every mapped block freed (up to 32 MB), so after the first
/// large vector is freed, later ones (a growing index, a page of window texts) come from
/// the arena heap and their freed space stays resident as holes. With the threshold fixed
/// at 128 KiB every block that large is its own mapping and goes back to the system when
/// freed; the trim threshold is fixed with it, since setting one turns off the automatic
/// adjustment of both (bench/memory/README.md, later on 2026-12-07).
///
/// glibc reads these only from the environment at start, so the process executes itself
/// once more with them set. The restart is keyed on `MALLOC_ARENA_MAX`: an operator who
/// set it (any value) gets no restart and keeps their own settings; the other two are left
/// as the operator set them. Where re-executing fails the process goes on as it is.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    use std::os::unix::process::CommandExt;
    const MARKER: &str = "MALLOC_ARENA_MAX";
    const TUNABLES: [(&str, &str); 3] = [
        (MARKER, "2"),
        ("MALLOC_MMAP_THRESHOLD_", "131072"),
        ("MALLOC_TRIM_THRESHOLD_", "131072"),
    ];
    if std::env::var_os(MARKER).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command.args(std::env::args_os().skip(1));
    for (var, value) in TUNABLES {
        if std::env::var_os(var).is_none() {
            command.env(var, value);
        }
    }
    let err = command.exec();
    // Only reached when the exec failed.
    eprintln!("yidu: could not restart with {MARKER}=2 ({err}); going on without it");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
