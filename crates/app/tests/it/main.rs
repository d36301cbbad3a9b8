//! yidu's integration tests: one binary, one fresh database per test, on SQLite by
//! default and on PostgreSQL when `YIDU_TEST_POSTGRES` is set (CI runs both).

mod accounts;
mod audit;
mod calendar;
mod categories;
mod classes;
mod classes_deadline;
mod classes_follow;
mod classes_stop;
mod cli;
mod cockpit;
mod cockpit_grains;
mod crash;
mod demo_history;
mod digest;
mod helpers;
mod instances;
mod notices;
mod open311;
mod opinions_citizen;
mod opinions_handling;
mod ops;
mod outbox;
mod queue_order;
mod registry_matrix;
mod reply_attachments;
mod schema;
mod search;
mod search_many;
mod search_scope;
mod search_upgrade;
mod terminals;
mod text_assist;
mod users_import;
