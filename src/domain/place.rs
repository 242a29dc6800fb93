//! A physical place: a pole's shared place or where an event happens.

use serde::{Deserialize, Serialize};

use super::territory_ref::Reference;
use super::{Code, Message, ValidationErrors, check};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    #[serde(default)]
    pub locality: Option<String>,
    /// INSEE code of the commune; fills `locality` when that is left empty.
    #[serde(default)]
    pub commune: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Place {
    pub name: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
    pub commune: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl PlaceInput {
    pub fn validate(&self) -> Result<Place, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = e.take(
            "name",
            check::optional_text(self.name.as_deref(), check::MAX_NAME),
        );
        let street = e.take(
            "street",
            check::optional_text(self.street.as_deref(), check::MAX_NAME),
        );
        let mut locality = e.take(
            "locality",
            check::optional_text(self.locality.as_deref(), check::MAX_NAME),
        );
        let postal_code = e.take(
            "postal_code",
            match self.postal_code.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(p) if p.len() == 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(Some(p.to_owned()))
                }
                Some(p) => Err(Message::new(Code::InvalidPostalCode).arg("value", p)),
            },
        );
        let commune = match self.commune.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => match Reference::get().commune(&code.to_ascii_uppercase()) {
                Some(c) => {
                    if matches!(locality, Some(None)) {
                        locality = Some(Some(c.name.to_owned()));
                    }
                    Some(c.code.to_owned())
                }
                None => {
                    e.add(
                        "commune",
                        Message::new(Code::UnknownCommune).arg("value", code),
                    );
                    None
                }
            },
        };
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) || lat.is_nan() {
                    e.add("latitude", Code::LatitudeRange);
                }
                if !(-180.0..=180.0).contains(&lon) || lon.is_nan() {
                    e.add("longitude", Code::LongitudeRange);
                }
            }
            (None, None) => {}
            (Some(_), None) => e.add("longitude", Code::LongitudeRequired),
            (None, Some(_)) => e.add("latitude", Code::LatitudeRequired),
        }
        let name = name.flatten();
        let street = street.flatten();
        let locality = locality.flatten();
        if e.is_empty()
            && name.is_none()
            && street.is_none()
            && locality.is_none()
            && self.latitude.is_none()
        {
            e.add("name", Code::PlaceEmpty);
        }
        e.finish(|| Place {
            name,
            street,
            postal_code: postal_code.flatten(),
            locality,
            commune,
            latitude: self.latitude,
            longitude: self.longitude,
        })
    }
}

impl Place {
    pub fn to_input(&self) -> PlaceInput {
        PlaceInput {
            name: self.name.clone(),
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            locality: self.locality.clone(),
            commune: self.commune.clone(),
            latitude: self.latitude,
            longitude: self.longitude,
        }
    }

    /// The address on one line, for listings and summaries.
    pub fn one_line(&self) -> String {
        let town = [self.postal_code.as_deref(), self.locality.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        [
            self.name.as_deref(),
            self.street.as_deref(),
            Some(town.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commune_fills_locality() {
        let place = PlaceInput {
            name: Some("La Fabrique".into()),
            commune: Some("35236".into()),
            latitude: Some(47.65),
            longitude: Some(-2.08),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(place.locality.as_deref(), Some("Redon"));
        assert_eq!(place.one_line(), "La Fabrique, Redon");
    }

    #[test]
    fn bad_places_are_refused_field_by_field() {
        let errors = PlaceInput {
            postal_code: Some("3560".into()),
            commune: Some("00000".into()),
            latitude: Some(95.0),
            longitude: Some(2.0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.fields(), vec!["postal_code", "commune", "latitude"]);
        let errors = PlaceInput {
            latitude: Some(45.0),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors.fields(), vec!["longitude"]);
        let errors = PlaceInput::default().validate().unwrap_err();
        assert_eq!(errors.fields(), vec!["name"]);
    }
}
