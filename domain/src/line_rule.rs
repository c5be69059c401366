//! Line rules (결재선 규칙): a pure function that suggests an approval line from the org
//! chart, the form and its amount. The suggestion names the rule id and version, which the
//! document records on 상신 so that an auditor can tell which policy built the line.
//!
//! Rule `standard` v2:
//! - 결재 by the drafter's reporting chain up to the approver the 전결 규정 names for the
//!   form and amount ([`crate::authority`]); but for leave, one approver further up, over
//!   whom that approver may then exercise 전결.
//! - Purchase above `head_threshold`: a 합의 step with the agreement department's head.
//! - Expense/purchase documents are received (수신) by the finance department, if configured.

use crate::approval::{ApprovalLine, Quorum, Step};
use crate::authority::{reporting_chain, requirement, AuthorityTable, Requirement};
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

/// Company-specific settings of the standard rule (who approves is the 전결 규정's, see
/// [`crate::authority`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePolicy {
    /// Purchases above this amount need the agreement department's 합의.
    pub head_threshold: Decimal,
    /// Department whose head agrees (합의) on larger purchases.
    pub agreement_department: Option<DepartmentId>,
    /// Department that receives (수신) expense and purchase documents.
    pub finance_department: Option<DepartmentId>,
}

impl Default for LinePolicy {
    fn default() -> Self {
        Self {
            head_threshold: Decimal::from(1_000_000),
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
    /// What the 전결 규정 requires of the line, and who will hold 전결권.
    pub requirement: Requirement,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// 422
    #[error("the drafter is not an active employee of the org chart")]
    UnknownDrafter,
    /// 422: nobody above the drafter can approve.
    #[error("no approver found above the drafter")]
    NoApprover,
    /// 422: the delegation-of-authority table has no row for the form.
    #[error("the delegation-of-authority table has no rule for this form")]
    NoRule,
}

impl crate::Refusal for RuleError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use RuleError as E;
        match self {
            E::UnknownDrafter => (Invalid, "unknown_drafter"),
            E::NoApprover => (Invalid, "no_approver"),
            E::NoRule => (Invalid, "no_authority_rule"),
        }
    }
}

/// The id of the standard rule.
pub const STANDARD_RULE: &str = "standard";

/// What the line rules read: the org chart, the company's line settings and its 전결 규정.
#[derive(Debug, Clone, Copy)]
pub struct LineRules<'a> {
    pub chart: &'a OrgChart,
    pub policy: &'a LinePolicy,
    pub table: &'a AuthorityTable,
}

/// A document as the line rules see it: who drafts which form over which amount / days.
#[derive(Debug, Clone, Copy)]
pub struct Drafting<'a> {
    pub drafter: EmployeeId,
    pub form: &'a FormTemplate,
    pub amount: Option<Decimal>,
    pub leave_days: Option<Decimal>,
}

impl LineRules<'_> {
    /// What the company's rules require of the line: the 전결 규정's approvers and, for larger
    /// purchases, the agreement department's head. 상신 checks the submitted line against
    /// exactly this.
    pub fn required_for(&self, doc: Drafting<'_>) -> Result<Requirement, RuleError> {
        required_for(self.chart, self.policy, self.table, doc)
    }

    /// The line the rules suggest: the required approvers, one step further up (but for
    /// leave), a 합의 step for larger purchases, the finance department as receiver.
    pub fn suggest(&self, doc: Drafting<'_>) -> Result<Suggestion, RuleError> {
        suggest_line(self.chart, self.policy, self.table, doc)
    }
}

fn required_for(
    chart: &OrgChart,
    policy: &LinePolicy,
    table: &AuthorityTable,
    Drafting {
        drafter,
        form,
        amount,
        leave_days,
    }: Drafting<'_>,
) -> Result<Requirement, RuleError> {
    if !chart.is_active(drafter) {
        return Err(RuleError::UnknownDrafter);
    }
    let amount = amount.unwrap_or_default();
    let agreement_head = policy
        .agreement_department
        .and_then(|d| chart.departments.get(&d)?.head)
        .filter(|h| *h != drafter && chart.is_active(*h));
    let agreement: Vec<EmployeeId> = match (form.kind, agreement_head) {
        (FormKind::Purchase, Some(head)) if amount > policy.head_threshold => vec![head],
        _ => Vec::new(),
    };
    let measure = match form.kind {
        FormKind::Leave => leave_days.unwrap_or_default(),
        _ => amount,
    };
    requirement(chart, table, drafter, form.kind, measure, agreement).map_err(|_| RuleError::NoRule)
}

/// Suggests a line for a document: the
/// approvers the 전결 규정 (`table`) requires, one step further up (but for leave) so the
/// final approver's 전결 has something to decide over, a 합의 step for larger purchases and
/// the finance department as receiver. The suggestion always satisfies the requirement it
/// carries; 전결권 itself is granted at 상신, so no step of the suggested line claims it.
fn suggest_line(
    chart: &OrgChart,
    policy: &LinePolicy,
    table: &AuthorityTable,
    doc: Drafting<'_>,
) -> Result<Suggestion, RuleError> {
    let (drafter, form) = (doc.drafter, doc.form);
    let requirement = required_for(chart, policy, table, doc)?;
    let money_form = matches!(form.kind, FormKind::Expense | FormKind::Purchase);
    let mut approvers = requirement.approvers.clone();
    if approvers.is_empty() {
        return Err(RuleError::NoApprover);
    }
    if form.kind != FormKind::Leave {
        let chain = reporting_chain(chart, drafter);
        approvers.extend(chain.get(approvers.len()).copied());
    }
    let mut steps: Vec<Step> = approvers.iter().map(|a| Step::approval(*a)).collect();
    if !requirement.agreement.is_empty() {
        let at = steps.len().saturating_sub(1).max(1).min(steps.len());
        steps.insert(
            at,
            Step::Agreement {
                members: requirement.agreement.clone(),
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
            version: 2,
        },
        requirement,
    })
}
