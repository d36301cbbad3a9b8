//! The `yidu` binary's library: configuration, the router that joins every room, the
//! server, the demo district, and the command-line commands. Integration tests boot
//! the same router through [`router::build`].

pub mod cli;
pub mod config;
pub mod demo;
pub mod home;
pub mod memory;
pub mod openapi;
pub mod router;
pub mod server;
