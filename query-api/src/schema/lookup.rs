//! What both halves of the query root look up the same way: a document the viewer may see,
//! and the raw ids of employee and department arguments.

use crate::context::{stores, Viewer};
use crate::error::{self, bad_input};
use crate::ids::{self, Kind};
use crate::types::ApprovalNode;
use async_graphql::{Context, ID};

/// A document from the views, if it exists and the viewer may see it.
pub async fn visible_document(
    ctx: &Context<'_>,
    viewer: &Viewer,
    id: &str,
) -> async_graphql::Result<Option<ApprovalNode>> {
    let Some((version, doc)) = stores(ctx).views.approval_document(id).await.map_err(error::store)? else {
        return Ok(None);
    };
    Ok(viewer.sees(&doc).then_some(ApprovalNode {
        doc,
        version,
        as_of: None,
    }))
}

/// The raw id of an employee's global id.
pub fn employee_id(id: &ID) -> async_graphql::Result<String> {
    ids::parse(id, Some(Kind::Employee))
        .map(|(_, raw)| raw)
        .ok_or_else(|| bad_input(format!("{} is not an employee id", id.as_str())))
}

/// The raw id of an optional `departmentId` argument (a global id or a UUID).
pub fn department_id(id: Option<&ID>) -> async_graphql::Result<Option<String>> {
    id.map(|id| {
        ids::parse(id, Some(Kind::Department))
            .map(|(_, raw)| raw)
            .ok_or_else(|| bad_input("departmentId is not a department id"))
    })
    .transpose()
}

/// The first and last day of `month` (`YYYY-MM`).
pub fn month_span(month: &str) -> async_graphql::Result<(chrono::NaiveDate, chrono::NaiveDate)> {
    let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| month.len() == 7)
        .ok_or_else(|| bad_input("`month` is not a month (YYYY-MM)"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| bad_input("`month` is out of range"))?;
    Ok((first, last))
}
