//! 전결 규정: HR keeps the delegation-of-authority table as events; the table and the org chart
//! decide which approvers a line must hold and who may approve as final.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::authority::{
    reporting_chain, requirement, AuthorityCommand, AuthorityError, AuthorityPolicy, AuthorityRow, AuthorityTable,
};
use domain::form::FormKind;
use domain::ids::DepartmentId;
use domain::org::{OrgChart, OrgDepartment, OrgMember};
use domain::testkit::given;
use domain::Role;
use rust_decimal::Decimal;
use support::*;
use uuid::Uuid;

const ROOT: DepartmentId = DepartmentId(Uuid::from_u128(1000));
const TEAM: DepartmentId = DepartmentId(Uuid::from_u128(1002));

/// DAVE (대표, 9) heads ROOT; CAROL (본부장, 7) heads DEPT under ROOT; BOB (팀장, 5) heads TEAM
/// under DEPT and manages ALICE (사원, 1); ERIN (실장, 6) sits in ROOT.
fn chart() -> OrgChart {
    let mut chart = OrgChart::default();
    let dept = |parent, head| OrgDepartment {
        parent,
        head: Some(head),
    };
    chart.departments.insert(ROOT, dept(None, DAVE));
    chart.departments.insert(DEPT, dept(Some(ROOT), CAROL));
    chart.departments.insert(TEAM, dept(Some(DEPT), BOB));
    let member = |department, manager, rank| OrgMember {
        department,
        manager,
        rank,
        active: true,
    };
    chart.employees.insert(DAVE, member(ROOT, None, 9));
    chart.employees.insert(CAROL, member(DEPT, Some(DAVE), 7));
    chart.employees.insert(BOB, member(TEAM, Some(CAROL), 5));
    chart.employees.insert(ALICE, member(TEAM, Some(BOB), 1));
    chart.employees.insert(ERIN, member(ROOT, Some(DAVE), 6));
    chart
}

fn hr() -> domain::Actor {
    actor(HR).with_role(Role::HrAdmin)
}

fn rows() -> Vec<AuthorityRow> {
    let row = |form, up_to: Option<i64>, final_rank| AuthorityRow {
        form,
        up_to: up_to.map(Decimal::from),
        final_rank,
    };
    vec![
        row(FormKind::Expense, Some(500_000), 5),
        row(FormKind::Expense, None, 9),
        row(FormKind::Purchase, None, 7),
        row(FormKind::Leave, None, 5),
        row(FormKind::General, None, 5),
    ]
}

fn set_table(by: domain::Actor) -> AuthorityCommand {
    AuthorityCommand::SetTable {
        rows: rows(),
        reason: "2027년 전결 규정 개정".into(),
        by,
        at: t(0),
    }
}

#[test]
fn the_built_in_table_is_in_force_until_hr_records_one() {
    let policy = AuthorityPolicy::default();
    assert_eq!(policy.table, AuthorityTable::default());
    assert_eq!(policy.table.version, 0);
}

#[test]
fn only_an_hr_admin_changes_the_table() {
    given::<AuthorityPolicy>([])
        .when(set_table(actor(BOB)))
        .then_err(AuthorityError::NotHrAdmin);
}

#[test]
fn each_change_records_the_whole_table_as_the_next_version() {
    let state = given::<AuthorityPolicy>([]).when(set_table(hr())).state_after();
    assert_eq!((state.table.version, state.table.rows.clone()), (1, rows()));
    let events = given::<AuthorityPolicy>([]).when(set_table(hr())).events();
    let state = given::<AuthorityPolicy>(events).when(set_table(hr())).state_after();
    assert_eq!(state.table.version, 2);
}

#[test]
fn a_table_that_leaves_some_amount_without_a_rule_is_refused() {
    let mut gaps = rows();
    gaps.retain(|r| !(r.form == FormKind::Expense && r.up_to.is_none()));
    assert!(matches!(
        AuthorityTable::check(&gaps),
        Err(AuthorityError::InvalidTable(_))
    ));
    let refused = domain::Aggregate::decide(
        &AuthorityPolicy::default(),
        &AuthorityCommand::SetTable {
            rows: gaps,
            reason: "개정".into(),
            by: hr(),
            at: t(0),
        },
    );
    assert!(matches!(refused, Err(AuthorityError::InvalidTable(_))));
}

