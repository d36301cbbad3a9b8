//! Loading jieba's default dictionary keeps what segmenting needs, not the dictionary's
//! text. A test binary of its own: no other test allocates while the RSS is compared.

/// Resident set size of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_dictionary_text_is_not_kept_after_loading() {
    let start = rss_kib();
    let ours = yidu_text::Segmenter::new();
    assert!(ours.words("路灯坏了").contains(&"路灯"));
    let after_ours = rss_kib();
    // jieba-rs's own loading: the same tables, plus the decompressed text (5 MB) it keeps
    // in a static. Had the segmenter loaded it this way, the static would be resident
    // already and this second load would grow by less than the first.
    let theirs = jieba_rs::Jieba::new();
    assert!(theirs.has_word("路灯"));
    let after_theirs = rss_kib();
    let (ours_kib, theirs_kib) = (after_ours - start, after_theirs - after_ours);
    assert!(
        theirs_kib >= ours_kib + 3 * 1024,
        "loading grew RSS by {ours_kib} KiB (ours), then {theirs_kib} KiB (jieba-rs's)"
    );
}
