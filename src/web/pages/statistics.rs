//! The public statistics page: the directory's figures as bar charts drawn in SVG on the
//! server, each with a table of the same figures.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::views::{self, Choice};
use super::{Ctx, Lang, Meta, error_page, html};
use crate::domain::territory_ref::Reference;
use crate::domain::vocab::{EmployeeBand, LegalForm, PoolingKind, Theme};
use crate::store::search::CountBy;
use crate::store::{DirectoryParams, DirectoryStatistics};
use crate::web::AppState;
use crate::web::error::ApiError;

/// Width of the drawing, in SVG units; the SVG scales to its container.
const WIDTH: u32 = 480;
/// Room on the left for the labels of the bars.
const LABEL_WIDTH: u32 = 190;
/// Room on the right for the figure after the longest bar.
const VALUE_WIDTH: u32 = 64;
const ROW: u32 = 30;
const BAR: u32 = 20;
/// Labels longer than this are shortened in the drawing (the table keeps them whole).
const LABEL_CHARS: usize = 20;

/// One bar: its label, its figure as printed, and where it goes.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// The label as drawn, shortened if need be.
    pub short: String,
    pub value: String,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
}

/// A chart and its figures.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: &'static str,
    pub title: &'static str,
    /// The header of the figures' column in the table.
    pub unit: &'static str,
    /// A sentence that says what the chart shows, for those who cannot see it.
    pub desc: String,
    pub bars: Vec<Bar>,
    pub height: u32,
    pub label_width: u32,
    pub bar_x: u32,
    pub width: u32,
}

impl Chart {
    fn new(
        id: &'static str,
        title: &'static str,
        unit: &'static str,
        rows: Vec<(String, f64, String)>,
    ) -> Chart {
        let max = rows.iter().map(|(_, v, _)| *v).fold(0.0_f64, f64::max);
        let span = f64::from(WIDTH - LABEL_WIDTH - VALUE_WIDTH);
        let bars: Vec<Bar> = rows
            .into_iter()
            .zip(0u32..)
            .map(|((label, value, text), i)| {
                // A bar of zero is drawn as nothing; any other figure gets at least a sliver.
                let width = if max > 0.0 && value > 0.0 {
                    ((value / max * span).round() as u32).max(2)
                } else {
                    0
                };
                let short = if label.chars().count() > LABEL_CHARS {
                    let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
                    format!("{}…", cut.trim_end())
                } else {
                    label.clone()
                };
                Bar {
                    short,
                    label,
                    value: text,
                    y: i * ROW + (ROW - BAR) / 2,
                    text_y: i * ROW + ROW / 2 + 5,
                    width,
                    value_x: LABEL_WIDTH + width + 6,
                }
            })
            .collect();
        let desc = bars
            .iter()
            .map(|b| format!("{} : {}", b.label, b.value))
            .collect::<Vec<_>>()
            .join(" ; ");
        Chart {
            id,
            title,
            unit,
            desc,
            height: (bars.len() as u32).max(1) * ROW,
            bars,
            label_width: LABEL_WIDTH - 8,
            bar_x: LABEL_WIDTH,
            width: WIDTH,
        }
    }

    fn counts(
        id: &'static str,
        title: &'static str,
        unit: &'static str,
        rows: &[CountBy],
        label: impl Fn(&CountBy) -> String,
    ) -> Chart {
        Chart::new(
            id,
            title,
            unit,
            rows.iter()
                .map(|r| (label(r), r.count as f64, r.count.to_string()))
                .collect(),
        )
    }
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    c: Ctx,
    meta: Meta,
    regions: Vec<Choice>,
    themes: Vec<Choice>,
    pooling: Vec<Choice>,
    computed_at: String,
    computed_at_iso: String,
    poles: u64,
    members: u64,
    open_calls: u64,
    charts: Vec<Chart>,
}

/// "2026-11" in words, in the visitor's language.
fn month_label(code: &str, lang: Lang) -> String {
    use crate::domain::calendar::{ENGLISH_MONTHS, FRENCH_MONTHS, month_in_words};
    let names = match lang {
        Lang::Fr => &FRENCH_MONTHS,
        Lang::En => &ENGLISH_MONTHS,
    };
    month_in_words(code, names).unwrap_or_else(|| code.to_owned())
}

