//! The file-based functions behind `yidu text train | classify | cluster`. The binary's
//! argument parsing lives in the app; these take paths, report progress on stderr and
//! return a result (or a bilingual error naming the bad line).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::classify::{Model, TrainOptions};
use crate::cluster::{ClusterParams, Clustering};
use crate::csvio::{read_rows, read_user_words};
use crate::error::TextError;
use crate::segment::Segmenter;

/// Rows per progress line on stderr.
const PROGRESS_EVERY: usize = 2000;

/// Arguments of `yidu text train`.
#[derive(Debug, Clone, Default)]
pub struct TrainArgs {
    /// CSV with header and columns id,text,label.
    pub input: PathBuf,
    /// Where the model file is written.
    pub model: PathBuf,
    /// Optional user dictionary, one word per line.
    pub user_dict: Option<PathBuf>,
}

/// Arguments of `yidu text classify`.
#[derive(Debug, Clone, Default)]
pub struct ClassifyArgs {
    pub model: PathBuf,
    /// CSV with columns id,text.
    pub input: PathBuf,
    /// CSV written with columns id,label,confidence.
    pub output: PathBuf,
}

/// Arguments of `yidu text cluster`.
#[derive(Debug, Clone, Default)]
pub struct ClusterArgs {
    /// CSV with columns id,text and optionally title.
    pub input: PathBuf,
    /// CSV written with columns id,cluster.
    pub output: PathBuf,
    pub user_dict: Option<PathBuf>,
    /// Clusters listed in the summary.
    pub top: usize,
}

/// What training did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub rows: usize,
    /// (label, number of rows), sorted by label.
    pub labels: Vec<(String, usize)>,
    pub features: usize,
}

/// One line of the cluster summary.
#[derive(Debug, Clone)]
pub struct ClusterLine {
    pub cluster: u32,
    pub size: usize,
    pub label: String,
    /// Ids of the most central members.
    pub representative_ids: Vec<String>,
}

/// What clustering did.
#[derive(Debug, Clone)]
pub struct ClusterReport {
    pub rows: usize,
    pub clusters: usize,
    pub largest: Vec<ClusterLine>,
}

fn user_words(path: &Option<PathBuf>) -> Result<Vec<String>, TextError> {
    path.as_deref().map_or(Ok(Vec::new()), read_user_words)
}

fn writer(path: &Path) -> Result<csv::Writer<std::fs::File>, TextError> {
    let file = std::fs::File::create(path).map_err(|e| TextError::io(path, e))?;
    Ok(csv::Writer::from_writer(file))
}

