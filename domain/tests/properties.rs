//! Property tests over random command sequences against one document: no sequence breaks an
//! invariant, and folding the emitted events always rebuilds the state the decisions saw.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{
    Action, Approval, ApprovalCommand as C, ApprovalDocument, ApprovalEvent as E, ApprovalLine, Quorum, RejectTarget,
    Status, Step, Verdict,
};
use domain::form::general_form;
use domain::ids::{CommentId, EmployeeId};
use domain::testkit::requiring;
use domain::{Actor, Aggregate};
use proptest::prelude::*;
use support::*;
use uuid::Uuid;

const CAST: [EmployeeId; 6] = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK];

/// BOB → (CAROL, DAVE agree, 1 of 2) → ERIN; the 전결 규정 the documents are submitted under
/// requires BOB and gives him 전결권.
fn mixed_line() -> ApprovalLine {
    ApprovalLine {
        steps: vec![
            Step::approval(BOB),
            Step::Agreement {
                members: vec![CAROL, DAVE],
                quorum: Quorum::AtLeast(1),
            },
            Step::approval(ERIN),
        ],
        cc: vec![FRANK],
        receivers: Vec::new(),
    }
}

#[derive(Debug, Clone)]
enum Act {
    Submit,
    Approve { proxy_for: Option<usize> },
    ApproveAsFinal,
    Reject { previous: bool },
    Withdraw,
    Cancel,
    Hold,
    Release,
    Resubmit { line_b: bool },
    Comment,
    Save,
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        1 => Just(Act::Submit),
        3 => proptest::option::of(0usize..CAST.len()).prop_map(|p| Act::Approve { proxy_for: p }),
        1 => Just(Act::ApproveAsFinal),
        1 => any::<bool>().prop_map(|previous| Act::Reject { previous }),
        1 => Just(Act::Withdraw),
        1 => Just(Act::Cancel),
        1 => Just(Act::Hold),
        1 => Just(Act::Release),
        1 => any::<bool>().prop_map(|line_b| Act::Resubmit { line_b }),
        1 => Just(Act::Comment),
        1 => Just(Act::Save),
    ]
}

fn command(act: &Act, who: EmployeeId, minute: i64, n: u128) -> C {
    let by = Actor::employee(who);
    let at = t(minute);
    let proxy = |p: Option<usize>| p.map(|i| delegation(CAST[i], who));
    match act {
        Act::Submit => C::Submit {
            form: general_form(),
            rule: None,
            authority: requiring(&[BOB]),
            roster: roster(),
            leave_balance: None,
            by,
            at,
        },
        Act::Approve { proxy_for } => C::Approve {
            comment: None,
            proxy: proxy(*proxy_for),
            by,
            at,
        },
        Act::ApproveAsFinal => C::ApproveAsFinal { comment: None, by, at },
        Act::Reject { previous } => C::Reject {
            reason: "사유".into(),
            to: if *previous {
                RejectTarget::PreviousStep
            } else {
                RejectTarget::Drafter
            },
            proxy: None,
            by,
            at,
        },
        Act::Withdraw => C::Withdraw { by, at },
        Act::Cancel => C::CancelApproval { by, at },
        Act::Hold => C::Hold {
            reason: "보류".into(),
            proxy: None,
            by,
            at,
        },
        Act::Release => C::Release { proxy: None, by, at },
        Act::Resubmit { line_b } => C::Resubmit {
            form: general_form(),
            content: content("재상신"),
            line: if *line_b { line(&[DAVE, BOB]) } else { mixed_line() },
            rule: None,
            authority: requiring(&[BOB]),
            roster: roster(),
            leave_balance: None,
            by,
            at,
        },
        Act::Comment => C::Comment {
            id: CommentId(Uuid::from_u128(n)),
            text: "의견".into(),
            by,
            at,
        },
        Act::Save => C::SaveDraft {
            form: general_form(),
            content: content("수정"),
            line: mixed_line(),
            by,
            at,
        },
    }
}

fn is_decision(c: &C) -> bool {
    matches!(
        c,
        C::Approve { .. }
            | C::ApproveAsFinal { .. }
            | C::Reject { .. }
            | C::Hold { .. }
            | C::Release { .. }
            | C::CancelApproval { .. }
    )
}

