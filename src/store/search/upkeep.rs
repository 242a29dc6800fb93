//! Upkeep of the directory index: the rows of a pole or an object written again in the
//! transaction that changes it, removed with it, or the whole index rebuilt.
//!
//! Invariant: every write that changes what the directory shows calls one of these in
//! its own transaction, so the index never lags behind the rows it describes.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use super::entries::{
    Entry, Indexed, PoleFacts, call_entry, event_entry, pole_entry, project_entry,
};
use super::params::DirectoryKind;
use super::sql::Sql;
use crate::store::entities::{calls, events, members, poles, projects};
use crate::store::{Result, Store, StoreError};

/// Bumped whenever the tokens or facets computed for a row change: the index is then
/// rebuilt when the instance next migrates.
pub const INDEX_VERSION: i32 = 3;

const ENTRY_COLUMNS: &str = "kind, item_id, pole_id, local, title, summary, ap_id, public_id, \
     title_tokens, tokens, published_at, starts_at, ends_at, event_month, call_status, deadline, \
     updated_at";

fn bind_entry(sql: &mut Sql, e: &Entry) -> String {
    let values = [
        sql.bind(e.kind.id()),
        sql.bind(e.item_id),
        sql.bind(e.pole_id),
        sql.bind(e.local),
        sql.bind(e.title.clone()),
        sql.bind(e.summary.clone()),
        sql.bind(e.ap_id.clone()),
        sql.bind(e.public_id.clone()),
        sql.bind(e.title_tokens.clone()),
        sql.bind(e.tokens.clone()),
        sql.bind(e.published_at),
        sql.bind(e.starts_at),
        sql.bind(e.ends_at),
        sql.bind(e.event_month.clone()),
        sql.bind(e.call_status.clone()),
        sql.bind(e.deadline.clone()),
        sql.bind(e.updated_at),
    ];
    values.join(", ")
}

async fn insert_facets(db: &impl ConnectionTrait, rows: &[(i64, &Entry)]) -> Result<()> {
    let backend = db.get_database_backend();
    let all: Vec<(i64, i64, &str, &str, &str)> = rows
        .iter()
        .flat_map(|(id, e)| {
            e.facets
                .iter()
                .map(move |(facet, value)| (*id, e.pole_id, e.kind.id(), *facet, value.as_str()))
        })
        .collect();
    // Five values a row, well under both databases' limit on bound values.
    for chunk in all.chunks(4_000) {
        let mut sql = Sql::new(backend);
        sql.push("INSERT INTO directory_facets (entry_id, pole_id, kind, facet, value) VALUES ");
        for (i, (id, pole_id, kind, facet, value)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let row = [
                sql.bind(*id),
                sql.bind(*pole_id),
                sql.bind(*kind),
                sql.bind(*facet),
                sql.bind(*value),
            ]
            .join(", ");
            sql.push(&format!("({row})"));
        }
        db.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// Writes the row of `entry`'s item, in place when it exists (an upsert: two writers of the
/// same item never meet on a row one of them deleted), then its facets.
async fn write_entry(db: &impl ConnectionTrait, entry: &Entry) -> Result<()> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push(&format!("INSERT INTO directory ({ENTRY_COLUMNS}) VALUES ("));
    let values = bind_entry(&mut sql, entry);
    sql.push(&values);
    let updates = ENTRY_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|c| !matches!(*c, "kind" | "item_id"))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    sql.push(&format!(
        ") ON CONFLICT (kind, item_id) DO UPDATE SET {updates} RETURNING id"
    ));
    let row = db
        .query_one_raw(sql.statement())
        .await?
        .ok_or_else(|| StoreError::Corrupt("the directory row was not written".into()))?;
    let id: i64 = row.try_get("", "id")?;
    let mut sql = Sql::new(db.get_database_backend());
    let e = sql.bind(id);
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id = {e}"
    ));
    db.execute_raw(sql.statement()).await?;
    insert_facets(db, &[(id, entry)]).await
}

async fn remove_entry(db: &impl ConnectionTrait, kind: DirectoryKind, item_id: i64) -> Result<()> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let (k, i) = (sql.bind(kind.id()), sql.bind(item_id));
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id IN \
         (SELECT id FROM directory WHERE kind = {k} AND item_id = {i})"
    ));
    db.execute_raw(sql.statement()).await?;
    let mut sql = Sql::new(backend);
    let (k, i) = (sql.bind(kind.id()), sql.bind(item_id));
    sql.push(&format!(
        "DELETE FROM directory WHERE kind = {k} AND item_id = {i}"
    ));
    db.execute_raw(sql.statement()).await?;
    Ok(())
}

