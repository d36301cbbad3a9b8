//! Types of the class-case room: configuration, a class's state, what staff send, and
//! what lists, details and the cockpit show.

use serde::{Deserialize, Serialize};
use yidu_kernel::{AppError, AppResult};
use yidu_opinions::service::feed::Brief;

/// The kind of item a membership is about. Deputy suggestions join later as "suggestion".
pub const KIND_OPINION: &str = "opinion";

/// How the machine groups items.
#[derive(Debug, Clone)]
pub struct ClassesConfig {
    /// A rebuild looks at open items plus those that arrived in the last `window_days`.
    pub window_days: u32,
    /// A machine cluster becomes a proposed class from this many unplaced items.
    pub min_size: usize,
    /// Seconds between two rounds of the worker that assigns new items.
    pub interval_secs: u64,
    pub params: yidu_text::ClusterParams,
}

impl Default for ClassesConfig {
    fn default() -> Self {
        ClassesConfig {
            window_days: 180,
            min_size: 3,
            interval_secs: 5,
            params: yidu_text::ClusterParams::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClassStatus {
    /// Proposed by the machine; rebuilt freely until staff decide.
    Proposed,
    /// Staff decided; the machine adds new members but never removes one.
    Confirmed,
    /// Merged into another class or given up.
    Dissolved,
}

impl ClassStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClassStatus::Proposed => "proposed",
            ClassStatus::Confirmed => "confirmed",
            ClassStatus::Dissolved => "dissolved",
        }
    }
    pub fn parse(s: &str) -> Option<ClassStatus> {
        match s {
            "proposed" => Some(ClassStatus::Proposed),
            "confirmed" => Some(ClassStatus::Confirmed),
            "dissolved" => Some(ClassStatus::Dissolved),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            ClassStatus::Proposed => "待确认",
            ClassStatus::Confirmed => "已确认",
            ClassStatus::Dissolved => "已撤销",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            ClassStatus::Proposed => "Proposed",
            ClassStatus::Confirmed => "Confirmed",
            ClassStatus::Dissolved => "Dissolved",
        }
    }
}

/// A class's name as staff give it: 1 to 60 characters after trimming.
pub fn parse_label(s: &str) -> AppResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(AppError::field(
            "label",
            "请填写类案名称",
            "give the class a name",
        ));
    }
    if t.chars().count() > 60 {
        return Err(AppError::field(
            "label",
            "类案名称不能超过 60 字",
            "the name must be at most 60 characters",
        ));
    }
    Ok(t.to_string())
}

/// A place the members come from, with how many.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub region_id: i64,
    pub name: String,
    /// township or grid
    pub level: String,
    pub items: i64,
}

/// A class as lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassSummary {
    pub id: i64,
    pub district_id: i64,
    pub label: String,
    pub status: ClassStatus,
    pub merged_into: Option<i64>,
    pub size: i64,
    /// Members that arrived in the last 7 days and in the 7 days before.
    pub recent: i64,
    pub previous: i64,
    /// recent - previous.
    pub growth: i64,
    /// "Me too" (同问) count of the members (the worker copies it from the opinions
    /// room within a round).
    pub same_asks: i64,
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
    /// Most central members the viewer may read, at most three.
    pub representatives: Vec<Brief>,
    /// Townships and grids of the members, most items first.
    pub places: Vec<Place>,
    pub lead_unit_id: Option<i64>,
    pub lead_unit: Option<String>,
    pub deadline_at: Option<i64>,
    /// none, supervised or replied.
    pub reply_state: String,
    pub updated_at: i64,
}

/// A member of a class as the detail shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Member {
    pub item_kind: String,
    pub item_id: i64,
    pub pinned: bool,
    pub added_at: i64,
    /// 0 when the machine added it.
    pub added_by: i64,
    /// The item itself when the viewer may read it (personal data masked as the opinions
    /// room masks it); None when it lies outside the viewer's scope.
    pub opinion: Option<yidu_opinions::Opinion>,
}

