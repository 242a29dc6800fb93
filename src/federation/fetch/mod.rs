//! Talking to other servers and reading them: the HTTP client that refuses private
//! addresses, the service that holds it with the store and the keys, senders' keys,
//! WebFinger, and reading copies again. Listed from the bottom up: a file uses only those
//! above it.

/// The HTTP client: signed fetches and deliveries, bounded and checked.
pub mod client;
/// Instances found by following the instances an instance knows.
pub mod discover;
/// Copies of other servers' poles and objects read again, and dropped when gone.
pub mod refresh;
/// Who signed a request: the sender's key, known or fetched once for all who wait.
pub mod senders;
/// The federation service: the store, the client, the keys, caches and the queue's door.
pub mod service;
/// Which addresses may be reached: the check on the URL and on the resolved address.
pub mod url_check;
/// Actors from handles (WebFinger) and instances' domains (NodeInfo).
pub mod webfinger;
