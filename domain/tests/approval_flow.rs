//! Every action on a document, as given/when/then scenarios named after the rule they check.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::approval::{
    Approval, ApprovalCommand as C, ApprovalError, ApprovalEvent as E, ApprovalLine, LineError, Quorum, RejectTarget,
    Status, Step,
};
use domain::form::{expense_form, general_form};
use domain::ids::CommentId;
use domain::testkit::given;
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
    let state = given::<Approval>([drafted(two_step())])
        .when(submit())
        .then([submitted()]);
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
    let with_authority = ApprovalLine {
        steps: vec![
            Step::Approval {
                approver: BOB,
                final_authority: true,
            },
            Step::approval(CAROL),
            Step::approval(DAVE),
        ],
        ..Default::default()
    };
    let state = given::<Approval>([drafted(with_authority), submitted()])
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
