//! End-to-end tests of the text room on short messages written for these tests.

use std::path::PathBuf;

use yidu_text::cluster::{ClusterParams, Clusterer, Clustering, IdfTable};
use yidu_text::{
    cli, normalize, Model, NearDupIndex, NearDupParams, Segmenter, Stop, TextError, TrainOptions,
};

/// Made-up citizen messages in three categories, ten each.
const MESSAGES: &[(&str, &str)] = &[
    (
        "道路",
        "幸福路和建设路路口的红绿灯坏了一个星期，早晚高峰车辆乱成一团，请交警尽快修好。",
    ),
    (
        "道路",
        "人民大道靠近菜市场的路面塌了一个大坑，晚上骑电动车很危险，希望尽快修补路面。",
    ),
    (
        "道路",
        "我们村通往镇上的公路年久失修，坑坑洼洼，下雨天全是积水，车子没法通行。",
    ),
    (
        "道路",
        "公交车站取消后老人出行很不方便，建议在学校门口恢复公交站点。",
    ),
    (
        "道路",
        "新修的桥梁两个月了还没有通车，绕路要多走五公里，请问什么时候开通？",
    ),
    (
        "道路",
        "小区门口的人行道被车辆长期占用停车，行人只能走机动车道，非常危险。",
    ),
    (
        "道路",
        "高速出口附近没有路灯，夜间行车视线很差，已经发生过几次交通事故。",
    ),
    (
        "道路",
        "十字路口没有斑马线，孩子们上学过马路很危险，请增设斑马线和减速带。",
    ),
    (
        "道路",
        "道路施工围挡一年多没拆，路面一直挖开，附近商户生意受影响，交通拥堵。",
    ),
    (
        "道路",
        "公交线路调整后发车间隔太长，等车要半个小时，希望增加班次。",
    ),
    (
        "环境",
        "河边的工厂每天晚上偷偷排放污水，河水发黑发臭，鱼都死了，请环保部门查处。",
    ),
    (
        "环境",
        "楼下烧烤店油烟直排，整栋楼的住户窗户都不敢开，油烟味很重。",
    ),
    (
        "环境",
        "附近工地深夜还在施工，机器噪音很大，严重影响居民休息，请求处理。",
    ),
    (
        "环境",
        "垃圾中转站夏天臭气熏天，苍蝇蚊子很多，周边居民苦不堪言。",
    ),
    (
        "环境",
        "村里有人露天焚烧垃圾和秸秆，浓烟呛人，空气污染严重。",
    ),
    (
        "环境",
        "化工厂的烟囱经常冒黄烟，有刺鼻气味，担心对健康有影响，请检测空气质量。",
    ),
    ("环境", "酒吧每天放音乐到凌晨，噪音扰民，多次投诉没有效果。"),
    (
        "环境",
        "养猪场的粪水直接排进水塘，水塘发臭，周边的井水也受到污染。",
    ),
    (
        "环境",
        "山上有人非法倾倒建筑垃圾，破坏了林地，还堵塞了排水沟。",
    ),
    (
        "环境",
        "采石场粉尘很大，附近的庄稼和房子上都是一层灰，噪音也很大。",
    ),
    (
        "教育",
        "孩子所在的小学午餐质量很差，饭菜分量少，价格却不便宜，请教育局调查。",
    ),
    (
        "教育",
        "学校强制学生购买指定的辅导资料，每学期要交好几百元，家长负担很重。",
    ),
    (
        "教育",
        "幼儿园收费太高，公办幼儿园名额太少，孩子入园难，希望多建公办园。",
    ),
    (
        "教育",
        "学区划分不合理，我们小区离学校很近却被划到很远的学校上学。",
    ),
    (
        "教育",
        "老师在校外开补习班，暗示学生参加，不参加的学生受到冷落。",
    ),
    (
        "教育",
        "中学宿舍条件很差，没有热水，冬天学生只能用冷水洗漱。",
    ),
    (
        "教育",
        "乡村学校缺少英语和音乐老师，一个老师要教好几个年级。",
    ),
    (
        "教育",
        "学校放学时间太早，家长都在上班，没人接孩子，希望开展课后服务。",
    ),
    (
        "教育",
        "教师绩效工资一直没有发放，老师们意见很大，影响教学积极性。",
    ),
    (
        "教育",
        "校车超载严重，一辆车挤了四十多个学生，安全隐患很大。",
    ),
];

