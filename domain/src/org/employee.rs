//! The employee aggregate (사원): registration, profile changes, transfers, roles, the hire
//! date statutory leave accrues from (입사일), deactivation.

use crate::actor::{Actor, Role, Roles};
use crate::aggregate::{Aggregate, EventType};
use crate::ids::{DepartmentId, EmployeeId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Position / grade (직급), with a rank used by line rules (higher = more senior).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub title: String,
    pub rank: u8,
}

/// Commands on one employee.
#[derive(Debug, Clone, PartialEq)]
pub enum EmployeeCommand {
    Register {
        id: EmployeeId,
        name: String,
        email: String,
        department: DepartmentId,
        position: Position,
        manager: Option<EmployeeId>,
        roles: Roles,
        /// Current owner of this email per the directory, looked up by the caller.
        email_owner: Option<EmployeeId>,
        /// 입사일: recorded with the registration when known.
        hire_date: Option<NaiveDate>,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Records (or corrects) the hire date statutory leave accrues from.
    SetHireDate {
        hire_date: NaiveDate,
        by: Actor,
        at: DateTime<Utc>,
    },
    UpdateProfile {
        name: String,
        email: String,
        email_owner: Option<EmployeeId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    ChangeDepartment {
        department: DepartmentId,
        by: Actor,
        at: DateTime<Utc>,
    },
    ChangePosition {
        position: Position,
        by: Actor,
        at: DateTime<Utc>,
    },
    ChangeManager {
        manager: Option<EmployeeId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    AssignRoles {
        roles: Roles,
        by: Actor,
        at: DateTime<Utc>,
    },
    Deactivate {
        by: Actor,
        at: DateTime<Utc>,
    },
}

/// Facts about one employee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum EmployeeEvent {
    #[serde(rename = "employee.registered")]
    Registered {
        id: EmployeeId,
        name: String,
        email: String,
        department: DepartmentId,
        position: Position,
        manager: Option<EmployeeId>,
        roles: Roles,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.hire_date_set")]
    HireDateSet {
        hire_date: NaiveDate,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.profile_updated")]
    ProfileUpdated {
        name: String,
        email: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.department_changed")]
    DepartmentChanged {
        department: DepartmentId,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.position_changed")]
    PositionChanged {
        position: Position,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.manager_changed")]
    ManagerChanged {
        manager: Option<EmployeeId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.roles_assigned")]
    RolesAssigned {
        roles: Roles,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "employee.deactivated")]
    Deactivated { by: EmployeeId, at: DateTime<Utc> },
}

impl EventType for EmployeeEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered { .. } => "employee.registered",
            Self::HireDateSet { .. } => "employee.hire_date_set",
            Self::ProfileUpdated { .. } => "employee.profile_updated",
            Self::DepartmentChanged { .. } => "employee.department_changed",
            Self::PositionChanged { .. } => "employee.position_changed",
            Self::ManagerChanged { .. } => "employee.manager_changed",
            Self::RolesAssigned { .. } => "employee.roles_assigned",
            Self::Deactivated { .. } => "employee.deactivated",
        }
    }
}

/// Rule violations on the employee aggregate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmployeeError {
    /// 403: only HR admins manage employees.
    #[error("only an HR admin may manage employees")]
    NotHrAdmin,
    /// 409: the id is taken.
    #[error("employee already registered")]
    AlreadyRegistered,
    /// 404: no such employee.
    #[error("employee not found")]
    NotFound,
    /// 409: the employee was deactivated.
    #[error("employee is deactivated")]
    Deactivated,
    /// 422
    #[error("name must be 1..=100 characters")]
    InvalidName,
    /// 422
    #[error("email is not a valid address (at most 191 characters)")]
    InvalidEmail,
    /// 422
    #[error("a position title must be 1..=50 characters")]
    InvalidPosition,
    /// 409: emails are unique across the company.
    #[error("email already used by another employee")]
    EmailTaken,
    /// 422
    #[error("an employee cannot be their own manager")]
    OwnManager,
    /// 422: at least the employee role.
    #[error("roles must include `employee`")]
    MissingEmployeeRole,
}

impl crate::Refusal for EmployeeError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use EmployeeError as E;
        match self {
            E::NotHrAdmin => (Forbidden, "not_hr_admin"),
            E::AlreadyRegistered => (Conflict, "employee_exists"),
            E::NotFound => (NotFound, "employee_not_found"),
            E::Deactivated => (Conflict, "employee_deactivated"),
            E::InvalidName => (Invalid, "invalid_name"),
            E::InvalidEmail => (Invalid, "invalid_email"),
            E::InvalidPosition => (Invalid, "invalid_position"),
            E::EmailTaken => (Conflict, "email_taken"),
            E::OwnManager => (Invalid, "own_manager"),
            E::MissingEmployeeRole => (Invalid, "missing_employee_role"),
        }
    }
}

/// Current state of one employee.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employee {
    pub id: Option<EmployeeId>,
    pub name: String,
    pub email: String,
    pub department: Option<DepartmentId>,
    pub position: Option<Position>,
    pub manager: Option<EmployeeId>,
    pub roles: Roles,
    pub active: bool,
    /// 입사일, once recorded: statutory leave accrues from it.
    #[serde(default)]
    pub hire_date: Option<NaiveDate>,
}

/// Longest email: what a unique index on a utf8mb4 VARCHAR can hold in MySQL.
pub const MAX_EMAIL: usize = 191;

fn valid_position(position: &Position) -> Result<Position, EmployeeError> {
    let title = position.title.trim();
    if title.is_empty() || title.chars().count() > 50 {
        return Err(EmployeeError::InvalidPosition);
    }
    Ok(Position {
        title: title.to_owned(),
        rank: position.rank,
    })
}

