//! One pole as a JSON archive: its profile, images, members, projects, events, calls and
//! signing keys, written by `maillage export` and read by `maillage import` on this
//! instance or another, where it becomes a local pole like any other.
//!
//! The archive holds what a person typed (the `*Input` types), so that an import checks
//! every value again, as the API would, and imports nothing unless all of it is valid.
//! Followers and the history of changes stay with the instance that made them.

use std::collections::HashMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{CallInput, EventInput, MemberInput, PoleInput, ValidationErrors, image};
use crate::store::{ActorKeys, ImageSlot, PageRequest, Store, StoreError};

/// What identifies the format, and its version.
pub const FORMAT: &str = "maillage.pole-archive";
pub const VERSION: u32 = 1;

/// Why an archive could not be written or read; on import, nothing was created.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("not a pole archive: {0}")]
    Format(String),
    #[error("the archive holds invalid data: {0}")]
    Invalid(ValidationErrors),
    #[error("a pole `{0}` already exists on this instance: import it under another slug (--slug)")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    pub format: String,
    pub version: u32,
    pub exported_at: DateTime<Utc>,
    /// The pole's ActivityPub id where it was exported from.
    pub ap_id: String,
    pub pole: PoleInput,
    pub keys: Keys,
    #[serde(default)]
    pub logo: Option<Image>,
    #[serde(default)]
    pub banner: Option<Image>,
    #[serde(default)]
    pub members: Vec<ArchivedMember>,
    #[serde(default)]
    pub projects: Vec<crate::domain::ProjectInput>,
    #[serde(default)]
    pub events: Vec<EventInput>,
    #[serde(default)]
    pub calls: Vec<CallInput>,
}

/// The pole's signing keys, so that it keeps its identity's keys where it is imported.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub public_key: String,
    pub private_key: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    pub content_type: String,
    /// The file, in base64.
    pub data: String,
}

/// A member with the number projects name it by (`partner_member_ids`) in this archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchivedMember {
    pub id: i64,
    pub member: MemberInput,
}

/// What an import made.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    pub slug: String,
    pub ap_id: String,
    pub members: usize,
    pub projects: usize,
    pub events: usize,
    pub calls: usize,
    /// Co-organisers of events that are not poles of this instance, left out.
    pub left_out_organisers: Vec<String>,
}

const ALL: PageRequest = PageRequest {
    page: 1,
    per_page: u64::MAX / 2,
};

async fn image_of(
    store: &Store,
    media: Option<&crate::store::MediaRef>,
) -> Result<Option<Image>, StoreError> {
    let Some(media) = media else {
        return Ok(None);
    };
    let (content_type, bytes) = store.media(&media.sha256).await?;
    Ok(Some(Image {
        content_type,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }))
}

/// The archive of the local pole `slug`.
pub async fn export(store: &Store, slug: &str) -> Result<Archive, ArchiveError> {
    let record = store.pole(slug).await?;
    if !record.local {
        return Err(ArchiveError::Format(format!(
            "`{slug}` is a pole of another instance: export it there"
        )));
    }
    let keys = store.pole_keys(record.id).await?;
    let members = store.all_members(record.id).await?;
    let projects = store.list_projects(record.id, ALL).await?.items;
    let events = store.list_events(record.id, ALL).await?.items;
    let calls = store.list_calls(record.id, ALL).await?.items;
    Ok(Archive {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: Utc::now(),
        ap_id: record.ap_id.clone(),
        pole: record.pole.to_input(),
        keys: Keys {
            public_key: keys.public_key,
            private_key: keys.private_key,
        },
        logo: image_of(store, record.logo.as_ref()).await?,
        banner: image_of(store, record.banner.as_ref()).await?,
        members: members
            .iter()
            .map(|m| ArchivedMember {
                id: m.id,
                member: m.member.to_input(),
            })
            .collect(),
        projects: projects.iter().map(|p| p.data.to_input()).collect(),
        events: events.iter().map(|e| e.data.to_input()).collect(),
        calls: calls.iter().map(|c| c.data.to_input()).collect(),
    })
}

/// Reads an archive from JSON, checking its format first.
pub fn parse(text: &str) -> Result<Archive, ArchiveError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| ArchiveError::Format(e.to_string()))?;
    if value["format"] != FORMAT {
        return Err(ArchiveError::Format(format!(
            "its `format` is not `{FORMAT}`"
        )));
    }
    if value["version"].as_u64() != Some(u64::from(VERSION)) {
        return Err(ArchiveError::Format(format!(
            "version {} is not one this Maillage reads ({VERSION})",
            value["version"]
        )));
    }
    serde_json::from_value(value).map_err(|e| ArchiveError::Format(e.to_string()))
}