/// Takes an object out of the directory (it was deleted).
pub(crate) async fn unindex_object(
    db: &impl ConnectionTrait,
    kind: DirectoryKind,
    item_id: i64,
) -> Result<()> {
    remove_entry(db, kind, item_id).await
}

/// Takes a pole and everything it published out of the directory.
pub(crate) async fn unindex_pole(db: &impl ConnectionTrait, pole_id: i64) -> Result<()> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    let p = sql.bind(pole_id);
    sql.push(&format!(
        "DELETE FROM directory_facets WHERE entry_id IN (SELECT id FROM directory WHERE pole_id = {p})"
    ));
    db.execute_raw(sql.statement()).await?;
    let mut sql = Sql::new(backend);
    let p = sql.bind(pole_id);
    sql.push(&format!("DELETE FROM directory WHERE pole_id = {p}"));
    db.execute_raw(sql.statement()).await?;
    Ok(())
}

async fn pole_members(db: &impl ConnectionTrait, pole_id: i64) -> Result<Vec<(String, String)>> {
    Ok(members::Entity::find()
        .select_only()
        .columns([members::Column::Name, members::Column::LegalForm])
        .filter(members::Column::PoleId.eq(pole_id))
        .order_by_asc(members::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Writes the pole's row again (its profile or members changed); with `objects`, the rows
/// of what it publishes too, since they inherit its territory and themes.
pub(crate) async fn index_pole(
    db: &impl ConnectionTrait,
    pole_id: i64,
    objects: bool,
) -> Result<()> {
    let Some(pole) = poles::Entity::find_by_id(pole_id).one(db).await? else {
        return unindex_pole(db, pole_id).await;
    };
    if pole.deleted_at.is_some() {
        return unindex_pole(db, pole_id).await;
    }
    let rows = pole_members(db, pole_id).await?;
    if pole.ptce {
        write_entry(db, &pole_entry(&pole, &rows)?).await?;
    }
    if !objects {
        return Ok(());
    }
    let facts = PoleFacts::of(&pole)?;
    for m in projects::Entity::find()
        .filter(projects::Column::PoleId.eq(pole_id))
        .filter(projects::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &project_entry(&m, &facts)?).await?;
    }
    for m in events::Entity::find()
        .filter(events::Column::PoleId.eq(pole_id))
        .filter(events::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &event_entry(&m, &facts)?).await?;
    }
    for m in calls::Entity::find()
        .filter(calls::Column::PoleId.eq(pole_id))
        .filter(calls::Column::DeletedAt.is_null())
        .all(db)
        .await?
    {
        write_entry(db, &call_entry(&m, &facts)?).await?;
    }
    Ok(())
}

async fn pole_facts(db: &impl ConnectionTrait, pole_id: i64) -> Result<PoleFacts> {
    match poles::Entity::find_by_id(pole_id).one(db).await? {
        Some(p) => PoleFacts::of(&p),
        None => Ok(PoleFacts::default()),
    }
}

/// Writes the object's row again after it was created or changed.
pub(crate) async fn index_object(db: &impl ConnectionTrait, model: &impl Indexed) -> Result<()> {
    if model.deleted() {
        return Ok(());
    }
    let facts = pole_facts(db, model.pole_id()).await?;
    write_entry(db, &model.entry(&facts)?).await
}

/// Writes many new rows at once, with ids from `next_id` on (the tables were emptied).
async fn bulk_insert(
    db: &impl ConnectionTrait,
    entries: &[Entry],
    next_id: &mut i64,
) -> Result<()> {
    let backend = db.get_database_backend();
    // Eighteen values a row: 1,000 rows stay under both databases' limits.
    for chunk in entries.chunks(1_000) {
        let mut sql = Sql::new(backend);
        sql.push(&format!(
            "INSERT INTO directory (id, {ENTRY_COLUMNS}) VALUES "
        ));
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            let id = *next_id;
            *next_id += 1;
            let idp = sql.bind(id);
            let values = bind_entry(&mut sql, e);
            sql.push(&format!("({idp}, {values})"));
            rows.push((id, e));
        }
        db.execute_raw(sql.statement()).await?;
        insert_facets(db, &rows).await?;
    }
    Ok(())
}

