//! One error type for the HTTP edge. Every refusal becomes `application/problem+json` with a
//! stable `code`; rule violations are 409/422, bad input 400, auth 401/403. Internal errors
//! are logged with context and answered with a bare 500.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::approval::{ApprovalError, LineError};
use domain::authority::AuthorityError;
use domain::leave::LeaveError;
use domain::line_rule::RuleError;
use domain::numbering::NumberError;
use domain::org::{DelegationError, DepartmentError, EmployeeError};
use infra::auth::SignInError;
use infra::eventlog::EventLogError;
use serde_json::{json, Value};

/// A refused or failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members of the problem document (e.g. `current_version`, `errors`).
    pub extra: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: Value::Null,
        }
    }

    pub fn with(mut self, extra: Value) -> Self {
        self.extra = extra;
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed_request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(current_version: u64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "version_conflict",
            "the resource changed; reload and retry",
        )
        .with(json!({ "current_version": current_version }))
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, context, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://erp.example/problems/{}", self.code),
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        if let (Value::Object(extra), Some(object)) = (self.extra, body.as_object_mut()) {
            object.extend(extra);
        }
        let retry_after = body.get("retry_after_seconds").and_then(Value::as_u64);
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<EventLogError> for ApiError {
    fn from(e: EventLogError) -> Self {
        match e {
            EventLogError::Conflict { actual, .. } => ApiError::conflict(actual),
            EventLogError::CommandIdReused(id) => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                format!("Idempotency-Key already used for another resource ({id})"),
            ),
            EventLogError::EmptyOrHugeCommit => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "commit_size", e.to_string())
            }
            EventLogError::Unavailable(detail) => {
                tracing::warn!(%detail, "event log unavailable");
                // Retrying with the same Idempotency-Key is safe: it gets the first answer.
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "log_unavailable",
                    "the event log is unavailable; retry",
                )
                .with(json!({ "retry_after_seconds": 1 }))
            }
            other => ApiError::internal("event log", other),
        }
    }
}

impl From<SignInError> for ApiError {
    /// 401 for anyone not proven, 403 for a deactivated employee, 503 (retry) when they could
    /// not be looked up.
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Unauthenticated(detail) => ApiError::unauthorized(detail),
            SignInError::Inactive => ApiError::forbidden(e.to_string()),
            SignInError::Unavailable(cause) => {
                tracing::warn!(%cause, "sign-in lookup failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "log_unavailable",
                    "the event log is unavailable; retry",
                )
                .with(json!({ "retry_after_seconds": 1 }))
            }
        }
    }
}

fn rule(code: &'static str, status: StatusCode, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(status, code, e.to_string())
}

const C: StatusCode = StatusCode::CONFLICT;
const U: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;
const F: StatusCode = StatusCode::FORBIDDEN;
const N: StatusCode = StatusCode::NOT_FOUND;

impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        use ApprovalError as E;
        let (code, status) = match &e {
            E::NotFound => ("document_not_found", N),
            E::AlreadyExists => ("document_exists", C),
            E::NotDrafter => ("not_drafter", F),
            E::NotSubmitted => ("not_submitted", C),
            E::NotDraft => ("not_draft", C),
            E::Terminal { .. } => ("document_closed", C),
            E::SelfApproval => ("self_approval", U),
            E::NotCurrentApprover { .. } => ("not_current_approver", F),
            E::AlreadyDecided { .. } => ("already_decided", C),
            E::SecondSeat { .. } => ("one_seat_per_person", U),
            E::ProxyNotAuthorised => ("proxy_not_authorised", F),
            E::HeldByOther => ("held_by_other", C),
            E::AlreadyOnHold => ("already_on_hold", C),
            E::NotOnHold => ("not_on_hold", C),
            E::NoFinalAuthority => ("no_final_authority", F),
            E::NoPreviousStep => ("no_previous_step", U),
            E::ReasonRequired => ("reason_required", U),
            E::ApproverActed => ("approver_acted", C),
            E::NextStepActed => ("next_step_acted", C),
            E::NothingToCancel => ("nothing_to_cancel", C),
            E::NotResubmittable => ("not_resubmittable", C),
            E::NotParticipant => ("not_participant", F),
            E::FormMismatch => ("form_mismatch", U),
            E::CommentLimit { retry_after_secs } => {
                let retry = retry_after_secs.unwrap_or(3600);
                return rule("comment_limit", StatusCode::TOO_MANY_REQUESTS, &e)
                    .with(json!({ "retry_after_seconds": retry }));
            }
            E::InvalidBody(form) => {
                return rule("invalid_body", U, &e).with(json!({ "errors": form.errors }));
            }
            E::InvalidLine(line) => {
                return rule("invalid_line", U, &e).with(json!({ "reason": line_reason(line) }));
            }
            E::InvalidTitle => ("invalid_title", U),
            E::InvalidComment => ("invalid_comment", U),
            E::InvalidAttachments => ("invalid_attachments", U),
            E::InsufficientLeave { requested, available } => {
                return rule("insufficient_leave", U, &e)
                    .with(json!({ "requested": requested.to_string(), "available": available.to_string() }));
            }
            E::LeaveBalanceRequired => ("leave_balance_required", U),
            E::AlreadyNumbered => ("already_numbered", C),
            E::NotApproved => ("not_approved", C),
        };
        rule(code, status, e)
    }
}

