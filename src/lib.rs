//! Maillage: a federated, decentralised directory of French *Pôles Territoriaux de
//! Coopération Économique* (PTCE), built on ActivityPub.

pub mod config;
pub mod domain;
