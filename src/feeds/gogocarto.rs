//! Poles as GoGoCarto elements (the `/api/elements` shape that GoGoCarto and Transiscope import).

use serde_json::{Value, json};

use super::PoleEntry;

fn element(entry: &PoleEntry, source: &str) -> Value {
    let record = &entry.record;
    let pole = &record.pole;
    let place = pole.shared_place.as_ref();
    let geo = place.and_then(|p| match (p.latitude, p.longitude) {
        (Some(latitude), Some(longitude)) => Some(json!({
            "latitude": latitude,
            "longitude": longitude,
        })),
        _ => None,
    });
    let reference = crate::domain::territory_ref::Reference::get();
    let locality = place.and_then(|p| p.locality.clone()).or_else(|| {
        pole.territory
            .communes
            .first()
            .and_then(|c| reference.commune(c))
            .map(|c| c.name.to_owned())
    });
    json!({
        "id": record.ap_id,
        "name": pole.name,
        "geo": geo,
        "address": {
            "streetAddress": place.and_then(|p| p.street.clone()),
            "addressLocality": locality,
            "postalCode": place.and_then(|p| p.postal_code.clone()),
            "addressCountry": "FR",
            "customFormatedAddress": place.map(|p| p.one_line()),
        },
        "description": pole.summary,
        "descriptionMore": pole.description.as_ref().map(|d| d.html.clone()),
        "website": pole.website,
        "email": pole.contact_email,
        "telephone": pole.contact_phone,
        "sourceKey": source,
        "status": 1,
        "categories": pole.themes.iter().map(|t| t.label_fr()).collect::<Vec<_>>(),
        "themes": pole.themes.iter().map(|t| t.id()).collect::<Vec<_>>(),
        "pooling": pole.pooling.iter().map(|k| k.label_fr()).collect::<Vec<_>>(),
        "members": entry.members.len(),
        "departements": pole.territory.departement_codes(),
        "regions": pole.territory.region_codes(),
        "fediverse": format!("@{}@{}", pole.slug, record.domain),
        "createdAt": record.created_at.to_rfc3339(),
        "updatedAt": record.updated_at.to_rfc3339(),
    })
}

/// Poles as `{"ontology": "gogofull", "data": [elements]}`; `source` names the
/// instance (GoGoCarto's `sourceKey`).
pub fn render(entries: &[PoleEntry], source: &str) -> Vec<u8> {
    let data: Vec<Value> = entries.iter().map(|e| element(e, source)).collect();
    let body = json!({
        "ontology": "gogofull",
        "data": data,
    });
    serde_json::to_vec_pretty(&body).unwrap_or_default()
}
