//! HTML forms of the administration: reading submitted fields, and describing fields so that
//! one template draws every form with its values and its validation messages.

use crate::domain::vocab::{TextFormat, Theme};
use crate::domain::{Code, Message, ValidationErrors};
use crate::web::pages::Lang;
use crate::web::pages::views::{Choice, Label};

/// A submitted `application/x-www-form-urlencoded` body; a name may repeat (checkboxes).
#[derive(Debug, Clone, Default)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> FormData {
        FormData(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The trimmed value, empty when absent.
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// The version of the record the form was filled from (its hidden `_version`).
    pub fn version(&self) -> Option<i32> {
        self.opt("_version").and_then(|v| v.trim().parse().ok())
    }

    /// `None` when empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// A date such as 2026-12-31, `None` when empty, or a message for the field when it is
    /// not one.
    pub fn date(&self, name: &str, e: &mut ValidationErrors) -> Option<chrono::NaiveDate> {
        let value = self.opt(name)?;
        match chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                e.add(name, Message::new(Code::InvalidDate).arg("value", value));
                None
            }
        }
    }

    /// A number, or a message for the field when it is not one.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        errors: &mut ValidationErrors,
    ) -> Option<T> {
        let value = self.get(name);
        if value.is_empty() {
            return None;
        }
        match value.replace(',', ".").parse() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add(name, Message::new(Code::NotANumber).arg("value", value));
                None
            }
        }
    }

    /// Values of a vocabulary, with a message for unknown ones.
    pub fn vocab_list<T>(
        &self,
        name: &str,
        from_id: fn(&str) -> Option<T>,
        errors: &mut ValidationErrors,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for v in self.all(name) {
            match from_id(&v) {
                Some(t) => out.push(t),
                None => errors.add(name, Message::new(Code::UnknownValue).arg("value", v)),
            }
        }
        out
    }

    pub fn vocab<T>(
        &self,
        name: &str,
        from_id: fn(&str) -> Option<T>,
        errors: &mut ValidationErrors,
    ) -> Option<T> {
        self.vocab_list(name, from_id, errors).into_iter().next()
    }
}

/// One field of a form, as drawn.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub label: String,
    /// `text`, `email`, `url`, `tel`, `number`, `date`, `datetime-local`, `password`,
    /// `textarea`, `select`, `checkboxes`, `checkbox`, `heading`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<Choice>,
    pub help: String,
    pub error: String,
    pub required: bool,
    pub checked: bool,
}

impl Field {
    pub fn new(name: &str, label: &str, kind: &'static str, value: impl Into<String>) -> Field {
        Field {
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            value: value.into(),
            options: Vec::new(),
            help: String::new(),
            error: String::new(),
            required: false,
            checked: false,
        }
    }

    pub fn heading(label: &str) -> Field {
        Field::new("", label, "heading", "")
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn help(mut self, help: &str) -> Field {
        self.help = help.to_owned();
        self
    }

    pub fn checkbox(name: &str, label: &str, checked: bool) -> Field {
        let mut f = Field::new(name, label, "checkbox", "true");
        f.checked = checked;
        f
    }

    /// A `<select>` with an empty first choice unless `required`.
    pub fn select<T: Label>(
        name: &str,
        label: &str,
        all: &[T],
        id: fn(T) -> &'static str,
        chosen: &str,
        lang: Lang,
    ) -> Field {
        let mut f = Field::new(name, label, "select", chosen);
        f.options = crate::web::pages::views::choices(all, id, &[chosen], lang);
        f
    }

    pub fn checkboxes<T: Label>(
        name: &str,
        label: &str,
        all: &[T],
        id: fn(T) -> &'static str,
        chosen: &[&str],
        lang: Lang,
    ) -> Field {
        let mut f = Field::new(name, label, "checkboxes", "");
        f.options = crate::web::pages::views::choices(all, id, chosen, lang);
        f
    }

    /// The id of the element, for labels and links from the error summary.
    pub fn id(&self) -> String {
        format!("f-{}", self.name.replace(['.', '[', ']'], "-"))
    }
}

impl Field {
    /// Checkboxes of choices known only at run time (a pole's members, the other poles):
    /// `(code, label)` each, checked when its code is in `chosen`.
    pub fn choices(name: &str, label: &str, all: &[(String, String)], chosen: &[String]) -> Field {
        let mut f = Field::new(name, label, "checkboxes", "");
        f.options = all
            .iter()
            .map(|(code, label)| Choice {
                code: code.clone(),
                label: label.clone(),
                selected: chosen.contains(code),
            })
            .collect();
        f
    }
}

/// The values a person chose, in the order they were stored when the same ones are chosen
/// again, so that saving a form unchanged changes nothing; new ones come after.
pub fn keep_order<T: PartialEq + Clone>(stored: &[T], chosen: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = stored
        .iter()
        .filter(|v| chosen.contains(v))
        .cloned()
        .collect();
    for v in chosen {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The themes' checkboxes, as poles, projects, events and calls have them.
pub fn themes_field(themes: &[&str], lang: Lang) -> Field {
    Field::checkboxes(
        "themes",
        lang.t("pole.themes"),
        Theme::ALL,
        Theme::id,
        themes,
        lang,
    )
}

/// The fields a pole's or a publication's form starts with: its name or title (`first`),
/// its summary, its description and the description's format.
pub fn described(
    first: Field,
    summary: &Option<String>,
    (description, format): (&Option<String>, Option<TextFormat>),
    lang: Lang,
) -> Vec<Field> {
    vec![
        first,
        Field::new(
            "summary",
            lang.t("admin.summary"),
            "textarea",
            opt_str(summary),
        )
        .help(lang.t("admin.summary_help")),
        Field::new(
            "description",
            lang.t("admin.description"),
            "textarea",
            opt_str(description),
        )
        .help(lang.t("admin.markdown_help")),
        format_field(format, lang),
    ]
}

/// The format the description is written in (Markdown unless chosen otherwise).
pub fn format_field(format: Option<TextFormat>, lang: Lang) -> Field {
    Field::select(
        "description_format",
        lang.t("admin_fields.description_format"),
        TextFormat::ALL,
        TextFormat::id,
        format.map(TextFormat::id).unwrap_or_default(),
        lang,
    )
    .help(lang.t("admin_fields.description_format_help"))
}

/// Reads the description's format.
pub fn read_format(form: &FormData, e: &mut ValidationErrors) -> Option<TextFormat> {
    form.vocab("description_format", TextFormat::from_id, e)
}

/// An optional text as a field's value.
pub fn opt_str(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// An optional number or date as a field's value.
pub fn opt_num<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Puts each validation message next to its field; those that match no field are returned
/// for the summary at the top.
pub fn attach_errors(fields: &mut [Field], errors: &ValidationErrors, lang: Lang) -> Vec<String> {
    let mut general = Vec::new();
    for e in &errors.0 {
        let base = e.field.split('[').next().unwrap_or_default();
        match fields
            .iter_mut()
            .find(|f| f.kind != "heading" && (f.name == e.field || f.name == base))
        {
            Some(f) => {
                if !f.error.is_empty() {
                    f.error.push_str("; ");
                }
                f.error.push_str(&lang.message(&e.message));
            }
            None => general.push(format!(
                "{}{}{}",
                e.field,
                lang.colon(),
                lang.message(&e.message)
            )),
        }
    }
    general
}
