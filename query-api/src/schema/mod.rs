//! The query root. Every resolver starts from the viewer; every document passes the domain's
//! `visible_to` before it is returned — in lists, counts, node lookups and time travel alike.

use crate::context::{self, stores, viewer, Stores};
use crate::cost;
use crate::error::{self, bad_input, coded};
use crate::ids::{self, Kind};
use crate::types::*;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, EmptyMutation, EmptySubscription, InputObject, Object, Schema, SimpleObject, ID};
use chrono::{DateTime, Utc};
use domain::approval::{Approval, ApprovalDocument, ApprovalEvent};
use domain::form::builtin_forms;
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{OrgChart, OrgDepartment, OrgMember};
use domain::Aggregate;
use infra::eventlog::{streams, StreamRef};
use infra::readmodel::queries::{ApprovalSearch, EmployeeFilter};
use infra::readmodel::Projection;
use rust_decimal::Decimal;
use std::str::FromStr;

pub type ErpSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Limits every request is validated against before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub depth: usize,
    /// Lists weigh their page size or fan-out times their selection ([`crate::cost`]).
    pub complexity: usize,
    /// Aliased fields per operation, fragments counted as often as they are spread.
    pub aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 12,
            complexity: 2_000,
            aliases: 20,
        }
    }
}

pub fn build(stores: Stores, limits: Limits) -> ErpSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(stores)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_recursive_depth(32)
        .finish()
}

/// The schema in SDL, as committed in `query-api/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}

mod attendance;
mod calendar;
mod documents;
mod leave;
mod lookup;
mod org;
mod quests;

// The query root: documents and the viewer's own lists, then the organisation, leave, forms
// and operations — two halves of one `Query` type (fields keep their order in the SDL).
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    documents::DocumentQueries,
    org::OrgQueries,
    attendance::AttendanceQueries,
    quests::QuestQueries,
    leave::LeaveQueries,
    calendar::CalendarQueries,
);
