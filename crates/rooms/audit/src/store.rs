//! The audit room's SQL. Nothing else touches `audit_log` or `audit_chains`.

use crate::model::{AuditRecord, Entry};
use sha2::{Digest, Sha256};
use yidu_db::{AnyConnection, AnyRow, Row};

pub struct Stamp<'a> {
    pub chain: &'a str,
    pub seq: i64,
    pub at: i64,
    pub actor_id: i64,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub region_path: &'a str,
    pub summary: &'a str,
    pub client: &'a str,
    pub prev_hash: &'a str,
}

/// The record's hash covers every stored field and its predecessor's hash. Fields are
/// length-prefixed so that no two different records can serialize alike.
pub fn hash(s: &Stamp) -> String {
    let mut h = Sha256::new();
    let seq = s.seq.to_string();
    let at = s.at.to_string();
    let actor = s.actor_id.to_string();
    for part in [
        s.prev_hash,
        s.chain,
        &seq,
        &at,
        &actor,
        s.actor_name,
        s.action,
        s.object_type,
        s.object_id,
        s.region_path,
        s.summary,
        s.client,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends one record. The `UPDATE ... RETURNING` on the chain head takes its row lock
/// until the transaction ends, so concurrent appenders of one chain queue up.
pub async fn append(
    conn: &mut AnyConnection,
    entry: &Entry,
    actor_id: i64,
    actor_name: &str,
    client: &str,
    at: i64,
) -> Result<i64, sqlx::Error> {
    let chain = entry.chain();
    sqlx::query(
        "INSERT INTO audit_chains (chain, seq, head_hash) VALUES ($1, 0, '') ON CONFLICT (chain) DO NOTHING",
    )
    .bind(&chain)
    .execute(&mut *conn)
    .await?;
    let head = sqlx::query(
        "UPDATE audit_chains SET seq = seq + 1 WHERE chain = $1 RETURNING seq, head_hash",
    )
    .bind(&chain)
    .fetch_one(&mut *conn)
    .await?;
    let seq: i64 = head.get(0);
    let prev: String = head.get(1);
    let stamp = Stamp {
        chain: &chain,
        seq,
        at,
        actor_id,
        actor_name,
        action: &entry.action,
        object_type: &entry.object_type,
        object_id: &entry.object_id,
        region_path: &entry.region_path,
        summary: &entry.summary,
        client,
        prev_hash: &prev,
    };
    let h = hash(&stamp);
    let id: i64 = sqlx::query(
        "INSERT INTO audit_log (chain, seq, at, actor_id, actor_name, action, object_type, object_id,
                                region_path, summary, client, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&chain)
    .bind(seq)
    .bind(at)
    .bind(actor_id)
    .bind(actor_name)
    .bind(&entry.action)
    .bind(&entry.object_type)
    .bind(&entry.object_id)
    .bind(&entry.region_path)
    .bind(&entry.summary)
    .bind(client)
    .bind(&prev)
    .bind(&h)
    .fetch_one(&mut *conn)
    .await?
    .get(0);
    sqlx::query("UPDATE audit_chains SET head_hash = $2 WHERE chain = $1")
        .bind(&chain)
        .bind(&h)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

pub const COLUMNS: &str = "id, chain, seq, at, actor_id, actor_name, action, object_type, object_id, region_path, summary, client, prev_hash, hash";

pub struct StoredRecord {
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

pub fn from_row(r: &AnyRow) -> StoredRecord {
    let at: i64 = r.get("at");
    StoredRecord {
        record: AuditRecord {
            id: r.get("id"),
            chain: r.get("chain"),
            seq: r.get("seq"),
            at,
            at_local: yidu_kernel::clock::format_china(at),
            actor_id: r.get("actor_id"),
            actor_name: r.get("actor_name"),
            action: r.get("action"),
            object_type: r.get("object_type"),
            object_id: r.get("object_id"),
            region_path: r.get("region_path"),
            summary: r.get("summary"),
            client: r.get("client"),
        },
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

pub fn stamp_of(s: &StoredRecord) -> Stamp<'_> {
    let r = &s.record;
    Stamp {
        chain: &r.chain,
        seq: r.seq,
        at: r.at,
        actor_id: r.actor_id,
        actor_name: &r.actor_name,
        action: &r.action,
        object_type: &r.object_type,
        object_id: &r.object_id,
        region_path: &r.region_path,
        summary: &r.summary,
        client: &r.client,
        prev_hash: &s.prev_hash,
    }
}
