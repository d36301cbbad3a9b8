//! Room: outbox (外发). Every state change writes an event into the `outbox` table in its
//! own transaction; this crate delivers those events to the outside world:
//!
//! - **webhooks** to subscribed systems, signed with HMAC-SHA256 (`X-Yidu-Signature`) and
//!   carrying the event id so receivers can drop repeats;
//! - **SMS** through an HTTP gateway (citizens when their item is replied, units when an
//!   item is assigned to them), phone numbers decrypted only at send time;
//! - **e-mail** over SMTP for configured addresses.
//!
//! Delivery is at least once: the dispatcher first fans each event out into one
//! `outbound_deliveries` row per recipient (in one transaction), then claims due rows,
//! sends them outside any transaction and records the outcome; failures are retried with
//! capped exponential backoff and jitter, and rows that keep failing are marked dead but
//! kept. Claims take a lease (`next_attempt_at` moved ahead) so a crash mid-send only
//! delays the row. On PostgreSQL several instances share the work with
//! `FOR UPDATE SKIP LOCKED`; on SQLite the single writer serializes them.
//!
//! Time is a parameter of [`Dispatcher::run_once`] so tests can skip backoff waits.

pub mod api;
pub mod channel;
pub mod config;
pub mod dispatch;
pub mod pages;
pub mod service;
pub mod sign;
mod smtp;

pub use channel::{
    Channel, FileSink, MemorySink, Message, SmsHttpChannel, SmtpChannel, WebhookChannel,
};
pub use config::OutboundConfig;
pub use dispatch::{spawn, Dispatcher, Report};
