//! Real ActivityPub documents from other software (`tests/fixtures/`, see `SOURCES.md`):
//! read by Maillage's parser (`federation::objects`) and applied by its inbox
//! (`federation::inbox::apply`), on every storage backend.
//!
//! The inbound activities are the ones Mastodon sent (and Fedify's `Follow`, when the interop
//! test has captured it). Only the references to the objects of the servers they were first
//! sent to are rewritten, so that they point at a pole and a project of the Maillage instance
//! under test; every other field is kept as it came. Signatures are not checked here:
//! `apply` takes an actor that `receive` has already authenticated.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::TestDb;
use maillage::domain::text::sanitize_html;
use maillage::domain::{PoleInput, Project, ProjectInput};
use maillage::federation::activities::Applied;
use maillage::federation::fetch::client::FetchBudget;
use maillage::federation::fetch::service::Federation;
use maillage::federation::inbox;
use maillage::federation::objects::actor::parse_actor;
use maillage::federation::objects::event::parse_event;
use maillage::federation::objects::foreign_event::{
    is_foreign_event, organiser_of, parse_foreign_event,
};
use maillage::federation::objects::group::is_maillage_pole;
use maillage::federation::objects::json::{first_id, type_of};
use maillage::federation::objects::note::maillage_kind;
use maillage::store::queue::inbox_domain;
use maillage::store::{
    Kind, NewRemoteActor, ObjectRecord, PageRequest, PoleRecord, RemoteActor, Store,
};
use serde_json::Value;
use url::Url;

// ---------------------------------------------------------------------------------------------
// Fixtures

const MASTODON_ACTOR: &str = include_str!("fixtures/mastodon/actor.json");
const MASTODON_FOLLOW: &str = include_str!("fixtures/mastodon/follow.json");
const MASTODON_UNDO_FOLLOW: &str = include_str!("fixtures/mastodon/undo_follow.json");
const MASTODON_CREATE_REPLY: &str = include_str!("fixtures/mastodon/create_note_reply.json");
const MASTODON_LIKE: &str = include_str!("fixtures/mastodon/like.json");
const MASTODON_ANNOUNCE: &str = include_str!("fixtures/mastodon/announce.json");
const MASTODON_DELETE: &str = include_str!("fixtures/mastodon/delete.json");
const MASTODON_UPDATE: &str = include_str!("fixtures/mastodon/update.json");
const MOBILIZON_GROUP: &str = include_str!("fixtures/mobilizon/group.json");
const MOBILIZON_EVENT: &str = include_str!("fixtures/mobilizon/event.json");
const GANCIO_ACTOR: &str = include_str!("fixtures/gancio/actor.json");
const GANCIO_CREATE_EVENT: &str = include_str!("fixtures/gancio/event.json");
const LEMMY_GROUP: &str = include_str!("fixtures/lemmy/group.json");
const LEMMY_PAGE: &str = include_str!("fixtures/lemmy/page.json");
const FEDIFY_CREATE_WITH_PROOF: &str = include_str!("fixtures/fedify/create_with_proof.json");

/// Captured by `tests/interop.rs` (`MAILLAGE_UPDATE_FIXTURES=1`), so read when the test runs
/// and used only when present.
const FEDIFY_FOLLOW: &str = "fedify/follow.json";
const FEDIFY_FOLLOW_ACTOR: &str = "fedify/follow_actor.json";

