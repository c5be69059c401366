//! Shared fixtures: a small cast of employees, fixed instants, and builders for the commands
//! and events the scenarios use.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::approval::{ApprovalCommand, ApprovalEvent, ApprovalLine, Content, LineRoster, RejectTarget, Step};
use domain::authority::AuthorityDecision;
use domain::form::{general_form, Body, FieldValue, FormTemplate};
use domain::ids::{ApprovalId, DelegationId, DepartmentId, EmployeeId};
use domain::org::{Delegation, DelegationEvent, Window};
use domain::testkit::{no_requirement, requiring};
use domain::{Actor, Aggregate};
use uuid::Uuid;

pub const fn emp(n: u128) -> EmployeeId {
    EmployeeId(Uuid::from_u128(n))
}

pub const ALICE: EmployeeId = emp(1); // drafter
pub const BOB: EmployeeId = emp(2); // first approver
pub const CAROL: EmployeeId = emp(3); // second approver
pub const DAVE: EmployeeId = emp(4); // third / agreement
pub const ERIN: EmployeeId = emp(5); // agreement
pub const FRANK: EmployeeId = emp(6); // proxy / outsider
pub const HR: EmployeeId = emp(9);

pub const DOC: ApprovalId = ApprovalId(Uuid::from_u128(100));
pub const DEPT: DepartmentId = DepartmentId(Uuid::from_u128(200));
pub const FINANCE: DepartmentId = DepartmentId(Uuid::from_u128(201));
pub const DELEGATION: DelegationId = DelegationId(Uuid::from_u128(300));

/// Minute `n` after a fixed instant.
pub fn t(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).single().expect("valid") + Duration::minutes(n)
}

pub fn actor(id: EmployeeId) -> Actor {
    Actor::employee(id)
}

pub fn body(text: &str) -> Body {
    [("content".to_owned(), FieldValue::Text(text.to_owned()))].into()
}

pub fn content(title: &str) -> Content {
    Content {
        title: title.into(),
        body: body("본문"),
        attachments: Vec::new(),
    }
}

pub fn line(approvers: &[EmployeeId]) -> ApprovalLine {
    ApprovalLine::sequential(approvers.iter().copied())
}

pub fn drafted_with(form: &FormTemplate, content: Content, line: ApprovalLine) -> ApprovalEvent {
    ApprovalEvent::Drafted {
        id: DOC,
        drafter: ALICE,
        form: form.form_ref(),
        content,
        line,
        by: ALICE,
        at: t(0),
    }
}

/// Alice's general document with the given line.
pub fn drafted(line: ApprovalLine) -> ApprovalEvent {
    drafted_with(&general_form(), content("출장 보고"), line)
}

pub fn submitted() -> ApprovalEvent {
    ApprovalEvent::Submitted {
        rule: None,
        authority: None,
        amount: None,
        leave_days: None,
        by: ALICE,
        at: t(1),
    }
}

pub fn approved(step: usize, by: EmployeeId, minute: i64) -> ApprovalEvent {
    ApprovalEvent::Approved {
        step,
        comment: None,
        by,
        at: t(minute),
    }
}

pub fn rejected(step: usize, by: EmployeeId, to: RejectTarget, minute: i64) -> ApprovalEvent {
    ApprovalEvent::Rejected {
        step,
        to,
        reason: "다시".into(),
        on_behalf_of: None,
        by,
        at: t(minute),
    }
}

/// 상신 under a 전결 규정 that gives `holder` 전결권.
pub fn submitted_with_authority(holder: EmployeeId) -> ApprovalEvent {
    ApprovalEvent::Submitted {
        rule: None,
        authority: Some(AuthorityDecision {
            rule: requiring(&[holder]).rule,
            final_approver: Some(holder),
        }),
        amount: None,
        leave_days: None,
        by: ALICE,
        at: t(1),
    }
}

/// Everyone in the cast is active; both departments exist.
pub fn roster() -> LineRoster {
    LineRoster {
        active: (1..=9).map(emp).collect(),
        departments: [DEPT, FINANCE].into(),
    }
}

pub fn submit() -> ApprovalCommand {
    ApprovalCommand::Submit {
        form: general_form(),
        rule: None,
        authority: no_requirement(),
        roster: roster(),
        leave_balance: None,
        by: actor(ALICE),
        at: t(1),
    }
}

pub fn approve(by: EmployeeId, minute: i64) -> ApprovalCommand {
    ApprovalCommand::Approve {
        comment: None,
        proxy: None,
        by: actor(by),
        at: t(minute),
    }
}

pub fn reject(by: EmployeeId, to: RejectTarget, minute: i64) -> ApprovalCommand {
    ApprovalCommand::Reject {
        reason: "다시".into(),
        to,
        proxy: None,
        by: actor(by),
        at: t(minute),
    }
}

/// FRANK may act for `principal` from minute 0 to minute 600.
pub fn delegation_for(principal: EmployeeId) -> Delegation {
    delegation(principal, FRANK)
}

/// `proxy` may act for `principal` from minute 0 to minute 600.
pub fn delegation(principal: EmployeeId, proxy: EmployeeId) -> Delegation {
    Delegation::fold(&[DelegationEvent::Granted {
        id: DELEGATION,
        principal,
        proxy,
        window: Window {
            from: t(0),
            until: t(600),
        },
        reason: "출장".into(),
        by: principal,
        at: t(0),
    }])
}

pub fn agreement(members: &[EmployeeId], quorum: domain::approval::Quorum) -> Step {
    Step::Agreement {
        members: members.to_vec(),
        quorum,
    }
}