fn line_reason(e: &LineError) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

impl From<EmployeeError> for ApiError {
    fn from(e: EmployeeError) -> Self {
        use EmployeeError as E;
        let (code, status) = match e {
            E::NotHrAdmin => ("not_hr_admin", F),
            E::AlreadyRegistered => ("employee_exists", C),
            E::NotFound => ("employee_not_found", N),
            E::Deactivated => ("employee_deactivated", C),
            E::InvalidName => ("invalid_name", U),
            E::InvalidEmail => ("invalid_email", U),
            E::InvalidPosition => ("invalid_position", U),
            E::EmailTaken => ("email_taken", C),
            E::OwnManager => ("own_manager", U),
            E::MissingEmployeeRole => ("missing_employee_role", U),
        };
        rule(code, status, e)
    }
}

impl From<DepartmentError> for ApiError {
    fn from(e: DepartmentError) -> Self {
        use DepartmentError as E;
        let (code, status) = match e {
            E::NotHrAdmin => ("not_hr_admin", F),
            E::AlreadyExists => ("department_exists", C),
            E::NotFound => ("department_not_found", N),
            E::Closed => ("department_closed", C),
            E::InvalidName => ("invalid_name", U),
            E::Cycle => ("department_cycle", U),
            E::HasMembers => ("department_has_members", U),
        };
        rule(code, status, e)
    }
}

impl From<DelegationError> for ApiError {
    fn from(e: DelegationError) -> Self {
        use DelegationError as E;
        let (code, status) = match e {
            E::NotAllowed => ("delegation_not_allowed", F),
            E::AlreadyExists => ("delegation_exists", C),
            E::NotFound => ("delegation_not_found", N),
            E::AlreadyRevoked => ("delegation_revoked", C),
            E::SelfDelegation => ("self_delegation", U),
            E::EmptyWindow => ("empty_window", U),
        };
        rule(code, status, e)
    }
}

impl From<LeaveError> for ApiError {
    fn from(e: LeaveError) -> Self {
        use LeaveError as E;
        let (code, status) = match &e {
            E::NotHrAdmin => ("not_hr_admin", F),
            E::AlreadyGranted { .. } => ("leave_already_granted", C),
            E::InvalidDays => ("invalid_days", U),
            E::ReasonRequired => ("reason_required", U),
            E::WrongEmployee => ("wrong_employee", U),
            E::Insufficient { requested, available } => {
                return rule("insufficient_leave", U, &e)
                    .with(json!({ "requested": requested.to_string(), "available": available.to_string() }));
            }
        };
        rule(code, status, e)
    }
}

impl From<AuthorityError> for ApiError {
    fn from(e: AuthorityError) -> Self {
        use AuthorityError as E;
        let (code, status) = match &e {
            E::NotHrAdmin => ("not_hr_admin", F),
            E::InvalidTable(_) => ("invalid_authority_table", U),
            E::ReasonRequired => ("reason_required", U),
            E::NoRule { .. } => ("no_authority_rule", U),
        };
        rule(code, status, e)
    }
}

impl From<NumberError> for ApiError {
    fn from(e: NumberError) -> Self {
        rule("numbering", U, e)
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        let code = match e {
            RuleError::UnknownDrafter => "unknown_drafter",
            RuleError::NoApprover => "no_approver",
            RuleError::NoRule => "no_authority_rule",
        };
        rule(code, U, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_log_answers_503_with_retry_after() {
        let response = ApiError::from(EventLogError::Unavailable("no answer in time".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