/// Rows read per batch when rebuilding.
const REBUILD_BATCH: u64 = 5_000;

macro_rules! rebuild_kind {
    ($db:expr, $entity:ident, $build:ident, $facts:expr, $next_id:expr, $count:expr) => {{
        let mut after = 0i64;
        loop {
            let batch = $entity::Entity::find()
                .filter($entity::Column::Id.gt(after))
                .filter($entity::Column::DeletedAt.is_null())
                .order_by_asc($entity::Column::Id)
                .limit(REBUILD_BATCH)
                .all($db)
                .await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            let empty = PoleFacts::default();
            let entries = batch
                .iter()
                .filter(|m| $facts.contains_key(&m.pole_id))
                .map(|m| $build(m, $facts.get(&m.pole_id).unwrap_or(&empty)))
                .collect::<Result<Vec<Entry>>>()?;
            $count += entries.len() as u64;
            bulk_insert($db, &entries, $next_id).await?;
        }
    }};
}

/// Empties the directory and writes it again from the poles and objects.
async fn rebuild(db: &impl ConnectionTrait) -> Result<u64> {
    let backend = db.get_database_backend();
    db.execute_unprepared("DELETE FROM directory_facets")
        .await?;
    db.execute_unprepared("DELETE FROM directory").await?;
    let mut next_id = 1i64;
    let mut count = 0u64;
    let live_poles = poles::Entity::find()
        .filter(poles::Column::DeletedAt.is_null())
        .order_by_asc(poles::Column::Id)
        .all(db)
        .await?;
    let mut member_rows: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    let all_members: Vec<(i64, String, String)> = members::Entity::find()
        .select_only()
        .columns([
            members::Column::PoleId,
            members::Column::Name,
            members::Column::LegalForm,
        ])
        .order_by_asc(members::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for (pole_id, name, form) in all_members {
        member_rows.entry(pole_id).or_default().push((name, form));
    }
    let mut facts: HashMap<i64, PoleFacts> = HashMap::new();
    let mut pole_entries = Vec::with_capacity(live_poles.len());
    for p in &live_poles {
        facts.insert(p.id, PoleFacts::of(p)?);
        let rows = member_rows.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
        if p.ptce {
            pole_entries.push(pole_entry(p, rows)?);
        }
    }
    drop(member_rows);
    count += pole_entries.len() as u64;
    bulk_insert(db, &pole_entries, &mut next_id).await?;
    drop(pole_entries);
    rebuild_kind!(db, projects, project_entry, facts, &mut next_id, count);
    rebuild_kind!(db, events, event_entry, facts, &mut next_id, count);
    rebuild_kind!(db, calls, call_entry, facts, &mut next_id, count);
    if backend == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('directory', 'id'), \
             GREATEST((SELECT MAX(id) FROM directory), 1))",
        )
        .await?;
        // Analysed with a vacuum once the transaction is committed.
    } else {
        db.execute_unprepared("ANALYZE").await?;
    }
    let mut sql = Sql::new(backend);
    let v = sql.bind(INDEX_VERSION);
    sql.push(&format!(
        "UPDATE directory_state SET version = {v} WHERE id = 1"
    ));
    db.execute_raw(sql.statement()).await?;
    Ok(count)
}

impl Store {
    /// Rebuilds the directory if it was written by another version of the indexer (or
    /// never, right after its migration). Returns the number of rows written, if rebuilt.
    pub async fn refresh_directory(&self) -> Result<Option<u64>> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT version FROM directory_state WHERE id = 1",
            ))
            .await?;
        let version: i32 = match row {
            Some(r) => r.try_get("", "version")?,
            None => 0,
        };
        if version == INDEX_VERSION {
            return Ok(None);
        }
        self.rebuild_directory().await.map(Some)
    }

    /// Empties and rewrites the whole directory, in one transaction.
    pub async fn rebuild_directory(&self) -> Result<u64> {
        let started = std::time::Instant::now();
        let txn = self.write_txn().await?;
        let count = rebuild(&txn).await?;
        txn.commit().await?;
        if self.db.get_database_backend() == DbBackend::Postgres {
            // Outside the transaction: the rows just written are marked all-visible, so
            // that counting by facet reads the index alone, and their statistics are fresh.
            self.db
                .execute_unprepared("VACUUM (ANALYZE) directory, directory_facets")
                .await?;
        }
        tracing::info!(
            rows = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "directory index rebuilt"
        );
        Ok(count)
    }
}
