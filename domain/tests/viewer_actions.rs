//! What each viewer is offered on a document (`ApprovalDocument::viewer_actions` and
//! `proxy_actions`), as given/when/then scenarios: given the document's events, when a viewer
//! looks at it, then these actions. `properties.rs` checks on random sessions that the offer
//! is always exactly what `decide` accepts.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{Action, Approval, ApprovalEvent as E, RejectTarget};
use domain::ids::{CommentId, EmployeeId};
use domain::testkit::given;
use domain::Actor;
use std::collections::BTreeSet;
use support::*;
use uuid::Uuid;

/// What `who` is offered at minute `minute`, given `events`.
fn offered(events: impl IntoIterator<Item = E>, who: EmployeeId, minute: i64) -> BTreeSet<Action> {
    offered_to(events, &actor(who), minute)
}

fn offered_to(events: impl IntoIterator<Item = E>, who: &Actor, minute: i64) -> BTreeSet<Action> {
    let state = given::<Approval>(events);
    state.state().document().unwrap().viewer_actions(who, t(minute))
}

fn set<const N: usize>(actions: [Action; N]) -> BTreeSet<Action> {
    actions.into()
}

fn submitted_two_step() -> Vec<E> {
    vec![drafted(line(&[BOB, CAROL])), submitted()]
}

#[test]
fn a_draft_offers_its_drafter_editing_submission_discarding_and_comments_and_nobody_else_anything() {
    let draft = || [drafted(line(&[BOB, CAROL]))];
    assert_eq!(
        offered(draft(), ALICE, 1),
        set([Action::SaveDraft, Action::Submit, Action::Discard, Action::Comment])
    );
    assert_eq!(offered(draft(), BOB, 1), set([]));
    assert_eq!(offered(draft(), FRANK, 1), set([]));
}

#[test]
fn the_current_approver_may_approve_reject_and_hold_and_the_next_one_only_comment() {
    assert_eq!(
        offered(submitted_two_step(), BOB, 2),
        set([Action::Approve, Action::Reject, Action::Hold, Action::Comment])
    );
    assert_eq!(offered(submitted_two_step(), CAROL, 2), set([Action::Comment]));
}

#[test]
fn the_drafter_may_withdraw_until_an_approver_acts_and_never_decides() {
    assert_eq!(
        offered(submitted_two_step(), ALICE, 2),
        set([Action::Withdraw, Action::Comment])
    );
    let mut acted = submitted_two_step();
    acted.push(approved(0, BOB, 2));
    assert_eq!(offered(acted, ALICE, 3), set([Action::Comment]));
}

#[test]
fn an_outsider_is_offered_nothing_and_a_cc_only_comments() {
    assert_eq!(offered(submitted_two_step(), FRANK, 2), set([]));
    let mut with_cc = line(&[BOB, CAROL]);
    with_cc.cc.push(DAVE);
    assert_eq!(
        offered([drafted(with_cc), submitted()], DAVE, 2),
        set([Action::Comment])
    );
}

#[test]
fn after_approving_the_approver_may_cancel_until_the_next_step_acts() {
    let mut events = submitted_two_step();
    events.push(approved(0, BOB, 2));
    assert_eq!(
        offered(events.clone(), BOB, 3),
        set([Action::CancelApproval, Action::Comment])
    );
    assert_eq!(
        offered(events.clone(), CAROL, 3),
        set([
            Action::Approve,
            Action::Reject,
            Action::RejectToPreviousStep,
            Action::Hold,
            Action::Comment
        ])
    );
    events.push(E::Held {
        step: 1,
        member: CAROL,
        reason: "확인 중".into(),
        by: CAROL,
        at: t(3),
    });
    assert_eq!(offered(events, BOB, 4), set([Action::Comment]));
}

#[test]
fn a_hold_is_released_only_by_its_holder() {
    let mut events = vec![drafted(line(&[BOB, CAROL])), submitted()];
    events.push(E::Held {
        step: 0,
        member: BOB,
        reason: "확인 중".into(),
        by: BOB,
        at: t(2),
    });
    assert_eq!(
        offered(events.clone(), BOB, 3),
        set([Action::Approve, Action::Reject, Action::Release, Action::Comment])
    );
    assert_eq!(offered(events, ALICE, 3), set([Action::Comment]));
}

