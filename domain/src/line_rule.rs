//! Line rules (결재선 규칙): a pure function that suggests an approval line from the org
//! chart, the form and its amount. The suggestion names the rule id and version, which the
//! document records on 상신 so that an auditor can tell which policy built the line.
//!
//! Rule `standard` v1:
//! - 결재 by the drafter's manager (or, failing that, the nearest department head above).
//! - Expense/purchase: the nearest department head above not yet on the line joins it; the manager holds 전결권 (may
//!   approve as final) up to `head_threshold`. Above `executive_threshold` the executive
//!   (head of the root department) joins as the last approver.
//! - Purchase above `head_threshold`: a 합의 step with the agreement department's head.
//! - Leave: the department head joins for more than `leave_head_days` days.
//! - Expense/purchase documents are received (수신) by the finance department, if configured.

use crate::approval::{ApprovalLine, Quorum, Step};
use crate::form::{FormKind, FormTemplate};
use crate::ids::{DepartmentId, EmployeeId};
use crate::org::OrgChart;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Which rule (and version) built a line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub version: u32,
}

/// Company-specific thresholds of the standard rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePolicy {
    pub head_threshold: Decimal,
    pub executive_threshold: Decimal,
    pub leave_head_days: Decimal,
    /// Department whose head agrees (합의) on larger purchases.
    pub agreement_department: Option<DepartmentId>,
    /// Department that receives (수신) expense and purchase documents.
    pub finance_department: Option<DepartmentId>,
}

impl Default for LinePolicy {
    fn default() -> Self {
        Self {
            head_threshold: Decimal::from(1_000_000),
            executive_threshold: Decimal::from(10_000_000),
            leave_head_days: Decimal::from(3),
            agreement_department: None,
            finance_department: None,
        }
    }
}

/// A suggested line and the rule that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub line: ApprovalLine,
    pub rule: RuleRef,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// 422
    #[error("the drafter is not an active employee of the org chart")]
    UnknownDrafter,
    /// 422: nobody above the drafter can approve.
    #[error("no approver found above the drafter")]
    NoApprover,
}

/// The id of the standard rule.
pub const STANDARD_RULE: &str = "standard";

/// Suggests a line for `drafter` drafting `form` with the given amount / leave days.
pub fn suggest_line(
    chart: &OrgChart,
    policy: &LinePolicy,
    drafter: EmployeeId,
    form: &FormTemplate,
    amount: Option<Decimal>,
    leave_days: Option<Decimal>,
) -> Result<Suggestion, RuleError> {
    let me = chart
        .employees
        .get(&drafter)
        .filter(|m| m.active)
        .ok_or(RuleError::UnknownDrafter)?;
    let amount = amount.unwrap_or_default();
    let money_form = matches!(form.kind, FormKind::Expense | FormKind::Purchase);

    let mut approvers: Vec<EmployeeId> = Vec::new();
    let add = |who: Option<EmployeeId>, approvers: &mut Vec<EmployeeId>| {
        if let Some(who) = who.filter(|w| *w != drafter && chart.is_active(*w) && !approvers.contains(w)) {
            approvers.push(who);
        }
    };
    let manager = me.manager.filter(|m| chart.is_active(*m));
    add(
        manager.or_else(|| chart.head_above(me.department, drafter)),
        &mut approvers,
    );
    let needs_head = match form.kind {
        FormKind::Expense | FormKind::Purchase | FormKind::General => true,
        FormKind::Leave => leave_days.unwrap_or_default() > policy.leave_head_days,
    };
    if needs_head {
        // The nearest head above the drafter who is not already on the line: a team lead who
        // is both manager and head sends the document one level up (팀장 → 본부장).
        let head = chart
            .ancestry(me.department)
            .into_iter()
            .filter_map(|d| chart.departments.get(&d)?.head)
            .find(|h| *h != drafter && chart.is_active(*h) && !approvers.contains(h));
        add(head, &mut approvers);
    }
    if money_form && amount > policy.executive_threshold {
        add(chart.executive_of(me.department), &mut approvers);
    }
    if approvers.is_empty() {
        return Err(RuleError::NoApprover);
    }

    let small = money_form && amount <= policy.head_threshold;
    let mut steps: Vec<Step> = approvers
        .iter()
        .enumerate()
        .map(|(i, approver)| Step::Approval {
            approver: *approver,
            final_authority: small && i == 0 && approvers.len() > 1,
        })
        .collect();

    let agreement_head = policy
        .agreement_department
        .and_then(|d| chart.departments.get(&d)?.head)
        .filter(|h| *h != drafter && chart.is_active(*h) && !approvers.contains(h));
    if let (FormKind::Purchase, true, Some(head)) = (form.kind, amount > policy.head_threshold, agreement_head) {
        let at = steps.len().saturating_sub(1).max(1).min(steps.len());
        steps.insert(
            at,
            Step::Agreement {
                members: vec![head],
                quorum: Quorum::All,
            },
        );
    }

    let receivers = match (money_form, policy.finance_department) {
        (true, Some(finance)) => vec![finance],
        _ => Vec::new(),
    };
    Ok(Suggestion {
        line: ApprovalLine {
            steps,
            cc: Vec::new(),
            receivers,
        },
        rule: RuleRef {
            id: STANDARD_RULE.into(),
            version: 1,
        },
    })
}
