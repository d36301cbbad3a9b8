//! The closed loop of a citizen's opinion (民意闭环) as a state machine: which move is
//! allowed from which state, and where it leads. Who may make a move is the service's
//! business; this module only knows the order of things.
//!
//! The loop follows the common "七步工作法" at liaison stations: receive → collect → claim by
//! level (分级认领) → assign (交办, "吹哨报到": the unit takes it or returns it with a reason) →
//! follow up → report back → satisfaction rating; an unsatisfied citizen reopens it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 已提交: waiting for a deputy, station or township to claim it.
    Submitted,
    /// 已受理: claimed; to be classified by level and kind.
    Accepted,
    /// 已交办: sent to a handling unit, which must take it or return it.
    Assigned,
    /// 办理中: a deputy, station, township or unit is working on it.
    InProgress,
    /// 已提级: raised to the district standing committee's office.
    Escalated,
    /// 已答复: a reply went to the citizen, who may rate it.
    Replied,
    /// 已办结.
    Closed,
    /// 不予受理 (e.g. in litigation or arbitration), with a reason.
    Rejected,
    /// 已合并 into another item as a duplicate.
    Merged,
    /// 已转化 into a deputy suggestion or a supervision item.
    Converted,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Submitted,
        Status::Accepted,
        Status::Assigned,
        Status::InProgress,
        Status::Escalated,
        Status::Replied,
        Status::Closed,
        Status::Rejected,
        Status::Merged,
        Status::Converted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Escalated => "escalated",
            Status::Replied => "replied",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Merged => "merged",
            Status::Converted => "converted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Submitted => "待受理",
            Status::Accepted => "已受理",
            Status::Assigned => "已交办",
            Status::InProgress => "办理中",
            Status::Escalated => "已提级",
            Status::Replied => "已答复",
            Status::Closed => "已办结",
            Status::Rejected => "不予受理",
            Status::Merged => "已合并",
            Status::Converted => "已转化",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Status::Submitted => "Submitted",
            Status::Accepted => "Accepted",
            Status::Assigned => "Assigned",
            Status::InProgress => "In progress",
            Status::Escalated => "Escalated",
            Status::Replied => "Replied",
            Status::Closed => "Closed",
            Status::Rejected => "Not accepted",
            Status::Merged => "Merged",
            Status::Converted => "Converted",
        }
    }

    /// No further move leads out of a final state (a reopen starts from Replied or Closed
    /// by the citizen's rating, see [`Move::Rate`]).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Closed | Status::Rejected | Status::Merged | Status::Converted
        )
    }

    /// Someone owes the citizen something: the item counts against handling deadlines.
    pub fn is_open(self) -> bool {
        !self.is_final() && self != Status::Replied
    }
}

/// 满意 / 基本满意 / 不满意.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    Basic,
    Unsatisfied,
}

impl Satisfaction {
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::Basic => "basic",
            Satisfaction::Unsatisfied => "unsatisfied",
        }
    }
    pub fn parse(s: &str) -> Option<Satisfaction> {
        match s.trim() {
            "satisfied" | "满意" => Some(Satisfaction::Satisfied),
            "basic" | "基本满意" => Some(Satisfaction::Basic),
            "unsatisfied" | "不满意" => Some(Satisfaction::Unsatisfied),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::Basic => "基本满意",
            Satisfaction::Unsatisfied => "不满意",
        }
    }
}

/// What a later application will make of a converted item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversionKind {
    /// 转为代表建议.
    Suggestion,
    /// 转为督办事项.
    Supervision,
}

/// The kinds of move, without their data (for permission tables and audit names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    Accept,
    Reject,
    Merge,
    AnswerOnSpot,
    Assign,
    Take,
    Return,
    Escalate,
    Convert,
    Start,
    Reply,
    Rate,
    Close,
}

impl MoveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MoveKind::Accept => "accept",
            MoveKind::Reject => "reject",
            MoveKind::Merge => "merge",
            MoveKind::AnswerOnSpot => "answer_on_spot",
            MoveKind::Assign => "assign",
            MoveKind::Take => "take",
            MoveKind::Return => "return",
            MoveKind::Escalate => "escalate",
            MoveKind::Convert => "convert",
            MoveKind::Start => "start",
            MoveKind::Reply => "reply",
            MoveKind::Rate => "rate",
            MoveKind::Close => "close",
        }
    }
}

/// Where the item stands with respect to reopening, for [`next`].
#[derive(Debug, Clone, Copy)]
pub struct ReopenPolicy {
    /// How many times an unsatisfied rating reopens an item (configurable; default 1).
    pub max_reopens: u32,
    /// How many times it was reopened already.
    pub reopened: u32,
}

