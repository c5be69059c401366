//! Organisation and leave, one module per resource: employees, departments, proxy
//! delegations, leave grants and adjustments, and the company's 전결 규정 (policy). HR admins
//! manage; an employee may name their own proxy. Each handler turns its request into one
//! domain command on the resource's own stream; the domain decides who may.

mod delegations;
mod departments;
mod employees;
mod leave;
mod policy;
mod tags;

use crate::openapi::Api;

pub use delegations::DelegationRequest;
pub use departments::{CreateDepartmentRequest, HeadRequest, ParentRequest, RenameRequest};
pub use employees::{DepartmentRef, ManagerRequest, PositionDto, ProfileRequest, RegisterRequest, RolesRequest};
pub use leave::{AdjustRequest, GrantRequest, LeaveBalance};
pub use policy::{AuthorityRowView, AuthorityTableRequest, AuthorityTableView};

pub fn routes(api: Api) -> Api {
    let api = employees::routes(api);
    let api = departments::routes(api);
    let api = delegations::routes(api);
    let api = leave::routes(api);
    policy::routes(api)
}
