//! The OpenAPI tags the organisation's routes are listed under.

pub(super) const ORGANISATION: &str = "organisation";
pub(super) const LEAVE: &str = "leave";
