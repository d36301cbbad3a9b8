//! Audit types.

use serde::{Deserialize, Serialize};
use yidu_kernel::Principal;

/// Who did it, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub name: String,
    pub client: String,
}

impl Actor {
    pub fn new(p: &Principal, client: &str) -> Actor {
        Actor {
            user_id: p.user_id,
            name: p.username.clone(),
            client: client.to_string(),
        }
    }

    /// Changes made by the command line or the demo loader.
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: 0,
            name: "system".into(),
            client: what.to_string(),
        }
    }
}

/// One state change to record.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Verb in dotted form, e.g. `deputy.create`, `user.login_failed`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// Region path of the object, used to scope who may read the record.
    pub region_path: String,
    /// District whose chain the record joins (None: the global chain).
    pub district_id: Option<i64>,
    /// Short before/after summary; never contains secrets or citizens' personal data.
    pub summary: String,
}

impl Entry {
    pub fn new(action: &str, object_type: &str, object_id: impl ToString) -> Entry {
        Entry {
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            region_path: "/".to_string(),
            district_id: None,
            summary: String::new(),
        }
    }

    pub fn at(mut self, region_path: &str, district_id: Option<i64>) -> Entry {
        self.region_path = region_path.to_string();
        self.district_id = district_id;
        self
    }

    pub fn summary(mut self, s: impl Into<String>) -> Entry {
        self.summary = s.into();
        self
    }

    /// A before/after summary of the fields that changed.
    pub fn changes(mut self, before: &serde_json::Value, after: &serde_json::Value) -> Entry {
        let mut diff = serde_json::Map::new();
        if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
            for (k, av) in a {
                let bv = b.get(k).unwrap_or(&serde_json::Value::Null);
                if bv != av {
                    diff.insert(k.clone(), serde_json::json!([bv, av]));
                }
            }
        }
        self.summary = serde_json::Value::Object(diff).to_string();
        self
    }

    pub fn chain(&self) -> String {
        match self.district_id {
            Some(d) => format!("district:{d}"),
            None => "global".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub chain: String,
    pub seq: i64,
    /// UTC milliseconds.
    pub at: i64,
    pub at_local: String,
    pub actor_id: i64,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub region_path: String,
    pub summary: String,
    pub client: String,
}

/// Result of walking every chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub chains: usize,
    pub records: u64,
    /// The first bad record: (record id or sequence, reason), when any.
    pub first_problem: Option<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub chain: String,
    pub seq: i64,
    pub record_id: Option<i64>,
    pub reason_zh: String,
    pub reason_en: String,
}
