//! What kind of refusal each domain error is, and its stable code, said once beside the rule
//! that refuses. Edges map the kind to their own wire (the command API: 404, 403, 409, 422,
//! 429) and pass the code on unchanged, so a client can tell refusals apart without parsing
//! messages, and no edge keeps its own table of the domain's errors.

/// The kinds of refusal a caller can act on differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The thing acted on does not exist.
    NotFound,
    /// It exists, but this actor may not do this to it.
    Forbidden,
    /// The state it is in now does not allow this (another actor may have moved it on).
    Conflict,
    /// The request itself breaks a rule; sending it again changes nothing.
    Invalid,
    /// Allowed again later (a per-actor limit).
    Limited,
}

/// A domain error's kind and stable, snake_case code.
pub trait Refusal: std::error::Error {
    fn refusal(&self) -> (RefusalKind, &'static str);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::ApprovalError;
    use crate::org::EmployeeError;

    #[test]
    fn each_error_says_its_kind_and_code_once() {
        assert_eq!(
            ApprovalError::NotFound.refusal(),
            (RefusalKind::NotFound, "document_not_found")
        );
        assert_eq!(
            ApprovalError::NotDrafter.refusal(),
            (RefusalKind::Forbidden, "not_drafter")
        );
        assert_eq!(
            ApprovalError::CommentLimit { retry_after_secs: None }.refusal(),
            (RefusalKind::Limited, "comment_limit")
        );
        assert_eq!(
            EmployeeError::EmailTaken.refusal(),
            (RefusalKind::Conflict, "email_taken")
        );
    }
}
