//! Inbox boxes, visibility and notifications follow the document's state.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{Approval, ApprovalEvent as E, ApprovalLine, Inbox, Notice, Principal, RejectTarget};
use domain::{Actor, Aggregate, Role};
use support::*;

fn boxes_of(events: &[E]) -> Vec<(Principal, Inbox)> {
    Approval::fold(events).document().unwrap().boxes()
}

fn emp(id: domain::ids::EmployeeId, inbox: Inbox) -> (Principal, Inbox) {
    (Principal::Employee(id), inbox)
}

#[test]
fn a_draft_sits_in_the_drafters_drafts_only() {
    assert_eq!(boxes_of(&[drafted(line(&[BOB]))]), vec![emp(ALICE, Inbox::Drafts)]);
}

#[test]
fn a_submitted_document_waits_for_the_current_approver_and_is_upcoming_for_the_next() {
    let cc = ApprovalLine {
        cc: vec![DAVE],
        ..line(&[BOB, CAROL])
    };
    let mut boxes = boxes_of(&[drafted(cc.clone()), submitted()]);
    boxes.sort();
    let mut expected = vec![
        emp(ALICE, Inbox::InProgress),
        emp(BOB, Inbox::Pending),
        emp(CAROL, Inbox::Upcoming),
        emp(DAVE, Inbox::Cc),
    ];
    expected.sort();
    assert_eq!(boxes, expected);
    let after = boxes_of(&[drafted(cc), submitted(), approved(0, BOB, 2)]);
    assert!(after.contains(&emp(BOB, Inbox::InProgress)));
    assert!(after.contains(&emp(CAROL, Inbox::Pending)));
}

#[test]
fn finished_documents_move_to_completed_rejected_and_received() {
    let received = ApprovalLine {
        receivers: vec![FINANCE],
        ..line(&[BOB])
    };
    let done = boxes_of(&[drafted(received), submitted(), approved(0, BOB, 2)]);
    assert!(done.contains(&emp(ALICE, Inbox::Completed)) && done.contains(&emp(BOB, Inbox::Completed)));
    assert!(done.contains(&(Principal::Department(FINANCE), Inbox::Received)));
    let rejected = boxes_of(&[
        drafted(line(&[BOB])),
        submitted(),
        rejected(0, BOB, RejectTarget::Drafter, 2),
    ]);
    assert!(rejected.contains(&emp(ALICE, Inbox::Rejected)) && rejected.contains(&emp(BOB, Inbox::Completed)));
}

#[test]
fn only_participants_hr_and_auditors_see_a_submitted_document() {
    let doc = Approval::fold(&[
        drafted(ApprovalLine {
            receivers: vec![FINANCE],
            ..line(&[BOB])
        }),
        submitted(),
    ]);
    let doc = doc.document().unwrap();
    assert!(doc.visible_to(&actor(ALICE)) && doc.visible_to(&actor(BOB)));
    assert!(!doc.visible_to(&actor(FRANK)));
    assert!(doc.visible_to(&actor(FRANK).in_department(FINANCE)));
    assert!(doc.visible_to(&actor(FRANK).with_role(Role::Auditor)));
    let draft = Approval::fold(&[drafted(line(&[BOB]))]);
    assert!(
        !draft
            .document()
            .unwrap()
            .visible_to(&Actor::employee(BOB).with_role(Role::HrAdmin)),
        "drafts are private"
    );
}

#[test]
fn a_proxy_sees_the_documents_that_seat_their_principal_once_submitted() {
    let with_cc = ApprovalLine {
        cc: vec![CAROL],
        ..line(&[BOB])
    };
    let draft = Approval::fold(&[drafted(with_cc.clone())]);
    assert!(
        !draft.document().unwrap().visible_to_proxy_of(BOB),
        "a draft stays the drafter's"
    );
    let submitted = Approval::fold(&[drafted(with_cc), submitted()]);
    let doc = submitted.document().unwrap();
    assert!(doc.visible_to_proxy_of(BOB), "BOB's seat is on the line");
    assert!(!doc.visible_to_proxy_of(CAROL), "a cc seat is not a seat a proxy takes");
    assert!(
        !doc.visible_to_proxy_of(ALICE),
        "the drafter's own documents do not pass to a proxy"
    );
}

/// Whom event `i` of `history` notifies, as the views' fold asks: given who was a current
/// approver before it and the document after it.
fn notices_at(history: &[E], i: usize) -> Vec<(domain::ids::EmployeeId, Notice)> {
    let before = Approval::fold(&history[..i]);
    let after = Approval::fold(&history[..=i]);
    let was_current = before.document().map(|d| d.current_approvers()).unwrap_or_default();
    domain::approval::notices_after(&was_current, &history[i], after.document().unwrap())
}

#[test]
fn each_event_notifies_whoever_must_act_or_know() {
    let history = [
        drafted(line(&[BOB, CAROL])),
        submitted(),
        approved(0, BOB, 2),
        approved(1, CAROL, 3),
    ];
    let notice_at = |i: usize| notices_at(&history, i);
    assert_eq!(notice_at(1), vec![(BOB, Notice::ApprovalRequested)]);
    assert_eq!(notice_at(2), vec![(CAROL, Notice::ApprovalRequested)]);
    assert_eq!(notice_at(3), vec![(ALICE, Notice::Approved)]);
}

/// What a notice needs of the document before an event is who was a current approver then:
/// the fold passes just that. A withdrawal tells the approver it was waiting for; a rejection
/// back one step tells the approver it now waits for again.
#[test]
fn notices_read_who_was_current_before_the_event() {
    let history = [
        drafted(line(&[BOB, CAROL])),
        submitted(),
        approved(0, BOB, 2),
        rejected(1, CAROL, RejectTarget::PreviousStep, 3),
        E::Withdrawn { by: ALICE, at: t(4) },
    ];
    let notice_at = |i: usize| notices_at(&history, i);
    assert_eq!(notice_at(3), vec![(BOB, Notice::Returned)]);
    assert_eq!(notice_at(4), vec![(BOB, Notice::Withdrawn)]);
}
