//! Category and handling-unit suggestion: a model trained from the deployment's own handled
//! items. Ships with no pre-trained data.
//!
//! The learner is an NB-SVM (Wang & Manning, 2012) in one-vs-rest form: for each label, the
//! TF-IDF features are scaled by their naive-Bayes log-count ratio for that label, and a
//! linear SVM is trained on the scaled vectors. The ratio lets rare but telling n-grams
//! count for more than a plain SVM would give them, which matters with a few hundred
//! examples per label.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TextError;
use crate::features::{raw_counts, FeatureConfig, FeatureMap, InternedDocs, SparseVec, Vocabulary};
use crate::hashing::SeededRng;
use crate::linear::{train_svm, SvmParams};
use crate::normalize::normalize;
use crate::segment::Segmenter;
use crate::stop::Stop;

/// Bumped whenever the file layout or the feature recipe changes; older files are refused
/// with a message asking to retrain rather than predicting garbage.
pub const MODEL_FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"YIDUTXTM";

/// Training settings. The defaults are those measured best on the benchmark (see
/// bench/text/README.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// SVM inverse regularization.
    pub c: f32,
    /// Additive smoothing of the naive-Bayes ratios.
    pub nb_alpha: f32,
    /// Seed of the training order; the same data and seed give the same model.
    pub seed: u64,
    /// Words kept whole by the segmenter (place, station and unit names).
    pub user_words: Vec<String>,
    /// Class balancing: C of a label's own examples is multiplied by
    /// (negatives / positives)^class_balance, so small labels are not drowned (0 = off).
    pub class_balance: f32,
    /// Scale of the decision values before the softmax that gives confidences.
    pub confidence_scale: f32,
    /// Inner folds for per-label Platt calibration of the decision values (0 = off). With
    /// k folds, training also fits k inner models, so it costs about k + 1 times as much.
    pub calibration_folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            features: FeatureConfig::default(),
            // C, the NB smoothing, the class balance (and min_df) were picked together on
            // fold seeds 100–102 and reported on seeds 42–44 (bench/text/README.md). Light
            // smoothing lets the ratio of a feature seen in few documents speak; the
            // smaller C then keeps the SVM from leaning on it too hard.
            c: 0.5,
            nb_alpha: 0.1,
            seed: 42,
            user_words: Vec::new(),
            confidence_scale: 3.0,
            class_balance: 0.25,
            // Off: calibration (3 folds) gained about 0.001 macro-F1, inside the split noise,
            // for about 2.5x the CV CPU time, which would lose the 10x speed target.
            calibration_folds: 0,
        }
    }
}

/// One prediction: the best label, its confidence (0–1), and the confidence of every label
/// in [`Model::labels`] order, for showing runner-up suggestions.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: String,
    pub confidence: f32,
    pub confidences: Vec<f32>,
}

/// Per-label parameters: the NB ratio of each feature and the SVM weights folded with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LabelModel {
    ratio: Vec<f32>,
    weight_times_ratio: Vec<f32>,
    bias: f32,
}

/// A trained classifier. Save it with [`Model::save`], load it with [`Model::load`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    labels: Vec<String>,
    vocabulary: Vocabulary,
    /// As stored; in memory only the biases are kept here (the weights and ratios live in
    /// `table` alone, see [`Model::build_table`]).
    per_label: Vec<LabelModel>,
    /// Per-label Platt sigmoid (a, b): log-odds = a · score + b; empty when not calibrated.
    calibration: Vec<(f32, f32)>,
    options: TrainOptions,
    #[serde(skip)]
    segmenter: Option<Segmenter>,
    /// The per-label parameters interleaved by feature ([feature][label][weight, ratio]), so
    /// that scoring touches one cache line per feature instead of two per label: prediction
    /// is bound by memory access, not arithmetic.
    #[serde(skip)]
    table: Vec<f32>,
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.vocabulary == other.vocabulary
            && self.stored_per_label() == other.stored_per_label()
            && self.options == other.options
    }
}

