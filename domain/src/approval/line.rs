//! The approval line (결재선): ordered steps plus recipients.
//!
//! - 결재 ([`Step::Approval`]): one approver decides, in sequence.
//! - 합의 ([`Step::Agreement`]): a parallel group; all, or at least M of N, must agree.
//! - 참조 (`cc`): employees who may read and are notified; they do not decide.
//! - 수신 (`receivers`): departments that receive the approved document.

use crate::ids::{DepartmentId, EmployeeId};
use crate::org::OrgChart;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Most steps a line may have.
pub const MAX_STEPS: usize = 20;
/// Most members of one agreement (합의) group.
pub const MAX_AGREEMENT_MEMBERS: usize = 20;
/// Most employees in copy (참조).
pub const MAX_CC: usize = 50;
/// Most receiving departments (수신).
pub const MAX_RECEIVERS: usize = 20;

/// How many members of an agreement group must agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "m", rename_all = "snake_case")]
pub enum Quorum {
    All,
    AtLeast(u8),
}

/// One step of the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// 결재: one approver. `final_authority` marks delegated authority (전결권): this approver
    /// may approve as final and skip the rest of the line. Only the company's 전결 규정 sets
    /// it, at 상신 (`crate::authority`); a drafter who sets it is refused.
    Approval {
        approver: EmployeeId,
        #[serde(default)]
        final_authority: bool,
    },
    /// 합의: a parallel agreement group.
    Agreement { members: Vec<EmployeeId>, quorum: Quorum },
}

impl Step {
    pub fn approval(approver: EmployeeId) -> Self {
        Step::Approval {
            approver,
            final_authority: false,
        }
    }

    /// The employees who hold a seat in this step.
    pub fn members(&self) -> &[EmployeeId] {
        match self {
            Step::Approval { approver, .. } => std::slice::from_ref(approver),
            Step::Agreement { members, .. } => members,
        }
    }

    /// Agreements needed for the step to pass.
    pub fn required(&self) -> usize {
        match self {
            Step::Approval { .. } => 1,
            Step::Agreement {
                members,
                quorum: Quorum::All,
            } => members.len(),
            Step::Agreement {
                quorum: Quorum::AtLeast(m),
                ..
            } => *m as usize,
        }
    }
}

/// The whole line of a document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLine {
    pub steps: Vec<Step>,
    #[serde(default)]
    pub cc: Vec<EmployeeId>,
    #[serde(default)]
    pub receivers: Vec<DepartmentId>,
}

/// Why a line cannot be submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LineError {
    #[error("the line needs at least one approval or agreement step")]
    NoSteps,
    #[error("the drafter cannot be on their own approval line")]
    DrafterOnLine,
    #[error("an employee appears in more than one seat of the line")]
    DuplicateMember,
    #[error("an agreement group needs at least one member")]
    EmptyAgreement,
    #[error("an agreement quorum must be between 1 and the group size")]
    BadQuorum,
    #[error("the line has more than 20 steps")]
    TooLong,
    #[error("the line is too wide: at most 20 members per agreement, 50 in cc, 20 receiving departments")]
    TooWide,
    #[error("final authority (전결권) comes from the company's rules, not from the drafter")]
    AuthorityFromDrafter,
    #[error("{employee} is not an active employee")]
    UnknownEmployee { employee: EmployeeId },
    #[error("{department} is not a department")]
    UnknownDepartment { department: DepartmentId },
    #[error("the company's rules require these approvers on the line: {missing:?}")]
    MissingRequiredApprovers { missing: Vec<EmployeeId> },
}

/// The people and departments a line names, as the org chart knows them: looked up by the
/// caller (the domain cannot read the chart on its own) and carried in the command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRoster {
    /// Named employees who exist and are active.
    pub active: BTreeSet<EmployeeId>,
    /// Named departments that exist.
    pub departments: BTreeSet<DepartmentId>,
}

impl LineRoster {
    /// What `chart` knows of the names in `line`.
    pub fn of(line: &ApprovalLine, chart: &OrgChart) -> Self {
        Self {
            active: line
                .deciders()
                .chain(line.cc.iter().copied())
                .filter(|e| chart.is_active(*e))
                .collect(),
            departments: line
                .receivers
                .iter()
                .copied()
                .filter(|d| chart.departments.contains_key(d))
                .collect(),
        }
    }
}

impl ApprovalLine {
    /// A line of sequential 결재 steps.
    pub fn sequential(approvers: impl IntoIterator<Item = EmployeeId>) -> Self {
        Self {
            steps: approvers.into_iter().map(Step::approval).collect(),
            ..Self::default()
        }
    }

    /// Everyone who holds a deciding seat.
    pub fn deciders(&self) -> impl Iterator<Item = EmployeeId> + '_ {
        self.steps.iter().flat_map(|s| s.members().iter().copied())
    }

    /// Whether `who` is a decider or cc on this line.
    pub fn involves(&self, who: EmployeeId) -> bool {
        self.deciders().any(|d| d == who) || self.cc.contains(&who)
    }

    /// Checks the line is decidable, names only active people and existing departments,
    /// and leaves the drafter off it.
    pub fn validate(&self, drafter: EmployeeId, roster: &LineRoster) -> Result<(), LineError> {
        if self.steps.is_empty() {
            return Err(LineError::NoSteps);
        }
        self.validate_shape(drafter)?;
        if let Some(employee) = self
            .deciders()
            .chain(self.cc.iter().copied())
            .find(|e| !roster.active.contains(e))
        {
            return Err(LineError::UnknownEmployee { employee });
        }
        if let Some(department) = self.receivers.iter().find(|d| !roster.departments.contains(d)) {
            return Err(LineError::UnknownDepartment {
                department: *department,
            });
        }
        Ok(())
    }

    /// The checks a draft's line must pass already (기안, 임시저장): bounded, well formed,
    /// no authority granted by the drafter. A draft may still lack steps.
    pub fn validate_shape(&self, drafter: EmployeeId) -> Result<(), LineError> {
        if self.steps.len() > MAX_STEPS {
            return Err(LineError::TooLong);
        }
        let too_wide = self.cc.len() > MAX_CC
            || self.receivers.len() > MAX_RECEIVERS
            || self.steps.iter().any(|s| s.members().len() > MAX_AGREEMENT_MEMBERS);
        if too_wide {
            return Err(LineError::TooWide);
        }
        if self.steps.iter().any(|s| {
            matches!(
                s,
                Step::Approval {
                    final_authority: true,
                    ..
                }
            )
        }) {
            return Err(LineError::AuthorityFromDrafter);
        }
        let mut seen = BTreeSet::new();
        for step in &self.steps {
            if let Step::Agreement { members, quorum } = step {
                if members.is_empty() {
                    return Err(LineError::EmptyAgreement);
                }
                if let Quorum::AtLeast(m) = quorum {
                    if *m == 0 || *m as usize > members.len() {
                        return Err(LineError::BadQuorum);
                    }
                }
            }
            for member in step.members() {
                if *member == drafter {
                    return Err(LineError::DrafterOnLine);
                }
                if !seen.insert(*member) {
                    return Err(LineError::DuplicateMember);
                }
            }
        }
        Ok(())
    }
}
