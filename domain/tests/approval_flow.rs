//! Every action on a document, as given/when/then scenarios named after the rule they check.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{
    Approval, ApprovalCommand as C, ApprovalError, ApprovalEvent as E, ApprovalLine, LineError, Quorum, RejectTarget,
    Status, Step,
};
use domain::form::{expense_form, general_form};
use domain::ids::CommentId;
use domain::testkit::{given, no_requirement, requiring, roster_of};
use domain::Aggregate;
use support::*;
use uuid::Uuid;

fn two_step() -> ApprovalLine {
    line(&[BOB, CAROL])
}

#[test]
fn drafting_creates_a_draft_owned_by_the_drafter() {
    let state = given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content("  출장 보고 "),
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .then([drafted(two_step())]);
    let doc = state.document().unwrap();
    assert_eq!(doc.status, Status::Draft);
    assert_eq!(doc.drafter, ALICE);
}

#[test]
fn a_draft_may_be_incomplete_but_not_mistyped() {
    let mut incomplete = content("빈 문서");
    incomplete.body.clear();
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: incomplete,
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .events();
    let mut mistyped = content("잘못된 문서");
    mistyped
        .body
        .insert("content".into(), domain::form::FieldValue::Number(1.into()));
    assert!(matches!(
        Approval::default().decide_cmd(C::Draft {
            id: DOC,
            form: general_form(),
            content: mistyped,
            line: two_step(),
            by: actor(ALICE),
            at: t(0)
        }),
        Err(ApprovalError::InvalidBody(_))
    ));
}

trait DecideCmd {
    fn decide_cmd(&self, c: C) -> Result<Vec<E>, ApprovalError>;
}
impl DecideCmd for Approval {
    fn decide_cmd(&self, c: C) -> Result<Vec<E>, ApprovalError> {
        domain::Aggregate::decide(self, &c)
    }
}

#[test]
fn a_document_cannot_be_drafted_twice() {
    given::<Approval>([drafted(two_step())])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content("x"),
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::AlreadyExists);
}

#[test]
fn an_empty_title_is_refused() {
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content("   "),
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::InvalidTitle);
}

#[test]
fn saving_a_draft_replaces_its_content_and_line() {
    let state = given::<Approval>([drafted(two_step())])
        .when(C::SaveDraft {
            form: general_form(),
            content: content("수정"),
            line: line(&[CAROL]),
            by: actor(ALICE),
            at: t(1),
        })
        .then([E::DraftSaved {
            content: content("수정"),
            line: line(&[CAROL]),
            by: ALICE,
            at: t(1),
        }]);
    assert_eq!(state.document().unwrap().content.title, "수정");
}

#[test]
fn only_the_drafter_edits_a_draft() {
    given::<Approval>([drafted(two_step())])
        .when(C::SaveDraft {
            form: general_form(),
            content: content("수정"),
            line: two_step(),
            by: actor(BOB),
            at: t(1),
        })
        .then_err(ApprovalError::NotDrafter);
}

#[test]
fn a_draft_is_saved_against_its_own_form_version() {
    given::<Approval>([drafted(two_step())])
        .when(C::SaveDraft {
            form: expense_form(),
            content: content("수정"),
            line: two_step(),
            by: actor(ALICE),
            at: t(1),
        })
        .then_err(ApprovalError::FormMismatch);
}

#[test]
fn a_draft_can_be_discarded_but_not_after_submission() {
    let state = given::<Approval>([drafted(two_step())])
        .when(C::Discard {
            by: actor(ALICE),
            at: t(1),
        })
        .then([E::DraftDiscarded { by: ALICE, at: t(1) }]);
    assert_eq!(state.document().unwrap().status, Status::Discarded);
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Discard {
            by: actor(ALICE),
            at: t(2),
        })
        .then_err(ApprovalError::NotDraft);
}

#[test]
fn submitting_sends_the_document_to_the_first_approver() {
    let mut expected = submitted();
    if let E::Submitted { authority, .. } = &mut expected {
        *authority = Some(no_requirement().decision(&two_step()));
    }
    let state = given::<Approval>([drafted(two_step())]).when(submit()).then([expected]);
    let doc = state.document().unwrap();
    assert_eq!(doc.status, Status::InProgress);
    assert_eq!(doc.revision, 1);
    assert_eq!(doc.current_approvers(), vec![BOB]);
}