fn texts() -> Vec<&'static str> {
    MESSAGES.iter().map(|m| m.1).collect()
}

fn labels() -> Vec<&'static str> {
    MESSAGES.iter().map(|m| m.0).collect()
}

/// Options suited to thirty tiny documents: keep features seen once.
fn small_options() -> TrainOptions {
    let mut options = TrainOptions::default();
    options.features.min_df = 1;
    options
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("yidu-text-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn normalization_folds_width_script_and_spacing() {
    assert_eq!(normalize("ＡＢ１２　路燈壞了！！"), "ab12 路灯坏了!");
    assert_eq!(normalize("垃 圾\n站  臭"), "垃圾站臭");
}

#[test]
fn user_dictionary_keeps_a_name_whole() {
    let text = "青禾湾幸福驿站门口积水";
    assert!(!Segmenter::new().words(text).contains(&"青禾湾幸福驿站"));
    let segmenter = Segmenter::with_user_words(["青禾湾幸福驿站"]);
    assert!(segmenter.words(text).contains(&"青禾湾幸福驿站"));
    assert!(segmenter
        .search_tokens(text)
        .iter()
        .any(|t| t == "青禾湾幸福驿站"));
}

#[test]
fn train_predict_round_trip() {
    let model = Model::train(&texts(), &labels(), &small_options()).unwrap();
    assert_eq!(model.labels(), ["教育", "环境", "道路"]);
    let unseen = [
        ("道路", "路口的红绿灯又坏了，车辆和行人抢道，请尽快维修。"),
        ("环境", "工厂排放的污水把河水弄得又黑又臭。"),
        ("教育", "学校食堂饭菜太贵，学生吃不饱。"),
        ("环境", "夜里工地施工噪音太大，没法睡觉。"),
    ];
    for (expected, text) in unseen {
        let prediction = model.predict(text);
        assert_eq!(prediction.label, expected, "{text}: {prediction:?}");
        assert!(prediction.confidence > 1.0 / 3.0 && prediction.confidence <= 1.0);
        assert!((prediction.confidences.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    let batch = model.predict_batch(&unseen.map(|u| u.1));
    assert_eq!(
        batch.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(),
        ["道路", "环境", "教育", "环境"]
    );
}

#[test]
fn calibrated_model_predicts_and_survives_save_and_load() {
    let options = TrainOptions {
        calibration_folds: 3,
        ..small_options()
    };
    let model = Model::train(&texts(), &labels(), &options).unwrap();
    let uncalibrated = Model::train(&texts(), &labels(), &small_options()).unwrap();
    assert_ne!(model, uncalibrated, "calibration changes the model");
    let text = "路口的红绿灯又坏了，车辆和行人抢道，请尽快维修。";
    let prediction = model.predict(text);
    assert_eq!(prediction.label, "道路", "{prediction:?}");
    assert!((prediction.confidences.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    let path = temp_dir("calibrated").join("model.bin");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.predict(text), prediction);
    // One label with a single document: the inner fold holding it leaves only one label
    // to train on, so calibration is skipped and training still succeeds.
    let mut few_texts: Vec<&str> = Vec::new();
    let mut few_labels: Vec<&str> = Vec::new();
    for (label, text) in MESSAGES {
        let wanted = if *label == "道路" { 5 } else { 1 };
        if few_labels.iter().filter(|l| *l == label).count() < wanted && *label != "教育" {
            few_texts.push(text);
            few_labels.push(label);
        }
    }
    assert_eq!(few_labels.len(), 6);
    let few = Model::train(&few_texts, &few_labels, &options).unwrap();
    assert_eq!(few.labels(), ["环境", "道路"]);
    assert_eq!(few.predict(few_texts[0]).label, few_labels[0]);
}

#[test]
fn training_is_deterministic_and_survives_save_and_load() {
    let options = small_options();
    let first = Model::train(&texts(), &labels(), &options).unwrap();
    let second = Model::train(&texts(), &labels(), &options).unwrap();
    assert_eq!(first, second);
    let path = temp_dir("model").join("model.bin");
    first.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    assert_eq!(first, loaded);
    let probe = "小区门口的人行道被占用了";
    assert_eq!(first.predict(probe), loaded.predict(probe));
    // In memory the weights live only in the scoring table; saving reads them back from
    // it, byte for byte.
    assert_eq!(loaded.to_bytes(), first.to_bytes());
    assert_eq!(std::fs::read(&path).unwrap(), loaded.to_bytes());

    let mut bytes = first.to_bytes();
    bytes[8] = 99;
    let refused = Model::from_bytes(&bytes).unwrap_err().to_string();
    assert!(
        refused.contains("请重新训练") && refused.contains("retrain"),
        "{refused}"
    );
    assert!(Model::from_bytes(b"not a model").is_err());
}

/// Stopped at any of its checks, training gives up with `Stopped`; a flag that is never
/// reached changes nothing (the same model as `train`).
#[test]
fn training_stops_at_every_check_and_a_late_stop_changes_nothing() {
    let options = small_options();
    let plain = Model::train(&texts(), &labels(), &options).unwrap();
    let mut stopped_at = 0;
    for checks in 0.. {
        assert!(checks < 10_000, "training never finished");
        match Model::train_or_stop(&texts(), &labels(), &options, &Stop::after_checks(checks)) {
            Err(TextError::Stopped) => stopped_at += 1,
            Err(e) => panic!("stopped at check {checks}: {e}"),
            Ok(model) => {
                assert_eq!(model, plain);
                break;
            }
        }
    }
    // One check per text and per label at least (30 texts, 3 labels), all of them honoured.
    assert!(stopped_at > 30 + 3, "{stopped_at}");
    let set = Stop::new();
    set.stop();
    assert!(matches!(
        Model::train_or_stop(&texts(), &labels(), &options, &set),
        Err(TextError::Stopped)
    ));
}

#[test]
fn training_needs_two_labels() {
    let error = Model::train(
        &["路灯坏了", "路面积水"],
        &["道路", "道路"],
        &small_options(),
    )
    .unwrap_err();
    assert!(matches!(error, TextError::TooFewLabels));
}

/// Three problems, each reported several times in different words, plus unrelated items.
const REPORTS: &[&str] = &[
    "锦绣花园小区的电梯经常困人，物业一直不修，请督促物业维修电梯。",
    "中心小学门口早上堵车严重，接送孩子的车辆乱停，希望交警疏导。",
    "锦绣花园电梯又坏了，老人被困在电梯里半小时，物业不管不问。",
    "北河路的垃圾站臭味很大，夏天苍蝇成群，请求搬迁垃圾站。",
    "中心小学门口上学时间堵车，接送车辆乱停乱放，孩子过马路很危险。",
    "锦绣花园小区电梯年久失修，多次困人，物业拒绝维修，业主很无奈。",
    "北河路垃圾站离居民楼太近，臭味熏人，希望把垃圾站搬走。",
    "图书馆开放时间太短，周末也不开门，希望延长开放时间。",
    "中心小学放学时门口交通拥堵，家长车辆乱停，请安排交警疏导交通。",
    "北河路垃圾站每天散发臭味，周边居民无法开窗，要求整改或搬迁。",
    "菜市场摊位费涨价太多，摊主负担很重。",
];

#[test]
fn incremental_clustering_equals_batch() {
    let params = ClusterParams::default();
    let batch = Clustering::run(REPORTS, Segmenter::new(), params.clone());

    let idf = IdfTable::fit(REPORTS, &Segmenter::new());
    let mut incremental = Clusterer::new(Segmenter::new(), idf, params);
    let mut assigned = Vec::new();
    for report in REPORTS {
        assigned.push(incremental.add(report));
    }
    assert_eq!(batch.assignment, assigned);
    assert_eq!(
        batch.clusterer.summaries(REPORTS, 1, 10),
        incremental.summaries(REPORTS, 1, 10)
    );

    // The three repeated problems each form one cluster; the one-off reports stay alone.
    let a = &batch.assignment;
    assert!(a[0] == a[2] && a[2] == a[5], "{a:?}");
    assert!(a[1] == a[4] && a[4] == a[8], "{a:?}");
    assert!(a[3] == a[6] && a[6] == a[9], "{a:?}");
    assert!(a[0] != a[1] && a[1] != a[3] && a[0] != a[3], "{a:?}");
    assert!(
        a[7] != a[0] && a[7] != a[1] && a[7] != a[3] && a[10] != a[7],
        "{a:?}"
    );

    let largest = batch.clusterer.summaries(REPORTS, 2, 10);
    assert_eq!(largest.len(), 3);
    assert!(largest
        .iter()
        .all(|s| s.size == 3 && !s.label.is_empty() && s.representatives.len() == 3));
    let elevator = largest
        .iter()
        .find(|s| s.representatives.contains(&0))
        .unwrap();
    assert!(
        elevator.top_terms.iter().any(|t| t.contains("电梯")),
        "{elevator:?}"
    );
}

#[test]
fn near_duplicate_lookup_finds_a_paraphrase() {
    let mut index = NearDupIndex::new(NearDupParams::default());
    for (i, (_, text)) in MESSAGES.iter().enumerate() {
        index.insert(i as u64, "东城街道", text);
    }
    index.insert(1000, "西城街道", MESSAGES[1].1);
    let paraphrase = "人民大道菜市场附近路面塌了个大坑，晚上骑电动车太危险了，请尽快修补。";
    let found = index.query("东城街道", paraphrase, 3);
    assert_eq!(found.first().map(|m| m.id), Some(1), "{found:?}");
    assert!(found[0].similarity > 0.3, "{found:?}");
    assert!(
        found.iter().all(|m| m.id != 1000),
        "other areas are not searched"
    );
    assert!(index
        .query("东城街道", "完全无关的一句话，关于图书馆借书。", 3)
        .iter()
        .all(|m| m.similarity < 0.3));
}

#[test]
fn cli_train_classify_cluster_on_files() {
    let dir = temp_dir("cli");
    let train_csv = dir.join("train.csv");
    let mut writer = csv::Writer::from_path(&train_csv).unwrap();
    writer.write_record(["id", "text", "label"]).unwrap();
    for (i, (label, text)) in MESSAGES.iter().enumerate() {
        writer
            .write_record([format!("m{i}").as_str(), text, label])
            .unwrap();
    }
    writer.flush().unwrap();
    let model = dir.join("model.bin");
    let args = cli::TrainArgs {
        input: train_csv.clone(),
        model: model.clone(),
        user_dict: None,
    };
    let report = cli::train_with(&args, &small_options()).unwrap();
    assert_eq!(report.rows, 30);
    assert_eq!(report.labels.len(), 3);

    let input = dir.join("in.csv");
    std::fs::write(
        &input,
        "id,text\na,工厂排放的污水把河水弄得又黑又臭\nb,学校食堂饭菜太贵\n",
    )
    .unwrap();
    let output = dir.join("out.csv");
    assert_eq!(cli::classify(&model, &input, &output).unwrap(), 2);
    let written = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "id,label,confidence");
    assert!(
        lines[1].starts_with("a,环境,0.") && lines[2].starts_with("b,教育,0."),
        "{written}"
    );

    let reports = dir.join("reports.csv");
    let mut writer = csv::Writer::from_path(&reports).unwrap();
    writer.write_record(["id", "title", "text"]).unwrap();
    for (i, text) in REPORTS.iter().enumerate() {
        writer
            .write_record([format!("r{i}").as_str(), "", text])
            .unwrap();
    }
    writer.flush().unwrap();
    let clusters = dir.join("clusters.csv");
    let report = cli::cluster(&reports, &clusters).unwrap();
    assert_eq!(report.rows, REPORTS.len());
    assert_eq!(report.largest.len(), 3);
    assert_eq!(
        std::fs::read_to_string(&clusters).unwrap().lines().count(),
        REPORTS.len() + 1
    );

    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "id,text\n1,路灯坏了\n2,\n").unwrap();
    let error = cli::classify(&model, &bad, &output)
        .unwrap_err()
        .to_string();
    assert_eq!(error, "第 3 行：text 列为空 / line 3: column text is empty");
    std::fs::write(&bad, "id,body\n1,路灯坏了\n").unwrap();
    assert!(cli::cluster(&bad, &clusters)
        .unwrap_err()
        .to_string()
        .contains("no column text"));
}
