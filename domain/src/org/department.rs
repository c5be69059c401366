//! The department aggregate (부서): a node of the org tree with a parent and a head (부서장).
//! Cycle checks need the proposed parent's ancestry, which the caller looks up and passes in.
//! A department may have its own work schedule (근무 일정), which its sub-departments inherit
//! unless they have their own ([`DepartmentSchedules::of`](crate::attendance::DepartmentSchedules::of)).

use crate::actor::{Actor, Role};
use crate::aggregate::{Aggregate, EventType};
use crate::attendance::{ScheduleError, WorkSchedule};
use crate::ids::{DepartmentId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum DepartmentCommand {
    Create {
        id: DepartmentId,
        name: String,
        code: String,
        parent: Option<DepartmentId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Rename {
        name: String,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// Move under a new parent. `parent_ancestors` is the new parent's chain up to the root.
    Move {
        parent: Option<DepartmentId>,
        parent_ancestors: Vec<DepartmentId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    AppointHead {
        head: Option<EmployeeId>,
        by: Actor,
        at: DateTime<Utc>,
    },
    Close {
        has_members: bool,
        by: Actor,
        at: DateTime<Utc>,
    },
    /// 근무 일정: the schedule the department's days are judged by from now on (its
    /// sub-departments' too, unless they have their own); `None` returns it to the
    /// company's standard.
    SetSchedule {
        schedule: Option<WorkSchedule>,
        by: Actor,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DepartmentEvent {
    #[serde(rename = "department.created")]
    Created {
        id: DepartmentId,
        name: String,
        code: String,
        parent: Option<DepartmentId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "department.renamed")]
    Renamed {
        name: String,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "department.moved")]
    Moved {
        parent: Option<DepartmentId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "department.head_appointed")]
    HeadAppointed {
        head: Option<EmployeeId>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "department.closed")]
    Closed { by: EmployeeId, at: DateTime<Utc> },
    #[serde(rename = "department.schedule_set")]
    ScheduleSet {
        schedule: Option<WorkSchedule>,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

impl EventType for DepartmentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => "department.created",
            Self::Renamed { .. } => "department.renamed",
            Self::Moved { .. } => "department.moved",
            Self::HeadAppointed { .. } => "department.head_appointed",
            Self::Closed { .. } => "department.closed",
            Self::ScheduleSet { .. } => "department.schedule_set",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DepartmentError {
    /// 403
    #[error("only an HR admin may manage departments")]
    NotHrAdmin,
    /// 409
    #[error("department already exists")]
    AlreadyExists,
    /// 404
    #[error("department not found")]
    NotFound,
    /// 409
    #[error("department is closed")]
    Closed,
    /// 422
    #[error("name and code must be non-empty (name ≤ 100, code ≤ 20 characters)")]
    InvalidName,
    /// 422: the org chart is a tree.
    #[error("a department cannot be moved under itself or its descendants")]
    Cycle,
    /// 422
    #[error("a department with members cannot be closed")]
    HasMembers,
    /// 422
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

impl crate::Refusal for DepartmentError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use DepartmentError as E;
        match self {
            E::NotHrAdmin => (Forbidden, "not_hr_admin"),
            E::AlreadyExists => (Conflict, "department_exists"),
            E::NotFound => (NotFound, "department_not_found"),
            E::Closed => (Conflict, "department_closed"),
            E::InvalidName => (Invalid, "invalid_name"),
            E::Cycle => (Invalid, "department_cycle"),
            E::HasMembers => (Invalid, "department_has_members"),
            E::Schedule(e) => crate::Refusal::refusal(e),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Department {
    pub id: Option<DepartmentId>,
    pub name: String,
    pub code: String,
    pub parent: Option<DepartmentId>,
    pub head: Option<EmployeeId>,
    pub closed: bool,
    /// Its own work schedule, if it has one.
    #[serde(default)]
    pub schedule: Option<WorkSchedule>,
}

impl Department {
    fn open(&self, by: &Actor) -> Result<DepartmentId, DepartmentError> {
        if !by.has(Role::HrAdmin) {
            return Err(DepartmentError::NotHrAdmin);
        }
        let id = self.id.ok_or(DepartmentError::NotFound)?;
        if self.closed {
            return Err(DepartmentError::Closed);
        }
        Ok(id)
    }
}

fn valid_name(name: &str) -> Result<String, DepartmentError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DepartmentError::InvalidName);
    }
    Ok(name.to_owned())
}

impl Aggregate for Department {
    type Command = DepartmentCommand;
    type Event = DepartmentEvent;
    type Error = DepartmentError;

    fn decide(&self, command: &DepartmentCommand) -> Result<Vec<DepartmentEvent>, DepartmentError> {
        use DepartmentCommand as C;
        use DepartmentEvent as E;
        let event = match command {
            C::Create {
                id,
                name,
                code,
                parent,
                by,
                at,
            } => {
                if !by.has(Role::HrAdmin) {
                    return Err(DepartmentError::NotHrAdmin);
                }
                if self.id.is_some() {
                    return Err(DepartmentError::AlreadyExists);
                }
                let code = code.trim();
                if code.is_empty() || code.chars().count() > 20 {
                    return Err(DepartmentError::InvalidName);
                }
                if *parent == Some(*id) {
                    return Err(DepartmentError::Cycle);
                }
                E::Created {
                    id: *id,
                    name: valid_name(name)?,
                    code: code.to_owned(),
                    parent: *parent,
                    by: by.id,
                    at: *at,
                }
            }
            C::Rename { name, by, at } => {
                self.open(by)?;
                E::Renamed {
                    name: valid_name(name)?,
                    by: by.id,
                    at: *at,
                }
            }
            C::Move {
                parent,
                parent_ancestors,
                by,
                at,
            } => {
                let id = self.open(by)?;
                if *parent == Some(id) || parent_ancestors.contains(&id) {
                    return Err(DepartmentError::Cycle);
                }
                E::Moved {
                    parent: *parent,
                    by: by.id,
                    at: *at,
                }
            }
            C::AppointHead { head, by, at } => {
                self.open(by)?;
                E::HeadAppointed {
                    head: *head,
                    by: by.id,
                    at: *at,
                }
            }
            C::Close { has_members, by, at } => {
                self.open(by)?;
                if *has_members {
                    return Err(DepartmentError::HasMembers);
                }
                E::Closed { by: by.id, at: *at }
            }
            C::SetSchedule { schedule, by, at } => {
                self.open(by)?;
                if let Some(s) = schedule {
                    WorkSchedule::new(s.start, s.end, s.break_minutes, s.core, s.work_days.clone())
                        .map_err(DepartmentError::Schedule)?;
                }
                if *schedule == self.schedule {
                    return Ok(Vec::new());
                }
                E::ScheduleSet {
                    schedule: schedule.clone(),
                    by: by.id,
                    at: *at,
                }
            }
        };
        Ok(vec![event])
    }

    fn evolve(&mut self, event: &DepartmentEvent) {
        use DepartmentEvent as E;
        match event {
            E::Created {
                id, name, code, parent, ..
            } => {
                *self = Department {
                    id: Some(*id),
                    name: name.clone(),
                    code: code.clone(),
                    parent: *parent,
                    head: None,
                    closed: false,
                    schedule: None,
                }
            }
            E::Renamed { name, .. } => self.name = name.clone(),
            E::Moved { parent, .. } => self.parent = *parent,
            E::HeadAppointed { head, .. } => self.head = *head,
            E::Closed { .. } => self.closed = true,
            E::ScheduleSet { schedule, .. } => self.schedule = schedule.clone(),
        }
    }
}