#[test]
fn submitting_needs_a_complete_body() {
    let mut empty = content("빈 문서");
    empty.body.clear();
    let e = <Approval as Aggregate>::fold(&[drafted_with(&general_form(), empty, two_step())]).decide_cmd(submit());
    assert!(matches!(e, Err(ApprovalError::InvalidBody(f)) if f.errors.len() == 1));
}

#[test]
fn submitting_needs_a_line() {
    given::<Approval>([drafted(ApprovalLine::default())])
        .when(submit())
        .then_err(ApprovalError::InvalidLine(LineError::NoSteps));
}

#[test]
fn nobody_puts_themselves_on_their_own_line() {
    given::<Approval>([drafted(line(&[BOB, ALICE]))])
        .when(submit())
        .then_err(ApprovalError::SelfApproval);
}

#[test]
fn a_line_holds_each_person_once() {
    given::<Approval>([drafted(line(&[BOB, BOB]))])
        .when(submit())
        .then_err(ApprovalError::InvalidLine(LineError::DuplicateMember));
}

#[test]
fn an_agreement_quorum_must_fit_the_group() {
    let bad = ApprovalLine {
        steps: vec![agreement(&[BOB, CAROL], Quorum::AtLeast(3))],
        ..Default::default()
    };
    given::<Approval>([drafted(bad)])
        .when(submit())
        .then_err(ApprovalError::InvalidLine(LineError::BadQuorum));
}

#[test]
fn only_the_drafter_submits() {
    given::<Approval>([drafted(two_step())])
        .when(C::Submit {
            form: general_form(),
            rule: None,
            authority: no_requirement(),
            roster: roster(),
            leave_balance: None,
            by: actor(BOB),
            at: t(1),
        })
        .then_err(ApprovalError::NotDrafter);
}

#[test]
fn approving_moves_the_document_to_the_next_step() {
    let state = given::<Approval>([drafted(two_step()), submitted()])
        .when(approve(BOB, 2))
        .then([approved(0, BOB, 2)]);
    assert_eq!(state.document().unwrap().current_approvers(), vec![CAROL]);
}

#[test]
fn the_last_approval_completes_the_document() {
    let state = given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(approve(CAROL, 3))
        .then([approved(1, CAROL, 3)]);
    let doc = state.document().unwrap();
    assert_eq!(doc.status, Status::Approved);
    assert_eq!(doc.completed_at, Some(t(3)));
}

#[test]
fn an_approver_cannot_decide_twice() {
    given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(approve(BOB, 3))
        .then_err(ApprovalError::AlreadyDecided { by: BOB });
}

#[test]
fn only_the_current_approver_decides() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(approve(CAROL, 2))
        .then_err(ApprovalError::NotCurrentApprover { by: CAROL });
    given::<Approval>([drafted(two_step()), submitted()])
        .when(approve(FRANK, 2))
        .then_err(ApprovalError::NotCurrentApprover { by: FRANK });
}

#[test]
fn the_drafter_cannot_decide_their_own_document() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(approve(ALICE, 2))
        .then_err(ApprovalError::SelfApproval);
}

#[test]
fn a_draft_takes_no_decision() {
    given::<Approval>([drafted(two_step())])
        .when(approve(BOB, 2))
        .then_err(ApprovalError::NotSubmitted);
}

#[test]
fn a_terminal_document_takes_no_decision() {
    let done = [drafted(line(&[BOB])), submitted(), approved(0, BOB, 2)];
    given::<Approval>(done.clone())
        .when(approve(CAROL, 3))
        .then_err(ApprovalError::Terminal {
            status: Status::Approved,
        });
    given::<Approval>(done)
        .when(reject(BOB, RejectTarget::Drafter, 3))
        .then_err(ApprovalError::Terminal {
            status: Status::Approved,
        });
}

#[test]
fn a_decision_on_an_unknown_document_is_not_found() {
    given::<Approval>([])
        .when(approve(BOB, 2))
        .then_err(ApprovalError::NotFound);
}

