//! ActivityPub: what goes on the wire, kept apart from stored rows and domain types.
//!
//! Laid out as activitypub_federation's examples are, and listed from the bottom up: a
//! module uses only those above it.

/// The activities, one file per activity or family: what we send and what we take in.
pub mod activities;
/// Domain blocks added at run time, and what a block forgets.
pub mod blocks;
/// The delivery workers that send the queue.
pub mod delivery;
/// Talking to other servers: the checked HTTP client, the federation service, senders'
/// keys, WebFinger, refresh and discovery.
pub mod fetch;
/// The inbox: a POST checked, then handed to its activity's handler.
pub mod inbox;
/// The wire objects, one file each, written from stored records and read back.
pub mod objects;
/// HTTP Signatures: checking those of requests, and signing ours.
pub mod signatures;
/// The background tasks started with the server.
pub mod tasks;
