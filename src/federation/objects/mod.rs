//! What goes on the wire: one file per object, each written from stored records and read
//! back from other servers into domain types. No I/O here beyond reading the store's URLs.
//! Listed from the bottom up: a file uses only those above it.

/// Actors of any software as read here, and the parts of our actors' documents.
pub mod actor;
/// A call for cooperation, a `Note`.
pub mod call;
/// The media type, the JSON-LD context and the public collection.
pub mod context;
/// An event, an `Event`.
pub mod event;
/// Mobilizon's and Gancio's events.
pub mod foreign_event;
/// A pole, a `Group`.
pub mod group;
/// Links and hashtags written as Mastodon writes them.
pub mod html;
/// The instance actor, an `Application`.
pub mod instance;
/// Reading other servers' JSON: ids, types, names, dates.
pub mod json;
/// What projects, calls and events share, and the `Note`.
pub mod note;
/// A project, a `Note`.
pub mod project;
/// A reply to one of our objects.
pub mod reply;