#[test]
fn rejecting_to_the_drafter_ends_the_revision() {
    let state = given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(reject(CAROL, RejectTarget::Drafter, 3))
        .then([rejected(1, CAROL, RejectTarget::Drafter, 3)]);
    assert_eq!(state.document().unwrap().status, Status::Rejected);
}

#[test]
fn a_rejection_needs_a_reason() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Reject {
            reason: " ".into(),
            to: RejectTarget::Drafter,
            proxy: None,
            by: actor(BOB),
            at: t(2),
        })
        .then_err(ApprovalError::ReasonRequired);
}

#[test]
fn rejecting_to_the_previous_step_reopens_it() {
    let state = given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(reject(CAROL, RejectTarget::PreviousStep, 3))
        .then([rejected(1, CAROL, RejectTarget::PreviousStep, 3)]);
    let doc = state.document().unwrap();
    assert_eq!(doc.status, Status::InProgress);
    assert_eq!(doc.current_approvers(), vec![BOB]);
}

#[test]
fn the_first_step_has_no_previous_step() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(reject(BOB, RejectTarget::PreviousStep, 2))
        .then_err(ApprovalError::NoPreviousStep);
}

#[test]
fn the_drafter_withdraws_before_anyone_acts() {
    let state = given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Withdraw {
            by: actor(ALICE),
            at: t(2),
        })
        .then([E::Withdrawn { by: ALICE, at: t(2) }]);
    assert_eq!(state.document().unwrap().status, Status::Withdrawn);
}

#[test]
fn withdrawal_is_too_late_once_an_approver_acted() {
    given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(C::Withdraw {
            by: actor(ALICE),
            at: t(3),
        })
        .then_err(ApprovalError::ApproverActed);
}

#[test]
fn only_the_drafter_withdraws() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Withdraw {
            by: actor(BOB),
            at: t(2),
        })
        .then_err(ApprovalError::NotDrafter);
}

#[test]
fn an_approver_cancels_their_approval_before_the_next_step_acts() {
    let state = given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(C::CancelApproval {
            by: actor(BOB),
            at: t(3),
        })
        .then([E::ApprovalCancelled {
            step: 0,
            member: BOB,
            by: BOB,
            at: t(3),
        }]);
    assert_eq!(state.document().unwrap().current_approvers(), vec![BOB]);
}

#[test]
fn cancelling_is_too_late_once_the_next_step_acted() {
    let line3 = line(&[BOB, CAROL, DAVE]);
    given::<Approval>([drafted(line3), submitted(), approved(0, BOB, 2), approved(1, CAROL, 3)])
        .when(C::CancelApproval {
            by: actor(BOB),
            at: t(4),
        })
        .then_err(ApprovalError::NothingToCancel);
    let held = E::Held {
        step: 1,
        member: CAROL,
        reason: "검토".into(),
        by: CAROL,
        at: t(3),
    };
    given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2), held])
        .when(C::CancelApproval {
            by: actor(BOB),
            at: t(4),
        })
        .then_err(ApprovalError::NextStepActed);
}

#[test]
fn a_final_approval_cannot_be_cancelled() {
    given::<Approval>([drafted(line(&[BOB])), submitted(), approved(0, BOB, 2)])
        .when(C::CancelApproval {
            by: actor(BOB),
            at: t(3),
        })
        .then_err(ApprovalError::Terminal {
            status: Status::Approved,
        });
}

#[test]
fn approving_as_final_skips_the_rest_of_the_line() {
    let state = given::<Approval>([drafted(line(&[BOB, CAROL, DAVE])), submitted_with_authority(BOB)])
        .when(C::ApproveAsFinal {
            comment: Some("전결".into()),
            by: actor(BOB),
            at: t(2),
        })
        .then([E::ApprovedAsFinal {
            step: 0,
            skipped: vec![1, 2],
            comment: Some("전결".into()),
            by: BOB,
            at: t(2),
        }]);
    let doc = state.document().unwrap();
    assert_eq!(doc.status, Status::Approved);
    assert!(doc.steps[1].skipped && doc.steps[2].skipped);
}

#[test]
fn approving_as_final_needs_delegated_authority() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::ApproveAsFinal {
            comment: None,
            by: actor(BOB),
            at: t(2),
        })
        .then_err(ApprovalError::NoFinalAuthority);
}

