//! 인쇄 / PDF: a document as a printed page — header, 결재란, body, comments, history — and,
//! at its foot, where the log stands for it: the stream, its head version and the head event's
//! hash. A printed copy is checked against the log with
//! `erp verify --document <number> --head <hash>`.
//!
//! `GET /api/approvals/{id}/print` answers the page as HTML (no scripts, styles inline);
//! `GET /api/approvals/{id}/pdf` renders the same page to PDF on the server with a headless
//! Chromium (`pdf_renderer`), whose system fonts carry Korean; an instance without one answers
//! 404 `pdf_not_offered`. At most two renders run at once; the rest wait up to five seconds
//! and are then answered 503 with `Retry-After`.

use crate::error::ApiError;
use crate::extract::Caller;
use crate::openapi::{Api, Doc};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use domain::approval::{Approval, ApprovalDocument, Step, Verdict};
use domain::ids::{ApprovalId, EmployeeId};
use infra::eventlog::{streams, RecordedEvent, StreamRef};
use std::collections::HashMap;
use std::time::Duration;

const T: &str = "approvals";
/// The longest one render may take.
const RENDER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a render waits for one of the two places.
const RENDER_WAIT: Duration = Duration::from_secs(5);

static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

pub fn routes(api: Api) -> Api {
    api.get(
        "/api/approvals/{id}/print",
        print,
        Doc::new(T, "The document as a printed page (HTML), with the log's head for it").download(),
    )
    .get(
        "/api/approvals/{id}/pdf",
        pdf,
        Doc::new(
            T,
            "The document as PDF, rendered on the server, with the log's head for it",
        )
        .download(),
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time as the page shows it: company-local (KST), to the minute.
fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&domain::attendance::KST)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The document, its events and the log's head, for someone who may see it (404 otherwise).
async fn load(
    state: &AppState,
    caller: &Caller,
    id: &str,
    proxy: &super::proxy::ProxyQuery,
) -> Result<(ApprovalDocument, Vec<RecordedEvent>), ApiError> {
    let not_found = || ApiError::not_found("no such document");
    let id: ApprovalId = id.parse().map(ApprovalId).map_err(|_| not_found())?;
    let stream = StreamRef::new(streams::APPROVAL, id.to_string());
    let loaded = state.service.load::<Approval>(&stream).await?;
    let proxy = proxy.load(state).await;
    let doc = loaded
        .state
        .0
        .filter(|d| super::proxy::may_read(d, caller, proxy.as_ref()))
        .ok_or_else(not_found)?;
    let events = state
        .service
        .log()
        .read_stream(&stream)
        .await
        .map_err(crate::service::ServiceError::from)?;
    Ok((doc, events))
}

/// One box of the 결재란: position, name, what they did (a stamp's word), when.
struct Seat {
    title: String,
    name: String,
    mark: String,
    at: String,
}

/// One row of the 결재란 (결재 or 합의) as a table of four lines.
fn grid(label: &str, seats: &[Seat]) -> String {
    let cells = |f: fn(&Seat) -> &str| {
        seats
            .iter()
            .map(|s| format!("<td>{}</td>", escape(f(s))))
            .collect::<String>()
    };
    format!(
        "<table class=\"grid\"><tr><th rowspan=\"4\">{label}</th>{}</tr><tr>{}</tr><tr class=\"stamp\">{}</tr><tr>{}</tr></table>",
        cells(|s| &s.title),
        cells(|s| &s.name),
        cells(|s| &s.mark),
        cells(|s| &s.at),
    )
}

/// The printed page.
pub fn page(state: &AppState, doc: &ApprovalDocument, events: &[RecordedEvent]) -> String {
    let people: HashMap<EmployeeId, (String, Option<String>)> = state
        .directory
        .employees()
        .into_iter()
        .filter_map(|e| Some((e.id?, (e.name, e.position.map(|p| p.title)))))
        .collect();
    let name = |id: &EmployeeId| people.get(id).map_or_else(|| id.to_string(), |p| p.0.clone());
    let title_of = |id: &EmployeeId| people.get(id).and_then(|p| p.1.clone()).unwrap_or_default();
    let number = doc.number.as_ref().map(ToString::to_string);
    // The rejection of the current round, if any: the seat that rejected shows 반려.
    let mut rejected_by = None;
    for e in events {
        match e.event_type.as_str() {
            "approval.submitted" | "approval.resubmitted" => rejected_by = None,
            "approval.rejected" => rejected_by = e.actor.clone(),
            _ => {}
        }
    }
    let mut approvals = vec![Seat {
        title: title_of(&doc.drafter),
        name: name(&doc.drafter),
        mark: "기안".to_owned(),
        at: doc.submitted_at.map(local).unwrap_or_default(),
    }];
    let mut agreements = Vec::new();
    for (index, step) in doc.line.steps.iter().enumerate() {
        let progress = doc.steps.get(index);
        for member in step.members() {
            let decision = progress.and_then(|p| p.decision_of(*member));
            let mark = match decision {
                Some(d) if matches!(step, Step::Agreement { .. }) && d.verdict == Verdict::Disagree => {
                    "반대".to_owned()
                }
                Some(d) if d.final_authority => "전결".to_owned(),
                Some(d) if d.by != d.member => format!("대결 {}", name(&d.by)),
                Some(_) if matches!(step, Step::Agreement { .. }) => "합의".to_owned(),
                Some(_) => "승인".to_owned(),
                None if rejected_by.as_deref() == Some(member.to_string().as_str()) => "반려".to_owned(),
                None if progress.is_some_and(|p| p.skipped) => "—".to_owned(),
                None => String::new(),
            };
            let seat = Seat {
                title: title_of(member),
                name: name(member),
                mark,
                at: decision.map(|d| local(d.at)).unwrap_or_default(),
            };
            match step {
                Step::Approval { .. } => approvals.push(seat),
                Step::Agreement { .. } => agreements.push(seat),
            }
        }
    }
    let form = state.service.form(&doc.form.id.0, Some(doc.form.version)).ok();
    let label = |key: &str| {
        form.and_then(|f| f.fields.iter().find(|d| d.key == key))
            .map_or_else(|| key.to_owned(), |d| d.label_ko.clone())
    };
    let body: String = doc
        .content
        .body
        .iter()
        .map(|(key, value)| {
            let text = match serde_json::to_value(value) {
                Ok(v) => v.get("value").map_or_else(
                    || v.to_string(),
                    |inner| match inner {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                ),
                Err(_) => String::new(),
            };
            format!("<dt>{}</dt><dd>{}</dd>", escape(&label(key)), escape(&text))
        })
        .collect();
    let comments: String = doc
        .comments
        .iter()
        .map(|c| format!("<li>{} {}: {}</li>", local(c.at), escape(&name(&c.by)), escape(&c.text)))
        .collect();
    let history: String = events
        .iter()
        .map(|e| {
            let actor = e
                .actor
                .as_deref()
                .and_then(|a| a.parse().ok().map(EmployeeId))
                .map(|a| name(&a))
                .unwrap_or_default();
            format!(
                "<li>v{} {} {} {}</li>",
                e.version,
                local(e.recorded_at),
                escape(&actor),
                escape(&e.event_type)
            )
        })
        .collect();
    let head = events.last();
    let (version, hash) = head.map_or((0, String::new()), |e| (e.version, e.hash.clone()));
    let heading = match &number {
        Some(n) => format!("{n} {}", doc.content.title),
        None => doc.content.title.clone(),
    };
    let check = match &number {
        Some(n) => format!("erp verify --document {n} --head {hash}"),
        None => format!("erp verify --stream approval/{} (no document number yet)", doc.id),
    };
    format!(
        "<!doctype html><html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; font-src 'self'\">\
         <title>{title}</title><style>{STYLE}</style></head><body>\
         <h1>{h1}</h1><dl class=\"head\"><dt>문서번호</dt><dd>{number}</dd><dt>상태</dt><dd>{status}</dd><dt>기안자</dt><dd>{drafter}</dd>\
         <dt>기안일</dt><dd>{drafted}</dd><dt>상신일</dt><dd>{submitted}</dd><dt>완료일</dt><dd>{completed}</dd></dl>\
         {grid}{agreements}{cc}<h2>본문</h2><dl class=\"body\">{body}</dl><h2>의견</h2><ol>{comments}</ol><h2>이력</h2><ol>{history}</ol>\
         <footer><p>로그: approval/{id} · v{version}</p><p>해시: <code>{hash}</code></p><p>확인: <code>{check}</code></p></footer></body></html>",
        title = escape(&heading),
        h1 = escape(&doc.content.title),
        number = escape(number.as_deref().unwrap_or("—")),
        status = escape(&format!("{:?}", doc.status)),
        drafter = escape(&name(&doc.drafter)),
        drafted = local(doc.drafted_at),
        submitted = doc.submitted_at.map(local).unwrap_or_default(),
        completed = doc.completed_at.map(local).unwrap_or_default(),
        grid = grid("결재", &approvals),
        agreements = if agreements.is_empty() { String::new() } else { grid("합의", &agreements) },
        cc = if doc.line.cc.is_empty() {
            String::new()
        } else {
            format!("<p>참조: {}</p>", escape(&doc.line.cc.iter().map(&name).collect::<Vec<_>>().join(", ")))
        },
        id = doc.id,
        check = escape(&check),
    )
}

const STYLE: &str = "body{font-family:'Noto Sans CJK KR','Noto Sans KR','NanumGothic',sans-serif;margin:24px;color:#111}\
h1{font-size:20px}h2{font-size:15px;margin-top:18px}dl.head{display:grid;grid-template-columns:auto 1fr;gap:2px 12px}\
dl.body{display:grid;grid-template-columns:auto 1fr;gap:4px 12px}dd{margin:0}\
table.grid{border-collapse:collapse;margin:10px 0 0 auto}table.grid th,table.grid td{border:1px solid #333;min-width:70px;text-align:center;font-size:12px;padding:2px 4px}\
tr.stamp td{height:44px;color:#c62828;font-weight:700}footer{margin-top:24px;font-size:11px;color:#333;border-top:1px solid #999}code{word-break:break-all}";

/// The document a request may print, with its events: the caller, the path's id and a proxy's
/// `?delegation=`, loaded (404 for anyone who may not read it).
struct Printable(ApprovalDocument, Vec<RecordedEvent>);

impl axum::extract::FromRequestParts<AppState> for Printable {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("no such document"))?;
        let Query(proxy) = Query::<super::proxy::ProxyQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (doc, events) = load(state, &caller, &id, &proxy).await?;
        Ok(Self(doc, events))
    }
}

