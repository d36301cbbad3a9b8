//! Appending many records at once (the intake's group commit): three statements for the
//! whole batch instead of four per record, with the same chains as one-by-one appends.

use crate::model::{Actor, Entry};
use crate::store::{hash, Stamp};
use std::collections::HashMap;
use yidu_db::{AnyConnection, Row};

/// Appends `records` in order, in the caller's transaction. Equal to calling [`crate::record`] for each in turn: each
/// record's seq follows its predecessor's in its chain and stores its hash.
///
/// The first statement reserves a run of sequence numbers on every chain involved with
/// one upsert; like the single append's `UPDATE`, it takes the head rows' locks until
/// the transaction ends, so appenders on other connections (PostgreSQL) queue up.
pub async fn record_many(
    conn: &mut AnyConnection,
    records: &[(Actor, Entry)],
    at: i64,
) -> Result<(), sqlx::Error> {
    if records.is_empty() {
        return Ok(());
    }
    let chains: Vec<String> = records.iter().map(|(_, e)| e.chain()).collect();
    // Chains in sorted order: two batches lock the head rows in the same order.
    let mut wanted: Vec<(&str, i64)> = Vec::new();
    {
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for c in &chains {
            *counts.entry(c.as_str()).or_default() += 1;
        }
        wanted.extend(counts);
        wanted.sort_unstable();
    }
    let marks = |per: usize, rows: usize| -> String {
        (0..rows)
            .map(|r| {
                let m: Vec<String> = (1..=per).map(|i| format!("${}", r * per + i)).collect();
                format!("({})", m.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let reserve = format!(
        "INSERT INTO audit_chains (chain, seq, head_hash) VALUES {} \
         ON CONFLICT (chain) DO UPDATE SET seq = audit_chains.seq + excluded.seq \
         RETURNING chain, seq, head_hash",
        marks(3, wanted.len())
    );
    let reserve = yidu_db::positional(conn, reserve);
    let mut q = sqlx::query(&reserve).persistent(false);
    for (chain, n) in &wanted {
        q = q.bind(chain.to_string()).bind(*n).bind(String::new());
    }
    // chain -> (next seq to give, hash of the record before it)
    let mut heads: HashMap<String, (i64, String)> = HashMap::new();
    for row in q.fetch_all(&mut *conn).await? {
        let chain: String = row.get(0);
        let last: i64 = row.get(1);
        let n = wanted
            .iter()
            .find(|(c, _)| *c == chain)
            .map_or(0, |(_, n)| *n);
        heads.insert(chain, (last - n + 1, row.get(2)));
    }
    let mut values: Vec<(String, i64, String, String)> = Vec::with_capacity(records.len());
    for ((actor, entry), chain) in records.iter().zip(&chains) {
        let (seq, prev) = heads.get_mut(chain).ok_or_else(|| {
            sqlx::Error::Protocol(format!("audit chain {chain} was not reserved"))
        })?;
        let h = hash(&Stamp {
            chain,
            seq: *seq,
            at,
            actor_id: actor.user_id,
            actor_name: &actor.name,
            action: &entry.action,
            object_type: &entry.object_type,
            object_id: &entry.object_id,
            region_path: &entry.region_path,
            summary: &entry.summary,
            client: &actor.client,
            prev_hash: prev,
        });
        values.push((chain.clone(), *seq, prev.clone(), h.clone()));
        *seq += 1;
        *prev = h;
    }
    let insert = format!(
        "INSERT INTO audit_log (chain, seq, at, actor_id, actor_name, action, object_type, object_id,
                                region_path, summary, client, prev_hash, hash)
         VALUES {}",
        marks(13, records.len())
    );
    let insert = yidu_db::positional(conn, insert);
    let mut q = sqlx::query(&insert).persistent(false);
    for ((actor, entry), (chain, seq, prev, h)) in records.iter().zip(&values) {
        q = q
            .bind(chain.clone())
            .bind(*seq)
            .bind(at)
            .bind(actor.user_id)
            .bind(actor.name.clone())
            .bind(entry.action.clone())
            .bind(entry.object_type.clone())
            .bind(entry.object_id.clone())
            .bind(entry.region_path.clone())
            .bind(entry.summary.clone())
            .bind(actor.client.clone())
            .bind(prev.clone())
            .bind(h.clone());
    }
    q.execute(&mut *conn).await?;
    let set_heads = format!(
        "INSERT INTO audit_chains (chain, seq, head_hash) VALUES {} \
         ON CONFLICT (chain) DO UPDATE SET head_hash = excluded.head_hash",
        marks(3, heads.len())
    );
    let set_heads = yidu_db::positional(conn, set_heads);
    let mut q = sqlx::query(&set_heads).persistent(false);
    let mut heads: Vec<_> = heads.into_iter().collect();
    heads.sort_unstable();
    for (chain, (next, head)) in heads {
        q = q.bind(chain).bind(next - 1).bind(head);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}
