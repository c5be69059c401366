//! A read-only snapshot of the org chart, as line rules need it. Built by the caller from the
//! employee read model; the domain only walks it.

use crate::ids::{DepartmentId, EmployeeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgMember {
    pub department: DepartmentId,
    pub manager: Option<EmployeeId>,
    pub rank: u8,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDepartment {
    pub parent: Option<DepartmentId>,
    pub head: Option<EmployeeId>,
}

/// Employees and departments by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgChart {
    pub employees: BTreeMap<EmployeeId, OrgMember>,
    pub departments: BTreeMap<DepartmentId, OrgDepartment>,
}

impl OrgChart {
    pub fn is_active(&self, id: EmployeeId) -> bool {
        self.employees.get(&id).is_some_and(|m| m.active)
    }

    /// The department and its ancestors, nearest first. Stops on a cycle.
    pub fn ancestry(&self, department: DepartmentId) -> Vec<DepartmentId> {
        let mut chain = vec![department];
        let mut cursor = department;
        while let Some(parent) = self.departments.get(&cursor).and_then(|d| d.parent) {
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            cursor = parent;
        }
        chain
    }

    /// The nearest active head of `department` or of an ancestor, skipping `except`.
    pub fn head_above(&self, department: DepartmentId, except: EmployeeId) -> Option<EmployeeId> {
        self.ancestry(department)
            .into_iter()
            .filter_map(|d| self.departments.get(&d)?.head)
            .find(|h| *h != except && self.is_active(*h))
    }

    /// The head of the root of `department`'s tree (the executive / 대표).
    pub fn executive_of(&self, department: DepartmentId) -> Option<EmployeeId> {
        let root = *self.ancestry(department).last()?;
        self.departments.get(&root)?.head.filter(|h| self.is_active(*h))
    }
}
