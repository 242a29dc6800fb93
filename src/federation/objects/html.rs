//! The HTML of what we publish, written as Mastodon writes its own posts
//! (`TextFormatter`): hashtags as `<a href="…" class="mention hashtag" rel="tag">#<span>Tag</span></a>`,
//! web addresses as `<a href="…" target="_blank" rel="nofollow noopener noreferrer">` with
//! the scheme hidden and the rest cut at 30 characters, everything else escaped. Mastodon
//! links nothing in the HTML of other servers: what is not a link here stays plain text
//! for every Mastodon reader.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::domain::text::escape_html as escape;

const REL: &str = "nofollow noopener noreferrer";

/// How much of an address Mastodon shows before cutting it.
const SHOWN: usize = 30;

/// A web address as a link, as Mastodon shows one: `https://` hidden, the rest cut at 30
/// characters (the cut part hidden, an ellipsis shown).
pub fn url_link(url: &str) -> String {
    let prefix_len = ["https://www.", "http://www.", "https://", "http://"]
        .iter()
        .find(|p| url.starts_with(*p))
        .map_or(0, |p| p.len());
    let (prefix, rest) = url.split_at(prefix_len);
    let cut = rest
        .char_indices()
        .nth(SHOWN)
        .map_or(rest.len(), |(i, _)| i);
    let (shown, hidden) = rest.split_at(cut);
    format!(
        "<a href=\"{href}\" target=\"_blank\" rel=\"{REL}\"><span class=\"invisible\">{prefix}</span><span class=\"{class}\">{shown}</span><span class=\"invisible\">{hidden}</span></a>",
        href = escape(url),
        prefix = escape(prefix),
        class = if hidden.is_empty() { "" } else { "ellipsis" },
        shown = escape(shown),
        hidden = escape(hidden),
    )
}

/// A hashtag (`name` without its `#`) linking to its page.
pub fn hashtag_link(href: &str, name: &str) -> String {
    format!(
        "<a href=\"{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
        escape(href),
        escape(name)
    )
}

/// Where a web address starting at `start` of `text` ends: at a space or a character that
/// cannot be in one, without the punctuation that closes a sentence around it.
fn url_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '«' | '»'))
        .unwrap_or(rest.len());
    loop {
        let candidate = &rest[..end];
        let Some(last) = candidate.chars().last() else {
            break;
        };
        let unbalanced =
            last == ')' && candidate.matches('(').count() < candidate.matches(')').count();
        if matches!(last, '.' | ',' | ';' | ':' | '!' | '?' | '\'') || unbalanced {
            end -= last.len_utf8();
        } else {
            break;
        }
    }
    start + end
}

/// Where the next web address in `text` starts, from `from`: `http://` or `https://` not
/// glued to a preceding letter or digit.
fn next_url(text: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = text[at..].find("http") {
        let start = at + found;
        let rest = &text[start..];
        let glued = text[..start]
            .chars()
            .last()
            .is_some_and(char::is_alphanumeric);
        if !glued && (rest.starts_with("https://") || rest.starts_with("http://")) {
            return Some(start);
        }
        at = start + "http".len();
    }
    None
}

/// Plain text as HTML: escaped, with its web addresses as links.
pub fn linkify(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = 0;
    while let Some(start) = next_url(text, done) {
        let end = url_end(text, start);
        let url = &text[start..end];
        out.push_str(&escape(&text[done..start]));
        let valid = url::Url::parse(url).is_ok_and(|u| u.host_str().is_some());
        if valid {
            out.push_str(&url_link(url));
        } else {
            out.push_str(&escape(url));
        }
        done = end.max(start + 1);
    }
    out.push_str(&escape(&text[done..]));
    out
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .tags(crate::domain::text::ALLOWED_TAGS.iter().copied().collect())
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(None)
            .add_tag_attributes("a", ["rel", "target"])
            .allowed_classes(HashMap::from([
                ("a", HashSet::from(["mention", "hashtag"])),
                ("span", HashSet::from(["invisible", "ellipsis"])),
            ]))
            .strip_comments(true);
        builder
    })
}

/// The last pass over a `summary` or `content` we publish: the same allow-list as the texts
/// people write, keeping the classes and `rel` Mastodon's own links have.
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_links_as_mastodon_writes_them() {
        assert_eq!(
            linkify("Voir https://ptce.example.org/a. <b>x</b>"),
            "Voir <a href=\"https://ptce.example.org/a\" target=\"_blank\" rel=\"nofollow noopener noreferrer\"><span class=\"invisible\">https://</span><span class=\"\">ptce.example.org/a</span><span class=\"invisible\"></span></a>. &lt;b&gt;x&lt;/b&gt;"
        );
        let long = url_link("https://www.billetterie.example.org/evenements/2027/marche-solidaire");
        assert!(long.contains("<span class=\"invisible\">https://www.</span><span class=\"ellipsis\">billetterie.example.org/evenem</span><span class=\"invisible\">ents/2027/marche-solidaire</span>"), "{long}");
        // Glued to a word, in parentheses, or not an address at all.
        assert_eq!(linkify("xhttps://a.example"), "xhttps://a.example");
        assert!(linkify("(https://a.example/x)").ends_with("</a>)"));
        assert!(linkify("(https://a.example/x_(y))").contains("href=\"https://a.example/x_(y)\""));
        assert_eq!(linkify("https:// rien"), "https:// rien");
        assert_eq!(
            linkify("\"https://a.example/?q=<script>\""),
            format!(
                "&quot;{}&lt;script&gt;&quot;",
                url_link("https://a.example/?q=")
            )
        );
    }

    #[test]
    fn hashtags_are_written_as_mastodon_writes_them() {
        assert_eq!(
            hashtag_link(
                "https://ptce.example.org/themes/renewable-energy",
                "EnergiesRenouvelables"
            ),
            "<a href=\"https://ptce.example.org/themes/renewable-energy\" class=\"mention hashtag\" rel=\"tag\">#<span>EnergiesRenouvelables</span></a>"
        );
    }

    #[test]
    fn the_last_pass_keeps_our_links_and_drops_scripts() {
        let ours = format!(
            "<p>{}{}</p>",
            hashtag_link("https://a.example/themes/x", "X"),
            url_link("https://a.example/y")
        );
        assert_eq!(sanitize(&ours), ours);
        assert_eq!(
            sanitize(
                "<p onclick=\"x()\">a<script>alert(1)</script><a href=\"javascript:x\" class=\"evil\">b</a></p>"
            ),
            "<p>a<a class=\"\">b</a></p>"
        );
    }
}
