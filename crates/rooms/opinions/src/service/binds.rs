//! Values of a query built at run time (the queue's filters), bound in placeholder order.

use sqlx::any::AnyArguments;
use sqlx::query::Query;

#[derive(Clone)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
}

/// Binds every value to `q`, in order.
pub(crate) fn bind_all<'q>(
    mut q: Query<'q, sqlx::Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, sqlx::Any, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}
