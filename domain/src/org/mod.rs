//! Organisation (조직): employees, departments as a tree with heads, roles, and proxy
//! delegations (대결자). Only HR admins change the organisation, except that an employee may
//! name their own proxy.

pub mod chart;
pub mod delegation;
pub mod department;
pub mod employee;

pub use chart::{OrgChart, OrgDepartment, OrgMember};
pub use delegation::{Delegation, DelegationCommand, DelegationError, DelegationEvent, Window};
pub use department::{Department, DepartmentCommand, DepartmentError, DepartmentEvent};
pub use employee::{Employee, EmployeeCommand, EmployeeError, EmployeeEvent, Position};