#[test]
fn only_the_holder_of_final_authority_is_offered_to_approve_as_final() {
    let events = || [drafted(line(&[BOB, CAROL])), submitted_with_authority(BOB)];
    assert!(offered(events(), BOB, 2).contains(&Action::ApproveAsFinal));
    let mut later = events().to_vec();
    later.push(approved(0, BOB, 2));
    assert!(!offered(later, CAROL, 3).contains(&Action::ApproveAsFinal));
}

#[test]
fn a_rejected_document_offers_its_drafter_resubmission() {
    let mut events = submitted_two_step();
    events.push(rejected(0, BOB, RejectTarget::Drafter, 2));
    assert_eq!(
        offered(events.clone(), ALICE, 3),
        set([Action::Resubmit, Action::Comment])
    );
    assert_eq!(offered(events, BOB, 3), set([Action::Comment]));
}

#[test]
fn a_withdrawn_document_offers_its_drafter_resubmission() {
    let mut events = submitted_two_step();
    events.push(E::Withdrawn { by: ALICE, at: t(2) });
    assert_eq!(offered(events, ALICE, 3), set([Action::Resubmit, Action::Comment]));
}

#[test]
fn an_approved_document_offers_comments_only() {
    let mut events = submitted_two_step();
    events.extend([approved(0, BOB, 2), approved(1, CAROL, 3)]);
    for who in [ALICE, BOB, CAROL] {
        assert_eq!(offered(events.clone(), who, 4), set([Action::Comment]), "{who}");
    }
}

#[test]
fn a_discarded_draft_offers_nothing_to_anyone() {
    let events = [drafted(line(&[BOB])), E::DraftDiscarded { by: ALICE, at: t(1) }];
    for who in [ALICE, BOB] {
        assert_eq!(offered(events.clone(), who, 2), set([]), "{who}");
    }
}

#[test]
fn a_member_of_a_receiving_department_may_comment() {
    let mut received = line(&[BOB]);
    received.receivers.push(DEPT);
    let events = [drafted(received), submitted()];
    assert_eq!(
        offered_to(events.clone(), &actor(FRANK).in_department(DEPT), 2),
        set([Action::Comment])
    );
    assert_eq!(offered_to(events, &actor(FRANK).in_department(FINANCE), 2), set([]));
}

#[test]
fn whoever_reached_the_hourly_comment_limit_is_not_offered_to_comment() {
    let mut events = submitted_two_step();
    events.extend(
        (0..domain::approval::decide::MAX_COMMENTS_PER_HOUR as u128).map(|n| E::Commented {
            comment_id: CommentId(Uuid::from_u128(n)),
            text: "의견".into(),
            by: CAROL,
            at: t(2),
        }),
    );
    assert!(!offered(events.clone(), CAROL, 3).contains(&Action::Comment));
    assert!(offered(events.clone(), ALICE, 3).contains(&Action::Comment));
    assert!(offered(events, CAROL, 63).contains(&Action::Comment));
}

#[test]
fn a_proxy_is_offered_the_seat_of_their_principal_while_the_delegation_is_open() {
    let state = given::<Approval>(submitted_two_step());
    let doc = state.state().document().unwrap();
    let frank = actor(FRANK);
    assert_eq!(
        doc.proxy_actions(&frank, &delegation_for(BOB), t(2)),
        set([Action::Approve, Action::Reject, Action::Hold])
    );
    // Not the principal of an upcoming step, and nothing once the window closed.
    assert_eq!(doc.proxy_actions(&frank, &delegation_for(CAROL), t(2)), set([]));
    assert_eq!(doc.proxy_actions(&frank, &delegation_for(BOB), t(601)), set([]));
    // In their own name the proxy still decides nothing.
    assert_eq!(doc.viewer_actions(&frank, t(2)), set([]));
}

#[test]
fn a_proxy_never_acts_for_the_drafter() {
    let state = given::<Approval>(submitted_two_step());
    let doc = state.state().document().unwrap();
    assert_eq!(doc.proxy_actions(&actor(FRANK), &delegation_for(ALICE), t(2)), set([]));
}
