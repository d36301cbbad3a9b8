//! Anonymous `?` placeholders for SQLite's multi-row statements.
//!
//! The project writes its SQL with PostgreSQL's numbered `$1, $2, ...`, which SQLite accepts
//! too. But SQLite keeps named parameters in a list that it searches from the start for every
//! lookup, and the driver looks each parameter up by number when binding: a statement with
//! n numbered parameters costs O(n²) to prepare and bind. For the intake's batched inserts
//! (up to 128 rows of 22 parameters) that was the largest single cost of the database writer
//! (9 % of all CPU time in `sqlite3_bind_parameter_name` at 64 clients, 2026-12-07 perf
//! profile). Anonymous `?` parameters are bound by position, without a lookup.

use crate::AnyConnection;

/// `sql` for the connection's engine: on SQLite, numbered placeholders that appear exactly
/// once each, in the order 1, 2, 3, ... (outside quoted literals), become `?`; anything else
/// is left as written. The values are bound in the same order either way.
pub fn positional(conn: &AnyConnection, sql: String) -> String {
    if conn.backend_name() != "SQLite" {
        return sql;
    }
    match sqlite_positional(&sql) {
        Some(rewritten) => rewritten,
        None => {
            debug_assert!(false, "placeholders not in order 1, 2, 3, ...: {sql}");
            sql
        }
    }
}

/// `$1 ... $n` in order, each once, become `?`; None when they are not in that order.
pub fn sqlite_positional(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut expect = 1usize;
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'$' if !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (i + 1..bytes.len())
                    .find(|&j| !bytes[j].is_ascii_digit())
                    .unwrap_or(bytes.len());
                let n: usize = sql[i + 1..end].parse().ok()?;
                if n != expect {
                    return None;
                }
                expect += 1;
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = end;
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::sqlite_positional;

    #[test]
    fn numbered_in_order_become_anonymous() {
        assert_eq!(
            sqlite_positional("INSERT INTO t VALUES ($1, '群众', $2), ($3, 'a$4b', $4)").as_deref(),
            Some("INSERT INTO t VALUES (?, '群众', ?), (?, 'a$4b', ?)")
        );
        assert_eq!(
            sqlite_positional("SELECT 1").as_deref(),
            Some("SELECT 1"),
            "no placeholders"
        );
        assert_eq!(
            sqlite_positional("x = $10").as_deref(),
            None,
            "must start at 1"
        );
    }

    #[test]
    fn reused_or_out_of_order_numbers_are_left_alone() {
        assert_eq!(sqlite_positional("($1, $2, $2)"), None);
        assert_eq!(sqlite_positional("($2, $1)"), None);
        assert_eq!(
            sqlite_positional("($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10), ($11, $12)")
                .as_deref(),
            Some("(?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)")
        );
    }
}
