//! Benchmarks of the text room; run by bench/text/run.sh, which also runs the Python
//! baseline on the same files. Prints numbers, one `key=value` result line per measure
//! (prefixed "RESULT"), so the script can put both sides in one table.
//!
//!   bench_text cv FILE [FOLDS] [SEEDS] [--seeds N] [--first-seed S] [--calibrate K]
//!                                             cross-validated macro-F1 over fold seeds
//!                                             S..S+N (default 42, 3), with timings;
//!                                             K inner folds of Platt calibration (0 = off)
//!   bench_text cluster FILE OUT.csv [THRESH]  clustering time and the largest clusters
//!   bench_text neardup ITEMS AREAS QUERIES    synthetic near-duplicate lookup at scale
//!                                             (env ND="indexed=8,min_hits=3" overrides
//!                                             the index settings, for tuning)
//!
//! No data is embedded: the files come from the command line, and the synthetic items of the
//! near-duplicate benchmark are recombinations of tokens taken from those files at run time
//! (or from a few generated syllables when no file is given).

use std::path::Path;
use std::time::Instant;

use yidu_text::cli::{clustering_text, print_cluster_report, ClusterLine, ClusterReport};
use yidu_text::cluster::{ClusterParams, Clustering};
use yidu_text::csvio::read_rows;
use yidu_text::{cross_validate, Model, NearDupIndex, NearDupParams, Segmenter, TrainOptions};