#[test]
fn a_proxy_approves_for_an_absent_approver_within_the_window() {
    let state = given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(delegation_for(BOB)),
            by: actor(FRANK),
            at: t(2),
        })
        .then([E::ProxyApproved {
            step: 0,
            on_behalf_of: BOB,
            delegation: DELEGATION,
            comment: None,
            by: FRANK,
            at: t(2),
        }]);
    let doc = state.document().unwrap();
    assert_eq!(doc.steps[0].decisions[0].member, BOB);
    assert_eq!(doc.steps[0].decisions[0].by, FRANK);
    assert_eq!(doc.current_approvers(), vec![CAROL]);
}

#[test]
fn a_proxy_outside_the_window_is_refused() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(delegation_for(BOB)),
            by: actor(FRANK),
            at: t(601),
        })
        .then_err(ApprovalError::ProxyNotAuthorised);
}

#[test]
fn a_proxy_for_someone_other_than_the_current_approver_is_refused() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(delegation_for(CAROL)),
            by: actor(FRANK),
            at: t(2),
        })
        .then_err(ApprovalError::NotCurrentApprover { by: FRANK });
}

#[test]
fn a_revoked_delegation_authorises_nothing() {
    let mut revoked = delegation_for(BOB);
    revoked.revoked = true;
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(revoked),
            by: actor(FRANK),
            at: t(2),
        })
        .then_err(ApprovalError::ProxyNotAuthorised);
}

#[test]
fn the_drafter_cannot_approve_as_someone_elses_proxy() {
    let mut to_alice = delegation_for(BOB);
    to_alice.proxy = Some(ALICE);
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(to_alice),
            by: actor(ALICE),
            at: t(2),
        })
        .then_err(ApprovalError::SelfApproval);
}

#[test]
fn the_current_approver_holds_and_releases() {
    let held = E::Held {
        step: 0,
        member: BOB,
        reason: "확인 중".into(),
        by: BOB,
        at: t(2),
    };
    let state = given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Hold {
            reason: "확인 중".into(),
            proxy: None,
            by: actor(BOB),
            at: t(2),
        })
        .then([held.clone()]);
    assert_eq!(state.document().unwrap().status, Status::OnHold);
    let state = given::<Approval>([drafted(two_step()), submitted(), held.clone()])
        .when(C::Release {
            proxy: None,
            by: actor(BOB),
            at: t(3),
        })
        .then([E::Released {
            step: 0,
            by: BOB,
            at: t(3),
        }]);
    assert_eq!(state.document().unwrap().status, Status::InProgress);
    given::<Approval>([drafted(two_step()), submitted(), held])
        .when(C::Hold {
            reason: "또".into(),
            proxy: None,
            by: actor(BOB),
            at: t(3),
        })
        .then_err(ApprovalError::AlreadyOnHold);
}

#[test]
fn a_held_document_can_be_decided_by_its_holder_only() {
    let group = ApprovalLine {
        steps: vec![agreement(&[BOB, CAROL], Quorum::All)],
        ..Default::default()
    };
    let held = E::Held {
        step: 0,
        member: BOB,
        reason: "검토".into(),
        by: BOB,
        at: t(2),
    };
    given::<Approval>([drafted(group.clone()), submitted(), held.clone()])
        .when(approve(CAROL, 3))
        .then_err(ApprovalError::HeldByOther);
    let state = given::<Approval>([drafted(group), submitted(), held])
        .when(approve(BOB, 3))
        .then([approved(0, BOB, 3)]);
    assert_eq!(state.document().unwrap().status, Status::InProgress);
}

#[test]
fn releasing_a_document_that_is_not_held_is_refused() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Release {
            proxy: None,
            by: actor(BOB),
            at: t(2),
        })
        .then_err(ApprovalError::NotOnHold);
}

#[test]
fn an_agreement_group_needs_everyone_when_all_must_agree() {
    let group = ApprovalLine {
        steps: vec![agreement(&[BOB, CAROL], Quorum::All), Step::approval(DAVE)],
        ..Default::default()
    };
    let state = given::<Approval>([drafted(group.clone()), submitted()])
        .when(approve(CAROL, 2))
        .then([approved(0, CAROL, 2)]);
    assert_eq!(state.document().unwrap().current_approvers(), vec![BOB]);
    let state = given::<Approval>([drafted(group), submitted(), approved(0, CAROL, 2)])
        .when(approve(BOB, 3))
        .then([approved(0, BOB, 3)]);
    assert_eq!(state.document().unwrap().current_approvers(), vec![DAVE]);
}

