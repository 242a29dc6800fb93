//! Importing poles and members (administrators only): a file uploaded with what it holds,
//! checked (« Vérifier », nothing is written) or imported (« Importer », all rows or none),
//! every problem of every row in a table of line, column and reason.

use askama::Template;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::StatusCode;
use axum::response::Response;

use super::access::Admin;
use super::submit::run;
use crate::import::{File, Location, MAX_BYTES, Parsed, PoleFormat, Problem};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::pages::{Ctx, Meta, html};

/// The largest upload: two files of [`MAX_BYTES`] and the form's other fields.
pub const UPLOAD_LIMIT: usize = 2 * MAX_BYTES + 64 * 1024;

/// What a file holds, as chosen on the form.
const KINDS: &[&str] = &["poles-csv", "gogocarto", "members-csv"];

/// A problem or warning as a row of the page's tables.
struct ProblemRow {
    file: &'static str,
    line: String,
    column: String,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    c: Ctx,
    meta: Meta,
    kind: String,
    /// What is wrong with the upload itself.
    error: String,
    /// Whether the files were read (and a report is shown).
    checked: bool,
    created: bool,
    problems: Vec<ProblemRow>,
    warnings: Vec<ProblemRow>,
    poles: Vec<(String, String)>,
    members: usize,
    limit_mib: usize,
}

impl ImportPage {
    fn new(admin: &Admin) -> ImportPage {
        ImportPage {
            meta: Meta::new(admin.t("import.title"), "", String::new()),
            c: admin.c.clone(),
            kind: KINDS[0].to_owned(),
            error: String::new(),
            checked: false,
            created: false,
            problems: Vec::new(),
            warnings: Vec::new(),
            poles: Vec::new(),
            members: 0,
            limit_mib: MAX_BYTES / (1024 * 1024),
        }
    }
}

pub async fn import_form(admin: Admin) -> Response {
    run(&admin.c, async {
        admin.auth.require_admin()?;
        Ok(html(&ImportPage::new(&admin), StatusCode::OK))
    })
    .await
}

fn rows(admin: &Admin, problems: Vec<Problem>) -> Vec<ProblemRow> {
    problems
        .into_iter()
        .map(|p| ProblemRow {
            file: match p.file {
                File::Poles => admin.t("import.file_poles"),
                File::Members => admin.t("import.file_members"),
            },
            line: match p.at {
                Location::Line(n) => n.to_string(),
                Location::Element(i) => format!("data[{i}]"),
            },
            column: p.column,
            message: admin.lang().message(&p.message),
        })
        .collect()
}

fn upload_error(admin: &Admin, e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(UPLOAD_LIMIT)
    } else {
        ApiError::BadRequest(format!(
            "{}: {}",
            admin.t("import.bad_upload"),
            e.body_text()
        ))
    }
}

/// The form's fields: token, kind, action, and the two files (empty when not given).
#[derive(Default)]
struct Upload {
    token: String,
    kind: String,
    dry_run: bool,
    file: Vec<u8>,
    members: Vec<u8>,
}

async fn read_upload(admin: &Admin, mut multipart: Multipart) -> Result<Upload, ApiError> {
    let mut upload = Upload {
        dry_run: true,
        ..Default::default()
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| upload_error(admin, e))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" | "members" => {
                let bytes = field.bytes().await.map_err(|e| upload_error(admin, e))?;
                if bytes.len() > MAX_BYTES {
                    return Err(ApiError::TooLarge(MAX_BYTES));
                }
                if name == "file" {
                    upload.file = bytes.to_vec();
                } else {
                    upload.members = bytes.to_vec();
                }
            }
            "_csrf" | "kind" | "action" => {
                let text = field.text().await.map_err(|e| upload_error(admin, e))?;
                match name.as_str() {
                    "_csrf" => upload.token = text,
                    "kind" => upload.kind = text,
                    _ => upload.dry_run = text != "import",
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}

pub async fn import_upload(
    State(state): State<AppState>,
    admin: Admin,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    run(&admin.c, async {
        admin.auth.require_admin()?;
        let multipart = multipart.map_err(|e| {
            ApiError::BadRequest(format!("{}: {}", admin.t("import.bad_upload"), e.body_text()))
        })?;
        let upload = read_upload(&admin, multipart).await?;
        admin.check_token(&upload.token)?;
        let mut page = ImportPage::new(&admin);
        if KINDS.contains(&upload.kind.as_str()) {
            page.kind = upload.kind.clone();
        } else {
            page.error = admin.t("import.bad_kind").to_owned();
            return Ok(html(&page, StatusCode::UNPROCESSABLE_ENTITY));
        }
        if upload.file.is_empty() {
            page.error = admin.t("import.no_file").to_owned();
            return Ok(html(&page, StatusCode::UNPROCESSABLE_ENTITY));
        }
        let mut parsed = Parsed::default();
        match upload.kind.as_str() {
            "members-csv" => parsed.members(&upload.file),
            kind => {
                let format = if kind == "gogocarto" {
                    PoleFormat::GoGoCarto
                } else {
                    PoleFormat::Csv
                };
                parsed.poles(&upload.file, Some(format));
                if !upload.members.is_empty() {
                    parsed.members(&upload.members);
                }
            }
        }
        let report = crate::import::run(&state.store, parsed, upload.dry_run).await?;
        if report.created {
            tracing::info!(user = %admin.auth.user.username, poles = report.poles.len(), members = report.members, "import from the administration");
            state.fed.publish_wakeup.notify_one();
        }
        let status = if report.is_valid() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        page.checked = true;
        page.created = report.created;
        page.members = report.members;
        page.poles = report.poles;
        page.problems = rows(&admin, report.problems);
        page.warnings = rows(&admin, report.warnings);
        Ok(html(&page, status))
    })
    .await
}