fn valid_name(name: &str) -> Result<String, EmployeeError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(EmployeeError::InvalidName);
    }
    Ok(name.to_owned())
}

/// Normalises an email to lower case and checks its basic shape.
pub fn normalize_email(email: &str) -> Result<String, EmployeeError> {
    let email = email.trim().to_lowercase();
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.len() <= 254
                && email.chars().count() <= MAX_EMAIL
        }
        None => false,
    };
    if valid {
        Ok(email)
    } else {
        Err(EmployeeError::InvalidEmail)
    }
}

impl Employee {
    fn ensure_hr(by: &Actor) -> Result<(), EmployeeError> {
        if by.has(Role::HrAdmin) {
            Ok(())
        } else {
            Err(EmployeeError::NotHrAdmin)
        }
    }

    fn ensure_active(&self) -> Result<EmployeeId, EmployeeError> {
        let id = self.id.ok_or(EmployeeError::NotFound)?;
        if !self.active {
            return Err(EmployeeError::Deactivated);
        }
        Ok(id)
    }
}

impl Aggregate for Employee {
    type Command = EmployeeCommand;
    type Event = EmployeeEvent;
    type Error = EmployeeError;

    fn decide(&self, command: &EmployeeCommand) -> Result<Vec<EmployeeEvent>, EmployeeError> {
        use EmployeeCommand as C;
        use EmployeeEvent as E;
        let event = match command {
            C::Register {
                id,
                name,
                email,
                department,
                position,
                manager,
                roles,
                email_owner,
                hire_date,
                by,
                at,
            } => {
                Self::ensure_hr(by)?;
                if self.id.is_some() {
                    return Err(EmployeeError::AlreadyRegistered);
                }
                if email_owner.is_some_and(|owner| owner != *id) {
                    return Err(EmployeeError::EmailTaken);
                }
                if *manager == Some(*id) {
                    return Err(EmployeeError::OwnManager);
                }
                if !roles.contains(&Role::Employee) {
                    return Err(EmployeeError::MissingEmployeeRole);
                }
                let registered = E::Registered {
                    id: *id,
                    name: valid_name(name)?,
                    email: normalize_email(email)?,
                    department: *department,
                    position: valid_position(position)?,
                    manager: *manager,
                    roles: roles.clone(),
                    by: by.id,
                    at: *at,
                };
                let hired = hire_date.map(|hire_date| E::HireDateSet {
                    hire_date,
                    by: by.id,
                    at: *at,
                });
                return Ok(std::iter::once(registered).chain(hired).collect());
            }
            C::SetHireDate { hire_date, by, at } => {
                Self::ensure_hr(by)?;
                self.ensure_active()?;
                if self.hire_date == Some(*hire_date) {
                    return Ok(Vec::new());
                }
                E::HireDateSet {
                    hire_date: *hire_date,
                    by: by.id,
                    at: *at,
                }
            }
            C::UpdateProfile {
                name,
                email,
                email_owner,
                by,
                at,
            } => {
                Self::ensure_hr(by)?;
                let id = self.ensure_active()?;
                if email_owner.is_some_and(|owner| owner != id) {
                    return Err(EmployeeError::EmailTaken);
                }
                E::ProfileUpdated {
                    name: valid_name(name)?,
                    email: normalize_email(email)?,
                    by: by.id,
                    at: *at,
                }
            }
            C::ChangeDepartment { department, by, at } => {
                Self::ensure_hr(by)?;
                self.ensure_active()?;
                E::DepartmentChanged {
                    department: *department,
                    by: by.id,
                    at: *at,
                }
            }
            C::ChangePosition { position, by, at } => {
                Self::ensure_hr(by)?;
                self.ensure_active()?;
                E::PositionChanged {
                    position: valid_position(position)?,
                    by: by.id,
                    at: *at,
                }
            }
            C::ChangeManager { manager, by, at } => {
                Self::ensure_hr(by)?;
                let id = self.ensure_active()?;
                if *manager == Some(id) {
                    return Err(EmployeeError::OwnManager);
                }
                E::ManagerChanged {
                    manager: *manager,
                    by: by.id,
                    at: *at,
                }
            }
            C::AssignRoles { roles, by, at } => {
                Self::ensure_hr(by)?;
                self.ensure_active()?;
                if !roles.contains(&Role::Employee) {
                    return Err(EmployeeError::MissingEmployeeRole);
                }
                E::RolesAssigned {
                    roles: roles.clone(),
                    by: by.id,
                    at: *at,
                }
            }
            C::Deactivate { by, at } => {
                Self::ensure_hr(by)?;
                self.ensure_active()?;
                E::Deactivated { by: by.id, at: *at }
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &EmployeeEvent) {
        use EmployeeEvent as E;
        match event {
            E::Registered {
                id,
                name,
                email,
                department,
                position,
                manager,
                roles,
                ..
            } => {
                *self = Employee {
                    id: Some(*id),
                    name: name.clone(),
                    email: email.clone(),
                    department: Some(*department),
                    position: Some(position.clone()),
                    manager: *manager,
                    roles: roles.clone(),
                    active: true,
                    hire_date: None,
                };
            }
            E::HireDateSet { hire_date, .. } => self.hire_date = Some(*hire_date),
            E::ProfileUpdated { name, email, .. } => {
                self.name = name.clone();
                self.email = email.clone();
            }
            E::DepartmentChanged { department, .. } => self.department = Some(*department),
            E::PositionChanged { position, .. } => self.position = Some(position.clone()),
            E::ManagerChanged { manager, .. } => self.manager = *manager,
            E::RolesAssigned { roles, .. } => self.roles = roles.clone(),
            E::Deactivated { .. } => self.active = false,
        }
    }
}