#[test]
fn an_m_of_n_agreement_passes_at_the_quorum() {
    let group = ApprovalLine {
        steps: vec![agreement(&[BOB, CAROL, DAVE], Quorum::AtLeast(2))],
        ..Default::default()
    };
    let state = given::<Approval>([drafted(group), submitted(), approved(0, BOB, 2)])
        .when(approve(DAVE, 3))
        .then([approved(0, DAVE, 3)]);
    assert_eq!(state.document().unwrap().status, Status::Approved);
}

#[test]
fn a_disagreement_is_a_vote_while_the_quorum_is_reachable_and_a_rejection_after() {
    let group = ApprovalLine {
        steps: vec![agreement(&[BOB, CAROL, DAVE], Quorum::AtLeast(2))],
        ..Default::default()
    };
    let no = E::Disagreed {
        step: 0,
        reason: "다시".into(),
        on_behalf_of: None,
        by: BOB,
        at: t(2),
    };
    let state = given::<Approval>([drafted(group.clone()), submitted()])
        .when(reject(BOB, RejectTarget::Drafter, 2))
        .then([no.clone()]);
    assert_eq!(state.document().unwrap().status, Status::InProgress);
    let state = given::<Approval>([drafted(group), submitted(), no])
        .when(reject(CAROL, RejectTarget::Drafter, 3))
        .then([rejected(0, CAROL, RejectTarget::Drafter, 3)]);
    assert_eq!(state.document().unwrap().status, Status::Rejected);
}

#[test]
fn a_rejected_document_is_resubmitted_as_the_next_revision() {
    let resubmit = C::Resubmit {
        form: general_form(),
        content: content("수정본"),
        line: line(&[CAROL]),
        rule: None,
        authority: no_requirement(),
        roster: roster(),
        leave_balance: None,
        by: actor(ALICE),
        at: t(4),
    };
    let state = given::<Approval>([
        drafted(two_step()),
        submitted(),
        rejected(0, BOB, RejectTarget::Drafter, 3),
    ])
    .when(resubmit.clone())
    .then([E::Resubmitted {
        revision: 2,
        content: content("수정본"),
        line: line(&[CAROL]),
        rule: None,
        authority: Some(no_requirement().decision(&line(&[CAROL]))),
        amount: None,
        leave_days: None,
        by: ALICE,
        at: t(4),
    }]);
    let doc = state.document().unwrap();
    assert_eq!((doc.revision, doc.status), (2, Status::InProgress));
    assert_eq!(doc.current_approvers(), vec![CAROL]);
    given::<Approval>([drafted(two_step()), submitted()])
        .when(resubmit)
        .then_err(ApprovalError::NotResubmittable);
}

#[test]
fn a_withdrawn_document_can_be_resubmitted() {
    let resubmit = C::Resubmit {
        form: general_form(),
        content: content("다시"),
        line: two_step(),
        rule: None,
        authority: no_requirement(),
        roster: roster(),
        leave_balance: None,
        by: actor(ALICE),
        at: t(4),
    };
    let events = given::<Approval>([drafted(two_step()), submitted(), E::Withdrawn { by: ALICE, at: t(2) }])
        .when(resubmit)
        .events();
    assert!(matches!(events.as_slice(), [E::Resubmitted { revision: 2, .. }]));
}

#[test]
fn participants_comment_and_outsiders_do_not() {
    let cc_line = ApprovalLine {
        cc: vec![DAVE],
        receivers: vec![FINANCE],
        ..two_step()
    };
    let history = [drafted(cc_line), submitted()];
    for who in [ALICE, BOB, CAROL, DAVE] {
        let events = given::<Approval>(history.clone())
            .when(C::Comment {
                id: CommentId(Uuid::from_u128(7)),
                text: "의견".into(),
                by: actor(who),
                at: t(2),
            })
            .events();
        assert_eq!(events.len(), 1, "{who} may comment");
    }
    given::<Approval>(history.clone())
        .when(C::Comment {
            id: CommentId(Uuid::from_u128(7)),
            text: "의견".into(),
            by: actor(FRANK),
            at: t(2),
        })
        .then_err(ApprovalError::NotParticipant);
    let receiver = actor(FRANK).in_department(FINANCE);
    let state = given::<Approval>(history)
        .when(C::Comment {
            id: CommentId(Uuid::from_u128(7)),
            text: "확인".into(),
            by: receiver,
            at: t(2),
        })
        .state_after();
    assert_eq!(state.document().unwrap().comments.len(), 1);
}

