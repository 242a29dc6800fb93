//! Reading again, from their origin, the copies of other instances' poles and objects that
//! have not been read for a while: what changed is updated, what is gone at the source (404
//! or 410 from its own server) is deleted, and what cannot be read now (network error, 5xx)
//! is left as it is until a later run. Gentle to other servers: a limited number of documents
//! per run, requests to one domain spaced out, a failing domain left alone for the rest of
//! the run and for a while after.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::client::{FetchBudget, FetchError};
use super::service::{Federation, FederationError, Result};
use crate::federation::objects::actor::parse_actor;
use crate::federation::objects::call::parse_call;
use crate::federation::objects::event::parse_event;
use crate::federation::objects::foreign_event::{
    is_foreign_event, organiser_of, parse_foreign_event,
};
use crate::federation::objects::group::{is_maillage_pole, parse_pole};
use crate::federation::objects::json::{first_id, type_of};
use crate::federation::objects::note::maillage_kind;
use crate::federation::objects::project::parse_project;
use crate::store::{CopyKind, Kind, PoleRecord, StaleCopy, StoreError};

/// The least time between two requests to one domain.
pub const SPACING: Duration = Duration::from_secs(1);
/// How long a domain that failed is left alone by the background refresh.
const BACKOFF: Duration = Duration::from_secs(3600);

/// What one run may do.
#[derive(Debug, Clone, Copy)]
pub struct RefreshOptions {
    /// Copies not read for longer than this are read again.
    pub older_than: chrono::Duration,
    pub limit: usize,
    pub spacing: Duration,
}

