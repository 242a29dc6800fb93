//! The messages Maillage sends, written from the catalogue (`[mail]` in `i18n/*.toml`) in
//! the reader's language or, when it is not known (the digest, the command line), in French
//! then English.

use super::Mail;
use crate::store::Waiting;
use crate::web::pages::Lang;

/// French then English, for a reader whose language is not known.
pub const BOTH: &[Lang] = &[Lang::Fr, Lang::En];

/// A catalogue text with its `{name}`s replaced.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |text, (name, value)| {
        text.replace(&format!("{{{name}}}"), value)
    })
}

/// One message in each of `langs`, one after the other.
fn compose(langs: &[Lang], write: impl Fn(Lang) -> (String, String)) -> Mail {
    let (subjects, bodies): (Vec<String>, Vec<String>) = langs.iter().map(|l| write(*l)).unzip();
    Mail {
        subject: subjects.join(" / "),
        body: bodies.join("\n\n-----\n\n"),
        unsubscribe: None,
    }
}

/// What every message names: the instance and its address.
pub struct Site<'a> {
    pub name: &'a str,
    pub url: &'a str,
}

/// An invitation to edit `pole`, with the link to choose a password.
pub fn invite(langs: &[Lang], site: &Site, pole: &str, username: &str, link: &str) -> Mail {
    compose(langs, |l| {
        let values = [
            ("site", site.name),
            ("url", site.url),
            ("pole", pole),
            ("username", username),
            ("link", link),
        ];
        (
            fill(l.t("mail.invite_subject"), &values),
            fill(l.t("mail.invite_body"), &values),
        )
    })
}

/// Someone who has an account may now edit `pole` too.
pub fn granted(langs: &[Lang], site: &Site, pole: &str, username: &str, link: &str) -> Mail {
    compose(langs, |l| {
        let values = [
            ("site", site.name),
            ("url", site.url),
            ("pole", pole),
            ("username", username),
            ("link", link),
        ];
        (
            fill(l.t("mail.granted_subject"), &values),
            fill(l.t("mail.granted_body"), &values),
        )
    })
}

/// A link to choose another password.
pub fn reset(langs: &[Lang], site: &Site, username: &str, link: &str) -> Mail {
    compose(langs, |l| {
        let values = [
            ("site", site.name),
            ("url", site.url),
            ("username", username),
            ("link", link),
        ];
        (
            fill(l.t("mail.reset_subject"), &values),
            fill(l.t("mail.reset_body"), &values),
        )
    })
}

/// What waits for an editor, pole by pole, with the pages that handle it.
pub fn digest(langs: &[Lang], site: &Site, waiting: &[Waiting], unsubscribe: &str) -> Mail {
    let base = site.url.trim_end_matches('/');
    let account = format!("{base}/admin/account");
    let mut mail = compose(langs, |l| {
        let followers: u64 = waiting.iter().map(|w| w.followers).sum();
        let replies: u64 = waiting.iter().map(|w| w.replies).sum();
        let (followers, replies) = (followers.to_string(), replies.to_string());
        let totals = [
            ("site", site.name),
            ("url", site.url),
            ("followers", followers.as_str()),
            ("replies", replies.as_str()),
            ("unsubscribe", unsubscribe),
            ("account", account.as_str()),
        ];
        let mut body = fill(l.t("mail.digest_intro"), &totals);
        body.push_str("\n\n");
        for w in waiting {
            let link = format!("{base}/admin/poles/{}", w.slug);
            let (f, r) = (w.followers.to_string(), w.replies.to_string());
            body.push_str(&fill(
                l.t("mail.digest_pole"),
                &[
                    ("pole", w.name.as_str()),
                    ("followers", f.as_str()),
                    ("replies", r.as_str()),
                    ("link", link.as_str()),
                ],
            ));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&fill(l.t("mail.digest_footer"), &totals));
        (fill(l.t("mail.digest_subject"), &totals), body)
    });
    mail.unsubscribe = Some(unsubscribe.to_owned());
    mail
}

/// A message to check the settings.
pub fn test(langs: &[Lang], site: &Site) -> Mail {
    compose(langs, |l| {
        let values = [("site", site.name), ("url", site.url)];
        (
            fill(l.t("mail.test_subject"), &values),
            fill(l.t("mail.test_body"), &values),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_site_and_carry_their_link_in_both_languages() {
        let site = Site {
            name: "Réseau",
            url: "https://ptce.example.org",
        };
        let mail = invite(
            BOTH,
            &site,
            "Pôle Sud",
            "jeanne",
            "https://ptce.example.org/x",
        );
        for needle in ["Réseau", "Pôle Sud", "jeanne", "https://ptce.example.org/x"] {
            assert!(mail.body.contains(needle), "{needle} in {}", mail.body);
        }
        assert!(mail.subject.contains(" / "));
        assert!(
            !mail.body.contains('{'),
            "every placeholder filled: {}",
            mail.body
        );
        let waiting = [Waiting {
            slug: "sud".into(),
            name: "Pôle Sud".into(),
            followers: 2,
            replies: 1,
        }];
        let mail = digest(&[Lang::En], &site, &waiting, "https://ptce.example.org/u");
        assert!(
            mail.body
                .contains("https://ptce.example.org/admin/poles/sud")
        );
        assert!(!mail.body.contains('{'), "{}", mail.body);
        assert_eq!(
            mail.unsubscribe.as_deref(),
            Some("https://ptce.example.org/u")
        );
    }
}