async fn print(State(state): State<AppState>, Printable(doc, events): Printable) -> Result<Response, ApiError> {
    let mut response = Html(page(&state, &doc, &events)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok(response)
}

fn unavailable(why: impl std::fmt::Display) -> ApiError {
    tracing::error!(%why, "PDF rendering failed");
    ApiError::unavailable("pdf_unavailable", "the PDF could not be rendered now; retry", 5)
}

async fn pdf(State(state): State<AppState>, Printable(doc, events): Printable) -> Result<Response, ApiError> {
    // Not a passing fault: this instance has no renderer (the print page is still offered).
    let renderer = state.settings.pdf_renderer.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "pdf_not_offered",
            "this instance renders no PDF (no headless Chromium configured); /print has the same page",
        )
    })?;
    let html = page(&state, &doc, &events);
    let _place = tokio::time::timeout(RENDER_WAIT, RENDERS.acquire())
        .await
        .map_err(|_| unavailable("two renders already running"))?
        .map_err(unavailable)?;
    let dir = tempfile::tempdir().map_err(unavailable)?;
    let (source, target) = (dir.path().join("document.html"), dir.path().join("document.pdf"));
    tokio::fs::write(&source, html).await.map_err(unavailable)?;
    let (program, args) = renderer.split_first().ok_or_else(|| unavailable("empty renderer"))?;
    let run = tokio::process::Command::new(program)
        .args(args)
        .arg("--headless")
        // A profile of its own per render, removed with the render's directory.
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", target.display()))
        .arg(format!("file://{}", source.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(RENDER_TIMEOUT, run)
        .await
        .map_err(|_| unavailable("the renderer took too long"))?
        .map_err(unavailable)?;
    if !status.success() {
        return Err(unavailable(format!("{program} exited {status}")));
    }
    let bytes = tokio::fs::read(&target).await.map_err(unavailable)?;
    let file = doc
        .number
        .as_ref()
        .map_or_else(|| doc.id.to_string(), ToString::to_string);
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(value) = HeaderValue::from_str(&super::attachments::disposition(&format!("{file}.pdf"))) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_the_page() {
        assert_eq!(escape("<b a=\"1\">&'x"), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;x");
    }
}
