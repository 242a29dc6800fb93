//! Reading what other servers send: actors of any software, and the poles, projects,
//! events and calls of other Maillage instances, checked as strictly as local input.

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use super::actors::{ApMember, ApPlace, ApRecognitions, ApTerritory};
use super::objects::Source;
use crate::domain::call::CallInput;
use crate::domain::event::EventInput;
use crate::domain::member::{Member, MemberInput};
use crate::domain::place::PlaceInput;
use crate::domain::pole::{Pole, PoleInput, RecognitionsInput};
use crate::domain::project::ProjectInput;
use crate::domain::territory::TerritoryInput;
use crate::domain::text::unescape_html;
use crate::domain::vocab::{
    CallDirection, CallStatus, CallSubject, EventStatus, LegalForm, PoolingKind, ProjectStatus,
    TerritoryKind, TextFormat, Theme,
};
use crate::domain::{CallForCooperation, Event, Project};
use crate::store::NewRemoteActor;
use crate::store::queue::inbox_domain;

/// Actor types this instance talks to.
const ACTOR_TYPES: &[&str] = &["Person", "Group", "Application", "Service", "Organization"];

/// The longest name or user name kept from another server.
const MAX_NAME: usize = 200;

/// A property that may be a string, an object with an `id` or `href`, or a list of those:
/// the first URL it holds.
pub fn first_id(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        Value::Object(o) => o
            .get("id")
            .or_else(|| o.get("href"))
            .and_then(Value::as_str),
        Value::Array(a) => a.iter().find_map(first_id),
        _ => None,
    }
}

/// Every id a property holds (string, object or list).
pub fn all_ids(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(a)) => a.iter().filter_map(first_id).collect(),
        Some(v) => first_id(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The `type` of a document; for a list of types, the first ActivityStreams one.
pub fn type_of(doc: &Value) -> &str {
    match doc.get("type") {
        Some(Value::String(s)) => s,
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .next()
            .unwrap_or_default(),
        _ => "",
    }
}

/// A name or user name as plain text: markup removed, entities decoded, at most
/// [`MAX_NAME`] characters; `None` when nothing is left.
pub(crate) fn plain(text: Option<&Value>) -> Option<String> {
    let cleaned = ammonia::Builder::empty().clean(text?.as_str()?).to_string();
    // ammonia gives HTML back: the text of it has these few entities decoded, `&amp;` last.
    let decoded = cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let trimmed = decoded.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(trimmed.chars().take(MAX_NAME).collect())
}

fn url_field(doc: &Value, field: &str) -> Result<Option<Url>, String> {
    match doc.get(field).and_then(first_id) {
        None => Ok(None),
        Some(s) => Url::parse(s)
            .map(Some)
            .map_err(|_| format!("`{field}` is not a URL")),
    }
}

/// Reads an actor document: its id, inboxes, and the public key it signs with, which must
/// be its own.
pub fn parse_actor(doc: &Value) -> Result<NewRemoteActor, String> {
    let id = url_field(doc, "id")?.ok_or("the actor has no `id`")?;
    let kind = type_of(doc);
    if !ACTOR_TYPES.contains(&kind) {
        return Err(format!("`{id}` is a `{kind}`, not an actor"));
    }
    let inbox = url_field(doc, "inbox")?.ok_or_else(|| format!("the actor `{id}` has no inbox"))?;
    let shared_inbox = doc
        .get("endpoints")
        .map(|e| url_field(e, "sharedInbox"))
        .transpose()?
        .flatten();
    let keys: Vec<&Value> = match doc.get("publicKey") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    let key = keys.into_iter().find(|k| {
        k.get("owner")
            .and_then(Value::as_str)
            .is_none_or(|owner| owner == id.as_str())
            && k.get("publicKeyPem").and_then(Value::as_str).is_some()
    });
    let (key_id, public_key_pem) = match key {
        Some(k) => {
            let key_id = url_field(k, "id")?.ok_or("the public key has no `id`")?;
            if key_id.origin() != id.origin() {
                return Err(format!("the key `{key_id}` is not on the actor's server"));
            }
            (
                Some(key_id.to_string()),
                k.get("publicKeyPem")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            )
        }
        None => (None, None),
    };
    let domain = inbox_domain(&id).ok_or_else(|| format!("`{id}` names no host"))?;
    Ok(NewRemoteActor {
        ap_id: id.to_string(),
        kind: kind.to_owned(),
        username: plain(doc.get("preferredUsername")),
        name: plain(doc.get("name")),
        domain,
        inbox: inbox.to_string(),
        shared_inbox: shared_inbox.map(|u| u.to_string()),
        key_id,
        public_key_pem,
        url: url_field(doc, "url")?.map(|u| u.to_string()),
    })
}

/// The PTCE data of a pole published by another Maillage instance.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoteGroup {
    preferred_username: String,
    name: String,
    territory: ApTerritory,
    #[serde(default)]
    themes: Vec<Theme>,
    #[serde(default)]
    pooling: Vec<PoolingKind>,
    #[serde(default)]
    members: Vec<ApMember>,
    recognitions: Option<ApRecognitions>,
    founded_year: Option<i32>,
    legal_form: Option<LegalForm>,
    siren: Option<String>,
    #[serde(rename = "abstract")]
    excerpt: Option<String>,
    source: Option<Source>,
    website: Option<String>,
    email: Option<String>,
    telephone: Option<String>,
    location: Option<Value>,
    #[serde(default)]
    manually_approves_followers: bool,
}

