//! Sending what the queue holds: one worker per destination domain, each delivery signed
//! by its actor's key as it leaves.

/// The delivery workers.
pub mod worker;