/// Runs a random session and checks every invariant after each decision.
fn run(steps: &[(Act, usize)]) -> Result<(), TestCaseError> {
    let start = drafted(mixed_line());
    let mut state = Approval::fold([&start]);
    let mut log = vec![start];
    for (i, (act, who)) in steps.iter().enumerate() {
        let who = CAST[*who];
        let minute = i as i64 + 1;
        let cmd = command(act, who, minute, i as u128);
        let before = state.clone();
        let doc = before.document().expect("drafted");
        let result = state.decide(&cmd);

        if doc.status.is_terminal() && is_decision(&cmd) {
            prop_assert!(result.is_err(), "terminal {:?} accepted {:?}", doc.status, cmd);
        }
        let Ok(events) = result else { continue };
        for event in &events {
            prop_assert_eq!(event.at(), t(minute), "every event carries the command time");
            prop_assert_eq!(event.actor(), who, "every event names the actor");
            match event {
                E::Approved { .. }
                | E::ApprovedAsFinal { .. }
                | E::Disagreed { on_behalf_of: None, .. }
                | E::Held { .. } => {
                    prop_assert_ne!(who, ALICE, "nobody decides their own document");
                    prop_assert!(doc.current_approvers().contains(&who), "{} decided out of turn", who);
                }
                E::ProxyApproved { on_behalf_of, .. } => {
                    prop_assert_ne!(*on_behalf_of, ALICE);
                    prop_assert_ne!(who, ALICE);
                    prop_assert!(doc.current_approvers().contains(on_behalf_of));
                }
                E::Rejected { on_behalf_of, .. } => {
                    let member = on_behalf_of.unwrap_or(who);
                    prop_assert!(doc.current_approvers().contains(&member));
                }
                _ => {}
            }
            let json = serde_json::to_string(event).expect("serialises");
            prop_assert_eq!(&serde_json::from_str::<E>(&json).expect("deserialises"), event);
            state.evolve(event);
            log.push(event.clone());
        }
        let after = state.document().expect("still exists");
        for progress in &after.steps {
            let mut members: Vec<_> = progress.decisions.iter().map(|d| d.member).collect();
            members.sort();
            let n = members.len();
            members.dedup();
            prop_assert_eq!(n, members.len(), "a seat is decided at most once");
            prop_assert!(progress.decisions.iter().all(|d| d.member != ALICE && d.by != ALICE));
        }
        let mut actors: Vec<_> = after.steps.iter().flat_map(|p| &p.decisions).map(|d| d.by).collect();
        actors.sort();
        let n = actors.len();
        actors.dedup();
        prop_assert_eq!(n, actors.len(), "one person decides in one seat per revision");
        if after.status == Status::Approved {
            prop_assert!((0..after.line.steps.len()).all(|s| after.step_passed(s)));
            prop_assert!(after
                .steps
                .iter()
                .flat_map(|p| &p.decisions)
                .all(|d| d.verdict == Verdict::Agree || d.member != ALICE));
        }
        prop_assert_eq!(&Approval::fold(&log), &state, "folding the log rebuilds the state");
    }
    Ok(())
}

/// The command a client sends for `action` (as `who`, or as `who` in `proxy_for`'s seat).
fn command_for(action: Action, who: EmployeeId, proxy_for: Option<EmployeeId>, minute: i64) -> C {
    let by = Actor::employee(who);
    let at = t(minute);
    let proxy = proxy_for.map(|p| delegation(p, who));
    let reject = |to| C::Reject {
        reason: "사유".into(),
        to,
        proxy: proxy.clone(),
        by: by.clone(),
        at,
    };
    match action {
        Action::SaveDraft => command(&Act::Save, who, minute, 0),
        Action::Submit => command(&Act::Submit, who, minute, 0),
        Action::Discard => C::Discard { by, at },
        Action::Approve => C::Approve {
            comment: None,
            proxy,
            by,
            at,
        },
        Action::ApproveAsFinal => command(&Act::ApproveAsFinal, who, minute, 0),
        Action::Reject => reject(RejectTarget::Drafter),
        Action::RejectToPreviousStep => reject(RejectTarget::PreviousStep),
        Action::Hold => C::Hold {
            reason: "보류".into(),
            proxy,
            by,
            at,
        },
        Action::Release => C::Release { proxy, by, at },
        Action::Withdraw => command(&Act::Withdraw, who, minute, 0),
        Action::CancelApproval => command(&Act::Cancel, who, minute, 0),
        Action::Resubmit => command(&Act::Resubmit { line_b: false }, who, minute, 0),
        Action::Comment => command(&Act::Comment, who, minute, u128::from(u32::MAX)),
    }
}

