//! Proxy delegation (대결자 지정): an employee names a proxy who may decide in their place for
//! a time window. The approval aggregate accepts a proxy decision only with a [`Delegation`]
//! that is active at the decision's time.

use crate::actor::{Actor, Role};
use crate::aggregate::{Aggregate, EventType};
use crate::ids::{DelegationId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A half-open time window `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DelegationCommand {
    Grant {
        id: DelegationId,
        principal: EmployeeId,
        proxy: EmployeeId,
        window: Window,
        reason: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    Revoke {
        by: Actor,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DelegationEvent {
    #[serde(rename = "delegation.granted")]
    Granted {
        id: DelegationId,
        principal: EmployeeId,
        proxy: EmployeeId,
        window: Window,
        reason: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "delegation.revoked")]
    Revoked { by: EmployeeId, at: DateTime<Utc> },
}

impl EventType for DelegationEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Granted { .. } => "delegation.granted",
            Self::Revoked { .. } => "delegation.revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelegationError {
    /// 403: only the principal or an HR admin names a proxy.
    #[error("only the principal or an HR admin may manage this delegation")]
    NotAllowed,
    /// 409
    #[error("delegation already exists")]
    AlreadyExists,
    /// 404
    #[error("delegation not found")]
    NotFound,
    /// 409
    #[error("delegation already revoked")]
    AlreadyRevoked,
    /// 422
    #[error("an employee cannot be their own proxy")]
    SelfDelegation,
    /// 422
    #[error("the window must end after it starts")]
    EmptyWindow,
}

impl crate::Refusal for DelegationError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use DelegationError as E;
        match self {
            E::NotAllowed => (Forbidden, "delegation_not_allowed"),
            E::AlreadyExists => (Conflict, "delegation_exists"),
            E::NotFound => (NotFound, "delegation_not_found"),
            E::AlreadyRevoked => (Conflict, "delegation_revoked"),
            E::SelfDelegation => (Invalid, "self_delegation"),
            E::EmptyWindow => (Invalid, "empty_window"),
        }
    }
}

/// One delegation's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    pub id: Option<DelegationId>,
    pub principal: Option<EmployeeId>,
    pub proxy: Option<EmployeeId>,
    pub window: Option<Window>,
    pub revoked: bool,
}

impl Delegation {
    /// Whether `proxy` may act for `principal` at `at` under this delegation.
    pub fn authorises(&self, proxy: EmployeeId, principal: EmployeeId, at: DateTime<Utc>) -> bool {
        !self.revoked
            && self.proxy == Some(proxy)
            && self.principal == Some(principal)
            && self.window.is_some_and(|w| w.contains(at))
    }

    fn may_manage(principal: EmployeeId, by: &Actor) -> bool {
        by.id == principal || by.has(Role::HrAdmin)
    }
}

impl Aggregate for Delegation {
    type Command = DelegationCommand;
    type Event = DelegationEvent;
    type Error = DelegationError;

    fn decide(&self, command: &DelegationCommand) -> Result<Vec<DelegationEvent>, DelegationError> {
        match command {
            DelegationCommand::Grant {
                id,
                principal,
                proxy,
                window,
                reason,
                by,
                at,
            } => {
                if self.id.is_some() {
                    return Err(DelegationError::AlreadyExists);
                }
                if !Self::may_manage(*principal, by) {
                    return Err(DelegationError::NotAllowed);
                }
                if principal == proxy {
                    return Err(DelegationError::SelfDelegation);
                }
                if window.until <= window.from {
                    return Err(DelegationError::EmptyWindow);
                }
                Ok(vec![DelegationEvent::Granted {
                    id: *id,
                    principal: *principal,
                    proxy: *proxy,
                    window: *window,
                    reason: reason.trim().to_owned(),
                    by: by.id,
                    at: *at,
                }])
            }
            DelegationCommand::Revoke { by, at } => {
                let principal = self.principal.ok_or(DelegationError::NotFound)?;
                if !Self::may_manage(principal, by) {
                    return Err(DelegationError::NotAllowed);
                }
                if self.revoked {
                    return Err(DelegationError::AlreadyRevoked);
                }
                Ok(vec![DelegationEvent::Revoked { by: by.id, at: *at }])
            }
        }
    }

    fn evolve(&mut self, event: &DelegationEvent) {
        match event {
            DelegationEvent::Granted {
                id,
                principal,
                proxy,
                window,
                ..
            } => {
                *self = Delegation {
                    id: Some(*id),
                    principal: Some(*principal),
                    proxy: Some(*proxy),
                    window: Some(*window),
                    revoked: false,
                }
            }
            DelegationEvent::Revoked { .. } => self.revoked = true,
        }
    }
}