/// The state a move leads to, or None when the move is not allowed from `from`.
pub fn next(
    from: Status,
    kind: MoveKind,
    rating: Option<Satisfaction>,
    reopen: ReopenPolicy,
) -> Option<Status> {
    use MoveKind as M;
    use Status as S;
    Some(match (from, kind) {
        (S::Submitted, M::Accept) => S::Accepted,
        (S::Submitted | S::Accepted | S::Escalated, M::Reject) => S::Rejected,
        (S::Submitted | S::Accepted | S::Assigned | S::InProgress | S::Escalated, M::Merge) => {
            S::Merged
        }
        (S::Accepted | S::InProgress, M::AnswerOnSpot) => S::Replied,
        (S::Accepted | S::Escalated | S::InProgress, M::Assign) => S::Assigned,
        (S::Assigned, M::Take) => S::InProgress,
        // A returned item goes back to whoever assigned it, who reassigns or handles it.
        (S::Assigned, M::Return) => S::Accepted,
        (S::Accepted | S::InProgress, M::Escalate) => S::Escalated,
        (S::Accepted | S::Escalated | S::InProgress, M::Convert) => S::Converted,
        (S::Accepted | S::Escalated, M::Start) => S::InProgress,
        (S::InProgress, M::Reply) => S::Replied,
        (S::Replied, M::Rate) => match rating? {
            Satisfaction::Unsatisfied if reopen.reopened < reopen.max_reopens => S::InProgress,
            _ => S::Closed,
        },
        // Closing without a rating (the citizen did not rate within the configured time).
        (S::Replied, M::Close) => S::Closed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_REOPEN_YET: ReopenPolicy = ReopenPolicy {
        max_reopens: 1,
        reopened: 0,
    };

    #[test]
    fn the_whole_loop() {
        let mut s = Status::Submitted;
        for m in [
            MoveKind::Accept,
            MoveKind::Assign,
            MoveKind::Take,
            MoveKind::Reply,
        ] {
            s = next(s, m, None, NO_REOPEN_YET).unwrap_or_else(|| panic!("{m:?} from {s:?}"));
        }
        assert_eq!(s, Status::Replied);
        assert_eq!(
            next(
                s,
                MoveKind::Rate,
                Some(Satisfaction::Satisfied),
                NO_REOPEN_YET
            ),
            Some(Status::Closed)
        );
    }

    #[test]
    fn unsatisfied_reopens_only_as_often_as_configured() {
        assert_eq!(
            next(
                Status::Replied,
                MoveKind::Rate,
                Some(Satisfaction::Unsatisfied),
                NO_REOPEN_YET
            ),
            Some(Status::InProgress)
        );
        let used = ReopenPolicy {
            max_reopens: 1,
            reopened: 1,
        };
        assert_eq!(
            next(
                Status::Replied,
                MoveKind::Rate,
                Some(Satisfaction::Unsatisfied),
                used
            ),
            Some(Status::Closed)
        );
        assert_eq!(
            next(Status::Replied, MoveKind::Rate, None, NO_REOPEN_YET),
            None,
            "a rating needs a value"
        );
    }

    #[test]
    fn wrong_state_moves_are_refused() {
        assert_eq!(
            next(Status::Submitted, MoveKind::Reply, None, NO_REOPEN_YET),
            None
        );
        assert_eq!(
            next(Status::Closed, MoveKind::Accept, None, NO_REOPEN_YET),
            None
        );
        assert_eq!(
            next(Status::Assigned, MoveKind::Reply, None, NO_REOPEN_YET),
            None,
            "the unit takes it first"
        );
        assert_eq!(
            next(Status::Accepted, MoveKind::Take, None, NO_REOPEN_YET),
            None
        );
        for s in Status::ALL.into_iter().filter(|s| s.is_final()) {
            for m in [
                MoveKind::Accept,
                MoveKind::Assign,
                MoveKind::Reply,
                MoveKind::Merge,
                MoveKind::Reject,
            ] {
                assert_eq!(
                    next(s, m, None, NO_REOPEN_YET),
                    None,
                    "{m:?} from final {s:?}"
                );
            }
        }
    }

    #[test]
    fn returned_items_go_back_to_the_assigner() {
        assert_eq!(
            next(Status::Assigned, MoveKind::Return, None, NO_REOPEN_YET),
            Some(Status::Accepted)
        );
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Satisfaction::parse("基本满意"), Some(Satisfaction::Basic));
    }
}