/// A model's stored form, borrowed: the fields of [`Model`] that serialize, in the same
/// order, so that it writes the same bytes as the struct would.
#[derive(Serialize)]
struct StoredModel<'a> {
    labels: &'a [String],
    vocabulary: &'a Vocabulary,
    per_label: &'a [LabelModel],
    calibration: &'a [(f32, f32)],
    options: &'a TrainOptions,
}

/// Runs `f` over `items` on all cores, keeping order. Used for feature extraction and
/// per-label training; std threads keep the dependency list short.
pub(crate) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let f = &f;
                scope.spawn(move || part.iter().map(f).collect::<Vec<R>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread panicked"))
            .collect()
    })
}

/// Raw feature counts of texts (normalized first), computed in parallel.
fn extract_all(
    texts: &[&str],
    segmenter: &Segmenter,
    config: &FeatureConfig,
) -> Vec<Vec<(u64, f32)>> {
    extract_all_or_stop(texts, segmenter, config, &Stop::new())
        .expect("a flag nobody sets never stops")
}

/// [`extract_all`], checking `stop` before each text (segmenting tens of thousands of
/// texts takes seconds).
fn extract_all_or_stop(
    texts: &[&str],
    segmenter: &Segmenter,
    config: &FeatureConfig,
    stop: &Stop,
) -> Result<Vec<Vec<(u64, f32)>>, TextError> {
    let counts = parallel_map(texts, |text| {
        if stop.is_stopped() {
            return Vec::new();
        }
        raw_counts(&normalize(text), segmenter, config)
    });
    if stop.is_stopped() {
        return Err(TextError::Stopped);
    }
    Ok(counts)
}

impl Model {
    /// Trains on texts and their labels (same length). Needs at least two distinct labels.
    pub fn train(
        texts: &[&str],
        labels: &[&str],
        options: &TrainOptions,
    ) -> Result<Model, TextError> {
        Self::train_or_stop(texts, labels, options, &Stop::new())
    }

    /// [`Model::train`] that gives up with [`TextError::Stopped`] once `stop` is set: it
    /// checks before each text's features and each label's model (a district's 50,000
    /// items take half a minute of CPU, which a shutting-down server must not wait for).
    pub fn train_or_stop(
        texts: &[&str],
        labels: &[&str],
        options: &TrainOptions,
        stop: &Stop,
    ) -> Result<Model, TextError> {
        assert_eq!(texts.len(), labels.len(), "one label per text");
        let segmenter = Segmenter::with_user_words(&options.user_words);
        let counts = extract_all_or_stop(texts, &segmenter, &options.features, stop)?;
        let interned = InternedDocs::new(&counts);
        let all: Vec<usize> = (0..texts.len()).collect();
        let (mut model, _) = Self::train_interned(&interned, &all, labels, options, stop)?;
        model.vocabulary.build_index();
        model.segmenter = Some(segmenter);
        Ok(model)
    }

