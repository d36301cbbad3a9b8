//! Types of the opinions room: the flow (states and moves), what a citizen submits, and
//! an opinion as staff and citizens see it.

pub mod attachment;
pub mod flow;
pub mod input;
pub mod photo;

pub use flow::{ConversionKind, MoveKind, Satisfaction, Status};
pub use input::{Channel, MoveInput, Submission, Upload};

use serde::Serialize;

/// Deadlines and limits; each deployment may set its own (domain.md: no single rule).
#[derive(Debug, Clone)]
pub struct OpinionsConfig {
    /// Working days to accept (claim) a new item.
    pub accept_days: u32,
    /// Working days for a unit to take or return an assigned item ("吹哨报到").
    pub take_days: u32,
    /// Working days to reply once accepted or taken.
    pub reply_days: u32,
    /// How often an unsatisfied rating reopens an item.
    pub max_reopens: u32,
    /// Submissions allowed per client address per hour.
    pub per_client_per_hour: i64,
    /// Submissions allowed per phone number per day.
    pub per_phone_per_day: i64,
    /// Beijing time (hour, minute) at which `yidu serve` sends the daily digest of due
    /// items; None turns the scheduled send off (`yidu digest send` still works).
    pub digest_time: Option<(u8, u8)>,
    /// How long intake may reuse where a code or region routes, in milliseconds (0: never).
    pub route_cache_ms: u64,
    /// Thresholds of the text assist (suggestions, near duplicates, retraining).
    pub assist: crate::assist::AssistConfig,
}

/// Parses a digest time "HH:MM" (Beijing time) or "off".
pub fn parse_digest_time(s: &str) -> Result<Option<(u8, u8)>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let parsed = s.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.trim().parse::<u8>().ok()?, m.trim().parse::<u8>().ok()?);
        (h < 24 && m < 60 && s.len() <= 5).then_some((h, m))
    });
    parsed.map(Some).ok_or_else(|| {
        format!("每日摘要时间应为 HH:MM 或 off / the digest time must be HH:MM or off: {s}")
    })
}

impl Default for OpinionsConfig {
    fn default() -> Self {
        OpinionsConfig {
            accept_days: 2,
            take_days: 2,
            reply_days: 15,
            max_reopens: 1,
            per_client_per_hour: 20,
            per_phone_per_day: 10,
            digest_time: Some((8, 0)),
            route_cache_ms: 2_000,
            assist: Default::default(),
        }
    }
}

/// One step of an item's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    pub at: i64,
    pub at_local: String,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    /// Who acted, as the viewer may see it (citizens see the role, not the person).
    pub actor: String,
    pub note: String,
}

/// An opinion as staff see it. Personal data is masked unless the viewer is the current
/// handler.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Opinion {
    pub id: i64,
    pub tracking_no: String,
    pub channel: String,
    pub status: Status,
    pub title: String,
    pub body: String,
    pub category_id: Option<i64>,
    pub category: Option<String>,
    pub region_id: i64,
    pub region_path: String,
    pub grid_id: Option<i64>,
    pub address: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub deputy_id: Option<i64>,
    pub station_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub level: String,
    /// Citizen's name: in full for the current handler, masked for others, None if anonymous.
    pub citizen_name: Option<String>,
    pub citizen_phone: Option<String>,
    pub personal_data_visible: bool,
    pub deadline_at: Option<i64>,
    /// Set while another room holds the deadline (a supervised class, 类案督办): moves keep
    /// `deadline_at` at this instead of the usual working days.
    pub held_deadline_at: Option<i64>,
    /// normal, yellow (one working day left) or red (overdue).
    pub urgency: String,
    pub reply_text: String,
    pub satisfaction: Option<String>,
    pub rating_comment: String,
    pub reopen_count: i64,
    pub merged_into: Option<i64>,
    pub converted_kind: Option<String>,
    pub photo_ids: Vec<i64>,
    /// Attachments of the reply (PDF, JPEG, PNG).
    pub attachments: Vec<AttachmentInfo>,
    pub created_at: i64,
    pub updated_at: i64,
    pub accepted_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// 同问 ("me too") count: citizens who said they have the same problem.
    pub metoo: i64,
    /// Suggested category and unit, similar open items: on the single-item read only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assist: Option<crate::assist::api::ItemAssist>,
}

/// One attachment of a reply, as listed (the bytes are downloaded apart).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentInfo {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
}

impl AttachmentInfo {
    /// Size for people: "12 KB", "1.5 MB".
    pub fn size_label(&self) -> String {
        if self.size >= 1024 * 1024 {
            format!("{:.1} MB", self.size as f64 / 1_048_576.0)
        } else {
            format!("{} KB", (self.size + 1023) / 1024)
        }
    }
}

/// What a citizen sees with the tracking number and query code: no staff names, no
/// personal data beyond what they typed themselves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CitizenView {
    pub tracking_no: String,
    pub status: Status,
    pub status_label: String,
    pub title: String,
    pub body: String,
    pub created_at: i64,
    pub reply_text: String,
    pub replied_at: Option<i64>,
    /// Attachments of the reply; download each with the tracking number and query code.
    pub attachments: Vec<AttachmentInfo>,
    pub satisfaction: Option<String>,
    pub can_rate: bool,
    pub timeline: Vec<TimelineEvent>,
}

/// The answer to a submission: keep both to follow the item.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub tracking_no: String,
    /// Secret code that, with the tracking number, shows the item's progress.
    pub query_code: String,
    pub status: Status,
}
