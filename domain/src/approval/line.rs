//! The approval line (결재선): ordered steps plus recipients.
//!
//! - 결재 ([`Step::Approval`]): one approver decides, in sequence.
//! - 합의 ([`Step::Agreement`]): a parallel group; all, or at least M of N, must agree.
//! - 참조 (`cc`): employees who may read and are notified; they do not decide.
//! - 수신 (`receivers`): departments that receive the approved document.

use crate::ids::{DepartmentId, EmployeeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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
    /// may approve as final and skip the rest of the line.
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

    /// Checks the line is decidable and the drafter is not on it.
    pub fn validate(&self, drafter: EmployeeId) -> Result<(), LineError> {
        if self.steps.is_empty() {
            return Err(LineError::NoSteps);
        }
        if self.steps.len() > 20 {
            return Err(LineError::TooLong);
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
