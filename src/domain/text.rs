//! Long texts: Markdown or HTML in, sanitised HTML out.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::vocab::TextFormat;

/// The elements a long text may keep.
pub const ALLOWED_TAGS: &[&str] = &[
    "a",
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "hr",
    "span",
];

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let tags: HashSet<&str> = ALLOWED_TAGS.iter().copied().collect();
        let mut builder = ammonia::Builder::default();
        builder
            .tags(tags)
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("nofollow noopener noreferrer"))
            .strip_comments(true);
        builder
    })
}

/// Escapes text for HTML, inside elements and attribute values.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text that [`escape_html`] escaped (and `&#39;`, `&#x27;`, as others write `'`):
/// what another instance sends as HTML-escaped text, back to plain text.
pub fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The text of what an HTML sanitiser gave back: [`unescape_html`]'s entities, and
/// `&nbsp;` as a no-break space.
pub fn html_text(text: &str) -> String {
    unescape_html(&text.replace("&nbsp;", "\u{a0}"))
}

/// Sanitises HTML with an allow-list: no scripts, styles, event handlers or `javascript:` links.
pub fn sanitize_html(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// Renders a text in the given format to safe HTML.
pub fn render(source: &str, format: TextFormat) -> String {
    match format {
        TextFormat::Html => sanitize_html(source),
        TextFormat::Markdown => {
            let parser = pulldown_cmark::Parser::new_ext(
                source,
                pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
            );
            let mut html = String::with_capacity(source.len() * 3 / 2);
            pulldown_cmark::html::push_html(&mut html, parser);
            sanitize_html(&html)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render(
            "**Marché** solidaire <script>alert(1)</script> [lien](javascript:alert(1))",
            TextFormat::Markdown,
        );
        assert!(html.contains("<strong>Marché</strong>"), "{html}");
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn html_is_sanitised() {
        let html = render(
            r#"<p onclick="x()">Bonjour <a href="https://ptce.fr">ici</a><img src=x onerror=alert(1)><style>p{}</style></p>"#,
            TextFormat::Html,
        );
        assert_eq!(
            html,
            r#"<p>Bonjour <a href="https://ptce.fr" rel="nofollow noopener noreferrer">ici</a></p>"#
        );
    }
}

/// A long text as typed, with its rendered and sanitised HTML.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RichText {
    pub source: String,
    pub format: TextFormat,
    pub html: String,
}

impl RichText {
    /// Checks an optional long text and renders it; blank means absent.
    pub fn from_input(
        source: Option<&str>,
        format: Option<TextFormat>,
    ) -> Result<Option<RichText>, super::Message> {
        let Some(source) = super::check::optional_text(source, super::check::MAX_DESCRIPTION)?
        else {
            return Ok(None);
        };
        let format = format.unwrap_or(TextFormat::Markdown);
        let html = render(&source, format);
        Ok(Some(RichText {
            source,
            format,
            html,
        }))
    }
}
