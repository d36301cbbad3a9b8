//! `yidu`: one binary for grassroots people's congress work.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = yidu_app::cli::Cli::parse();
    match yidu_app::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("错误 / error: {e:#}");
            std::process::exit(1);
        }
    }
}