fn format_of(source: &Source) -> TextFormat {
    if source.media_type.eq_ignore_ascii_case("text/html") {
        TextFormat::Html
    } else {
        TextFormat::Markdown
    }
}

fn place_input(value: &Value) -> Option<PlaceInput> {
    let place: ApPlace = serde_json::from_value(value.clone()).ok()?;
    Some(PlaceInput {
        name: Some(place.name),
        street: place.address.street_address,
        postal_code: place.address.postal_code,
        locality: place.address.address_locality,
        commune: None,
        latitude: place.latitude,
        longitude: place.longitude,
    })
}

fn invalid(what: &str, e: crate::domain::ValidationErrors) -> String {
    format!("the {what} does not hold: {e}")
}

/// Whether an actor document is a pole of a Maillage instance (it carries a territory).
pub fn is_maillage_pole(doc: &Value) -> bool {
    type_of(doc) == "Group" && doc.get("territory").is_some_and(Value::is_object)
}

/// A pole of another Maillage instance, with its members, checked as a local pole is.
pub fn parse_pole(doc: &Value) -> Result<(Pole, Vec<Member>), String> {
    let group: RemoteGroup =
        serde_json::from_value(doc.clone()).map_err(|e| format!("the pole cannot be read: {e}"))?;
    let recognitions = group.recognitions.map(|r| RecognitionsInput {
        national_calls: r.national_calls,
        charter_signed_year: r.charter_signed_year,
    });
    let input = PoleInput {
        slug: group.preferred_username,
        name: group.name,
        summary: group.excerpt.as_deref().map(unescape_html),
        description: group.source.as_ref().map(|s| s.content.clone()),
        description_format: group.source.as_ref().map(format_of),
        website: group.website,
        contact_email: group.email,
        contact_phone: group.telephone,
        founded_year: group.founded_year,
        legal_form: group.legal_form,
        siren: group.siren,
        territory: TerritoryInput {
            communes: group.territory.communes,
            kind: group.territory.territory_kind,
            label: group.territory.name,
        },
        themes: group.themes,
        pooling: group.pooling,
        shared_place: group.location.as_ref().and_then(place_input),
        recognitions: recognitions.unwrap_or_default(),
        manually_approves_followers: group.manually_approves_followers,
        replies_need_approval: false,
    };
    let pole = input.validate().map_err(|e| invalid("pole", e))?;
    let members = group
        .members
        .into_iter()
        .map(|m| {
            MemberInput {
                name: m.name,
                legal_form: Some(m.legal_form),
                ess: Some(m.ess),
                employee_band: m.employee_band,
                siret: m.siret,
                website: m.url,
                role: m.role,
                joined_year: m.joined_year,
            }
            .validate()
            .map_err(|e| invalid("member", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((pole, members))
}

/// What Maillage objects share on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoteCommon {
    name: String,
    #[serde(rename = "abstract")]
    excerpt: Option<String>,
    source: Option<Source>,
    #[serde(default)]
    themes: Vec<Theme>,
    #[serde(default)]
    communes: Vec<String>,
}

impl RemoteCommon {
    /// Reads the fields; `name` and `abstract` are HTML-escaped text on the wire, and
    /// plain text here.
    fn read(doc: &Value) -> Result<RemoteCommon, String> {
        let mut common: RemoteCommon = serde_json::from_value(doc.clone())
            .map_err(|e| format!("the object cannot be read: {e}"))?;
        common.name = unescape_html(&common.name);
        common.excerpt = common.excerpt.as_deref().map(unescape_html);
        Ok(common)
    }

    fn territory(&self) -> TerritoryInput {
        TerritoryInput {
            communes: self.communes.clone(),
            kind: None::<TerritoryKind>,
            label: None,
        }
    }
}

/// What kind of Maillage object a document is, if it is one.
pub fn maillage_kind(doc: &Value) -> Option<crate::store::Kind> {
    use crate::store::Kind;
    match (type_of(doc), doc.get("ptceKind").and_then(Value::as_str)) {
        ("Note", Some("project")) => Some(Kind::Project),
        ("Note", Some("call")) => Some(Kind::Call),
        ("Event", Some("event")) => Some(Kind::Event),
        _ => None,
    }
}

pub fn parse_project(doc: &Value) -> Result<Project, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        project_status: Option<ProjectStatus>,
        start_date: Option<chrono::NaiveDate>,
        end_date: Option<chrono::NaiveDate>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields = serde_json::from_value(doc.clone())
        .map_err(|e| format!("the project cannot be read: {e}"))?;
    ProjectInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        status: fields.project_status,
        partner_member_ids: Vec::new(),
        themes: common.themes.clone(),
        territory: common.territory(),
        start_date: fields.start_date,
        end_date: fields.end_date,
        links: Vec::new(),
    }
    .validate()
    .map_err(|e| invalid("project", e))
}

pub fn parse_call(doc: &Value) -> Result<CallForCooperation, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        direction: Option<CallDirection>,
        #[serde(default)]
        subjects: Vec<CallSubject>,
        deadline: Option<chrono::NaiveDate>,
        call_status: Option<CallStatus>,
        how_to_answer: Option<String>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields =
        serde_json::from_value(doc.clone()).map_err(|e| format!("the call cannot be read: {e}"))?;
    CallInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        direction: fields.direction,
        subjects: fields.subjects,
        themes: common.themes.clone(),
        territory: common.territory(),
        deadline: fields.deadline,
        how_to_answer: fields
            .how_to_answer
            .as_deref()
            .map(unescape_html)
            .unwrap_or_default(),
        status: fields.call_status,
    }
    .validate()
    .map_err(|e| invalid("call for cooperation", e))
}

