//! Who is acting: the authenticated employee and the roles the edge resolved for them.
//! Commands carry an [`Actor`] so that authorisation rules stay pure and testable here.

use crate::ids::{DepartmentId, EmployeeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A role (역할) an employee holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Every employee: drafts and decides documents on their line.
    Employee,
    /// Leads a team; may approve as a line member like anyone else.
    Manager,
    /// 인사 관리자: manages employees, departments, delegations and leave.
    HrAdmin,
    /// 감사: reads every document and the audit trail; changes nothing.
    Auditor,
}

/// The set of roles an employee holds.
pub type Roles = BTreeSet<Role>;

/// The employee issuing a command, as resolved by the edge from a verified token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub id: EmployeeId,
    pub roles: Roles,
    /// The actor's department, used to recognise members of a receiving department (수신).
    pub department: Option<DepartmentId>,
}

impl Actor {
    /// A plain employee with no special roles.
    pub fn employee(id: EmployeeId) -> Self {
        Self {
            id,
            roles: [Role::Employee].into(),
            department: None,
        }
    }

    /// The same actor with an extra role.
    pub fn with_role(mut self, role: Role) -> Self {
        self.roles.insert(role);
        self
    }

    /// The same actor as a member of `department`.
    pub fn in_department(mut self, department: DepartmentId) -> Self {
        self.department = Some(department);
        self
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether they read every employee's HR records (attendance, leave, quests): HR admins
    /// and auditors.
    pub fn reads_every_hr_record(&self) -> bool {
        self.has(Role::HrAdmin) || self.has(Role::Auditor)
    }
}