#[test]
fn a_change_needs_a_reason() {
    given::<AuthorityPolicy>([])
        .when(AuthorityCommand::SetTable {
            rows: rows(),
            reason: "  ".into(),
            by: hr(),
            at: t(0),
        })
        .then_err(AuthorityError::ReasonRequired);
}

#[test]
fn the_reporting_chain_climbs_from_the_manager_to_the_top() {
    assert_eq!(reporting_chain(&chart(), ALICE), vec![BOB, CAROL, DAVE]);
    assert_eq!(reporting_chain(&chart(), BOB), vec![CAROL, DAVE]);
    assert_eq!(reporting_chain(&chart(), DAVE), vec![]);
}

#[test]
fn the_row_with_the_smallest_covering_bound_decides() {
    let table = AuthorityTable {
        version: 3,
        rows: rows(),
    };
    let small = requirement(
        &chart(),
        &table,
        ALICE,
        FormKind::Expense,
        Decimal::from(500_000),
        vec![],
    )
    .unwrap();
    assert_eq!(small.approvers, vec![BOB]);
    assert_eq!(small.final_approver, Some(BOB));
    assert_eq!(small.rule.table_version, 3);
    let large = requirement(
        &chart(),
        &table,
        ALICE,
        FormKind::Expense,
        Decimal::from(500_001),
        vec![],
    )
    .unwrap();
    assert_eq!(large.approvers, vec![BOB, CAROL, DAVE]);
    assert_eq!(large.rule.row.final_rank, 9);
}

#[test]
fn a_peer_drafting_a_large_purchase_still_needs_the_division_head() {
    // The ₩50,000,000 purchase of the issue: the table asks for rank 7, so CAROL is required
    // whatever line the drafter wrote.
    let table = AuthorityTable {
        version: 1,
        rows: rows(),
    };
    let req = requirement(
        &chart(),
        &table,
        ALICE,
        FormKind::Purchase,
        Decimal::from(50_000_000),
        vec![],
    )
    .unwrap();
    assert_eq!(req.approvers, vec![BOB, CAROL]);
    assert_eq!(req.satisfied_by(&line(&[BOB])), Err(vec![CAROL]));
    assert_eq!(req.satisfied_by(&line(&[BOB, CAROL])), Ok(()));
}

#[test]
fn an_agreement_member_the_rule_requires_must_sit_in_an_agreement_step() {
    let table = AuthorityTable {
        version: 1,
        rows: rows(),
    };
    let req = requirement(&chart(), &table, ALICE, FormKind::General, Decimal::ZERO, vec![ERIN]).unwrap();
    assert_eq!(req.satisfied_by(&line(&[BOB, ERIN])), Err(vec![ERIN]));
    let with_agreement = domain::approval::ApprovalLine {
        steps: vec![
            domain::approval::Step::approval(BOB),
            agreement(&[ERIN], domain::approval::Quorum::All),
        ],
        ..Default::default()
    };
    assert_eq!(req.satisfied_by(&with_agreement), Ok(()));
}

#[test]
fn an_inactive_manager_is_passed_over_for_the_head_above() {
    let mut chart = chart();
    chart.employees.get_mut(&BOB).unwrap().active = false;
    assert_eq!(reporting_chain(&chart, ALICE), vec![CAROL, DAVE]);
}

#[test]
fn attendance_corrections_may_go_without_rows_but_rows_they_have_cover_every_measure() {
    use domain::authority::AuthorityRow;
    assert_eq!(
        AuthorityTable::check(&rows()),
        Ok(()),
        "no 근태 정정 rows: decided as general"
    );
    let mut bounded_only = rows();
    bounded_only.push(AuthorityRow {
        form: FormKind::AttendanceCorrection,
        up_to: Some(rust_decimal::Decimal::from(1)),
        final_rank: 5,
    });
    assert!(matches!(
        AuthorityTable::check(&bounded_only),
        Err(AuthorityError::InvalidTable(_))
    ));
    let table = AuthorityTable {
        version: 1,
        rows: rows(),
    };
    assert_eq!(
        table.row_for(FormKind::AttendanceCorrection, rust_decimal::Decimal::ZERO),
        table.row_for(FormKind::General, rust_decimal::Decimal::ZERO)
    );
}
