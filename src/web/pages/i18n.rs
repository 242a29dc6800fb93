//! The interface's languages: French by default, English on request, from catalogues in `i18n/`.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::{HeaderMap, header};

use crate::domain::Message;

/// The cookie that remembers the language a visitor chose.
pub const LANG_COOKIE: &str = "lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "fr" => Some(Lang::Fr),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Fr => Lang::En,
            Lang::En => Lang::Fr,
        }
    }

    /// The cookie first, then `Accept-Language` by preference, then French.
    pub fn negotiate(headers: &HeaderMap) -> Lang {
        if let Some(lang) =
            super::session::cookie(headers, LANG_COOKIE).and_then(|v| Lang::from_code(&v))
        {
            return lang;
        }
        let Some(accept) = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
        else {
            return Lang::Fr;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default().trim();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            if let Some(lang) = Lang::from_code(primary)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Fr, |(_, lang)| lang)
    }

    /// The message for `key`; one missing from this catalogue comes from the other (a test
    /// makes sure none is missing).
    pub fn t(self, key: &str) -> &'static str {
        let all = catalogues();
        match all[self as usize]
            .get(key)
            .or_else(|| all[self.other() as usize].get(key))
        {
            Some(text) => text.as_str(),
            None => {
                tracing::warn!(key, lang = self.code(), "missing message");
                "…"
            }
        }
    }
}

impl Lang {
    /// A check's message in this language: its text under `[check]`, placeholders filled.
    pub fn message(self, message: &Message) -> String {
        message.fill(self.t(&format!("check.{}", message.code.as_str())))
    }

    /// `: ` between a name and what is said of it (French puts a space before).
    pub fn colon(self) -> &'static str {
        match self {
            Lang::Fr => " : ",
            Lang::En => ": ",
        }
    }

    /// `; ` between items of a list of reasons.
    pub fn semicolon(self) -> &'static str {
        match self {
            Lang::Fr => " ; ",
            Lang::En => "; ",
        }
    }

    /// The language of the request being answered (see [`scope`]), French outside one.
    pub fn current() -> Lang {
        REQUEST_LANG.try_with(|lang| *lang).unwrap_or(Lang::Fr)
    }
}

tokio::task_local! {
    static REQUEST_LANG: Lang;
}

/// Middleware: the request's language, as pages negotiate it, for the errors answered
/// without a page at hand (API errors render their messages in [`Lang::current`]).
pub async fn scope(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let lang = Lang::negotiate(request.headers());
    REQUEST_LANG.scope(lang, next.run(request)).await
}

const SOURCES: [&str; 2] = [
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/i18n/fr.toml")),
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/i18n/en.toml")),
];

fn parse(source: &str) -> HashMap<String, String> {
    let table: toml::Table = match toml::from_str(source) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "a message catalogue cannot be read");
            return HashMap::new();
        }
    };
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut HashMap<String, String>) {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&full, inner, out),
            toml::Value::String(text) => {
                out.insert(full, text.clone());
            }
            other => {
                out.insert(full, other.to_string());
            }
        }
    }
}

fn catalogues() -> &'static [HashMap<String, String>; 2] {
    static CATALOGUES: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    CATALOGUES.get_or_init(|| [parse(SOURCES[0]), parse(SOURCES[1])])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every message key the templates and the web code ask for.
    fn used_keys() -> BTreeSet<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("templates"), root.join("src/web")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a source directory") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let mut keys = BTreeSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            for (i, _) in text.match_indices("t(\"") {
                // `c.t(…)`, `lang.t(…)` or a local `t(…)`, not a name ending in t.
                let before = text[..i].chars().last();
                if before.is_some_and(|b| b.is_alphanumeric() || b == '_') {
                    continue;
                }
                let rest = &text[i + 3..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn both_catalogues_have_every_key_used_and_the_same_keys() {
        let [fr, en] = catalogues();
        assert!(fr.len() > 50, "the French catalogue did not load");
        let fr_keys: BTreeSet<_> = fr.keys().cloned().collect();
        let en_keys: BTreeSet<_> = en.keys().cloned().collect();
        let only_fr: Vec<_> = fr_keys.difference(&en_keys).collect();
        let only_en: Vec<_> = en_keys.difference(&fr_keys).collect();
        assert!(only_fr.is_empty(), "missing in i18n/en.toml: {only_fr:?}");
        assert!(only_en.is_empty(), "missing in i18n/fr.toml: {only_en:?}");
        let used = used_keys();
        assert!(used.len() > 50, "too few keys found: {used:?}");
        let missing: Vec<_> = used.iter().filter(|k| !fr.contains_key(*k)).collect();
        assert!(
            missing.is_empty(),
            "keys used but not in the catalogues: {missing:?}"
        );
    }

    /// The `{placeholders}` of a text.
    fn placeholders(text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut rest = text;
        while let Some(start) = rest.find('{') {
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else { break };
            let name = &after[..end];
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                out.insert(name.to_owned());
            }
            rest = &after[end + 1..];
        }
        out
    }

    /// Every message a check can give is worded in both languages, with the same
    /// placeholders as the code's parameters; the catalogues word no code that is not one.
    #[test]
    fn every_check_message_is_in_both_catalogues_with_its_parameters() {
        use crate::domain::Code;
        let all = catalogues();
        for code in Code::ALL {
            let key = format!("check.{}", code.as_str());
            let params: BTreeSet<String> = code.params().iter().map(|p| (*p).to_owned()).collect();
            for (lang, catalogue) in [(Lang::Fr, &all[0]), (Lang::En, &all[1])] {
                let text = catalogue
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key} is missing in i18n/{}.toml", lang.code()));
                assert_eq!(
                    placeholders(text),
                    params,
                    "{key} in i18n/{}.toml: placeholders and parameters differ",
                    lang.code()
                );
            }
        }
        let codes: BTreeSet<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for catalogue in all {
            for key in catalogue.keys().filter_map(|k| k.strip_prefix("check.")) {
                assert!(codes.contains(key), "check.{key} is no code of a check");
            }
        }
        // Rendered, a message keeps no placeholder and differs between the languages.
        for code in Code::ALL {
            let mut message = Message::new(*code);
            for param in code.params() {
                message = message.arg(param, "1");
            }
            let fr = Lang::Fr.message(&message);
            let en = Lang::En.message(&message);
            assert!(!fr.contains('{') || fr.contains("{…}"), "{fr}");
            assert_ne!(fr, en, "{} is not translated", code.as_str());
        }
    }

    #[test]
    fn language_comes_from_the_cookie_then_the_browser() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::negotiate(&headers), Lang::Fr);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "en-GB,en;q=0.9,fr;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(&headers), Lang::En);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            "de-DE,fr;q=0.5,en;q=0.4".parse().unwrap(),
        );
        assert_eq!(Lang::negotiate(&headers), Lang::Fr);
        headers.insert(header::COOKIE, "a=b; lang=en".parse().unwrap());
        assert_eq!(Lang::negotiate(&headers), Lang::En);
    }
}