fn write_error(path: &Path, error: csv::Error) -> TextError {
    match error.into_kind() {
        csv::ErrorKind::Io(e) => TextError::io(path, e),
        other => TextError::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}

/// `yidu text train --input TRAIN.csv --model MODEL`.
pub fn train(input: &Path, model: &Path) -> Result<TrainReport, TextError> {
    train_with(
        &TrainArgs {
            input: input.into(),
            model: model.into(),
            user_dict: None,
        },
        &TrainOptions::default(),
    )
}

/// Training with a user dictionary and explicit options.
pub fn train_with(args: &TrainArgs, options: &TrainOptions) -> Result<TrainReport, TextError> {
    let started = Instant::now();
    let rows = read_rows(&args.input, &["id", "text", "label"], &[])?;
    eprintln!("读取 {} 行 / read {} rows", rows.len(), rows.len());
    let mut options = options.clone();
    options.user_words.extend(user_words(&args.user_dict)?);
    let texts: Vec<&str> = rows.iter().map(|r| r.get(1)).collect();
    let labels: Vec<&str> = rows.iter().map(|r| r.get(2).trim()).collect();
    let model = Model::train(&texts, &labels, &options)?;
    model.save(&args.model)?;
    let counts = model
        .labels()
        .iter()
        .map(|l| {
            (
                l.clone(),
                labels.iter().filter(|x| **x == l.as_str()).count(),
            )
        })
        .collect();
    eprintln!(
        "训练完成：{} 个类别，{} 个特征，用时 {:.2} 秒 / trained: {} labels, {} features, {:.2} s",
        model.labels().len(),
        model.feature_count(),
        started.elapsed().as_secs_f64(),
        model.labels().len(),
        model.feature_count(),
        started.elapsed().as_secs_f64()
    );
    Ok(TrainReport {
        rows: rows.len(),
        labels: counts,
        features: model.feature_count(),
    })
}

/// `yidu text classify --model MODEL --input IN.csv --output OUT.csv`; returns the number of
/// rows classified.
pub fn classify(model: &Path, input: &Path, output: &Path) -> Result<usize, TextError> {
    let model = Model::load(model)?;
    let rows = read_rows(input, &["id", "text"], &[])?;
    let mut out = writer(output)?;
    out.write_record(["id", "label", "confidence"])
        .map_err(|e| write_error(output, e))?;
    for (chunk_number, chunk) in rows.chunks(PROGRESS_EVERY).enumerate() {
        let texts: Vec<&str> = chunk.iter().map(|r| r.get(1)).collect();
        for (row, prediction) in chunk.iter().zip(model.predict_batch(&texts)) {
            let confidence = format!("{:.4}", prediction.confidence);
            out.write_record([row.get(0), prediction.label.as_str(), confidence.as_str()])
                .map_err(|e| write_error(output, e))?;
        }
        let done = (chunk_number * PROGRESS_EVERY + chunk.len()).min(rows.len());
        eprintln!(
            "已分类 {done}/{} / classified {done}/{}",
            rows.len(),
            rows.len()
        );
    }
    out.flush().map_err(|e| TextError::io(output, e))?;
    Ok(rows.len())
}

/// `yidu text cluster --input IN.csv --output OUT.csv`: writes id,cluster and prints the
/// largest clusters with their labels to stdout.
pub fn cluster(input: &Path, output: &Path) -> Result<ClusterReport, TextError> {
    let args = ClusterArgs {
        input: input.into(),
        output: output.into(),
        user_dict: None,
        top: 20,
    };
    let report = cluster_with(&args, &ClusterParams::default())?;
    print_cluster_report(&report, &mut std::io::stdout().lock())
        .map_err(|e| TextError::io("<stdout>", e))?;
    Ok(report)
}

/// Clustering with a user dictionary and explicit parameters; prints nothing on stdout.
pub fn cluster_with(
    args: &ClusterArgs,
    params: &ClusterParams,
) -> Result<ClusterReport, TextError> {
    let started = Instant::now();
    let rows = read_rows(&args.input, &["id", "text"], &["title"])?;
    eprintln!("读取 {} 行 / read {} rows", rows.len(), rows.len());
    let texts: Vec<String> = rows
        .iter()
        .map(|r| clustering_text(r.values[2].as_deref(), r.get(1)))
        .collect();
    let segmenter = Segmenter::with_user_words(user_words(&args.user_dict)?);
    let clustering = Clustering::run(&texts, segmenter, params.clone());
    let mut out = writer(&args.output)?;
    out.write_record(["id", "cluster"])
        .map_err(|e| write_error(&args.output, e))?;
    for (row, cluster) in rows.iter().zip(&clustering.assignment) {
        out.write_record([row.get(0), cluster.to_string().as_str()])
            .map_err(|e| write_error(&args.output, e))?;
    }
    out.flush().map_err(|e| TextError::io(&args.output, e))?;
    let largest = clustering
        .clusterer
        .summaries(&texts, 2, args.top)
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
    let clusters = clustering.clusterer.cluster_count();
    eprintln!(
        "聚类完成：{} 类，用时 {:.2} 秒 / clustered into {} clusters in {:.2} s",
        clusters,
        started.elapsed().as_secs_f64(),
        clusters,
        started.elapsed().as_secs_f64()
    );
    Ok(ClusterReport {
        rows: rows.len(),
        clusters,
        largest,
    })
}

/// The text a message is clustered on: its title counts twice, since a title states the
/// problem in a few words while the body adds circumstances.
pub fn clustering_text(title: Option<&str>, text: &str) -> String {
    match title.map(str::trim).filter(|t| !t.is_empty()) {
        Some(title) => format!("{title}。{title}。{text}"),
        None => text.to_string(),
    }
}

/// Writes the summary table of the largest clusters.
pub fn print_cluster_report(report: &ClusterReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{} 条，{} 类 / {} rows, {} clusters",
        report.rows, report.clusters, report.rows, report.clusters
    )?;
    writeln!(out, "cluster\tsize\tlabel\trepresentatives")?;
    for line in &report.largest {
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            line.cluster,
            line.size,
            line.label,
            line.representative_ids.join(" ")
        )?;
    }
    Ok(())
}