impl RefreshOptions {
    pub fn from_config(config: &crate::config::Config) -> RefreshOptions {
        RefreshOptions {
            older_than: config.federation.refresh_after.as_chrono(),
            limit: config.federation.refresh_batch,
            spacing: SPACING,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    /// Copies read again and found as they were.
    pub unchanged: usize,
    /// Copies the origin changed, now updated.
    pub updated: usize,
    /// Copies gone at the source, now deleted.
    pub deleted: usize,
    /// Copies whose origin could not be read now; kept, tried again later.
    pub deferred: usize,
    /// Copies whose origin answered with something not to take (another document, another
    /// pole's object, invalid data); kept as they were.
    pub refused: usize,
}

/// Domains that failed recently, left alone for a while.
#[derive(Debug, Default)]
pub struct Backoff {
    failed: HashMap<String, Instant>,
}

impl Backoff {
    fn current(&mut self) -> Vec<String> {
        self.failed.retain(|_, at| at.elapsed() < BACKOFF);
        self.failed.keys().cloned().collect()
    }
}

/// What became of one copy.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Updated,
    Deleted,
    /// The origin cannot be read now.
    Deferred(String),
    /// The origin answered, with something not to take.
    Refused(String),
}

/// What the origin's answer says of a copy, before anything is written.
#[derive(Debug, PartialEq)]
enum Verdict {
    Gone,
    Document(Value),
    Deferred(String),
    Refused(String),
}

/// Judges the answer to a fetch of `ap_id`: only its own origin can say that it is gone,
/// and only a document with its very id can replace it.
fn judge(ap_id: &str, answer: std::result::Result<Value, FederationError>) -> Verdict {
    let same_origin = |url: &str| matches!((Url::parse(url), Url::parse(ap_id)), (Ok(a), Ok(b)) if a.origin() == b.origin());
    match answer {
        Ok(document) if document.get("id").and_then(Value::as_str) != Some(ap_id) => {
            Verdict::Refused(format!("`{ap_id}` answered with another document"))
        }
        Ok(document) if type_of(&document) == "Tombstone" => Verdict::Gone,
        Ok(document) => Verdict::Document(document),
        Err(FederationError::Fetch(FetchError::Gone(url))) if same_origin(&url) => Verdict::Gone,
        Err(FederationError::Fetch(FetchError::Status(url, 404))) if same_origin(&url) => {
            Verdict::Gone
        }
        Err(FederationError::Fetch(
            e
            @ (FetchError::OtherOrigin { .. } | FetchError::NotJson(..) | FetchError::TooLarge(_)),
        )) => Verdict::Refused(e.to_string()),
        Err(FederationError::Url(e) | FederationError::Fetch(FetchError::Url(e))) => {
            Verdict::Refused(e.to_string())
        }
        Err(e) => Verdict::Deferred(e.to_string()),
    }
}

/// An object read again must still be of its kind and of its pole.
fn check_object(copy: &StaleCopy, kind: Kind, document: &Value) -> std::result::Result<(), String> {
    if maillage_kind(document) != Some(kind) {
        return Err(format!("`{}` is no longer a {}", copy.ap_id, kind.id()));
    }
    let author = document.get("attributedTo").and_then(first_id);
    if author != Some(copy.pole_ap_id.as_str()) {
        return Err(format!(
            "`{}` is now attributed to {author:?}, not to its pole `{}`",
            copy.ap_id, copy.pole_ap_id
        ));
    }
    Ok(())
}

/// Reads again the copies not read for longer than `options.older_than`, at most
/// `options.limit` of them, skipping the domains in `backoff` and adding those that fail.
pub async fn refresh_stale(
    fed: &Federation,
    options: &RefreshOptions,
    backoff: &mut Backoff,
) -> Result<RefreshReport> {
    let before = chrono::Utc::now() - options.older_than;
    let skip = backoff.current();
    let limit = options.limit as u64;
    let mut stale = fed.store.stale_remote_poles(before, &skip, limit).await?;
    for kind in Kind::ALL {
        let room = limit.saturating_sub(stale.len() as u64);
        if room == 0 {
            break;
        }
        stale.extend(
            fed.store
                .stale_remote_objects(kind, before, &skip, room)
                .await?,
        );
    }
    let mut report = RefreshReport::default();
    let mut last_request: HashMap<String, Instant> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    // Poles found gone in this run: their objects went with them.
    let mut gone_poles: HashSet<i64> = HashSet::new();
    for copy in interleave_domains(stale) {
        if copy.kind != CopyKind::Pole && gone_poles.contains(&copy.pole_id) {
            continue;
        }
        if failed.contains(&copy.domain) {
            report.deferred += 1;
            continue;
        }
        if let Some(at) = last_request.get(&copy.domain) {
            tokio::time::sleep(options.spacing.saturating_sub(at.elapsed())).await;
        }
        last_request.insert(copy.domain.clone(), Instant::now());
        match refresh_copy(fed, &copy).await? {
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Deleted => {
                tracing::info!(ap_id = %copy.ap_id, "deleted: gone at its origin");
                if copy.kind == CopyKind::Pole {
                    gone_poles.insert(copy.pole_id);
                }
                report.deleted += 1;
            }
            Outcome::Deferred(why) => {
                tracing::info!(ap_id = %copy.ap_id, domain = %copy.domain, error = %why, "cannot refresh now; the domain is left alone for a while");
                failed.insert(copy.domain.clone());
                backoff.failed.insert(copy.domain.clone(), Instant::now());
                report.deferred += 1;
            }
            Outcome::Refused(why) => {
                tracing::warn!(ap_id = %copy.ap_id, error = %why, "refresh refused; the copy is kept as it was");
                fed.store.mark_refreshed(&copy).await?;
                report.refused += 1;
            }
        }
    }
    Ok(report)
}

/// One copy of each domain in turn, so that the spacing of one domain's requests does not
/// hold the others up.
fn interleave_domains(copies: Vec<StaleCopy>) -> Vec<StaleCopy> {
    let mut by_domain: BTreeMap<String, VecDeque<StaleCopy>> = BTreeMap::new();
    for copy in copies {
        by_domain
            .entry(copy.domain.clone())
            .or_default()
            .push_back(copy);
    }
    let mut out = Vec::new();
    while !by_domain.is_empty() {
        by_domain.retain(|_, queue| {
            if let Some(copy) = queue.pop_front() {
                out.push(copy);
            }
            !queue.is_empty()
        });
    }
    out
}

async fn refresh_copy(fed: &Federation, copy: &StaleCopy) -> Result<Outcome> {
    let url = match Url::parse(&copy.ap_id) {
        Ok(url) => url,
        Err(e) => return Ok(Outcome::Refused(format!("`{}`: {e}", copy.ap_id))),
    };
    let answer = fed.fetch(&url, &mut FetchBudget::default()).await;
    let document = match judge(&copy.ap_id, answer) {
        Verdict::Document(document) => document,
        Verdict::Gone => {
            delete_copy(fed, copy).await?;
            return Ok(Outcome::Deleted);
        }
        Verdict::Deferred(why) => return Ok(Outcome::Deferred(why)),
        Verdict::Refused(why) => return Ok(Outcome::Refused(why)),
    };
    // The organisers of other software's events are not poles: such an organiser is only
    // kept while it exists, and its events are read as they were taken in.
    let foreign = !fed.store.pole_by_id(copy.pole_id).await?.ptce;
    match copy.kind {
        CopyKind::Pole if foreign => {
            fed.store.mark_refreshed(copy).await?;
            Ok(Outcome::Unchanged)
        }
        CopyKind::Pole => refresh_pole(fed, copy, &document).await,
        CopyKind::Object(kind) => {
            let checked = if foreign {
                check_foreign_event(copy, kind, &document)
            } else {
                check_object(copy, kind, &document)
            };
            if let Err(why) = checked {
                return Ok(Outcome::Refused(why));
            }
            refresh_object(fed, copy, kind, &document, foreign).await
        }
    }
}

/// An event of another software must still be one, organised by the same actor.
fn check_foreign_event(
    copy: &StaleCopy,
    kind: Kind,
    document: &Value,
) -> std::result::Result<(), String> {
    if kind != Kind::Event || !is_foreign_event(document) {
        return Err(format!("`{}` is no longer an event", copy.ap_id));
    }
    let organiser = organiser_of(document);
    if organiser != Some(copy.pole_ap_id.as_str()) {
        return Err(format!(
            "`{}` is now organised by {organiser:?}, not by `{}`",
            copy.ap_id, copy.pole_ap_id
        ));
    }
    Ok(())
}

async fn delete_copy(fed: &Federation, copy: &StaleCopy) -> Result<()> {
    match copy.kind {
        CopyKind::Pole => {
            // The actor is gone with its pole: our follows of it and its objects too.
            if !fed.store.delete_remote_actor(&copy.ap_id).await? {
                fed.store.delete_remote_pole(&copy.ap_id).await?;
            }
            fed.actors.forget(&copy.ap_id);
        }
        CopyKind::Object(Kind::Project) => {
            fed.store
                .delete_remote_project(copy.pole_id, &copy.ap_id)
                .await?;
        }
        CopyKind::Object(Kind::Event) => {
            fed.store
                .delete_remote_event(copy.pole_id, &copy.ap_id)
                .await?;
        }
        CopyKind::Object(Kind::Call) => {
            fed.store
                .delete_remote_call(copy.pole_id, &copy.ap_id)
                .await?;
        }
    }
    Ok(())
}

async fn refresh_pole(fed: &Federation, copy: &StaleCopy, document: &Value) -> Result<Outcome> {
    if !is_maillage_pole(document) {
        return Ok(Outcome::Refused(format!(
            "`{}` is no longer a pole",
            copy.ap_id
        )));
    }
    let (actor, pole, members) = match parse_actor(document)
        .and_then(|actor| parse_pole(document).map(|(pole, members)| (actor, pole, members)))
    {
        Ok(parsed) => parsed,
        Err(why) => return Ok(Outcome::Refused(why)),
    };
    let actor = fed.store.upsert_remote_actor(&actor).await?;
    fed.actors.forget(&actor.ap_id);
    let stored: PoleRecord = fed.store.pole_by_id(copy.pole_id).await?;
    let stored_members: Vec<_> = fed
        .store
        .all_members(copy.pole_id)
        .await?
        .into_iter()
        .map(|m| m.member)
        .collect();
    if stored.pole == pole && stored_members == members {
        fed.store.mark_refreshed(copy).await?;
        return Ok(Outcome::Unchanged);
    }
    let record = fed
        .store
        .upsert_remote_pole(&copy.ap_id, &actor.domain, &pole, &members)
        .await?;
    fed.store.note_pole_source(record.id, None).await?;
    Ok(Outcome::Updated)
}

async fn refresh_object(
    fed: &Federation,
    copy: &StaleCopy,
    kind: Kind,
    document: &Value,
    foreign: bool,
) -> Result<Outcome> {
    macro_rules! refresh {
        ($parse:ident, $get:ident, $upsert:ident) => {{
            let data = match $parse(document) {
                Ok(data) => data,
                Err(why) => return Ok(Outcome::Refused(why)),
            };
            let Some((stored, false)) = fed.store.$get(&copy.ap_id).await? else {
                return Ok(Outcome::Unchanged);
            };
            if stored.data == data {
                fed.store.mark_refreshed(copy).await?;
                return Ok(Outcome::Unchanged);
            }
            match fed
                .store
                .$upsert(copy.pole_id, &copy.ap_id, &data, stored.published_at)
                .await
            {
                Ok(_) => Ok(Outcome::Updated),
                Err(StoreError::Gone(_)) => Ok(Outcome::Unchanged),
                Err(e) => Err(e.into()),
            }
        }};
    }
    match kind {
        Kind::Project => refresh!(parse_project, project_by_ap_id, upsert_remote_project),
        Kind::Event if foreign => {
            refresh!(parse_foreign_event, event_by_ap_id, upsert_remote_event)
        }
        Kind::Event => refresh!(parse_event, event_by_ap_id, upsert_remote_event),
        Kind::Call => refresh!(parse_call, call_by_ap_id, upsert_remote_call),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const POLE: &str = "https://a.example/poles/redon";
    const PROJECT: &str = "https://a.example/projects/1";

    fn fetch_error(e: FetchError) -> std::result::Result<Value, FederationError> {
        Err(FederationError::Fetch(e))
    }

    #[test]
    fn only_the_origin_says_a_copy_is_gone() {
        assert_eq!(
            judge(PROJECT, fetch_error(FetchError::Gone(PROJECT.into()))),
            Verdict::Gone
        );
        assert_eq!(
            judge(
                PROJECT,
                fetch_error(FetchError::Status(PROJECT.into(), 404))
            ),
            Verdict::Gone
        );
        assert_eq!(
            judge(PROJECT, Ok(json!({"id": PROJECT, "type": "Tombstone"}))),
            Verdict::Gone
        );
        // After a redirect, another server's 404 or 410 says nothing of this copy.
        let elsewhere = "https://b.example/projects/1";
        assert!(matches!(
            judge(PROJECT, fetch_error(FetchError::Gone(elsewhere.into()))),
            Verdict::Deferred(_)
        ));
        assert!(matches!(
            judge(
                PROJECT,
                fetch_error(FetchError::Status(elsewhere.into(), 404))
            ),
            Verdict::Deferred(_)
        ));
    }

    #[test]
    fn errors_of_the_moment_keep_the_copy() {
        for e in [
            FetchError::Status(PROJECT.into(), 500),
            FetchError::Status(PROJECT.into(), 503),
            FetchError::Status(PROJECT.into(), 429),
            FetchError::Network(PROJECT.into(), "connection refused".into()),
        ] {
            assert!(matches!(
                judge(PROJECT, fetch_error(e)),
                Verdict::Deferred(_)
            ));
        }
    }

    #[test]
    fn another_origin_never_rewrites_a_copy() {
        // A document with another id, on the same server or another one.
        for id in [
            "https://a.example/projects/2",
            "https://b.example/projects/1",
        ] {
            assert!(matches!(
                judge(PROJECT, Ok(json!({"id": id, "type": "Note"}))),
                Verdict::Refused(_)
            ));
        }
        assert!(matches!(
            judge(
                PROJECT,
                fetch_error(FetchError::OtherOrigin {
                    url: PROJECT.into(),
                    id: "https://b.example/projects/1".into()
                })
            ),
            Verdict::Refused(_)
        ));
        let document = json!({"id": PROJECT, "type": "Note", "ptceKind": "project",
                              "attributedTo": POLE, "name": "Légumerie"});
        assert_eq!(
            judge(PROJECT, Ok(document.clone())),
            Verdict::Document(document.clone())
        );
        let copy = StaleCopy {
            kind: CopyKind::Object(Kind::Project),
            ap_id: PROJECT.into(),
            pole_id: 1,
            pole_ap_id: POLE.into(),
            domain: "a.example".into(),
        };
        assert!(check_object(&copy, Kind::Project, &document).is_ok());
        assert!(check_object(&copy, Kind::Call, &document).is_err());
        // An object now claimed by another pole, even of the same server, is not moved.
        let mut moved = document;
        moved["attributedTo"] = json!("https://a.example/poles/other");
        assert!(check_object(&copy, Kind::Project, &moved).is_err());
    }

    #[test]
    fn domains_take_turns() {
        let copy = |domain: &str, n: i64| StaleCopy {
            kind: CopyKind::Pole,
            ap_id: format!("https://{domain}/poles/{n}"),
            pole_id: n,
            pole_ap_id: format!("https://{domain}/poles/{n}"),
            domain: domain.into(),
        };
        let order: Vec<i64> = interleave_domains(vec![
            copy("a.example", 1),
            copy("a.example", 2),
            copy("a.example", 3),
            copy("b.example", 4),
        ])
        .into_iter()
        .map(|c| c.pole_id)
        .collect();
        assert_eq!(order, [1, 4, 2, 3]);
    }
}