/// One class with its members.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassDetail {
    pub class: ClassSummary,
    pub reply_text: String,
    pub replied_at: Option<i64>,
    pub confirmed_by: Option<i64>,
    pub confirmed_at: Option<i64>,
    pub members: Vec<Member>,
    /// Members outside the viewer's scope, counted but not shown.
    pub hidden_members: i64,
}

/// A class for the cockpit's hot topics.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HotTopic {
    pub id: i64,
    pub label: String,
    pub status: ClassStatus,
    pub size: i64,
    pub recent: i64,
    pub previous: i64,
    pub growth: i64,
    pub same_asks: i64,
    /// [`hot_score`]: size + 2 × max(growth, 0) + same_asks.
    pub score: i64,
}

/// Weight of each member in the hot-topic score.
pub const HOT_SIZE: i64 = 1;
/// Weight of each member the class gained over the week before (growth, when positive).
pub const HOT_GROWTH: i64 = 2;
/// Weight of each 同问 ("me too") on the class's members.
pub const HOT_SAME_ASKS: i64 = 1;

/// The hot-topic ranking, highest first:
/// `score = HOT_SIZE × size + HOT_GROWTH × max(growth, 0) + HOT_SAME_ASKS × same_asks`
/// where `size` counts the members, `growth` is the members of the last 7 days minus those
/// of the 7 days before, and `same_asks` sums the members' 同问. A class that grows fast
/// rises above a larger one that has gone quiet, and a 同问 weighs as much as a member: it
/// is one more person with the same problem who did not file it again. Ties go to the
/// larger class, then the newer. The list query orders by the same formula in SQL
/// (`store::score_sql`), so the database ranks and this function explains.
pub fn hot_score(size: i64, growth: i64, same_asks: i64) -> i64 {
    HOT_SIZE * size + HOT_GROWTH * growth.max(0) + HOT_SAME_ASKS * same_asks
}

/// [`hot_score`] in words, for the cockpit's caption (zh, en); a unit test keeps it in step
/// with the weights.
pub const HOT_FORMULA: (&str, &str) = (
    "热度 = 件数 + 2 × 近7天增长（不计负数）+ 同问人数",
    "score = items + 2 × growth over the week before (if positive) + me-too count",
);

#[cfg(test)]
mod hot_tests {
    use super::*;

    #[test]
    fn the_formula_in_words_matches_the_weights() {
        assert_eq!(
            (HOT_SIZE, HOT_GROWTH, HOT_SAME_ASKS),
            (1, 2, 1),
            "update HOT_FORMULA"
        );
        assert_eq!(hot_score(10, 3, 4), 10 + 6 + 4);
        assert_eq!(hot_score(10, -5, 0), 10, "a shrinking class loses nothing");
        // A 同问 weighs as much as a member.
        assert_eq!(hot_score(5, 0, 1), hot_score(6, 0, 0));
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct RenameInput {
    pub label: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct MergeInput {
    /// The class this one is merged into; it keeps its id and gets every member.
    pub into_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SplitInput {
    /// Ids of the member items that form the new class.
    pub item_ids: Vec<i64>,
    /// Name of the new class (default: the old name with "（拆分）").
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SuperviseInput {
    /// The lead unit (牵头单位) from the registry's units.
    pub lead_unit_id: Option<i64>,
    /// Working days until the class's deadline.
    pub days: Option<u32>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ReplyInput {
    pub text: String,
}

/// An item a class-wide move left alone, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub item_id: i64,
    pub tracking_no: String,
    pub reason_zh: String,
    pub reason_en: String,
}

/// What a class-wide move did to the members.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct FanOut {
    /// Items moved (assigned to the lead unit, or replied).
    pub done: Vec<i64>,
    pub skipped: Vec<Skipped>,
}

/// What a batch rebuild did in one district.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct RebuildReport {
    pub district_id: i64,
    pub items: usize,
    pub clusters: usize,
    pub proposed: usize,
    /// Items the machine placed (in proposed or confirmed classes).
    pub placed: usize,
}