fn json(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// The Fedify captures, as the fixtures' files hold them.
fn fedify_fixture(name: &str) -> Value {
    let text = match name {
        FEDIFY_FOLLOW => include_str!("fixtures/fedify/follow.json"),
        FEDIFY_FOLLOW_ACTOR => include_str!("fixtures/fedify/follow_actor.json"),
        _ => panic!("no Fedify fixture {name}"),
    };
    json(name, text)
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at `{pointer}` in {doc}"))
}

/// The fixture with the reference at `pointer` replaced by `to`; the reference must be
/// there, so that only references the sender really wrote are rewritten.
fn pointing(doc: &Value, pointer: &str, to: &str) -> Value {
    let mut doc = doc.clone();
    let slot = doc
        .pointer_mut(pointer)
        .filter(|v| v.is_string())
        .unwrap_or_else(|| panic!("no reference at `{pointer}`"));
    *slot = Value::String(to.to_owned());
    doc
}

/// `apply` refuses an activity whose id is on another origin than its actor. Every Mastodon
/// fixture is consistent (`update.json` reads `framapiaf.org/users/gargron#updates/…` for the
/// actor `framapiaf.org/users/framasoft`: another path, the same origin), so no id or actor
/// host needs adapting; this checks it stays so.
fn assert_id_on_actor_origin(name: &str, activity: &Value) {
    let id = Url::parse(str_at(activity, "/id")).expect("the id is a URL");
    let actor = activity.get("actor").and_then(first_id).expect("an actor");
    let actor = Url::parse(actor).expect("the actor is a URL");
    assert_eq!(
        id.origin(),
        actor.origin(),
        "{name}: id and actor on different origins"
    );
}

// ---------------------------------------------------------------------------------------------
// The Maillage instance under test

/// An instance on a fresh database with one pole and one of its projects. Nothing listens on
/// its public URL and no delivery worker runs: what it sends stays in the queue.
struct Instance {
    fed: Arc<Federation>,
    pole: PoleRecord,
    project: ObjectRecord<Project>,
}

impl Instance {
    async fn start(db: &TestDb, moderated: bool) -> Instance {
        let mut config = db.config();
        config.public_url = "http://127.0.0.1:9".into();
        config.federation.development_mode = true;
        let store = Store::connect(&config).await.expect("connect");
        store.migrate().await.expect("migrate");
        let pole = PoleInput {
            slug: "redon".into(),
            name: "Pôle Redon".into(),
            manually_approves_followers: moderated,
            replies_need_approval: moderated,
            ..Default::default()
        };
        let pole = store
            .create_pole(&pole.validate().expect("a valid pole"))
            .await
            .expect("create the pole");
        let project = ProjectInput {
            title: "Légumerie partagée".into(),
            summary: Some("Des légumes du pays pour les cantines".into()),
            ..Default::default()
        };
        let project = store
            .create_project(pole.id, &project.validate().expect("a valid project"))
            .await
            .expect("create the project");
        assert_eq!(pole.ap_id, "http://127.0.0.1:9/poles/redon");
        Instance {
            fed: Federation::new(store, Arc::new(config)).expect("federation set up"),
            pole,
            project,
        }
    }

    fn store(&self) -> &Store {
        &self.fed.store
    }

    /// Stores the activity's actor as `receive` would have after checking its signature: from
    /// its actor document when we have it, else a minimal actor on its server.
    async fn authenticated(&self, activity: &Value, documents: &[Value]) -> RemoteActor {
        let id = activity
            .get("actor")
            .and_then(first_id)
            .expect("the activity has an actor");
        let actor = match documents
            .iter()
            .find(|d| d.get("id") == activity.get("actor"))
        {
            Some(document) => parse_actor(document).expect("the actor document reads"),
            None => minimal_actor(id),
        };
        self.store()
            .upsert_remote_actor(&actor)
            .await
            .expect("store the actor")
    }

    async fn apply(&self, activity: &Value, actor: &RemoteActor) -> Applied {
        inbox::apply(&self.fed, activity, actor, &mut FetchBudget::default())
            .await
            .unwrap_or_else(|e| panic!("`{}` refused: {e}", str_at(activity, "/id")))
    }

    /// Applies an activity, then again: the second time is a duplicate and changes nothing.
    async fn apply_twice(&self, activity: &Value, actor: &RemoteActor) -> Applied {
        let applied = self.apply(activity, actor).await;
        let after = self.state().await;
        assert_eq!(self.apply(activity, actor).await, Applied::Duplicate);
        assert_eq!(self.state().await, after, "a duplicate changed something");
        applied
    }

    async fn state(&self) -> State {
        let store = self.store();
        let followers = store
            .list_followers(
                &self.pole.ap_id,
                PageRequest {
                    page: 1,
                    per_page: 100,
                },
            )
            .await
            .expect("followers")
            .items
            .into_iter()
            .map(|f| (f.actor.ap_id, f.state, f.follow_activity_id))
            .collect();
        let replies = store
            .list_replies(Kind::Project, self.project.id, true)
            .await
            .expect("replies")
            .into_iter()
            .map(|r| (r.ap_id, r.state, r.content_html))
            .collect();
        let reactions = store
            .reaction_counts(Kind::Project, self.project.id)
            .await
            .expect("reactions");
        let queued = store
            .queue_state()
            .await
            .expect("queue")
            .into_iter()
            .map(|d| (d.domain, d.pending + d.failed + d.delivered))
            .collect();
        State {
            followers,
            replies,
            reactions,
            queued,
        }
    }

    /// The deliveries queued for a domain, taken as a worker would (nothing is sent).
    async fn queued_for(&self, domain: &str) -> Vec<Queued> {
        let claimed = self
            .store()
            .claim(domain, "fixture-parsing-test", 100, Utc::now())
            .await
            .expect("claim");
        let ids: Vec<i64> = claimed.iter().map(|d| d.activity).collect();
        let activities = self
            .store()
            .outgoing_activities(&ids)
            .await
            .expect("activities");
        claimed
            .into_iter()
            .map(|d| {
                let activity = activities
                    .iter()
                    .find(|a| a.id == d.activity)
                    .expect("the delivery's activity");
                Queued {
                    inbox: d.inbox,
                    signer: activity.signer.clone(),
                    body: serde_json::from_str(&activity.body).expect("JSON"),
                }
            })
            .collect()
    }
}

/// A delivery queued, with the activity it sends.
#[derive(Debug)]
struct Queued {
    inbox: String,
    signer: String,
    body: Value,
}

/// What the activities change, compared before and after a duplicate.
#[derive(Debug, PartialEq)]
struct State {
    /// (follower, state, follow id)
    followers: Vec<(String, String, String)>,
    /// (reply id, state, content)
    replies: Vec<(String, String, String)>,
    /// (likes, boosts) of the project
    reactions: (u64, u64),
    /// deliveries per domain
    queued: Vec<(String, u64)>,
}

fn minimal_actor(id: &str) -> NewRemoteActor {
    let url = Url::parse(id).expect("the actor id is a URL");
    NewRemoteActor {
        ap_id: id.to_owned(),
        kind: "Person".into(),
        username: url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .map(str::to_owned),
        name: None,
        domain: inbox_domain(&url).expect("a host"),
        inbox: format!("{id}/inbox"),
        shared_inbox: None,
        key_id: Some(format!("{id}#main-key")),
        public_key_pem: None,
        url: None,
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Actors

/// What an actor document must read as.
struct ExpectedActor {
    fixture: &'static str,
    document: Value,
    id: String,
    kind: &'static str,
    inbox: String,
    shared_inbox: Option<String>,
    key_id: String,
    /// Whether the PEM is PKCS#1 (`BEGIN RSA PUBLIC KEY`) rather than SubjectPublicKeyInfo.
    pkcs1: bool,
    username: &'static str,
    name: Option<&'static str>,
    url: Option<String>,
    domain: String,
}

fn expected_actors() -> Vec<ExpectedActor> {
    let mut actors = vec![
        ExpectedActor {
            fixture: "mastodon/actor.json",
            document: json("mastodon/actor.json", MASTODON_ACTOR),
            id: "https://mastodon.madrid/users/felix".into(),
            kind: "Person",
            inbox: "https://mastodon.madrid/users/felix/inbox".into(),
            shared_inbox: Some("https://mastodon.madrid/inbox".into()),
            key_id: "https://mastodon.madrid/users/felix#main-key".into(),
            pkcs1: false,
            username: "felix",
            // `"name": ""`: no name rather than an empty one.
            name: None,
            url: Some("https://mastodon.madrid/@felix".into()),
            domain: "mastodon.madrid".into(),
        },
        ExpectedActor {
            fixture: "mobilizon/group.json",
            document: json("mobilizon/group.json", MOBILIZON_GROUP),
            id: "https://mobilizon.fr/@framasoft".into(),
            kind: "Group",
            inbox: "https://mobilizon.fr/@framasoft/inbox".into(),
            shared_inbox: Some("https://mobilizon.fr/inbox".into()),
            key_id: "https://mobilizon.fr/@framasoft#main-key".into(),
            pkcs1: true,
            username: "framasoft",
            name: Some("Framasoft"),
            url: Some("https://mobilizon.fr/@framasoft".into()),
            domain: "mobilizon.fr".into(),
        },
        ExpectedActor {
            fixture: "gancio/actor.json",
            document: json("gancio/actor.json", GANCIO_ACTOR),
            id: "https://demo.gancio.org/federation/u/gancio".into(),
            kind: "Application",
            inbox: "https://demo.gancio.org/federation/u/gancio/inbox".into(),
            shared_inbox: None,
            key_id: "https://demo.gancio.org/federation/u/gancio#main-key".into(),
            pkcs1: false,
            username: "gancio",
            name: Some("gancio"),
            url: None,
            domain: "demo.gancio.org".into(),
        },
        ExpectedActor {
            fixture: "lemmy/group.json",
            document: json("lemmy/group.json", LEMMY_GROUP),
            id: "https://enterprise.lemmy.ml/c/tenforward".into(),
            kind: "Group",
            inbox: "https://enterprise.lemmy.ml/c/tenforward/inbox".into(),
            shared_inbox: Some("https://enterprise.lemmy.ml/inbox".into()),
            key_id: "https://enterprise.lemmy.ml/c/tenforward#main-key".into(),
            pkcs1: false,
            username: "tenforward",
            name: Some("Ten Forward"),
            url: None,
            domain: "enterprise.lemmy.ml".into(),
        },
    ];
    // Fedify's peer runs on a port chosen at capture time: expectations built from its id.
    {
        let document = fedify_fixture(FEDIFY_FOLLOW_ACTOR);
        let id = str_at(&document, "/id").to_owned();
        let url = Url::parse(&id).expect("a URL");
        let origin = url.origin().ascii_serialization();
        actors.push(ExpectedActor {
            fixture: FEDIFY_FOLLOW_ACTOR,
            document,
            inbox: format!("{id}/inbox"),
            shared_inbox: Some(format!("{origin}/inbox")),
            key_id: format!("{id}#main-key"),
            pkcs1: false,
            kind: "Person",
            username: "peer",
            name: Some("Fedify interop peer"),
            url: Some(id.clone()),
            domain: inbox_domain(&url).expect("a host"),
            id,
        });
    }
    actors
}

/// The PEM decodes as `verify` decodes it: SubjectPublicKeyInfo, else PKCS#1.
fn check_pem(fixture: &str, pem: &str, pkcs1: bool) {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    let spki = rsa::RsaPublicKey::from_public_key_pem(pem.trim());
    let rsa = rsa::RsaPublicKey::from_pkcs1_pem(pem.trim());
    if pkcs1 {
        assert!(
            pem.starts_with("-----BEGIN RSA PUBLIC KEY-----"),
            "{fixture}"
        );
        assert!(spki.is_err(), "{fixture}: a PKCS#1 key read as SPKI");
        assert!(rsa.is_ok(), "{fixture}: PKCS#1 key unreadable: {rsa:?}");
    } else {
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{fixture}");
        assert!(spki.is_ok(), "{fixture}: SPKI key unreadable: {spki:?}");
    }
}

fn check_actor(expected: &ExpectedActor) -> NewRemoteActor {
    let fixture = expected.fixture;
    let doc = &expected.document;
    let actor = parse_actor(doc).unwrap_or_else(|e| panic!("{fixture}: {e}"));
    assert_eq!(actor.ap_id, expected.id, "{fixture}");
    assert_eq!(actor.kind, expected.kind, "{fixture}");
    assert_eq!(actor.inbox, expected.inbox, "{fixture}");
    assert_eq!(actor.shared_inbox, expected.shared_inbox, "{fixture}");
    assert_eq!(
        actor.key_id.as_deref(),
        Some(expected.key_id.as_str()),
        "{fixture}"
    );
    // The PEM is kept as published (the Mobilizon one with its two trailing newlines).
    let pem = actor.public_key_pem.as_deref().expect("a PEM");
    assert_eq!(pem, str_at(doc, "/publicKey/publicKeyPem"), "{fixture}");
    check_pem(fixture, pem, expected.pkcs1);
    assert_eq!(
        actor.username.as_deref(),
        Some(expected.username),
        "{fixture}"
    );
    assert_eq!(actor.name.as_deref(), expected.name, "{fixture}");
    assert_eq!(actor.url, expected.url, "{fixture}");
    assert_eq!(actor.domain, expected.domain, "{fixture}");
    assert!(
        !is_maillage_pole(doc),
        "{fixture} taken for a Maillage pole"
    );
    actor
}

#[tokio::test]
async fn actors_of_other_software_are_read_and_stored() {
    let expected = expected_actors();
    for db in TestDb::all().await {
        let instance = Instance::start(&db, false).await;
        for e in &expected {
            let actor = check_actor(e);
            let stored = instance
                .store()
                .upsert_remote_actor(&actor)
                .await
                .unwrap_or_else(|err| panic!("{} on {}: {err}", e.fixture, db.label));
            // Found again by the key a signature names, with the key unchanged.
            let by_key = instance
                .store()
                .remote_actor_by_key(&e.key_id)
                .await
                .expect("lookup")
                .unwrap_or_else(|| panic!("{} on {}: not found by key", e.fixture, db.label));
            assert_eq!(by_key, stored);
            assert_eq!(by_key.public_key_pem, actor.public_key_pem, "{}", e.fixture);
            assert_eq!(by_key.domain, e.domain);
            assert!(!by_key.deleted);
        }
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Objects

#[test]
fn objects_of_other_software_read_as_maillage_reads_them() {
    // Mobilizon `Event`: `actor` is a person, `attributedTo` its group.
    let event = json("mobilizon/event.json", MOBILIZON_EVENT);
    assert_eq!(type_of(&event), "Event");
    assert_eq!(
        event.get("attributedTo").and_then(first_id),
        Some("https://rendezvous.nomagic.uk/@devon_caledonian_society")
    );
    assert_eq!(
        event.get("actor").and_then(first_id),
        Some("https://rendezvous.nomagic.uk/@emorrp1")
    );
    assert_eq!(
        event.get("location").and_then(first_id),
        Some("https://rendezvous.nomagic.uk/address/e4c95383-15ac-4cc7-adf6-723d74ee2ccc")
    );
    // Maillage's own events say `ptceKind: "event"`; other software's events are not taken
    // for them (the inbox stores them as events of other software, and only from servers
    // followed here: see `tests/foreign_events.rs`).
    assert_eq!(maillage_kind(&event), None);
    // Read as a Maillage event would be, it is refused with reasons, not a panic: a British
    // postal code, and Mobilizon's `maximumAttendeeCapacity: 0` (no limit there) is outside
    // the 1..=1000000 Maillage accepts.
    let refused = parse_event(&event).expect_err("not a PTCE event");
    assert!(refused.contains("place.postal_code"), "{refused}");
    assert!(refused.contains("capacity"), "{refused}");

    // Gancio `Create` of an `Event` without `@context`, with a `location` that is only a name.
    let create = json("gancio/event.json", GANCIO_CREATE_EVENT);
    assert_eq!(type_of(&create), "Create");
    assert_eq!(
        create.get("actor").and_then(first_id),
        Some("https://demo.gancio.org/federation/u/gancio")
    );
    assert_eq!(maillage_kind(&create), None);
    let event = &create["object"];
    assert_eq!(type_of(event), "Event");
    assert_eq!(
        event.get("attributedTo").and_then(first_id),
        Some("https://demo.gancio.org/federation/u/gancio")
    );
    assert_eq!(event.get("location").and_then(first_id), None);
    assert_eq!(maillage_kind(event), None);
    // Its untyped `location` is not taken for a `Place`: an event with neither place nor
    // online link, refused (without a panic).
    let refused = parse_event(event).expect_err("not a PTCE event");
    assert!(refused.contains("place_or_online"), "{refused}");

    // Lemmy `Page` in a community.
    let page = json("lemmy/page.json", LEMMY_PAGE);
    assert_eq!(type_of(&page), "Page");
    assert_eq!(
        page.get("attributedTo").and_then(first_id),
        Some("https://enterprise.lemmy.ml/u/picard")
    );
    assert_eq!(
        page.get("audience").and_then(first_id),
        Some("https://enterprise.lemmy.ml/c/tenforward")
    );
    assert_eq!(
        page.get("to").and_then(first_id),
        Some("https://enterprise.lemmy.ml/c/tenforward")
    );
    assert_eq!(maillage_kind(&page), None);

    // Fedify `Create(Note)` with a FEP-8b32 `proof`.
    let create = json("fedify/create_with_proof.json", FEDIFY_CREATE_WITH_PROOF);
    assert_eq!(type_of(&create), "Create");
    assert_eq!(
        create.get("actor").and_then(first_id),
        Some("https://server.example/users/alice")
    );
    assert_eq!(type_of(&create["proof"]), "DataIntegrityProof");
    assert_eq!(maillage_kind(&create), None);
    let note = &create["object"];
    assert_eq!(type_of(note), "Note");
    assert_eq!(
        note.get("attributedTo").and_then(first_id),
        Some("https://server.example/users/alice")
    );
    assert_eq!(maillage_kind(note), None);
}

#[test]
fn events_of_mobilizon_and_gancio_are_read_as_events() {
    // Mobilizon: a `Place` with a British address (its postal code has no place in a French
    // address and is left out), its own time zone, no capacity limit (`0`).
    let event = json("mobilizon/event.json", MOBILIZON_EVENT);
    assert!(is_foreign_event(&event));
    assert_eq!(
        organiser_of(&event),
        Some("https://rendezvous.nomagic.uk/@devon_caledonian_society")
    );
    let read = parse_foreign_event(&event).expect("a Mobilizon event");
    assert_eq!(read.title, "Caledonian scottish dance class");
    assert_eq!(read.timezone, "Europe/London");
    assert_eq!(read.starts_at.to_rfc3339(), "2022-12-11T19:00:00+00:00");
    assert_eq!(
        read.ends_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2022-12-11T21:00:00+00:00")
    );
    let place = read.place.as_ref().expect("a place");
    assert_eq!(place.name.as_deref(), Some("The Kenn Centre"));
    assert_eq!(place.street.as_deref(), Some("Devon Expressway"));
    assert_eq!(place.locality.as_deref(), Some("Teignbridge"));
    assert_eq!(place.postal_code, None);
    assert_eq!(place.latitude, Some(50.66881615));
    assert_eq!(read.capacity, None);
    assert_eq!(read.online_url, None);
    // Its `url` is its id: no separate source page.
    assert_eq!(read.source_url, None);
    let html = &read.description.as_ref().expect("a description").html;
    assert!(html.contains("posh ceilidh"), "{html}");
    assert!(
        html.contains("rel=\"nofollow noopener noreferrer\""),
        "{html}"
    );

    // Gancio: the `Create`'s event, a `location` with only a name, times with an offset and
    // no time zone, a page apart from its id.
    let create = json("gancio/event.json", GANCIO_CREATE_EVENT);
    let event = &create["object"];
    assert!(is_foreign_event(event));
    assert_eq!(
        organiser_of(event),
        Some("https://demo.gancio.org/federation/u/gancio")
    );
    let read = parse_foreign_event(event).expect("a Gancio event");
    assert_eq!(read.title, "Demo event");
    assert_eq!(read.starts_at.to_rfc3339(), "2021-07-14T15:30:57+00:00");
    assert_eq!(read.timezone, "Europe/Paris");
    assert_eq!(
        read.place.as_ref().and_then(|p| p.name.as_deref()),
        Some("Colosseo")
    );
    assert_eq!(
        read.source_url.as_deref(),
        Some("https://demo.gancio.org/event/demo-event")
    );
    assert!(
        read.summary
            .as_deref()
            .is_some_and(|s| s.contains("Colosseo"))
    );
}

#[tokio::test]
async fn objects_of_other_software_are_left_alone_by_the_inbox() {
    let gancio = json("gancio/actor.json", GANCIO_ACTOR);
    let gancio_create = json("gancio/event.json", GANCIO_CREATE_EVENT);
    let fedify_create = json("fedify/create_with_proof.json", FEDIFY_CREATE_WITH_PROOF);
    for db in TestDb::all().await {
        let instance = Instance::start(&db, false).await;
        let before = instance.state().await;
        for (name, create, why) in [
            (
                "gancio/event.json",
                &gancio_create,
                "an event from a server not followed here",
            ),
            (
                "fedify/create_with_proof.json",
                &fedify_create,
                "an object of type `Note` that is neither a reply nor a Maillage object",
            ),
        ] {
            assert_id_on_actor_origin(name, create);
            let actor = instance
                .authenticated(create, std::slice::from_ref(&gancio))
                .await;
            let applied = instance.apply_twice(create, &actor).await;
            assert_eq!(
                applied,
                Applied::Ignored(why.into()),
                "{name} on {}",
                db.label
            );
            let id = str_at(create, "/object/id");
            let store = instance.store();
            assert!(store.local_object(id).await.expect("lookup").is_none());
            assert!(store.event_by_ap_id(id).await.expect("lookup").is_none());
            assert!(store.project_by_ap_id(id).await.expect("lookup").is_none());
            assert!(store.call_by_ap_id(id).await.expect("lookup").is_none());
        }
        assert_eq!(instance.state().await, before, "on {}", db.label);
        db.drop_now().await;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Mastodon's activities in a Maillage inbox

/// The Mastodon activities, each with its references pointed at the instance's pole and
/// project.
struct Mastodon {
    actors: Vec<Value>,
    follow: Value,
    undo_follow: Value,
    create_reply: Value,
    like: Value,
    announce: Value,
    /// As Mastodon sent it: the delete of a status of felix that was never a reply here.
    delete_other: Value,
    /// The same `Delete` of felix's reply stored here.
    delete_reply: Value,
    /// The same `Delete` of felix himself.
    delete_actor: Value,
    update: Value,
}

impl Mastodon {
    fn pointed_at(instance: &Instance) -> Mastodon {
        let pole = instance.pole.ap_id.as_str();
        let project = instance.project.ap_id.as_str();
        let activities = [
            ("follow.json", MASTODON_FOLLOW),
            ("undo_follow.json", MASTODON_UNDO_FOLLOW),
            ("create_note_reply.json", MASTODON_CREATE_REPLY),
            ("like.json", MASTODON_LIKE),
            ("announce.json", MASTODON_ANNOUNCE),
            ("delete.json", MASTODON_DELETE),
            ("update.json", MASTODON_UPDATE),
        ]
        .map(|(name, text)| {
            let activity = json(name, text);
            assert_id_on_actor_origin(name, &activity);
            activity
        });
        let [follow, undo, create, like, announce, delete, update] = activities;

        // Deleting the reply: Mastodon deletes a status with `{status}#delete` whose
        // Tombstone (and atomUri) is the status; the fixture's status becomes the reply's.
        let reply = str_at(&create, "/object/id");
        let mut delete_reply = pointing(&delete, "/object/id", reply);
        delete_reply = pointing(&delete_reply, "/object/atomUri", reply);
        delete_reply = pointing(&delete_reply, "/id", &format!("{reply}#delete"));
        // Deleting the account: Mastodon sends `{actor}#delete` with the actor as object.
        let felix = str_at(&delete, "/actor");
        let mut delete_actor = delete.clone();
        delete_actor["object"] = Value::String(felix.to_owned());
        delete_actor = pointing(&delete_actor, "/id", &format!("{felix}#delete"));

        Mastodon {
            actors: vec![json("mastodon/actor.json", MASTODON_ACTOR)],
            follow: pointing(&follow, "/object", pole),
            undo_follow: pointing(&undo, "/object/object", pole),
            // `inReplyToAtomUri` (OStatus) is left as it came: Maillage reads `inReplyTo`.
            create_reply: pointing(&create, "/object/inReplyTo", project),
            like: pointing(&like, "/object", project),
            announce: pointing(&announce, "/object", project),
            delete_other: delete,
            delete_reply,
            delete_actor,
            update,
        }
    }
}

async fn step_follow(instance: &Instance, follow: &Value, actor: &RemoteActor, moderated: bool) {
    let applied = instance.apply_twice(follow, actor).await;
    let follow_id = str_at(follow, "/id");
    let state = instance.state().await;
    let expected = if moderated { "pending" } else { "accepted" };
    assert_eq!(
        state.followers,
        vec![(actor.ap_id.clone(), expected.into(), follow_id.to_owned())]
    );
    let deliveries = instance.queued_for(&actor.domain).await;
    if moderated {
        assert_eq!(applied, Applied::Done("follow awaiting approval"));
        assert!(deliveries.is_empty(), "{deliveries:?}");
        return;
    }
    assert_eq!(applied, Applied::Done("follow accepted"));
    // One Accept, to the follower's inbox, of the follow as the follower sent it.
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let accept = &deliveries[0];
    assert_eq!(accept.inbox, actor.inbox);
    assert_eq!(accept.signer, instance.pole.ap_id);
    assert_eq!(type_of(&accept.body), "Accept");
    assert_eq!(str_at(&accept.body, "/actor"), instance.pole.ap_id);
    assert_eq!(str_at(&accept.body, "/object/id"), follow_id);
    assert_eq!(str_at(&accept.body, "/object/actor"), actor.ap_id);
    assert_eq!(str_at(&accept.body, "/object/object"), instance.pole.ap_id);
}

async fn step_reply(instance: &Instance, create: &Value, actor: &RemoteActor, moderated: bool) {
    let applied = instance.apply_twice(create, actor).await;
    assert_eq!(applied, Applied::Done("reply stored"));
    let replies = instance
        .store()
        .list_replies(Kind::Project, instance.project.id, true)
        .await
        .expect("replies");
    assert_eq!(replies.len(), 1, "{replies:?}");
    let reply = &replies[0];
    let note = &create["object"];
    assert_eq!(reply.ap_id, str_at(note, "/id"));
    assert_eq!(reply.object_kind, "project");
    assert_eq!(reply.author.ap_id, actor.ap_id);
    assert_eq!(reply.url.as_deref(), Some(str_at(note, "/url")));
    assert_eq!(
        reply.published_at,
        "2021-11-05T11:46:50Z"
            .parse::<DateTime<Utc>>()
            .expect("a date")
    );
    // `content`, not `contentMap` (which differs in the fixture), sanitised.
    let content = &reply.content_html;
    assert_eq!(*content, sanitize_html(str_at(note, "/content")));
    assert!(content.contains("i have never been disappointed by a thinkpad"));
    assert!(
        content.contains("href=\"https://mamot.fr/@retiolus\""),
        "{content}"
    );
    assert!(!content.contains("class="), "{content}");
    assert!(
        content.contains("rel=\"nofollow noopener noreferrer\""),
        "{content}"
    );
    let visible = instance
        .store()
        .list_replies(Kind::Project, instance.project.id, false)
        .await
        .expect("visible replies");
    if moderated {
        assert_eq!(reply.state, "pending");
        assert!(visible.is_empty());
    } else {
        assert_eq!(reply.state, "visible");
        assert_eq!(visible.len(), 1);
    }
}

async fn step_reaction(
    instance: &Instance,
    activity: &Value,
    actor: &RemoteActor,
    done: &'static str,
    counts: (u64, u64),
) {
    assert_eq!(
        instance.apply_twice(activity, actor).await,
        Applied::Done(done)
    );
    assert_eq!(instance.state().await.reactions, counts);
}

async fn step_update_actor(instance: &Instance, update: &Value, actor: &RemoteActor) {
    assert_eq!(actor.name, None);
    assert_eq!(
        instance.apply_twice(update, actor).await,
        Applied::Done("actor updated")
    );
    let updated = instance
        .store()
        .remote_actor(&actor.ap_id)
        .await
        .expect("lookup")
        .expect("the actor");
    assert_eq!(updated.name.as_deref(), Some("nextsoft"));
    assert_eq!(updated.username.as_deref(), Some("framasoft"));
    assert_eq!(
        updated.shared_inbox.as_deref(),
        Some("https://framapiaf.org/inbox")
    );
    assert_eq!(
        updated.url.as_deref(),
        Some("https://framapiaf.org/@framasoft")
    );
    // The key only changes through a fetch of the actor, not through its Update (whose PEM
    // is broken in this fixture anyway).
    assert_eq!(updated.key_id, actor.key_id);
    assert_eq!(updated.public_key_pem, actor.public_key_pem);
}

async fn step_delete_reply(instance: &Instance, delete: &Value, actor: &RemoteActor) {
    assert_eq!(
        instance.apply_twice(delete, actor).await,
        Applied::Done("reply deleted")
    );
    assert!(instance.state().await.replies.is_empty());
}

async fn step_undo_follow(instance: &Instance, undo: &Value, actor: &RemoteActor) {
    assert_eq!(
        instance.apply_twice(undo, actor).await,
        Applied::Done("unfollowed")
    );
    assert!(instance.state().await.followers.is_empty());
}

async fn step_delete_actor(instance: &Instance, delete: &Value, actor: &RemoteActor) {
    let (_, boosts) = instance.state().await.reactions;
    assert_eq!(
        instance.apply_twice(delete, actor).await,
        Applied::Done("actor deleted")
    );
    let gone = instance
        .store()
        .remote_actor(&actor.ap_id)
        .await
        .expect("lookup")
        .expect("the actor is kept, marked deleted");
    assert!(gone.deleted);
    assert_eq!(gone.public_key_pem, None);
    // Felix's like went with him; the other actor's boost stays.
    assert_eq!(instance.state().await.reactions, (0, boosts));
}

async fn mastodon_activities(moderated: bool) {
    for db in TestDb::all().await {
        let instance = Instance::start(&db, moderated).await;
        let m = Mastodon::pointed_at(&instance);
        let follower = instance.authenticated(&m.follow, &m.actors).await;
        let felix = instance.authenticated(&m.create_reply, &m.actors).await;
        // Felix comes from his actor document, the others are minimal actors.
        assert_eq!(
            felix.key_id,
            parse_actor(&m.actors[0]).expect("felix").key_id
        );
        let booster = instance.authenticated(&m.announce, &m.actors).await;
        let updated = instance.authenticated(&m.update, &m.actors).await;
        assert_eq!(
            instance.authenticated(&m.like, &m.actors).await.id,
            felix.id
        );
        assert_eq!(
            instance.authenticated(&m.delete_other, &m.actors).await.id,
            felix.id
        );

        step_follow(&instance, &m.follow, &follower, moderated).await;
        step_reply(&instance, &m.create_reply, &felix, moderated).await;
        step_reaction(&instance, &m.like, &felix, "like counted", (1, 0)).await;
        step_reaction(&instance, &m.announce, &booster, "boost counted", (1, 1)).await;
        step_update_actor(&instance, &m.update, &updated).await;
        // A status that was never a reply here: nothing to do, the reply stays.
        let applied = instance.apply_twice(&m.delete_other, &felix).await;
        assert_eq!(applied, Applied::Ignored("nothing to delete".into()));
        assert_eq!(instance.state().await.replies.len(), 1);
        step_delete_reply(&instance, &m.delete_reply, &felix).await;
        step_undo_follow(&instance, &m.undo_follow, &follower).await;
        step_delete_actor(&instance, &m.delete_actor, &felix).await;
        db.drop_now().await;
    }
}

#[tokio::test]
async fn mastodon_activities_reach_an_open_pole() {
    mastodon_activities(false).await;
}

/// A pole that approves its followers and replies: both wait.
#[tokio::test]
async fn mastodon_activities_reach_a_moderated_pole() {
    mastodon_activities(true).await;
}

#[tokio::test]
async fn a_fedify_follow_is_accepted() {
    let follow = fedify_fixture(FEDIFY_FOLLOW);
    assert_id_on_actor_origin(FEDIFY_FOLLOW, &follow);
    let documents = vec![fedify_fixture(FEDIFY_FOLLOW_ACTOR)];
    for moderated in [false, true] {
        for db in TestDb::all().await {
            let instance = Instance::start(&db, moderated).await;
            // It followed a pole of another Maillage instance on loopback.
            let follow = pointing(&follow, "/object", &instance.pole.ap_id);
            let actor = instance.authenticated(&follow, &documents).await;
            step_follow(&instance, &follow, &actor, moderated).await;
            db.drop_now().await;
        }
    }
}
