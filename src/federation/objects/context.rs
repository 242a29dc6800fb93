//! What every document shares: the media type of ActivityPub, the JSON-LD context with
//! Maillage's terms, the public collection, and content negotiation.

use serde_json::{Value, json};

/// The media type of ActivityPub documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";

/// The IRI of Maillage's own JSON-LD terms: fixed, so that every instance uses the same terms.
pub const NAMESPACE: &str = "urn:maillage:ptce#";

/// The JSON-LD context of every document: ActivityStreams, the security vocabulary, and our
/// terms written inline so that processors need not fetch a context document.
pub fn context() -> Value {
    let mut terms = serde_json::Map::new();
    terms.insert("ptce".into(), Value::String(NAMESPACE.into()));
    for (term, iri) in TERMS {
        terms.insert((*term).into(), Value::String((*iri).into()));
    }
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        terms
    ])
}

/// Maillage's terms and the vocabularies it borrows, as compact IRIs.
const TERMS: &[(&str, &str)] = &[
    ("schema", "http://schema.org#"),
    ("toot", "http://joinmastodon.org/ns#"),
    ("manuallyApprovesFollowers", "as:manuallyApprovesFollowers"),
    ("discoverable", "toot:discoverable"),
    ("PropertyValue", "schema:PropertyValue"),
    ("value", "schema:value"),
    ("PostalAddress", "schema:PostalAddress"),
    ("address", "schema:address"),
    ("streetAddress", "schema:streetAddress"),
    ("postalCode", "schema:postalCode"),
    ("addressLocality", "schema:addressLocality"),
    ("addressCountry", "schema:addressCountry"),
    ("territory", "ptce:territory"),
    ("communes", "ptce:communes"),
    ("epcis", "ptce:epcis"),
    ("departements", "ptce:departements"),
    ("regions", "ptce:regions"),
    ("territoryKind", "ptce:territoryKind"),
    ("themes", "ptce:themes"),
    ("pooling", "ptce:pooling"),
    ("members", "ptce:members"),
    ("legalForm", "ptce:legalForm"),
    ("ess", "ptce:ess"),
    ("employeeBand", "ptce:employeeBand"),
    ("siren", "ptce:siren"),
    ("siret", "ptce:siret"),
    ("role", "ptce:role"),
    ("joinedYear", "ptce:joinedYear"),
    ("foundedYear", "ptce:foundedYear"),
    ("recognitions", "ptce:recognitions"),
    ("nationalCalls", "ptce:nationalCalls"),
    ("call", "ptce:call"),
    ("year", "ptce:year"),
    ("charterSignedYear", "ptce:charterSignedYear"),
    ("Hashtag", "as:Hashtag"),
    ("ptceKind", "ptce:kind"),
    ("projectStatus", "ptce:projectStatus"),
    ("startDate", "ptce:startDate"),
    ("endDate", "ptce:endDate"),
    ("direction", "ptce:direction"),
    ("subjects", "ptce:subjects"),
    ("deadline", "ptce:deadline"),
    ("callStatus", "ptce:callStatus"),
    ("howToAnswer", "ptce:howToAnswer"),
    ("timezone", "toot:timezone"),
    ("VirtualLocation", "ptce:VirtualLocation"),
    ("eventStatus", "ptce:eventStatus"),
    ("registrationUrl", "ptce:registrationUrl"),
    ("maximumAttendeeCapacity", "schema:maximumAttendeeCapacity"),
    ("abstract", "schema:abstract"),
    ("website", "ptce:website"),
    ("email", "schema:email"),
    ("telephone", "schema:telephone"),
];

/// Whether a request's `Accept` header asks for ActivityPub JSON rather than a page.
pub fn wants_activity_json(accept: Option<&str>) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|part| {
            let media = part
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            // JSON-LD with or without the ActivityStreams profile: ActivityStreams is the only
            // JSON-LD these URLs have.
            media == ACTIVITY_JSON || media == "application/ld+json"
        })
    })
}

/// The public collection: what every published object and activity is addressed to.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_negotiation() {
        assert!(wants_activity_json(Some("application/activity+json")));
        assert!(wants_activity_json(Some(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activity_json(Some(
            "text/html, application/activity+json;q=0.9"
        )));
        assert!(!wants_activity_json(Some(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(!wants_activity_json(None));
    }
}