fn decode_image(
    field: &str,
    image: Option<&Image>,
    max_bytes: usize,
    errors: &mut ValidationErrors,
) -> Option<image::CheckedImage> {
    let image = image?;
    let bytes = match base64::engine::general_purpose::STANDARD.decode(&image.data) {
        Ok(bytes) => bytes,
        Err(_) => {
            errors.add(field, crate::domain::Code::NotBase64);
            return None;
        }
    };
    match image::check(bytes, max_bytes) {
        Ok(checked) => Some(checked),
        Err(e) => {
            errors.add(field, e.message());
            None
        }
    }
}

/// Creates the archive's pole on this instance (as `slug`, or the archive's own), with
/// everything it holds; every value is checked first, and nothing is created unless all
/// of them are valid.
pub async fn import(
    store: &Store,
    archive: Archive,
    slug: Option<&str>,
    max_image_bytes: usize,
) -> Result<Imported, ArchiveError> {
    let mut input = archive.pole.clone();
    if let Some(slug) = slug {
        input.slug = slug.to_owned();
    }
    let mut errors = ValidationErrors::new();
    let pole = match input.validate() {
        Ok(pole) => Some(pole),
        Err(e) => {
            errors.nest("pole", e);
            None
        }
    };
    let logo = decode_image("logo", archive.logo.as_ref(), max_image_bytes, &mut errors);
    let banner = decode_image(
        "banner",
        archive.banner.as_ref(),
        max_image_bytes,
        &mut errors,
    );
    let member_ids: Vec<i64> = archive.members.iter().map(|m| m.id).collect();
    let mut members = Vec::new();
    for (i, archived) in archive.members.iter().enumerate() {
        match archived.member.validate() {
            Ok(member) => members.push((archived.id, member)),
            Err(e) => errors.nest(&format!("members[{i}]"), e),
        }
    }
    let mut projects = Vec::new();
    for (i, input) in archive.projects.iter().enumerate() {
        match input.validate() {
            Ok(project) => {
                for (j, id) in project.partner_member_ids.iter().enumerate() {
                    if !member_ids.contains(id) {
                        errors.add(
                            format!("projects[{i}].partner_member_ids[{j}]"),
                            crate::domain::Message::new(crate::domain::Code::NotAMember)
                                .arg("value", id),
                        );
                    }
                }
                projects.push(project);
            }
            Err(e) => errors.nest(&format!("projects[{i}]"), e),
        }
    }
    let mut events = Vec::new();
    for (i, input) in archive.events.iter().enumerate() {
        match input.validate() {
            Ok(event) => events.push(event),
            Err(e) => errors.nest(&format!("events[{i}]"), e),
        }
    }
    let mut calls = Vec::new();
    for (i, input) in archive.calls.iter().enumerate() {
        match input.validate() {
            Ok(call) => calls.push(call),
            Err(e) => errors.nest(&format!("calls[{i}]"), e),
        }
    }
    if archive.keys.public_key.trim().is_empty() || archive.keys.private_key.trim().is_empty() {
        errors.add("keys", crate::domain::Code::KeyPairIncomplete);
    }
    let Some(pole) = pole.filter(|_| errors.is_empty()) else {
        return Err(ArchiveError::Invalid(errors));
    };
    match store.pole(&pole.slug).await {
        Ok(_) => return Err(ArchiveError::Exists(pole.slug)),
        Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let unknown = store
        .unknown_poles(
            &events
                .iter()
                .flat_map(|e| e.organiser_poles.iter().cloned())
                .collect::<Vec<_>>(),
        )
        .await?;

    let record = store.create_pole(&pole).await?;
    store
        .set_pole_keys(
            record.id,
            &ActorKeys {
                public_key: archive.keys.public_key,
                private_key: archive.keys.private_key,
            },
        )
        .await?;
    for (slot, image) in [(ImageSlot::Logo, logo), (ImageSlot::Banner, banner)] {
        if let Some(image) = image {
            let media = store.put_media(image).await?;
            store
                .set_pole_image(&pole.slug, slot, Some(media.id))
                .await?;
        }
    }
    let mut ids = HashMap::new();
    for (old, member) in &members {
        let created = store.create_member(record.id, member).await?;
        ids.insert(*old, created.id);
    }
    for mut project in projects {
        project.partner_member_ids = project
            .partner_member_ids
            .iter()
            .filter_map(|id| ids.get(id).copied())
            .collect();
        store.create_project(record.id, &project).await?;
    }
    let mut left_out = Vec::new();
    for mut event in events {
        event.organiser_poles.retain(|slug| {
            let here = !unknown.contains(slug);
            if !here && !left_out.contains(slug) {
                left_out.push(slug.clone());
            }
            here
        });
        store.create_event(record.id, &event).await?;
    }
    for call in &calls {
        store.create_call(record.id, call).await?;
    }
    tracing::info!(slug = %pole.slug, from = %archive.ap_id, "pole imported");
    Ok(Imported {
        slug: pole.slug,
        ap_id: record.ap_id,
        members: members.len(),
        projects: archive.projects.len(),
        events: archive.events.len(),
        calls: calls.len(),
        left_out_organisers: left_out,
    })
}
