//! Embeds jieba's default dictionary, compressed, for `segment.rs` to load as a stream.
//!
//! jieba-rs's own `Jieba::new()` decompresses the dictionary it embeds into a static string
//! that lives as long as the process (5 MB of text in an 8 MB allocation) and is never read
//! again after loading. Loading through `Jieba::with_dict` from a stream keeps only what the
//! segmenter needs. The dictionary is not copied into this repository: it is read here from
//! the jieba-rs package that Cargo already downloaded (found with `cargo metadata`), so the
//! words are exactly those of the jieba-rs version in Cargo.lock.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dict = jieba_dict();
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dict.display());
    let text = std::fs::read(&dict)
        .unwrap_or_else(|e| panic!("reading jieba's dictionary {}: {e}", dict.display()));
    // Level 9: within a few percent of the smallest output, and quick in an unoptimized
    // build script.
    let packed = zstd::encode_all(&text[..], 9).expect("compressing jieba's dictionary");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("jieba-dict.zst");
    std::fs::write(&out, packed).expect("writing the compressed dictionary");
}

/// `src/data/dict.txt` of the jieba-rs package this build uses.
fn jieba_dict() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["metadata", "--format-version", "1", "--locked"]);
    if let Ok(target) = std::env::var("TARGET") {
        // Only this platform's packages (the others need not be downloaded).
        cmd.args(["--filter-platform", &target]);
    }
    if std::env::var("CARGO_NET_OFFLINE").is_ok_and(|v| v == "true") {
        cmd.arg("--offline");
    }
    let output = cmd.output().expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata's output");
    let manifest = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "jieba-rs")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("jieba-rs among the packages of cargo metadata");
    PathBuf::from(manifest)
        .parent()
        .expect("jieba-rs's package folder")
        .join("src/data/dict.txt")
}