const ALL_ACTIONS: [Action; 13] = [
    Action::SaveDraft,
    Action::Submit,
    Action::Discard,
    Action::Approve,
    Action::ApproveAsFinal,
    Action::Reject,
    Action::RejectToPreviousStep,
    Action::Hold,
    Action::Release,
    Action::Withdraw,
    Action::CancelApproval,
    Action::Resubmit,
    Action::Comment,
];
/// What a proxy is ever offered: the seat's decisions.
const SEAT_ACTIONS: [Action; 5] = [
    Action::Approve,
    Action::Reject,
    Action::RejectToPreviousStep,
    Action::Hold,
    Action::Release,
];

/// Everyone is offered exactly the actions `decide` would accept from them now, in their own
/// name and in each seat they might take as proxy.
fn offered_is_accepted(state: &Approval, doc: &ApprovalDocument, minute: i64) -> Result<(), TestCaseError> {
    for who in CAST {
        let offered = doc.viewer_actions(&Actor::employee(who), t(minute));
        for action in ALL_ACTIONS {
            let accepted = state.decide(&command_for(action, who, None, minute)).is_ok();
            prop_assert_eq!(
                offered.contains(&action),
                accepted,
                "{:?} for {} on {:?}",
                action,
                who,
                doc.status
            );
        }
        for principal in CAST.into_iter().filter(|p| *p != who) {
            let offered = doc.proxy_actions(&Actor::employee(who), &delegation(principal, who), t(minute));
            prop_assert!(offered.iter().all(|a| SEAT_ACTIONS.contains(a)));
            for action in SEAT_ACTIONS {
                let accepted = state.decide(&command_for(action, who, Some(principal), minute)).is_ok();
                prop_assert_eq!(
                    offered.contains(&action),
                    accepted,
                    "{:?} by {} for {} on {:?}",
                    action,
                    who,
                    principal,
                    doc.status
                );
            }
        }
    }
    Ok(())
}

/// Runs a random session and compares, before each step, what everyone is offered with what
/// `decide` accepts.
fn run_offers(steps: &[(Act, usize)]) -> Result<(), TestCaseError> {
    let mut state = Approval::fold(&[drafted(mixed_line())]);
    for (i, (act, who)) in steps.iter().enumerate() {
        let minute = i as i64 + 1;
        let doc = state.document().expect("drafted").clone();
        offered_is_accepted(&state, &doc, minute)?;
        if let Ok(events) = state.decide(&command(act, CAST[*who], minute, i as u128)) {
            for event in &events {
                state.evolve(event);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn everyone_is_offered_exactly_the_actions_decide_accepts(steps in proptest::collection::vec((act(), 0usize..CAST.len()), 1..30)) {
        run_offers(&steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn no_command_sequence_breaks_an_invariant(steps in proptest::collection::vec((act(), 0usize..CAST.len()), 1..40)) {
        run(&steps)?;
    }
}

#[test]
fn random_sessions_reach_every_status() {
    // A coverage check on the generator: the property above is only as good as the states it
    // visits. Drive a few fixed sessions to each outcome.
    let outcomes = [
        (vec![(Act::Submit, 0), (Act::ApproveAsFinal, 1)], Status::Approved),
        (
            vec![(Act::Submit, 0), (Act::Reject { previous: false }, 1)],
            Status::Rejected,
        ),
        (vec![(Act::Submit, 0), (Act::Withdraw, 0)], Status::Withdrawn),
        (vec![(Act::Submit, 0), (Act::Hold, 1)], Status::OnHold),
    ];
    for (steps, expected) in outcomes {
        let mut state = Approval::fold(&[drafted(mixed_line())]);
        for (i, (act, who)) in steps.iter().enumerate() {
            let events = state
                .decide(&command(act, CAST[*who], i as i64 + 1, i as u128))
                .unwrap();
            for e in &events {
                state.evolve(e);
            }
        }
        assert_eq!(state.document().unwrap().status, expected);
        run(&steps).unwrap();
    }
}
