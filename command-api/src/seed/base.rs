//! What every part of the demo seed shares: the fixed ids, the demo policy, and the seeder
//! that runs each command through the command service.

use crate::error::ApiError;
use crate::service::{CommandService, Meta};
use crate::AppState;
use domain::ids::{DepartmentId, EmployeeId};
use domain::{Actor, Aggregate, Role};
use infra::eventlog::{streams, StreamRef};
use serde::de::DeserializeOwned;
use std::time::Duration;
use uuid::Uuid;

/// Fixed ids so the demo is the same on every machine: `…7000-8000-0000000001NN`.
pub const fn demo_id(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0100 + n)
}

pub const CEO: EmployeeId = EmployeeId(demo_id(1));
pub const HR: EmployeeId = EmployeeId(demo_id(2));
pub const FIN_HEAD: EmployeeId = EmployeeId(demo_id(3));
pub const DEV_HEAD: EmployeeId = EmployeeId(demo_id(4));
pub const PLATFORM_LEAD: EmployeeId = EmployeeId(demo_id(5));
pub const DEV_KANG: EmployeeId = EmployeeId(demo_id(6));
pub const DEV_YOON: EmployeeId = EmployeeId(demo_id(7));
pub const SALES_HEAD: EmployeeId = EmployeeId(demo_id(8));
pub const SALES_OH: EmployeeId = EmployeeId(demo_id(9));
pub const AUDITOR: EmployeeId = EmployeeId(demo_id(10));
pub const FIN_LIM: EmployeeId = EmployeeId(demo_id(11));
pub const DEV_CHO: EmployeeId = EmployeeId(demo_id(12));

pub const HQ: DepartmentId = DepartmentId(demo_id(51));
pub const MGMT: DepartmentId = DepartmentId(demo_id(52));
pub const FINANCE: DepartmentId = DepartmentId(demo_id(53));
pub const DEV: DepartmentId = DepartmentId(demo_id(54));
pub const PLATFORM: DepartmentId = DepartmentId(demo_id(55));
pub const SALES: DepartmentId = DepartmentId(demo_id(56));

/// The line policy the demo company uses: finance agrees on larger purchases and receives
/// expense and purchase documents.
pub fn demo_policy() -> domain::line_rule::LinePolicy {
    domain::line_rule::LinePolicy {
        agreement_department: Some(FINANCE),
        finance_department: Some(FINANCE),
        ..Default::default()
    }
}

pub(super) struct Seeder<'a> {
    pub(super) service: &'a CommandService,
    pub(super) state: &'a AppState,
    pub(super) n: u32,
}

impl Seeder<'_> {
    pub(super) async fn run<A>(
        &mut self,
        stream_type: &str,
        id: impl std::fmt::Display,
        command: A::Command,
    ) -> Result<u64, ApiError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned + serde::Serialize + domain::EventType,
        crate::service::DomainError: From<A::Error>,
    {
        self.n += 1;
        let meta = Meta::system(
            Uuid::from_u128(0x5eed_0000_0000_7000_8000_0000_0000_0000 + self.n as u128),
            None,
        );
        let stream = StreamRef::new(stream_type, id.to_string());
        let outcome = self.service.execute::<A>(&stream, None, &meta, &command).await?;
        if let Some(position) = outcome
            .position
            .as_deref()
            .and_then(infra::eventlog::Position::parse_token)
        {
            if matches!(stream_type, streams::EMPLOYEE | streams::DEPARTMENT) {
                self.state.directory.wait_for(&position, Duration::from_secs(10)).await;
            }
        }
        Ok(outcome.version)
    }
}

pub(super) fn hr() -> Actor {
    Actor::employee(HR).with_role(Role::HrAdmin)
}