pub fn parse_event(doc: &Value) -> Result<Event, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        start_time: String,
        end_time: Option<String>,
        timezone: Option<String>,
        #[serde(default)]
        location: Value,
        event_status: Option<EventStatus>,
        registration_url: Option<String>,
        maximum_attendee_capacity: Option<u32>,
    }
    let common = RemoteCommon::read(doc)?;
    let fields: Fields = serde_json::from_value(doc.clone())
        .map_err(|e| format!("the event cannot be read: {e}"))?;
    let locations: Vec<&Value> = match &fields.location {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        v => vec![v],
    };
    let place = locations
        .iter()
        .find(|l| type_of(l) == "Place")
        .and_then(|l| place_input(l));
    let online_url = super::foreign::online_link(doc, &locations);
    EventInput {
        title: common.name.clone(),
        summary: common.excerpt.clone(),
        description: common.source.as_ref().map(|s| s.content.clone()),
        description_format: common.source.as_ref().map(format_of),
        starts_at: fields.start_time,
        ends_at: fields.end_time,
        timezone: fields.timezone,
        place,
        online_url,
        organiser_poles: Vec::new(),
        registration_url: fields.registration_url,
        capacity: fields.maximum_attendee_capacity,
        status: fields.event_status,
        themes: common.themes.clone(),
    }
    .validate()
    .map_err(|e| invalid("event", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_in_every_shape() {
        assert_eq!(
            first_id(&json!("https://a.example/x")),
            Some("https://a.example/x")
        );
        assert_eq!(
            first_id(&json!({"id": "https://a.example/y"})),
            Some("https://a.example/y")
        );
        assert_eq!(
            first_id(&json!([{"type": "Link", "href": "https://a.example/z"}])),
            Some("https://a.example/z")
        );
        assert_eq!(first_id(&json!(3)), None);
    }

    #[test]
    fn an_actor_key_on_another_server_is_refused() {
        let doc = json!({
            "id": "https://a.example/users/x",
            "type": "Person",
            "inbox": "https://a.example/users/x/inbox",
            "publicKey": {
                "id": "https://b.example/keys/1",
                "owner": "https://a.example/users/x",
                "publicKeyPem": "-----BEGIN PUBLIC KEY-----"
            }
        });
        assert!(parse_actor(&doc).is_err());
    }

    #[test]
    fn names_lose_their_markup() {
        let doc = json!({
            "id": "https://a.example/users/x",
            "type": "Person",
            "preferredUsername": "x",
            "name": "<script>alert(1)</script>Xavier <b>B</b>",
            "inbox": "https://a.example/users/x/inbox",
        });
        let actor = parse_actor(&doc).expect("an actor");
        assert_eq!(actor.name.as_deref(), Some("Xavier B"));
        assert_eq!(actor.domain, "a.example");
    }

    #[test]
    fn names_are_text_not_html() {
        let name = |n: &str| plain(Some(&json!(n)));
        assert_eq!(
            name("Tom & Jerry \"quoted\" <3 l'été").as_deref(),
            Some("Tom & Jerry \"quoted\" <3 l'été")
        );
        assert_eq!(name("<script>x</script>"), None);
        assert_eq!(name("  "), None);
        assert_eq!(
            name(&"é".repeat(300)).map(|n| n.chars().count()),
            Some(MAX_NAME)
        );
    }
}