#[test]
fn an_empty_comment_is_refused() {
    given::<Approval>([drafted(two_step()), submitted()])
        .when(C::Comment {
            id: CommentId(Uuid::from_u128(7)),
            text: "".into(),
            by: actor(ALICE),
            at: t(2),
        })
        .then_err(ApprovalError::InvalidComment);
}

// 전결 규정: the company's rules, not the drafter, decide who must approve and who holds 전결권.

fn submit_under(authority: domain::authority::Requirement, line: &ApprovalLine) -> C {
    C::Submit {
        form: general_form(),
        rule: None,
        authority,
        roster: roster_of(line),
        leave_balance: None,
        by: actor(ALICE),
        at: t(1),
    }
}

#[test]
fn a_line_that_leaves_out_an_approver_the_rules_require_is_refused_at_submission() {
    // The rules require BOB then CAROL; the drafter routed the document to BOB alone.
    given::<Approval>([drafted(line(&[BOB]))])
        .when(submit_under(requiring(&[BOB, CAROL]), &line(&[BOB])))
        .then_err(ApprovalError::InvalidLine(LineError::MissingRequiredApprovers {
            missing: vec![CAROL],
        }));
}

#[test]
fn required_approvers_must_keep_their_order_but_the_drafter_may_add_others() {
    given::<Approval>([drafted(line(&[CAROL, BOB]))])
        .when(submit_under(requiring(&[BOB, CAROL]), &line(&[CAROL, BOB])))
        .then_err(ApprovalError::InvalidLine(LineError::MissingRequiredApprovers {
            missing: vec![CAROL],
        }));
    let added = line(&[DAVE, BOB, ERIN, CAROL]);
    given::<Approval>([drafted(added.clone())])
        .when(submit_under(requiring(&[BOB, CAROL]), &added))
        .events();
}

#[test]
fn a_drafter_cannot_grant_final_authority_in_the_line() {
    let granted = ApprovalLine {
        steps: vec![
            Step::Approval {
                approver: BOB,
                final_authority: true,
            },
            Step::approval(CAROL),
        ],
        ..Default::default()
    };
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content("전결 요청"),
            line: granted.clone(),
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::InvalidLine(LineError::AuthorityFromDrafter));
    given::<Approval>([drafted(two_step())])
        .when(C::SaveDraft {
            form: general_form(),
            content: content("전결 요청"),
            line: granted,
            by: actor(ALICE),
            at: t(1),
        })
        .then_err(ApprovalError::InvalidLine(LineError::AuthorityFromDrafter));
}

#[test]
fn only_the_approver_the_rules_name_may_approve_as_final() {
    // The rules require BOB only and give him 전결권; CAROL was added by the drafter.
    let state = given::<Approval>([drafted(two_step())])
        .when(submit_under(requiring(&[BOB]), &two_step()))
        .state_after();
    let doc = state.document().unwrap();
    assert_eq!(doc.authority.as_ref().unwrap().final_approver, Some(BOB));
    assert!(matches!(
        doc.line.steps[0],
        Step::Approval {
            final_authority: true,
            ..
        }
    ));
    // A document whose rules require CAROL last: nobody before her may skip her.
    let events = given::<Approval>([drafted(two_step())])
        .when(submit_under(requiring(&[BOB, CAROL]), &two_step()))
        .events();
    given::<Approval>([drafted(two_step()), events[0].clone()])
        .when(C::ApproveAsFinal {
            comment: None,
            by: actor(BOB),
            at: t(2),
        })
        .then_err(ApprovalError::NoFinalAuthority);
}

