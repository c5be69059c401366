//! GraphQL object types over read-model records and folded domain documents.

use crate::content::{body_fields, AttachmentOut, BodyField, FieldDefOut, FormKindOut, LineOut};
use crate::context::{self, stores, viewer};
use crate::cost;
use crate::error;
use crate::ids::{global, Kind};
use async_graphql::{ComplexObject, Context, Enum, Interface, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use domain::approval::{Action, ApprovalDocument, Inbox, Notice, Quorum, Status, Step, Verdict};
use domain::attendance::{DepartmentSchedules, WorkSchedule};
use domain::notice::HrNotice;
use infra::readmodel::queries::{DepartmentRecord, EmployeeRecord, LeaveEntry};

mod enums;
mod lists;
mod nodes;
mod schedule;

pub use enums::*;
pub use lists::*;
pub use nodes::*;
pub use schedule::*;