fn main() {
    let (args, flags) = split_flags(std::env::args().skip(1).collect());
    let arg = |i: usize| args.get(i).map(String::as_str);
    let flag = |name: &str| {
        flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    match arg(0) {
        Some("cv") => cv(
            Path::new(arg(1).expect("FILE")),
            arg(2).map_or(5, |s| s.parse().unwrap()),
            flag("--seeds")
                .or(arg(3))
                .map_or(3, |s| s.parse().expect("--seeds N")),
            // 42 onward are the seeds the README has always reported; selection of settings
            // uses 100–102, and a held-out check uses seeds never looked at (e.g. 1000).
            flag("--first-seed").map_or(42, |s| s.parse().expect("--first-seed S")),
            flag("--calibrate").map_or(0, |s| s.parse().expect("--calibrate K")),
        ),
        Some("cluster") => cluster(
            Path::new(arg(1).expect("FILE")),
            Path::new(arg(2).expect("OUT.csv")),
            arg(3).map(|s| s.parse().unwrap()),
        ),
        Some("neardup") => neardup(
            arg(1).map_or(1_000_000, |s| s.parse().unwrap()),
            arg(2).map_or(100, |s| s.parse().unwrap()),
            arg(3).map_or(2000, |s| s.parse().unwrap()),
            arg(4).map(Path::new),
        ),
        _ => eprintln!("usage: bench_text cv FILE [FOLDS] [SEEDS] [--seeds N] [--first-seed S] [--calibrate K] | cluster FILE OUT [THRESH] | neardup ITEMS AREAS QUERIES [TOKENS.csv]"),
    }
}

/// Splits `--name value` pairs from the positional arguments.
fn split_flags(all: Vec<String>) -> (Vec<String>, Vec<(String, String)>) {
    let mut args = Vec::new();
    let mut flags = Vec::new();
    let mut all = all.into_iter();
    while let Some(a) = all.next() {
        if a.starts_with("--") {
            let value = all.next().unwrap_or_else(|| panic!("{a} needs a value"));
            flags.push((a, value));
        } else {
            args.push(a);
        }
    }
    (args, flags)
}

fn cv(path: &Path, folds: usize, seeds: u64, first_seed: u64, calibration_folds: usize) {
    let rows = read_rows(path, &["id", "text", "label"], &[]).expect("readable labelled file");
    let texts: Vec<&str> = rows.iter().map(|r| r.get(1)).collect();
    let labels: Vec<&str> = rows.iter().map(|r| r.get(2)).collect();
    let mut scores = Vec::new();
    let mut first_seed_seconds = 0.0;
    let mut first_seed_cpu = 0.0;
    for seed in 0..seeds {
        let options = TrainOptions {
            seed: first_seed + seed,
            calibration_folds,
            ..TrainOptions::default()
        };
        let started = Instant::now();
        let cpu_started = cpu_seconds();
        let report = cross_validate(&texts, &labels, folds, &options).expect("training works");
        let seconds = started.elapsed().as_secs_f64();
        if seed == 0 {
            first_seed_seconds = seconds;
            first_seed_cpu = cpu_seconds() - cpu_started;
            for (label, f1) in &report.per_label {
                println!("  {label}\tF1 {f1:.3}");
            }
        }
        println!(
            "seed {}: macro-F1 {:.5}, accuracy {:.4}, {folds}-fold CV {seconds:.2} s",
            first_seed + seed,
            report.macro_f1,
            report.accuracy
        );
        scores.push(report.macro_f1);
    }
    let n = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / n;
    // Sample standard deviation across fold seeds: how much the split alone moves the score.
    let std = if scores.len() > 1 {
        (scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    println!(
        "fold seeds {first_seed}-{}: macro-F1 mean {mean:.5}, std {std:.5}, min {min:.5}, max {max:.5}",
        first_seed + seeds - 1
    );
    println!("RESULT ours_cv_seeds={seeds}");
    println!("RESULT ours_cv_first_seed={first_seed}");
    println!("RESULT ours_cv_macro_f1={mean:.5}");
    println!("RESULT ours_cv_macro_f1_std={std:.5}");
    println!("RESULT ours_cv_macro_f1_min={min:.5}");
    println!("RESULT ours_cv_macro_f1_max={max:.5}");
    println!("RESULT ours_cv_seconds={first_seed_seconds:.3}");
    println!("RESULT ours_cv_cpu_seconds={first_seed_cpu:.3}");
    // One full training and one prediction pass over the file, as the CLI would do them.
    let started = Instant::now();
    let options = TrainOptions {
        calibration_folds,
        ..TrainOptions::default()
    };
    let model = Model::train(&texts, &labels, &options).expect("training works");
    let trained = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let predictions = model.predict_batch(&texts);
    let predicted = started.elapsed().as_secs_f64();
    assert_eq!(predictions.len(), texts.len());
    println!("RESULT ours_train_seconds={trained:.3}");
    println!("RESULT ours_predict_seconds={predicted:.3}");
    println!("RESULT ours_model_bytes={}", model.to_bytes().len());
}

fn cluster(path: &Path, output: &Path, threshold: Option<f32>) {
    let rows = read_rows(path, &["id", "text"], &["title"]).expect("readable file");
    let texts: Vec<String> = rows
        .iter()
        .map(|r| clustering_text(r.values[2].as_deref(), r.get(1)))
        .collect();
    let mut params = ClusterParams::default();
    if let Some(threshold) = threshold {
        params.threshold = threshold;
    }
    // To compare settings: BENCH_CENTROID_TERMS=48 BENCH_BIGRAM_WEIGHT=1 bench_text cluster ...
    if let Some(n) = std::env::var("BENCH_CENTROID_TERMS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        params.centroid_terms = n;
    }
    if let Some(w) = std::env::var("BENCH_BIGRAM_WEIGHT")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        params.bigram_weight = w;
    }
    // The timed part starts with loading jieba's dictionary and the normalizer's tables,
    // as the baseline's starts with jieba.initialize(); the load is also reported alone.
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    let segmenter = Segmenter::new();
    let _ = yidu_text::normalize("測");
    let load_seconds = started.elapsed().as_secs_f64();
    let clustering = Clustering::run(&texts, segmenter, params);
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_started;
    let mut out = csv::Writer::from_path(output).expect("writable output");
    out.write_record(["id", "cluster"]).unwrap();
    for (row, cluster) in rows.iter().zip(&clustering.assignment) {
        out.write_record([row.get(0), cluster.to_string().as_str()])
            .unwrap();
    }
    out.flush().unwrap();
    let clusterer = &clustering.clusterer;
    let largest: Vec<ClusterLine> = clusterer
        .summaries(&texts, 2, 25)
        .into_iter()
        .map(|s| ClusterLine {
            cluster: s.cluster,
            size: s.size,
            label: s.label,
            representative_ids: s
                .representatives
                .iter()
                .map(|&i| rows[i].get(0).to_string())
                .collect(),
        })
        .collect();
    let multi: Vec<usize> = (0..clusterer.cluster_count() as u32)
        .map(|c| clusterer.cluster_size(c))
        .filter(|&n| n >= 2)
        .collect();
    let report = ClusterReport {
        rows: rows.len(),
        clusters: clusterer.cluster_count(),
        largest,
    };
    print_cluster_report(&report, &mut std::io::stdout().lock()).unwrap();
    println!("RESULT ours_cluster_seconds={seconds:.3}");
    println!("RESULT ours_cluster_cpu_seconds={cpu:.3}");
    println!("RESULT ours_cluster_load_seconds={load_seconds:.3}");
    println!("RESULT ours_clusters={}", clusterer.cluster_count());
    println!("RESULT ours_clusters_size_ge2={}", multi.len());
    println!(
        "RESULT ours_items_in_clusters_size_ge2={}",
        multi.iter().sum::<usize>()
    );
    println!(
        "RESULT ours_cluster_model_bytes_per_item={}",
        clusterer.heap_bytes() / rows.len().max(1)
    );
}

/// splitmix64, so the synthetic corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Roughly Zipf-distributed rank in 0..n: common tokens come up often, as in real text.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

/// Token pool: jieba words of the given file's texts, most frequent first; without a file,
/// two-character words made of common characters.
fn token_pool(path: Option<&Path>) -> Vec<String> {
    if let Some(path) = path.filter(|p| p.exists()) {
        let rows = read_rows(path, &["text"], &[]).expect("readable token file");
        let segmenter = Segmenter::new();
        let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for row in &rows {
            let normalized = yidu_text::normalize(row.get(0));
            for word in segmenter.words(&normalized) {
                *counts.entry(word.to_string()).or_insert(0) += 1;
            }
        }
        let mut pool: Vec<(String, usize)> = counts.into_iter().collect();
        pool.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        return pool.into_iter().map(|(w, _)| w).collect();
    }
    let chars: Vec<char> = "的是在了不和有大这主中人上为们地个用工时要动国产以我到他会作来分生对于学下级义就年阶发成部民可出能方进同行面说种过命度革而多子后自社加小机也经力线本电高量长党得实家定深法表着水理化争现所二起政三好十战无农使性前等反体合斗路图把结第里正新开论之物从当两些还天资事队批如应形想制心样干都向变关点育重其思与间内去因件日利相由压员气业代全组数果期导平各基或月毛然问比展那它最及外没看治提五解系林者米群头意只明四道马认次文通但条较克又公孔领军流入接席位情运器并飞原油放立题质指建区验活众很教决特此常石强极土少已根共直团统式转别造切九你取西持总料连任志观调七么山程百报更见必真保热委手改管处己将修支识病象几先老光专什六型具示复安带每东增则完风回南广劳轮科北打积车计给节做务被整联步类集号列温装即毫知轴研单色坚据速防史拉世设达尔场织历花受求传口断况采精金界品判参层止边清至万确究书术状厂须离再目海交权且儿青才证低越际八试规斯近注办布门铁需走议县兵固除般引齿千胜细影济白格效置推空配刀叶率述今选养德话查差半敌始片施响收华觉备名红续均药标记难存测士身紧液派准斤角降维板许破述技消底床田势端感往神便贺村构照容非搞亚磨族火段算适讲按值美态黄易彪服早班麦削信排台声该击素张密害侯草何树肥继右属市严径螺检左页抗苏显苦英快称坏移约巴材省黑武培著河帝仅针怎植京助升王眼她抓含苗副杂普谈围食射源例致酸旧却充足短划剂宣环落首尺波承粉践府鱼随考刻靠够满夫失包住促枝局菌杆周护岩师举曲春元超负砂封换太模贫减阳扬江析亩木言球朝医校古呢稻宋听唯输滑站另卫字鼓刚写刘微略范供阿块某功套友限项余倒卷创律雨让骨远帮初皮播优占死毒圈伟季训控激找叫云互跟裂粮粒母练塞钢顶策双留误础吸阻故寸盾晚丝女散焊功株亲院冷彻弹错散商视艺灭版烈零室轻血倍缺厘泵察绝富城冲喷壤简否柱李望盘磁雄似困巩益洲脱投送奴侧润盖挥距触星松送获兴独官混纪依未突架宽冬章湿偏纹吃执阀矿寨责熟稳夺硬价努翻奇甲预职评读背协损棉侵灰虽矛厚罗泥辟告卵箱掌氧恩爱停曾溶营终纲孟钱待尽俄缩沙退陈讨奋械载胞幼哪剥迫旋征槽倒握担仍呀鲜吧卡粗介钻逐弱脚怕盐末阴丰雾冠丙街莱贝辐肠付吉渗瑞惊顿挤秒悬姆烂森糖圣凹陶词迟蚕亿矩".chars().collect();
    let mut rng = Rng(7);
    (0..20_000)
        .map(|_| {
            [chars[rng.below(chars.len())], chars[rng.below(chars.len())]]
                .iter()
                .collect()
        })
        .collect()
}

fn synthetic_text(rng: &mut Rng, pool: &[String], words: usize) -> Vec<usize> {
    (0..words).map(|_| rng.zipf(pool.len())).collect()
}

fn render(pool: &[String], tokens: &[usize]) -> String {
    let mut text = String::new();
    for (i, &t) in tokens.iter().enumerate() {
        text.push_str(&pool[t]);
        if i % 12 == 11 {
            text.push('，');
        }
    }
    text
}

/// A paraphrase: about a fifth of the words replaced or dropped, some neighbours swapped.
fn paraphrase(rng: &mut Rng, pool: &[String], tokens: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(tokens.len());
    for &t in tokens {
        match rng.below(10) {
            0 => {}
            1 => out.push(rng.zipf(pool.len())),
            _ => out.push(t),
        }
    }
    for i in (1..out.len()).step_by(9) {
        out.swap(i - 1, i);
    }
    out
}

/// CPU time (user + system, all threads) of this process so far. On a machine shared with
/// other work, wall time measures the neighbours as much as the code; CPU time does not.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may contain spaces);
    // utime and stime are the 14th and 15th fields, in clock ticks of 1/100 s on Linux.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Runs `query` twice more and returns the fastest of the three times in ms (the first is
/// the last entry of `latencies`).
fn best_of_two_more<R>(query: &mut impl FnMut() -> R, latencies: &[f64]) -> f64 {
    let mut best = latencies.last().copied().unwrap_or(f64::INFINITY);
    for _ in 0..2 {
        let started = Instant::now();
        std::hint::black_box(query());
        best = best.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    best
}

/// CPU time of the calling thread so far (Linux schedstat).
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn neardup(items: usize, areas: usize, queries: usize, tokens: Option<&Path>) {
    let pool = token_pool(tokens);
    println!(
        "token pool: {} tokens; {items} items in {areas} areas",
        pool.len()
    );
    let mut rng = Rng(2024);
    let area_names: Vec<String> = (0..areas).map(|a| format!("area-{a}")).collect();
    let mut params = NearDupParams::default();
    for pair in std::env::var("ND")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').expect("key=value");
        match k {
            "indexed" => params.indexed = v.parse().unwrap(),
            "sketch_size" => params.sketch_size = v.parse().unwrap(),
            "max_posting" => params.max_posting = v.parse().unwrap(),
            "min_hits" => params.min_hits = v.parse().unwrap(),
            _ => panic!("unknown {k}"),
        }
    }
    println!("params: {params:?}");
    let mut index = NearDupIndex::new(params);
    // Keep the token lists of the items that will be paraphrased by queries, not all items.
    let mut sampled: Vec<(u64, usize, Vec<usize>)> = Vec::new();
    let sample_every = (items / queries.max(1)).max(1);
    let rss_before = rss_bytes();
    let started = Instant::now();
    for i in 0..items {
        let length = 40 + rng.below(120);
        let tokens = synthetic_text(&mut rng, &pool, length);
        let area = rng.below(areas);
        index.insert(i as u64, &area_names[area], &render(&pool, &tokens));
        if i % sample_every == 0 && sampled.len() < queries / 2 {
            sampled.push((i as u64, area, tokens));
        }
        if (i + 1) % 200_000 == 0 {
            eprintln!(
                "inserted {} ({:.1} s)",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let insert_seconds = started.elapsed().as_secs_f64();
    let rss_after = rss_bytes();
    let mut latencies = Vec::with_capacity(queries);
    let mut query_cpu = 0.0;
    let mut best_of_3 = Vec::with_capacity(queries);
    let mut found = 0;
    let mut heavy_found = 0;
    // Its own generator, so the timed queries are the same as without this check.
    let mut heavy_rng = Rng(99);
    for (id, area, tokens) in &sampled {
        let text = render(&pool, &paraphrase(&mut rng, &pool, tokens));
        let cpu = thread_cpu_seconds();
        let started = Instant::now();
        let matches = index.query(&area_names[*area], &text, 5);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        query_cpu += thread_cpu_seconds() - cpu;
        best_of_3.push(best_of_two_more(
            &mut || index.query(&area_names[*area], &text, 5),
            &latencies,
        ));
        if matches.first().is_some_and(|m| m.id == *id) {
            found += 1;
        }
        // A heavier rewrite (the paraphrase of a paraphrase), not timed: checks that
        // weaker duplicates are still found, so that tuning for speed cannot quietly
        // keep only the easy ones.
        let once = paraphrase(&mut heavy_rng, &pool, tokens);
        let heavy = paraphrase(&mut heavy_rng, &pool, &once);
        let matches = index.query(&area_names[*area], &render(&pool, &heavy), 5);
        if matches.first().is_some_and(|m| m.id == *id) {
            heavy_found += 1;
        }
    }
    let mut false_matches = 0;
    for _ in sampled.len()..queries {
        let length = 40 + rng.below(120);
        let text = render(&pool, &synthetic_text(&mut rng, &pool, length));
        let area = rng.below(areas);
        let cpu = thread_cpu_seconds();
        let started = Instant::now();
        let matches = index.query(&area_names[area], &text, 5);
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        query_cpu += thread_cpu_seconds() - cpu;
        best_of_3.push(best_of_two_more(
            &mut || index.query(&area_names[area], &text, 5),
            &latencies,
        ));
        false_matches += usize::from(matches.iter().any(|m| m.similarity >= 0.3));
    }
    latencies.sort_by(f64::total_cmp);
    best_of_3.sort_by(f64::total_cmp);
    let at =
        |sorted: &[f64], p: f64| sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)];
    let pct = |p: f64| at(&latencies, p);
    let per_million = |bytes: u64| bytes as f64 / items as f64 * 1_000_000.0 / (1024.0 * 1024.0);
    println!("RESULT neardup_items={items}");
    println!("RESULT neardup_areas={areas}");
    println!("RESULT neardup_insert_seconds={insert_seconds:.1}");
    println!("RESULT neardup_p50_ms={:.3}", pct(0.50));
    println!("RESULT neardup_p99_ms={:.3}", pct(0.99));
    // Mean CPU time of the querying thread per query: on a shared machine, wall-time
    // percentiles also count the moments the thread waited for a core. (The kernel's
    // per-thread counter is exact over many queries, not for one.)
    // Each query run twice more, keeping its fastest time: a core preempted by a neighbour
    // rarely hits all three runs (the repeats find the query's postings in cache, so this
    // is a lower bound on a cold query).
    println!(
        "RESULT neardup_best_of_3_p50_ms={:.3}",
        at(&best_of_3, 0.50)
    );
    println!(
        "RESULT neardup_best_of_3_p99_ms={:.3}",
        at(&best_of_3, 0.99)
    );
    println!(
        "RESULT neardup_cpu_mean_ms={:.3}",
        query_cpu * 1000.0 / latencies.len().max(1) as f64
    );
    println!(
        "RESULT neardup_max_ms={:.3}",
        latencies.last().copied().unwrap_or(0.0)
    );
    println!(
        "RESULT neardup_paraphrase_recall_at_1={:.3}",
        found as f64 / sampled.len().max(1) as f64
    );
    println!(
        "RESULT neardup_heavy_paraphrase_recall_at_1={:.3}",
        heavy_found as f64 / sampled.len().max(1) as f64
    );
    println!(
        "RESULT neardup_unrelated_false_match_rate={:.4}",
        false_matches as f64 / (queries - sampled.len()).max(1) as f64
    );
    println!(
        "RESULT neardup_rss_mib_per_million={:.0}",
        per_million(rss_after.saturating_sub(rss_before))
    );
    println!(
        "RESULT neardup_index_mib_per_million={:.0}",
        per_million(index.approximate_bytes() as u64)
    );
}