#[test]
fn the_last_required_approver_holds_no_final_authority_when_nothing_follows() {
    let state = given::<Approval>([drafted(two_step())])
        .when(submit_under(requiring(&[BOB, CAROL]), &two_step()))
        .state_after();
    let doc = state.document().unwrap();
    assert_eq!(doc.authority.as_ref().unwrap().final_approver, None);
    assert!(doc.line.steps.iter().all(|s| !matches!(
        s,
        Step::Approval {
            final_authority: true,
            ..
        }
    )));
}

#[test]
fn an_inactive_or_unknown_approver_is_refused_at_submission() {
    let mut roster = roster_of(&two_step());
    roster.active.remove(&CAROL);
    given::<Approval>([drafted(two_step())])
        .when(C::Submit {
            form: general_form(),
            rule: None,
            authority: no_requirement(),
            roster,
            leave_balance: None,
            by: actor(ALICE),
            at: t(1),
        })
        .then_err(ApprovalError::InvalidLine(LineError::UnknownEmployee {
            employee: CAROL,
        }));
}

#[test]
fn an_unknown_receiving_department_is_refused_at_submission() {
    let with_receiver = ApprovalLine {
        receivers: vec![FINANCE],
        ..two_step()
    };
    let mut roster = roster_of(&with_receiver);
    roster.departments.clear();
    given::<Approval>([drafted(with_receiver)])
        .when(C::Submit {
            form: general_form(),
            rule: None,
            authority: no_requirement(),
            roster,
            leave_balance: None,
            by: actor(ALICE),
            at: t(1),
        })
        .then_err(ApprovalError::InvalidLine(LineError::UnknownDepartment {
            department: FINANCE,
        }));
}

// One person, one seat per revision.

#[test]
fn whoever_approved_their_own_seat_cannot_approve_the_next_seat_as_proxy() {
    // BOB approved step 1 himself; CAROL (step 2) named BOB her proxy.
    let proxy = delegation(CAROL, BOB);
    given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 2)])
        .when(C::Approve {
            comment: None,
            proxy: Some(proxy),
            by: actor(BOB),
            at: t(3),
        })
        .then_err(ApprovalError::SecondSeat { by: BOB });
}

#[test]
fn one_person_cannot_fill_two_seats_of_an_agreement_group() {
    // 2 of 3 must agree; CAROL agreed in her own seat, then tries DAVE's as his proxy.
    let group = ApprovalLine {
        steps: vec![agreement(&[CAROL, DAVE, ERIN], Quorum::AtLeast(2))],
        ..Default::default()
    };
    given::<Approval>([drafted(group), submitted(), approved(0, CAROL, 2)])
        .when(C::Approve {
            comment: None,
            proxy: Some(delegation(DAVE, CAROL)),
            by: actor(CAROL),
            at: t(3),
        })
        .then_err(ApprovalError::SecondSeat { by: CAROL });
}

#[test]
fn a_proxy_who_acted_for_one_seat_cannot_then_decide_their_own() {
    let group = ApprovalLine {
        steps: vec![agreement(&[CAROL, DAVE, ERIN], Quorum::AtLeast(2))],
        ..Default::default()
    };
    let as_proxy = given::<Approval>([drafted(group.clone()), submitted()])
        .when(C::Approve {
            comment: None,
            proxy: Some(delegation(DAVE, CAROL)),
            by: actor(CAROL),
            at: t(2),
        })
        .events();
    let mut history = vec![drafted(group), submitted()];
    history.extend(as_proxy);
    given::<Approval>(history)
        .when(approve(CAROL, 3))
        .then_err(ApprovalError::SecondSeat { by: CAROL });
}

// Times never go backwards within a stream.

#[test]
fn a_command_stamped_before_the_last_event_is_recorded_at_the_last_events_time() {
    // A comment stamped at minute 1 (say, first tried then, retried after an approval at
    // minute 5) must not be recorded before the approval.
    let events = given::<Approval>([drafted(two_step()), submitted(), approved(0, BOB, 5)])
        .when(C::Comment {
            id: CommentId(Uuid::from_u128(7)),
            text: "늦은 의견".into(),
            by: actor(ALICE),
            at: t(1),
        })
        .events();
    assert_eq!(events[0].at(), t(5));
}

// Bounded input.

