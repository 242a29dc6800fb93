//! The full records of directory hits, for the pages and feeds that show more than a hit.
//!
//! It sits above the search and the pole and object stores: a hit is turned into the
//! record those stores read. Invariant: records come in the hits' order, and a hit
//! deleted since the search is left out.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{calls, events, poles, projects};
use super::objects::{call_from_model, event_from_model, project_from_model};
use super::search::{DirectoryHit, DirectoryKind};
use super::{ObjectRecord, PoleRecord, Result, Store};
use crate::domain::{CallForCooperation, Event, Project};

/// The stored record of a hit, for the pages and feeds that show more than the hit.
#[derive(Debug, Clone)]
pub enum DirectoryRecord {
    Pole(Box<PoleRecord>),
    Project(ObjectRecord<Project>),
    Event(ObjectRecord<Event>),
    Call(ObjectRecord<CallForCooperation>),
}

/// The records of some hits, in the hits' order, with the poles that published them.
#[derive(Debug, Clone, Default)]
pub struct DirectoryRecords {
    pub items: Vec<DirectoryRecord>,
    /// Every pole a record belongs to (for a pole, itself), by id.
    pub poles: HashMap<i64, PoleRecord>,
}

/// The ids of the hits of one kind.
fn ids_of(hits: &[DirectoryHit], kind: DirectoryKind) -> Vec<i64> {
    hits.iter()
        .filter(|h| h.kind == kind)
        .map(|h| h.item_id)
        .collect()
}

macro_rules! records_by_id {
    ($db:expr, $entity:ident, $from:ident, $ids:expr) => {{
        let mut out = HashMap::new();
        for chunk in $ids.chunks(500) {
            for m in $entity::Entity::find()
                .filter($entity::Column::Id.is_in(chunk.iter().copied()))
                .filter($entity::Column::DeletedAt.is_null())
                .all($db)
                .await?
            {
                out.insert(m.id, $from(m)?);
            }
        }
        out
    }};
}

impl Store {
    /// The records of `hits`, in their order; a hit deleted since the search is left out.
    pub async fn directory_records(&self, hits: &[DirectoryHit]) -> Result<DirectoryRecords> {
        let db = &self.db;
        let mut projects = records_by_id!(
            db,
            projects,
            project_from_model,
            ids_of(hits, DirectoryKind::Project)
        );
        let mut events = records_by_id!(
            db,
            events,
            event_from_model,
            ids_of(hits, DirectoryKind::Event)
        );
        let mut calls = records_by_id!(
            db,
            calls,
            call_from_model,
            ids_of(hits, DirectoryKind::Call)
        );
        let mut pole_ids: Vec<i64> = hits.iter().map(|h| h.pole.id).collect();
        pole_ids.sort_unstable();
        pole_ids.dedup();
        let mut poles = HashMap::with_capacity(pole_ids.len());
        for chunk in pole_ids.chunks(500) {
            for m in poles::Entity::find()
                .filter(poles::Column::Id.is_in(chunk.iter().copied()))
                .filter(poles::Column::DeletedAt.is_null())
                .all(db)
                .await?
            {
                let record = self.pole_record(db, m).await?;
                poles.insert(record.id, record);
            }
        }
        let mut items = Vec::with_capacity(hits.len());
        for hit in hits {
            let record = match hit.kind {
                DirectoryKind::Pole => poles
                    .get(&hit.item_id)
                    .map(|p| DirectoryRecord::Pole(Box::new(p.clone()))),
                DirectoryKind::Project => {
                    projects.remove(&hit.item_id).map(DirectoryRecord::Project)
                }
                DirectoryKind::Event => events.remove(&hit.item_id).map(DirectoryRecord::Event),
                DirectoryKind::Call => calls.remove(&hit.item_id).map(DirectoryRecord::Call),
            };
            if poles.contains_key(&hit.pole.id) {
                items.extend(record);
            }
        }
        Ok(DirectoryRecords { items, poles })
    }
}