    /// Trains on the documents `train` of `interned`, whose labels are `labels` (one per
    /// training document). Returns the model without its key index (built only when the
    /// model is to predict raw text) and the map from interned ids to the model's features.
    fn train_interned(
        interned: &InternedDocs,
        train: &[usize],
        labels: &[&str],
        options: &TrainOptions,
        stop: &Stop,
    ) -> Result<(Model, FeatureMap), TextError> {
        let mut label_names: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        label_names.sort();
        label_names.dedup();
        if label_names.len() < 2 {
            return Err(TextError::TooFewLabels);
        }
        let (vocabulary, map) = Vocabulary::fit_interned(interned, train, &options.features);
        let vectors: Vec<SparseVec> = train
            .iter()
            .map(|&d| vocabulary.transform_interned(&interned.docs[d], &map))
            .collect();
        let label_index: Vec<usize> = labels
            .iter()
            .map(|l| {
                label_names
                    .binary_search_by(|n| n.as_str().cmp(l))
                    .unwrap_or(0)
            })
            .collect();
        let dim = vocabulary.len();
        let jobs: Vec<usize> = (0..label_names.len()).collect();
        let per_label = parallel_map(&jobs, |&label| {
            if stop.is_stopped() {
                return None;
            }
            let positive: Vec<bool> = label_index.iter().map(|&l| l == label).collect();
            let ratio = nb_ratio(&vectors, &positive, dim, options.nb_alpha);
            let scaled: Vec<SparseVec> = vectors
                .iter()
                .map(|v| scale_and_normalize(v, &ratio))
                .collect();
            let params = SvmParams {
                c: options.c,
                seed: options.seed ^ label as u64,
                ..SvmParams::default()
            };
            let positives = positive.iter().filter(|&&p| p).count().max(1) as f32;
            let balance =
                ((positive.len() as f32 - positives) / positives).powf(options.class_balance);
            let (weights, bias) = train_svm(&scaled, &positive, dim, &params, balance);
            let weight_times_ratio = weights.iter().zip(&ratio).map(|(w, r)| w * r).collect();
            Some(LabelModel {
                ratio,
                weight_times_ratio,
                bias,
            })
        });
        let Some(per_label) = per_label.into_iter().collect::<Option<Vec<_>>>() else {
            return Err(TextError::Stopped);
        };
        let mut model = Model {
            labels: label_names,
            vocabulary,
            per_label,
            calibration: Vec::new(),
            options: options.clone(),
            segmenter: None,
            table: Vec::new(),
        };
        model.build_table();
        if options.calibration_folds >= 2 && train.len() >= 2 * options.calibration_folds {
            // An inner fold can hold a single label on tiny data; the model then stays
            // uncalibrated rather than failing a training that works without calibration.
            if let Ok(calibration) = calibrate(interned, train, labels, &model.labels, options) {
                model.calibration = calibration;
            }
        }
        Ok((model, map))
    }

    /// Interleaves the per-label weights and ratios into `table` and drops them from
    /// `per_label`: prediction reads only the table, and holding both kept every loaded
    /// model in memory twice (with real messages' vocabularies, tens of MB each).
    /// [`Model::stored_per_label`] gives them back for saving.
    fn build_table(&mut self) {
        let k = self.per_label.len();
        let n = self.vocabulary.len();
        let mut table = vec![0f32; n * k * 2];
        for (l, m) in self.per_label.iter_mut().enumerate() {
            for j in 0..n {
                table[(j * k + l) * 2] = m.weight_times_ratio[j];
                table[(j * k + l) * 2 + 1] = m.ratio[j];
            }
            m.weight_times_ratio = Vec::new();
            m.ratio = Vec::new();
        }
        self.table = table;
    }

    /// The per-label parameters as stored, read back from the table.
    fn stored_per_label(&self) -> Vec<LabelModel> {
        let k = self.per_label.len();
        let n = self.vocabulary.len();
        self.per_label
            .iter()
            .enumerate()
            .map(|(l, m)| LabelModel {
                ratio: (0..n).map(|j| self.table[(j * k + l) * 2 + 1]).collect(),
                weight_times_ratio: (0..n).map(|j| self.table[(j * k + l) * 2]).collect(),
                bias: m.bias,
            })
            .collect()
    }

    /// The labels the model knows, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of features kept after the document-frequency cut.
    pub fn feature_count(&self) -> usize {
        self.vocabulary.len()
    }