#[test]
fn a_draft_with_ten_thousand_steps_is_refused_at_drafting() {
    let huge = ApprovalLine {
        steps: (0..10_000u128).map(|n| Step::approval(emp(1_000 + n))).collect(),
        ..Default::default()
    };
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content("긴 결재선"),
            line: huge,
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::InvalidLine(LineError::TooLong));
}

#[test]
fn a_draft_with_too_many_cc_is_refused() {
    let wide = ApprovalLine {
        cc: (0..51u128).map(|n| emp(1_000 + n)).collect(),
        ..two_step()
    };
    given::<Approval>([drafted(two_step())])
        .when(C::SaveDraft {
            form: general_form(),
            content: content("참조 과다"),
            line: wide,
            by: actor(ALICE),
            at: t(1),
        })
        .then_err(ApprovalError::InvalidLine(LineError::TooWide));
}

#[test]
fn an_overlong_attachment_name_is_refused() {
    let mut long_name = content("첨부");
    long_name.attachments.push(domain::approval::Attachment {
        id: domain::ids::AttachmentId(Uuid::from_u128(1)),
        name: "가".repeat(256),
        size: 10,
        content_type: "text/plain".into(),
        sha256: None,
    });
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: long_name,
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::InvalidAttachments);
}

#[test]
fn a_title_longer_than_the_read_model_column_is_refused() {
    given::<Approval>([])
        .when(C::Draft {
            id: DOC,
            form: general_form(),
            content: content(&"가".repeat(151)),
            line: two_step(),
            by: actor(ALICE),
            at: t(0),
        })
        .then_err(ApprovalError::InvalidTitle);
}

#[test]
fn a_participant_adds_at_most_thirty_comments_an_hour_to_one_document() {
    let mut history = vec![drafted(two_step()), submitted()];
    for n in 0..30u128 {
        history.push(E::Commented {
            comment_id: CommentId(Uuid::from_u128(n)),
            text: "의견".into(),
            by: BOB,
            at: t(2),
        });
    }
    let comment = |minute| C::Comment {
        id: CommentId(Uuid::from_u128(99)),
        text: "또 의견".into(),
        by: actor(BOB),
        at: t(minute),
    };
    given::<Approval>(history.clone())
        .when(comment(3))
        .then_err(ApprovalError::CommentLimit {
            retry_after_secs: Some(59 * 60),
        });
    // Others still comment, and BOB again once the hour has passed.
    given::<Approval>(history.clone())
        .when(C::Comment {
            id: CommentId(Uuid::from_u128(98)),
            text: "다른 의견".into(),
            by: actor(ALICE),
            at: t(3),
        })
        .events();
    given::<Approval>(history).when(comment(63)).events();
}

#[test]
fn time_travel_stops_at_the_first_event_after_the_instant_even_on_an_out_of_order_stream() {
    // A stream written before times were kept monotonic: v4 (comment) is stamped after v5.
    let history = [
        drafted(two_step()),
        submitted(),
        approved(0, BOB, 2),
        E::Commented {
            comment_id: CommentId(Uuid::from_u128(1)),
            text: "늦게 기록된 의견".into(),
            by: ALICE,
            at: t(9),
        },
        approved(1, CAROL, 5),
    ];
    let (then, folded) = Approval::as_of(&history, t(6));
    assert_eq!(folded, 3, "v5 is not shown without v4");
    let doc = then.document().unwrap();
    assert_eq!(doc.status, Status::InProgress);
    let (now, folded) = Approval::as_of(&history, t(9));
    assert_eq!(folded, 5);
    assert_eq!(now.document().unwrap().status, Status::Approved);
}

#[test]
fn an_attachment_whose_content_hash_is_not_a_sha256_in_hex_is_refused() {
    for bad in ["abc", &"G".repeat(64), &"A".repeat(64)] {
        let mut named = content("첨부");
        named.attachments.push(domain::approval::Attachment {
            id: domain::ids::AttachmentId(Uuid::from_u128(1)),
            name: "견적서.pdf".into(),
            size: 10,
            content_type: "application/pdf".into(),
            sha256: Some(bad.to_owned()),
        });
        given::<Approval>([])
            .when(C::Draft {
                id: DOC,
                form: general_form(),
                content: named,
                line: two_step(),
                by: actor(ALICE),
                at: t(0),
            })
            .then_err(ApprovalError::InvalidAttachments);
    }
}