fn charts(stats: &DirectoryStatistics, c: &Ctx) -> Vec<Chart> {
    let lang = c.lang;
    let reference = Reference::get();
    let percent = |v: f64| match lang {
        Lang::Fr => format!("{} %", format!("{v:.1}").replace('.', ",")),
        Lang::En => format!("{v:.1}%"),
    };
    let unknown = |code: &str| (code == "unknown").then(|| c.t("statistics.unknown").to_owned());
    vec![
        Chart::counts(
            "regions",
            c.t("statistics.regions"),
            c.t("statistics.poles"),
            &stats.poles_per_region,
            |r| {
                reference
                    .region(&r.code)
                    .map(|x| x.name.to_owned())
                    .unwrap_or_else(|| r.label.clone())
            },
        ),
        Chart::new(
            "pooling",
            c.t("statistics.pooling"),
            c.t("statistics.share"),
            stats
                .pooling
                .iter()
                .map(|p| {
                    let label = PoolingKind::from_id(&p.code)
                        .map(|k| views::Label::label(k, lang).to_owned())
                        .unwrap_or_else(|| p.label.clone());
                    (
                        format!("{label} ({})", p.poles),
                        p.percent,
                        percent(p.percent),
                    )
                })
                .collect(),
        ),
        Chart::counts(
            "legal-forms",
            c.t("statistics.legal_forms"),
            c.t("statistics.members"),
            &stats.members_by_legal_form,
            |r| {
                LegalForm::from_id(&r.code)
                    .map(|k| views::Label::label(k, lang).to_owned())
                    .or_else(|| unknown(&r.code))
                    .unwrap_or_else(|| r.label.clone())
            },
        ),
        Chart::counts(
            "sizes",
            c.t("statistics.sizes"),
            c.t("statistics.members"),
            &stats.members_by_size,
            |r| {
                EmployeeBand::from_id(&r.code)
                    .map(|k| views::Label::label(k, lang).to_owned())
                    .or_else(|| unknown(&r.code))
                    .unwrap_or_else(|| r.label.clone())
            },
        ),
        Chart::counts(
            "events",
            c.t("statistics.events"),
            c.t("statistics.event_count"),
            &stats.events_per_month,
            |r| unknown(&r.code).unwrap_or_else(|| month_label(&r.code, lang)),
        ),
        Chart::counts(
            "calls",
            c.t("statistics.calls"),
            c.t("statistics.call_count"),
            &stats.open_calls_by_theme,
            |r| {
                Theme::from_id(&r.code)
                    .map(|k| views::Label::label(k, lang).to_owned())
                    .unwrap_or_else(|| r.label.clone())
            },
        ),
    ]
}

/// The filters of the page among the query's parameters; the others (paging, trackers) are
/// ignored, as on the directory page, so that a shared link keeps working.
fn page_params(raw: &str) -> DirectoryParams {
    let mut p = DirectoryParams::default();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let slot = match key.as_ref() {
            "q" => &mut p.q,
            "region" => &mut p.region,
            "departement" => &mut p.departement,
            "epci" => &mut p.epci,
            "commune" => &mut p.commune,
            "theme" => &mut p.theme,
            "pooling" => &mut p.pooling,
            "legal_form" => &mut p.legal_form,
            "upcoming" => &mut p.upcoming,
            "from" => &mut p.from,
            "to" => &mut p.to,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    p
}

/// `GET /statistics`: the directory's figures, for the région, theme and pooling chosen.
pub async fn statistics(
    State(state): State<AppState>,
    c: Ctx,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = match page_params(raw.as_deref().unwrap_or_default()).parse() {
        Ok(q) => q,
        Err(e) => return error_page(&c, ApiError::BadParameters(e.into())),
    };
    let stats = match state.statistics.get(&state.store, &query).await {
        Ok(s) => s,
        Err(e) => return error_page(&c, e.into()),
    };
    let lang = c.lang;
    let reference = Reference::get();
    let one = |v: Option<&'static str>| v.into_iter().collect::<Vec<_>>();
    let region = query.region.clone().unwrap_or_default();
    let meta = Meta::new(
        c.t("statistics.title"),
        c.t("statistics.description"),
        state.store.url(&c.path),
    );
    let computed_at = match lang {
        Lang::Fr => stats.computed_at.format("%d/%m/%Y à %H:%M UTC"),
        Lang::En => stats.computed_at.format("%Y-%m-%d at %H:%M UTC"),
    }
    .to_string();
    let page = StatisticsPage {
        meta,
        regions: reference
            .regions()
            .iter()
            .map(|r| Choice {
                code: r.code.to_owned(),
                label: format!("{} ({})", r.name, r.code),
                selected: r.code == region,
            })
            .collect(),
        themes: views::choices(
            Theme::ALL,
            Theme::id,
            &one(query.theme.map(Theme::id)),
            lang,
        ),
        pooling: views::choices(
            PoolingKind::ALL,
            PoolingKind::id,
            &one(query.pooling.map(PoolingKind::id)),
            lang,
        ),
        computed_at,
        computed_at_iso: stats.computed_at.to_rfc3339(),
        poles: stats.poles,
        members: stats.members,
        open_calls: stats.open_calls,
        charts: charts(&stats, &c),
        c,
    };
    html(&page, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_figure_and_zero_draws_nothing() {
        let chart = Chart::new(
            "t",
            "t",
            "n",
            vec![
                ("a".into(), 4.0, "4".into()),
                ("b".into(), 2.0, "2".into()),
                ("c".into(), 0.0, "0".into()),
            ],
        );
        let span = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
        assert_eq!(chart.bars[0].width, span);
        assert_eq!(chart.bars[1].width, span / 2);
        assert_eq!(chart.bars[2].width, 0);
        assert_eq!(chart.height, 3 * ROW);
        assert_eq!(month_label("2026-11", Lang::En), "November 2026");
        assert_eq!(month_label("2026-02", Lang::Fr), "février 2026");
    }
}
