//! Maillage: a federated, decentralised directory of French *Pôles Territoriaux de
//! Coopération Économique* (PTCE), built on ActivityPub.

pub mod archive;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod federation;
pub mod feeds;
pub mod import;
pub mod store;
pub mod web;

pub use error::{Error, Result};
