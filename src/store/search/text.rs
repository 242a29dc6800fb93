//! Text normalisation: the tokens both databases index, and the facet names.
//!
//! Text is folded and stemmed here, in Rust, so that SQLite's FTS5 and PostgreSQL's
//! `tsvector` hold exactly the same tokens. Invariant: a word's token never starts with
//! [`FACET_TOKEN_PREFIX`], so words never pass for the tokens of facets, kinds or titles.

use crate::domain::territory_ref::fold;

/// Most query words used for matching; the rest are ignored.
pub(super) const MAX_QUERY_TOKENS: usize = 12;
/// Longest token kept: longer "words" are noise (hashes, pasted URLs).
const MAX_TOKEN_CHARS: usize = 40;

/// Starts the tokens that stand for a facet value in the text index (`zzr84` for région
/// 84), so that a text search with territory or theme filters is one index intersection.
/// Word tokens never start with it.
pub(super) const FACET_TOKEN_PREFIX: &str = "zz";

/// The text-index token of a facet value.
pub(super) fn facet_token(facet: &str, value: &str) -> String {
    let letter = match facet {
        REGION => 'r',
        DEPARTEMENT => 'd',
        EPCI => 'e',
        COMMUNE => 'c',
        _ => 't',
    };
    let value: String = value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("{FACET_TOKEN_PREFIX}{letter}{value}")
}

/// The text-index token of a kind, by its id (`zzkevent`).
pub(super) fn kind_token(kind: &str) -> String {
    format!("{FACET_TOKEN_PREFIX}k{kind}")
}

/// The text-index token of a word of a title or name (`zzhrecyclerie`): "every word in the
/// title" is then one index query too.
pub(super) fn title_token(word: &str) -> String {
    format!("{FACET_TOKEN_PREFIX}h{word}")
}

/// Words too common to help find anything, already folded.
const STOPWORDS: &[&str] = &[
    "au", "aux", "avec", "ce", "ces", "cet", "cette", "dans", "de", "des", "du", "elle", "elles",
    "en", "est", "et", "il", "ils", "la", "le", "les", "leur", "leurs", "mais", "ne", "nous", "on",
    "ou", "par", "pas", "pour", "qu", "que", "qui", "sa", "se", "ses", "son", "sont", "sur", "un",
    "une", "vous", "the", "and", "of",
];

fn stemmer() -> &'static rust_stemmers::Stemmer {
    static STEMMER: std::sync::OnceLock<rust_stemmers::Stemmer> = std::sync::OnceLock::new();
    STEMMER.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::French))
}

/// The search tokens of a text: lower-cased, accents folded, split into words, stop words
/// dropped, each word reduced to its French stem.
///
/// Folding comes before stemming so that a word typed with or without its accents always
/// gives the same token ("coopérative", "cooperatives" and "COOPÉRATIVES" give `cooper`).
pub fn tokens(text: &str) -> Vec<String> {
    let folded = fold(text);
    let stemmer = stemmer();
    folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| w.len() > 1 || w.bytes().all(|b| b.is_ascii_digit()))
        .filter(|w| !STOPWORDS.contains(w))
        .map(|w| {
            let stem = stemmer.stem(w);
            let stem = stem.strip_prefix(FACET_TOKEN_PREFIX).unwrap_or(&stem);
            let stem: String = stem.chars().take(MAX_TOKEN_CHARS).collect();
            stem
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The distinct tokens of a query, in the order typed, at most [`MAX_QUERY_TOKENS`].
pub fn query_tokens(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokens(q) {
        if !out.contains(&t) {
            out.push(t);
        }
        if out.len() == MAX_QUERY_TOKENS {
            break;
        }
    }
    out
}

/// Facet names in `directory_facets`.
pub(super) const REGION: &str = "region";
pub(super) const DEPARTEMENT: &str = "departement";
pub(super) const EPCI: &str = "epci";
pub(super) const COMMUNE: &str = "commune";
pub(super) const THEME: &str = "theme";
pub(super) const POOLING: &str = "pooling";
pub(super) const LEGAL_FORM: &str = "legal_form";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_do_not_matter() {
        assert_eq!(tokens("coopérative"), tokens("COOPERATIVE"));
        assert_eq!(tokens("Énergie"), tokens("energie"));
        assert_eq!(tokens("Œuvre"), tokens("oeuvre"));
    }

    #[test]
    fn plural_and_feminine_forms_share_a_stem() {
        assert_eq!(tokens("coopérative"), tokens("cooperatives"));
        assert_eq!(tokens("énergie"), tokens("energies"));
        assert_eq!(tokens("agricoles"), tokens("agricole"));
        assert_eq!(tokens("territoires"), tokens("territoire"));
        assert_ne!(tokens("énergie"), tokens("mobilité"));
    }

    #[test]
    fn stop_words_single_letters_and_punctuation_are_dropped() {
        assert_eq!(tokens("l'économie de la ville"), tokens("économie ville"));
        assert_eq!(tokens("  ,;!  "), Vec::<String>::new());
        assert_eq!(tokens("2023"), vec!["2023".to_owned()]);
        assert_eq!(tokens("tiers-lieu"), tokens("tiers lieu"));
    }

    #[test]
    fn query_tokens_are_distinct_and_bounded() {
        assert_eq!(query_tokens("énergie energies ÉNERGIE").len(), 1);
        let long = (0..40)
            .map(|i| format!("mot{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(query_tokens(&long).len(), MAX_QUERY_TOKENS);
    }

    #[test]
    fn words_never_pass_for_facet_tokens() {
        assert_eq!(facet_token(REGION, "84"), "zzr84");
        assert_eq!(facet_token(THEME, "renewable-energy"), "zztrenewableenergy");
        assert!(!tokens("zzr84 ZZR84").contains(&"zzr84".to_owned()));
    }

    #[test]
    fn tokens_are_plain_ascii_words() {
        for t in tokens("Café-théâtre « L’Atelier » : 100 % solidaire, ça crée du lien ! 東京")
        {
            assert!(
                t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{t}"
            );
        }
    }
}
