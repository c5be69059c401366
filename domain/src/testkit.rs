//! A given/when/then harness for aggregates: given past events, when a command is decided,
//! then expect these events (or this error). Folding the emitted events must also succeed.

use crate::aggregate::Aggregate;
use std::fmt::Debug;

/// Past events of one stream.
#[derive(Debug)]
pub struct Given<A: Aggregate> {
    state: A,
}

/// Starts a scenario from past events.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let events: Vec<A::Event> = events.into_iter().collect();
    Given {
        state: A::fold(&events),
    }
}

impl<A: Aggregate> Given<A> {
    /// Decides `command` against the folded state.
    pub fn when(self, command: A::Command) -> Then<A> {
        let result = self.state.decide(&command);
        Then {
            state: self.state,
            result,
        }
    }

    /// The state folded from the given events.
    pub fn state(&self) -> &A {
        &self.state
    }
}

/// The outcome of one decision.
#[derive(Debug)]
pub struct Then<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A> Then<A>
where
    A: Aggregate + Debug,
    A::Event: PartialEq + Debug,
    A::Error: PartialEq + Debug,
{
    /// Asserts the emitted events and returns the state after them.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<_> = expected.into_iter().collect();
        let (state, events) = self.applied();
        assert_eq!(events, expected, "unexpected events");
        state
    }

    /// Asserts the command was refused with `expected`.
    #[track_caller]
    pub fn then_err(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!("expected error {expected:?}, got events {events:?}"),
            Err(error) => assert_eq!(error, expected),
        }
    }

    /// The emitted events (panics on a refusal).
    #[track_caller]
    pub fn events(self) -> Vec<A::Event> {
        self.applied().1
    }

    /// The state after applying the emitted events (panics on a refusal).
    #[track_caller]
    pub fn state_after(self) -> A {
        self.applied().0
    }

    #[track_caller]
    fn applied(self) -> (A, Vec<A::Event>) {
        match self.result {
            Ok(events) => {
                let mut state = self.state;
                for event in &events {
                    state.evolve(event);
                }
                (state, events)
            }
            Err(error) => panic!("expected events, got error {error:?}"),
        }
    }
}

/// The instant of a company-local (KST, +09:00) wall-clock time, as commands carry it (UTC).
pub fn kst(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    crate::attendance::KST
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .expect("a valid KST time")
        .to_utc()
}

/// What a scenario about other rules submits with: no approver required by the 전결 규정,
/// nobody granted 전결권.
pub fn no_requirement() -> crate::authority::Requirement {
    requiring(&[])
}

/// A requirement naming `approvers` in order; the last holds 전결권 (when steps follow).
pub fn requiring(approvers: &[crate::ids::EmployeeId]) -> crate::authority::Requirement {
    crate::authority::Requirement {
        rule: crate::authority::AuthorityRef {
            table_version: 0,
            row: crate::authority::AuthorityRow {
                form: crate::form::FormKind::General,
                up_to: None,
                final_rank: 0,
            },
        },
        approvers: approvers.to_vec(),
        agreement: Vec::new(),
        final_approver: approvers.last().copied(),
    }
}

/// A roster in which everyone `line` names is active and every receiver exists.
pub fn roster_of(line: &crate::approval::ApprovalLine) -> crate::approval::LineRoster {
    crate::approval::LineRoster {
        active: line.deciders().chain(line.cc.iter().copied()).collect(),
        departments: line.receivers.iter().copied().collect(),
    }
}
