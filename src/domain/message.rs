//! What a check says of a wrong value: a stable [`Code`] and its arguments, never text.
//!
//! The words are in the catalogues (`i18n/fr.toml`, `i18n/en.toml`, section `[check]`,
//! one key per code with the code's parameters as `{placeholders}`); the web renders a
//! message in the reader's language. The API answers the code and its arguments too, for
//! programs.

use std::fmt;

macro_rules! codes {
    ($($variant:ident = $code:literal [$($param:literal),*];)*) => {
        /// Why a value or a request is refused, as a stable machine-readable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, for the test that the catalogues have each.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as the API answers it, and its key under `[check]` in the catalogues.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The names of the arguments its message takes.
            pub fn params(self) -> &'static [&'static str] {
                match self {
                    $(Code::$variant => &[$($param),*],)*
                }
            }
        }
    };
}

codes! {
    Required = "required" [];
    TooLong = "too_long" ["count", "max"];
    ControlCharacters = "control_characters" [];
    SlugLength = "slug_length" [];
    SlugCharacters = "slug_characters" [];
    SlugEdges = "slug_edges" [];
    SlugReserved = "slug_reserved" ["value"];
    SlugTaken = "slug_taken" ["value"];
    SlugUnchangeable = "slug_unchangeable" ["value"];
    SlugRepeated = "slug_repeated" ["value", "first"];
    UrlTooLong = "url_too_long" ["max"];
    InvalidUrl = "invalid_url" ["value"];
    UrlScheme = "url_scheme" [];
    UrlHost = "url_host" [];
    UrlCredentials = "url_credentials" [];
    EmailTooLong = "email_too_long" ["max"];
    EmailNoAt = "email_no_at" [];
    InvalidEmail = "invalid_email" ["value"];
    InvalidPhone = "invalid_phone" [];
    YearRange = "year_range" ["min", "max"];
    DigitCount = "digit_count" ["what", "count"];
    InvalidSiren = "invalid_siren" ["value"];
    InvalidSiretSiren = "invalid_siret_siren" ["value"];
    InvalidSiret = "invalid_siret" ["value"];
    TooMany = "too_many" ["count", "max"];
    InvalidDateTime = "invalid_datetime" ["value"];
    AmbiguousTime = "ambiguous_time" ["value", "timezone"];
    NonexistentTime = "nonexistent_time" ["value", "timezone"];
    InvalidTimezone = "invalid_timezone" [];
    PlaceOrOnline = "place_or_online" [];
    CapacityRange = "capacity_range" ["max"];
    InvalidPostalCode = "invalid_postal_code" ["value"];
    UnknownCommune = "unknown_commune" ["value"];
    CommuneNotFound = "commune_not_found" ["value"];
    AmbiguousCommune = "ambiguous_commune" ["value", "candidates"];
    UnknownRegion = "unknown_region" ["value"];
    UnknownDepartement = "unknown_departement" ["value"];
    EpciNotFound = "epci_not_found" ["value"];
    AmbiguousEpci = "ambiguous_epci" ["value", "candidates"];
    LatitudeRange = "latitude_range" [];
    LongitudeRange = "longitude_range" [];
    LatitudeRequired = "latitude_required" [];
    LongitudeRequired = "longitude_required" [];
    PlaceEmpty = "place_empty" [];
    EndBeforeStart = "end_before_start" [];
    DirectionRequired = "direction_required" [];
    SubjectsRequired = "subjects_required" [];
    NotAMember = "not_a_member" ["value"];
    UnknownPole = "unknown_pole" ["value"];
    UsernameFormat = "username_format" [];
    UsernameTaken = "username_taken" ["value"];
    NotBase64 = "not_base64" [];
    KeyPairIncomplete = "key_pair_incomplete" [];
    ImageEmpty = "image_empty" [];
    ImageTooHeavy = "image_too_heavy" ["size", "max"];
    ImageUnknown = "image_unknown" [];
    ImageTooLarge = "image_too_large" ["width", "height", "side", "pixels"];
    ImageDamaged = "image_damaged" ["format"];
    InvalidDate = "invalid_date" ["value"];
    NotANumber = "not_a_number" ["value"];
    UnknownValue = "unknown_value" ["value"];
    UnknownValueExpected = "unknown_value_expected" ["value", "expected"];
    UnknownField = "unknown_field" ["value"];
    ObjectExpected = "object_expected" [];
    InvalidJsonValue = "invalid_json_value" ["detail"];
    OneOf = "one_of" ["expected"];
    Range = "range" ["min", "max"];
    AtMost = "at_most" ["max"];
    PageNumber = "page_number" ["value"];
    PageTooLarge = "page_too_large" [];
    QueryTooShort = "query_too_short" ["min"];
    QueryTooLong = "query_too_long" ["max"];
    RepeatedParameter = "repeated_parameter" [];
    UnknownKind = "unknown_kind" ["value"];
    NotBoolean = "not_boolean" ["value"];
    ToBeforeFrom = "to_before_from" ["from", "to"];
    NotOpenClosed = "not_open_closed" ["value"];
    NoPage = "no_page" ["value"];
    NotEditor = "not_editor" [];
    AdminOnly = "admin_only" [];
    TokenMissing = "token_missing" [];
    TokenMalformed = "token_malformed" [];
    TokenUnknown = "token_unknown" [];
    JsonContentType = "json_content_type" [];
    InvalidJson = "invalid_json" ["detail"];
    TrailingData = "trailing_data" [];
    BodyTooLarge = "body_too_large" ["max"];
    ImportNotUtf8 = "import_not_utf8" [];
    ImportNoHeader = "import_no_header" ["columns"];
    ImportCsv = "import_csv" ["detail"];
    ColumnUnnamed = "column_unnamed" [];
    ColumnUnknown = "column_unknown" ["columns"];
    ColumnTwice = "column_twice" [];
    ColumnMissing = "column_missing" [];
    CellCount = "cell_count" ["count", "expected"];
    NotAYear = "not_a_year" ["value"];
    MustBeText = "must_be_text" [];
    MustBeNumber = "must_be_number" [];
    MustBeTextList = "must_be_text_list" [];
    GeoObject = "geo_object" [];
    AddressObject = "address_object" [];
    NotFrance = "not_france" ["value"];
    FieldNotImported = "field_not_imported" [];
    LocalityUnmatched = "locality_unmatched" ["value"];
    SummaryKeptAsDescription = "summary_kept_as_description" ["max"];
    CategoryNotTheme = "category_not_theme" ["value"];
    UnknownTheme = "unknown_theme" ["value"];
    PoolingNotImported = "pooling_not_imported" ["value"];
    NotJson = "not_json" ["detail"];
    GogocartoShape = "gogocarto_shape" [];
    ElementNotObject = "element_not_object" [];
    SlugFromName = "slug_from_name" ["value"];
    UnknownPoleSlug = "unknown_pole_slug" ["value"];
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A refusal: its code and the values its words name (the wrong value, a limit…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub code: Code,
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(code: Code) -> Self {
        Message {
            code,
            args: Vec::new(),
        }
    }

    /// Adds the value of one of the code's parameters.
    pub fn arg(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        debug_assert!(
            self.code.params().contains(&name),
            "{name} is not a parameter of {}",
            self.code.as_str()
        );
        self.args.push((name, value.to_string()));
        self
    }

    /// The value given for a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Fills a catalogue text's `{placeholders}` with the arguments.
    pub fn fill(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// `{"code": "too_long", "params": {"count": "300", "max": "200"}}`.
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let params: std::collections::BTreeMap<&str, &str> = self
            .args
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let mut out = s.serialize_struct("Message", 2)?;
        out.serialize_field("code", &self.code)?;
        out.serialize_field("params", &params)?;
        out.end()
    }
}

impl From<Code> for Message {
    fn from(code: Code) -> Self {
        Message::new(code)
    }
}

/// For logs and the command line: the code and its arguments, such as
/// `too_long (count: 300, max: 200)`.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if !self.args.is_empty() {
            let args: Vec<String> = self
                .args
                .iter()
                .map(|(name, value)| format!("{name}: {value}"))
                .collect();
            write!(f, " ({})", args.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_arguments_fill_placeholders() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{} twice", code.as_str());
        }
        let m = Message::new(Code::TooLong).arg("count", 12).arg("max", 10);
        assert_eq!(m.fill("{count} > {max}"), "12 > 10");
        assert_eq!(m.to_string(), "too_long (count: 12, max: 10)");
        assert_eq!(m.get("max"), Some("10"));
    }
}
