//! Lookups of the poles and members a document refers to, which the domain alone cannot
//! check (a project's partner members, an event's co-organisers).
//!
//! It sits below both the pole and the object stores, which use it. Invariant: it only
//! reads, and answers with what is unknown, in the order asked.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::Result;
use super::entities::{members, poles};

pub(super) async fn unknown_members(
    db: &impl ConnectionTrait,
    pole_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<i64> = members::Entity::find()
        .select_only()
        .column(members::Column::Id)
        .filter(members::Column::PoleId.eq(pole_id))
        .filter(members::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids
        .iter()
        .copied()
        .filter(|id| !known.contains(id))
        .collect())
}

pub(super) async fn unknown_poles(
    db: &impl ConnectionTrait,
    slugs: &[String],
) -> Result<Vec<String>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<String> = poles::Entity::find()
        .select_only()
        .column(poles::Column::Slug)
        .filter(poles::Column::Local.eq(true))
        .filter(poles::Column::DeletedAt.is_null())
        .filter(poles::Column::Slug.is_in(slugs.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(slugs
        .iter()
        .filter(|s| !known.contains(s))
        .cloned()
        .collect())
}

/// Which of these slugs a pole of `domain` already has, deleted ones included (a deleted
/// pole keeps its slug).
pub(super) async fn taken_slugs(
    db: &impl ConnectionTrait,
    domain: &str,
    slugs: &[String],
) -> Result<Vec<String>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let taken: Vec<String> = poles::Entity::find()
        .select_only()
        .column(poles::Column::Slug)
        .filter(poles::Column::Domain.eq(domain))
        .filter(poles::Column::Slug.is_in(slugs.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(slugs
        .iter()
        .filter(|s| taken.contains(s))
        .cloned()
        .collect())
}
