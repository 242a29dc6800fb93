//! Actors of any software as this instance reads them (id, inboxes, the key they sign
//! with), and the parts of actor documents that ours share.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::json::{plain, type_of, url_field};
use crate::store::queue::inbox_domain;
use crate::store::{MediaRef, NewRemoteActor, Store};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKey {
    pub id: Url,
    pub owner: Url,
    pub public_key_pem: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Url,
    pub media_type: String,
}

pub(super) fn url(store: &Store, path: &str) -> Result<Url, url::ParseError> {
    Url::parse(&store.url(path))
}

pub(super) fn image(
    store: &Store,
    media: &Option<MediaRef>,
) -> Result<Option<Image>, url::ParseError> {
    media
        .as_ref()
        .map(|m| {
            Ok(Image {
                kind: "Image".into(),
                url: url(store, &format!("/media/{}", m.sha256))?,
                media_type: m.content_type.clone(),
            })
        })
        .transpose()
}

/// Actor types this instance talks to.
const ACTOR_TYPES: &[&str] = &["Person", "Group", "Application", "Service", "Organization"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
