//! GeoJSON (RFC 7946) map layer: poles at their shared place, events at their place.

use serde_json::{Map, Value, json};

use super::{Directory, PoleEntry};
use crate::domain::Event;
use crate::domain::place::Place;
use crate::store::ObjectRecord;

/// `[longitude, latitude]`, the order RFC 7946 requires, when both are known and finite.
fn point(place: &Place) -> Option<Value> {
    match (place.longitude, place.latitude) {
        (Some(lon), Some(lat)) if lon.is_finite() && lat.is_finite() => {
            Some(json!({ "type": "Point", "coordinates": [lon, lat] }))
        }
        _ => None,
    }
}

fn feature(id: &str, geometry: Value, properties: Map<String, Value>) -> Value {
    json!({
        "type": "Feature",
        "id": id,
        "geometry": geometry,
        "properties": properties,
    })
}

fn pole_feature(entry: &PoleEntry) -> Option<Value> {
    let record = &entry.record;
    let pole = &record.pole;
    let place = pole.shared_place.as_ref()?;
    let geometry = point(place)?;
    let mut p = Map::new();
    p.insert("kind".into(), json!("pole"));
    p.insert("name".into(), json!(pole.name));
    p.insert("url".into(), json!(record.ap_id));
    p.insert(
        "handle".into(),
        json!(format!("@{}@{}", pole.slug, record.domain)),
    );
    p.insert("summary".into(), json!(pole.summary));
    p.insert("address".into(), json!(place.one_line()));
    p.insert(
        "themes".into(),
        json!(pole.themes.iter().map(|t| t.id()).collect::<Vec<_>>()),
    );
    p.insert(
        "pooling".into(),
        json!(pole.pooling.iter().map(|k| k.id()).collect::<Vec<_>>()),
    );
    p.insert("members".into(), json!(entry.members.len()));
    p.insert("website".into(), json!(pole.website));
    p.insert("updated".into(), json!(record.updated_at.to_rfc3339()));
    Some(feature(&record.ap_id, geometry, p))
}

fn event_feature(record: &ObjectRecord<Event>, directory: &Directory) -> Option<Value> {
    let event = &record.data;
    let place = event.place.as_ref()?;
    let geometry = point(place)?;
    let mut p = Map::new();
    p.insert("kind".into(), json!("event"));
    p.insert("name".into(), json!(event.title));
    p.insert("url".into(), json!(record.ap_id));
    p.insert("summary".into(), json!(event.summary));
    p.insert("address".into(), json!(place.one_line()));
    p.insert("starts_at".into(), json!(event.local(event.starts_at)));
    p.insert(
        "ends_at".into(),
        json!(event.ends_at.map(|t| event.local(t))),
    );
    p.insert("timezone".into(), json!(event.timezone));
    p.insert("status".into(), json!(event.status.id()));
    p.insert(
        "pole".into(),
        json!(directory.publisher(record.pole_id).map(|p| &p.pole.name)),
    );
    p.insert(
        "pole_url".into(),
        json!(directory.publisher(record.pole_id).map(|p| &p.ap_id)),
    );
    p.insert("updated".into(), json!(record.updated_at.to_rfc3339()));
    Some(feature(&record.ap_id, geometry, p))
}

/// The poles and events of a directory that have coordinates, as a `FeatureCollection`.
pub fn render(directory: &Directory) -> Vec<u8> {
    let features: Vec<Value> = directory
        .poles
        .iter()
        .filter_map(pole_feature)
        .chain(
            directory
                .events
                .iter()
                .filter_map(|e| event_feature(e, directory)),
        )
        .collect();
    let collection = json!({ "type": "FeatureCollection", "features": features });
    serde_json::to_vec_pretty(&collection).unwrap_or_default()
}