    fn segmenter(&self) -> std::borrow::Cow<'_, Segmenter> {
        match &self.segmenter {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(Segmenter::with_user_words(&self.options.user_words)),
        }
    }

    /// Predicts the label of one text.
    pub fn predict(&self, text: &str) -> Prediction {
        let counts = raw_counts(&normalize(text), &self.segmenter(), &self.vocabulary.config);
        self.predict_counts(&counts)
    }

    /// Predicts many texts in parallel, in input order.
    pub fn predict_batch(&self, texts: &[&str]) -> Vec<Prediction> {
        let segmenter = self.segmenter();
        let counts = extract_all(texts, &segmenter, &self.vocabulary.config);
        parallel_map(&counts, |c| self.predict_counts(c))
    }

    fn predict_counts(&self, counts: &[(u64, f32)]) -> Prediction {
        self.predict_vector(&self.vocabulary.transform(counts))
    }

    fn predict_vector(&self, x: &SparseVec) -> Prediction {
        let mut scores = self.raw_scores(x);
        let mut scale = self.options.confidence_scale;
        if !self.calibration.is_empty() {
            for (s, (a, b)) in scores.iter_mut().zip(&self.calibration) {
                *s = a * *s + b;
            }
            scale = 1.0;
        }
        let confidences = softmax(&scores, scale);
        let best =
            (0..scores.len()).fold(0, |best, i| if scores[i] > scores[best] { i } else { best });
        Prediction {
            label: self.labels[best].clone(),
            confidence: confidences[best],
            confidences,
        }
    }

    /// One-vs-rest decision value of each label.
    fn raw_scores(&self, x: &SparseVec) -> Vec<f32> {
        let k = self.per_label.len();
        let mut dot = vec![0f32; k];
        let mut norm = vec![0f32; k];
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            let row = &self.table[j as usize * k * 2..(j as usize + 1) * k * 2];
            for l in 0..k {
                dot[l] += row[2 * l] * v;
                let scaled = row[2 * l + 1] * v;
                norm[l] += scaled * scaled;
            }
        }
        let scores: Vec<f32> = (0..k)
            .map(|l| {
                let bias = self.per_label[l].bias;
                if norm[l] > 0.0 {
                    dot[l] / norm[l].sqrt() + bias
                } else {
                    bias
                }
            })
            .collect();
        scores
    }

    /// Serializes the model: magic bytes, format version, then a postcard body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&MODEL_FORMAT_VERSION.to_le_bytes());
        let per_label = self.stored_per_label();
        let stored = StoredModel {
            labels: &self.labels,
            vocabulary: &self.vocabulary,
            per_label: &per_label,
            calibration: &self.calibration,
            options: &self.options,
        };
        let body = postcard::to_allocvec(&stored).expect("a model always serializes");
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Reads a model written by [`Model::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, TextError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(TextError::BadModel(
                "不是 yidu 文本模型 / not a yidu text model".into(),
            ));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != MODEL_FORMAT_VERSION {
            return Err(TextError::BadModel(format!(
                "格式版本 {version}，本程序需要 {MODEL_FORMAT_VERSION}，请重新训练 / format version {version}, this program needs {MODEL_FORMAT_VERSION}: retrain"
            )));
        }
        let mut model: Model =
            postcard::from_bytes(&bytes[12..]).map_err(|e| TextError::BadModel(e.to_string()))?;
        let k = model.labels.len();
        let n = model.vocabulary.len();
        let consistent = model.per_label.len() == k
            && (model.calibration.is_empty() || model.calibration.len() == k)
            && model.vocabulary.idf.len() == n
            && model
                .per_label
                .iter()
                .all(|m| m.ratio.len() == n && m.weight_times_ratio.len() == n);
        if !consistent {
            return Err(TextError::BadModel(
                "内容不一致 / inconsistent contents".into(),
            ));
        }
        model.vocabulary.build_index();
        model.build_table();
        model.segmenter = Some(Segmenter::with_user_words(&model.options.user_words));
        Ok(model)
    }

    pub fn save(&self, path: &Path) -> Result<(), TextError> {
        std::fs::write(path, self.to_bytes()).map_err(|e| TextError::io(path, e))
    }

    pub fn load(path: &Path) -> Result<Model, TextError> {
        let bytes = std::fs::read(path).map_err(|e| TextError::io(path, e))?;
        Model::from_bytes(&bytes)
    }
}

/// Per-label Platt sigmoids fitted on decision values that each training document got from
/// a model trained without it (inner stratified folds), so the fit sees honest scores.
fn calibrate(
    interned: &InternedDocs,
    train: &[usize],
    labels: &[&str],
    names: &[String],
    options: &TrainOptions,
) -> Result<Vec<(f32, f32)>, TextError> {
    let folds = options.calibration_folds;
    let inner_of = stratified_folds(labels, folds, options.seed ^ 0x5eed);
    let inner_options = TrainOptions {
        calibration_folds: 0,
        ..options.clone()
    };
    let k = names.len();
    let mut held_out_scores: Vec<Vec<f32>> = vec![Vec::new(); train.len()];
    for fold in 0..folds {
        let part: Vec<usize> = (0..train.len()).filter(|&i| inner_of[i] != fold).collect();
        let docs: Vec<usize> = part.iter().map(|&i| train[i]).collect();
        let part_labels: Vec<&str> = part.iter().map(|&i| labels[i]).collect();
        let (model, map) =
            Model::train_interned(interned, &docs, &part_labels, &inner_options, &Stop::new())?;
        for i in (0..train.len()).filter(|&i| inner_of[i] == fold) {
            let x = model
                .vocabulary
                .transform_interned(&interned.docs[train[i]], &map);
            let raw = model.raw_scores(&x);
            // An inner model may lack a label: its score then counts as very negative.
            held_out_scores[i] = names
                .iter()
                .map(|n| {
                    model
                        .labels
                        .iter()
                        .position(|m| m == n)
                        .map_or(-10.0, |j| raw[j])
                })
                .collect();
        }
    }
    Ok((0..k)
        .map(|l| {
            let points: Vec<(f32, bool)> = held_out_scores
                .iter()
                .zip(labels)
                .map(|(s, y)| (s[l], *y == names[l]))
                .collect();
            fit_sigmoid(&points)
        })
        .collect())
}

/// Platt's sigmoid fit by Newton's method on the cross-entropy, with his smoothed targets
/// ((n₊ + 1) / (n₊ + 2) and 1 / (n₋ + 2)) so a separable label does not push a to infinity.
/// Returns (a, b) with log-odds = a · score + b.
fn fit_sigmoid(points: &[(f32, bool)]) -> (f32, f32) {
    let positives = points.iter().filter(|p| p.1).count() as f64;
    let negatives = points.len() as f64 - positives;
    let hi = (positives + 1.0) / (positives + 2.0);
    let lo = 1.0 / (negatives + 2.0);
    let (mut a, mut b) = (1.0f64, ((positives + 1.0) / (negatives + 1.0)).ln());
    for _ in 0..100 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-9, 0.0, 1e-9);
        for &(s, y) in points {
            let s = s as f64;
            let t = if y { hi } else { lo };
            let p = 1.0 / (1.0 + (-(a * s + b)).exp());
            let d = p - t;
            let w = p * (1.0 - p);
            ga += d * s;
            gb += d;
            haa += w * s * s;
            hab += w * s;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-7 && db.abs() < 1e-7 {
            break;
        }
    }
    (a as f32, b as f32)
}

/// Naive-Bayes log-count ratio of each feature for one label, over binarized features:
/// ln((p / |p|₁) / (q / |q|₁)) with p, q the smoothed presence counts in positive and
/// negative documents.
fn nb_ratio(vectors: &[SparseVec], positive: &[bool], dim: usize, alpha: f32) -> Vec<f32> {
    let mut p = vec![alpha; dim];
    let mut q = vec![alpha; dim];
    for (v, &is_positive) in vectors.iter().zip(positive) {
        let counts = if is_positive { &mut p } else { &mut q };
        for &j in &v.idx {
            counts[j as usize] += 1.0;
        }
    }
    let p_total: f32 = p.iter().sum();
    let q_total: f32 = q.iter().sum();
    p.iter()
        .zip(&q)
        .map(|(pi, qi)| ((pi / p_total) / (qi / q_total)).ln())
        .collect()
}

fn scale_and_normalize(v: &SparseVec, ratio: &[f32]) -> SparseVec {
    let mut val: Vec<f32> = v
        .idx
        .iter()
        .zip(&v.val)
        .map(|(&j, &x)| x * ratio[j as usize])
        .collect();
    let norm = val.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        val.iter_mut().for_each(|x| *x /= norm);
    }
    SparseVec {
        idx: v.idx.clone(),
        val,
    }
}

fn softmax(scores: &[f32], scale: f32) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|s| ((s - max) * scale).exp()).collect();
    let total: f32 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// Result of a cross-validation run.
#[derive(Debug, Clone)]
pub struct CvReport {
    pub macro_f1: f64,
    pub accuracy: f64,
    /// (label, F1) per label, sorted by label.
    pub per_label: Vec<(String, f64)>,
    /// Predicted label of each input text, when it was in the held-out fold.
    pub predictions: Vec<String>,
}

/// Stratified k-fold cross-validation: each label's texts are shuffled with the seed and
/// dealt round-robin to the folds. Features are extracted (and their keys numbered) once;
/// each fold fits its own vocabulary and model on its training part only.
pub fn cross_validate(
    texts: &[&str],
    labels: &[&str],
    folds: usize,
    options: &TrainOptions,
) -> Result<CvReport, TextError> {
    let segmenter = Segmenter::with_user_words(&options.user_words);
    let interned = InternedDocs::new(&extract_all(texts, &segmenter, &options.features));
    let fold_of = stratified_folds(labels, folds, options.seed);
    let mut predictions = vec![String::new(); texts.len()];
    for fold in 0..folds {
        let train: Vec<usize> = (0..texts.len()).filter(|&i| fold_of[i] != fold).collect();
        let test: Vec<usize> = (0..texts.len()).filter(|&i| fold_of[i] == fold).collect();
        let train_labels: Vec<&str> = train.iter().map(|&i| labels[i]).collect();
        let (model, map) =
            Model::train_interned(&interned, &train, &train_labels, options, &Stop::new())?;
        let predicted = parallel_map(&test, |&i| {
            let x = model.vocabulary.transform_interned(&interned.docs[i], &map);
            model.predict_vector(&x).label
        });
        for (&i, label) in test.iter().zip(predicted) {
            predictions[i] = label;
        }
    }
    Ok(score(labels, predictions))
}

/// Fold number of each item, stratified by label.
pub fn stratified_folds(labels: &[&str], folds: usize, seed: u64) -> Vec<usize> {
    let mut by_label: std::collections::BTreeMap<&str, Vec<usize>> =
        std::collections::BTreeMap::new();
    for (i, label) in labels.iter().enumerate() {
        by_label.entry(label).or_default().push(i);
    }
    let mut rng = SeededRng::new(seed);
    let mut fold_of = vec![0; labels.len()];
    let mut next = 0;
    for members in by_label.values_mut() {
        rng.shuffle(members);
        for &i in members.iter() {
            fold_of[i] = next % folds;
            next += 1;
        }
    }
    fold_of
}

/// Macro-F1, accuracy and per-label F1 of predictions against the truth.
pub fn score(truth: &[&str], predictions: Vec<String>) -> CvReport {
    let mut names: Vec<&str> = truth.to_vec();
    names.sort();
    names.dedup();
    let mut per_label = Vec::new();
    for name in &names {
        let tp = truth
            .iter()
            .zip(&predictions)
            .filter(|(t, p)| *t == name && p == name)
            .count() as f64;
        let predicted = predictions.iter().filter(|p| p == name).count() as f64;
        let actual = truth.iter().filter(|t| *t == name).count() as f64;
        let f1 = if predicted + actual > 0.0 {
            2.0 * tp / (predicted + actual)
        } else {
            0.0
        };
        per_label.push((name.to_string(), f1));
    }
    let correct = truth
        .iter()
        .zip(&predictions)
        .filter(|(t, p)| **t == p.as_str())
        .count();
    CvReport {
        macro_f1: per_label.iter().map(|(_, f)| f).sum::<f64>() / per_label.len().max(1) as f64,
        accuracy: correct as f64 / truth.len().max(1) as f64,
        per_label,
        predictions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_bytes_are_those_of_the_whole_struct() {
        let texts = [
            "路灯坏了很久",
            "小区路灯不亮",
            "路灯闪烁",
            "垃圾没人清运",
            "垃圾桶满了",
            "楼下垃圾堆积",
        ];
        let labels = ["灯", "灯", "灯", "垃圾", "垃圾", "垃圾"];
        let model = Model::train(&texts, &labels, &TrainOptions::default()).unwrap();
        assert!(
            model.per_label.iter().all(|m| m.ratio.is_empty()),
            "weights live in the table only"
        );
        // The layout before the table took them over: the derived serialization of the
        // struct with its per-label vectors in place.
        let mut whole = model.clone();
        whole.per_label = model.stored_per_label();
        assert!(whole
            .per_label
            .iter()
            .all(|m| m.ratio.len() == model.feature_count()));
        let derived = postcard::to_allocvec(&whole).unwrap();
        assert_eq!(model.to_bytes()[12..], derived[..]);
    }
}
