//! RSS 2.0 news feed of the directory, for readers that do not take Atom.

use chrono::{DateTime, Utc};

use super::{Entry, FeedInfo, escape_xml};

/// Renders entries, already sorted and paged, as an RSS 2.0 document.
pub fn render(info: &FeedInfo, entries: &[Entry], updated: DateTime<Utc>) -> Vec<u8> {
    let mut out = String::with_capacity(1024 + entries.len() * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(
        "<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n",
    );
    out.push_str("  <channel>\n");
    out.push_str(&format!("    <title>{}</title>\n", escape_xml(&info.title)));
    out.push_str(&format!(
        "    <link>{}</link>\n",
        escape_xml(&info.html_url)
    ));
    out.push_str(&format!(
        "    <description>{}</description>\n",
        escape_xml(&info.description)
    ));
    out.push_str("    <language>fr</language>\n");
    out.push_str("    <generator>Maillage</generator>\n");
    out.push_str(&format!(
        "    <lastBuildDate>{}</lastBuildDate>\n",
        updated.to_rfc2822()
    ));
    out.push_str(&format!(
        "    <atom:link rel=\"self\" type=\"application/rss+xml\" href=\"{}\"/>\n",
        escape_xml(&info.self_url)
    ));
    if let Some(next) = &info.next_url {
        out.push_str(&format!(
            "    <atom:link rel=\"next\" type=\"application/rss+xml\" href=\"{}\"/>\n",
            escape_xml(next)
        ));
    }
    for entry in entries {
        out.push_str("    <item>\n");
        out.push_str(&format!(
            "      <title>{}</title>\n",
            escape_xml(&entry.title)
        ));
        out.push_str(&format!("      <link>{}</link>\n", escape_xml(&entry.url)));
        out.push_str(&format!(
            "      <guid isPermaLink=\"true\">{}</guid>\n",
            escape_xml(&entry.id)
        ));
        // RSS has one date; the latest change is what a reader needs to see an update.
        out.push_str(&format!(
            "      <pubDate>{}</pubDate>\n",
            entry.updated.to_rfc2822()
        ));
        if let Some(author) = &entry.author_name {
            out.push_str(&format!(
                "      <dc:creator>{}</dc:creator>\n",
                escape_xml(author)
            ));
        }
        out.push_str(&format!(
            "      <category domain=\"urn:maillage:ptce#kind\">{}</category>\n",
            entry.kind.id()
        ));
        for (_, label) in &entry.categories {
            out.push_str(&format!(
                "      <category domain=\"urn:maillage:ptce#themes\">{}</category>\n",
                escape_xml(label)
            ));
        }
        out.push_str(&format!(
            "      <description>{}</description>\n",
            escape_xml(&entry.content_html)
        ));
        out.push_str("    </item>\n");
    }
    out.push_str("  </channel>\n</rss>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::test_entries::{entry, info};
    use super::*;

    #[test]
    fn hostile_text_survives_a_round_trip_through_a_feed_parser() {
        let bytes = render(&info(), &[entry()], entry().updated);
        let feed = feed_rs::parser::parse(bytes.as_slice()).expect("feed-rs reads it");
        assert_eq!(feed.feed_type, feed_rs::model::FeedType::RSS2);
        let parsed = &feed.entries[0];
        assert_eq!(parsed.id, "https://ptce.example.org/events/abc");
        assert_eq!(
            parsed.title.as_ref().expect("title").content,
            "Fête <b>\"solidaire\"</b> & marché"
        );
        assert_eq!(parsed.published, Some(entry().updated));
        assert_eq!(parsed.authors[0].name.as_deref(), Some("Pôle d'Ajaccio"));
    }
}
