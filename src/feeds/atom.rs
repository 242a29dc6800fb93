//! Atom (RFC 4287) news feed of the directory: new and updated objects and pole profiles.

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Entry, FeedInfo, escape_xml};

fn date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Renders entries, already sorted and paged, as an Atom document.
///
/// `updated` is the feed's own date: the latest change of what it shows, so that an unchanged
/// directory gives the same bytes (and the same `ETag`).
pub fn render(info: &FeedInfo, entries: &[Entry], updated: DateTime<Utc>) -> Vec<u8> {
    let mut out = String::with_capacity(1024 + entries.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">\n");
    out.push_str(&format!("  <id>{}</id>\n", escape_xml(&info.self_url)));
    out.push_str(&format!(
        "  <title type=\"text\">{}</title>\n",
        escape_xml(&info.title)
    ));
    out.push_str(&format!(
        "  <subtitle type=\"text\">{}</subtitle>\n",
        escape_xml(&info.description)
    ));
    out.push_str(&format!("  <updated>{}</updated>\n", date(updated)));
    out.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape_xml(&info.self_url)
    ));
    out.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape_xml(&info.html_url)
    ));
    if let Some(next) = &info.next_url {
        // RFC 5005 paging.
        out.push_str(&format!(
            "  <link rel=\"next\" type=\"application/atom+xml\" href=\"{}\"/>\n",
            escape_xml(next)
        ));
    }
    out.push_str("  <generator>Maillage</generator>\n");
    for entry in entries {
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", escape_xml(&entry.id)));
        out.push_str(&format!(
            "    <title type=\"text\">{}</title>\n",
            escape_xml(&entry.title)
        ));
        out.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape_xml(&entry.url)
        ));
        out.push_str(&format!(
            "    <published>{}</published>\n",
            date(entry.published)
        ));
        out.push_str(&format!("    <updated>{}</updated>\n", date(entry.updated)));
        // RFC 4287 wants an author on each entry when the feed has none.
        out.push_str("    <author>\n");
        out.push_str(&format!(
            "      <name>{}</name>\n",
            escape_xml(entry.author_name.as_deref().unwrap_or("Maillage"))
        ));
        if let Some(uri) = &entry.author_url {
            out.push_str(&format!("      <uri>{}</uri>\n", escape_xml(uri)));
        }
        out.push_str("    </author>\n");
        out.push_str(&format!(
            "    <category term=\"{}\" scheme=\"urn:maillage:ptce#kind\" label=\"{}\"/>\n",
            entry.kind.id(),
            escape_xml(entry.kind.label_fr())
        ));
        for (term, label) in &entry.categories {
            out.push_str(&format!(
                "    <category term=\"{}\" scheme=\"urn:maillage:ptce#themes\" label=\"{}\"/>\n",
                escape_xml(term),
                escape_xml(label)
            ));
        }
        if let Some(summary) = &entry.summary {
            out.push_str(&format!(
                "    <summary type=\"text\">{}</summary>\n",
                escape_xml(summary)
            ));
        }
        out.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape_xml(&entry.content_html)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::test_entries::{entry, info};
    use super::*;

    #[test]
    fn hostile_text_survives_a_round_trip_through_a_feed_parser() {
        let updated = entry().updated;
        let bytes = render(&info(), &[entry()], updated);
        let feed = feed_rs::parser::parse(bytes.as_slice()).expect("feed-rs reads it");
        assert_eq!(feed.title.expect("title").content, "Annuaire <PTCE> & co");
        let parsed = &feed.entries[0];
        assert_eq!(parsed.id, "https://ptce.example.org/events/abc");
        assert_eq!(
            parsed.title.as_ref().expect("title").content,
            "Fête <b>\"solidaire\"</b> & marché"
        );
        assert_eq!(parsed.updated, Some(updated));
        assert_eq!(parsed.links[0].href, "https://ptce.example.org/events/abc");
        let content = parsed.content.as_ref().and_then(|c| c.body.clone());
        assert_eq!(
            content.as_deref(),
            Some("<p>Un <strong>marché</strong> &amp; des ateliers</p>")
        );
        assert!(feed.links.iter().any(|l| l.rel.as_deref() == Some("next")));
    }
}
