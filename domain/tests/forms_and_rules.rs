//! Form validation against versioned templates, and line suggestion from the org chart.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use chrono::NaiveDate;
use domain::approval::{Quorum, Step};
use domain::authority::AuthorityTable;
use domain::form::{
    builtin_forms, expense_form, general_form, leave_form, purchase_form, FieldError, FieldValue, LineItem,
};
use domain::ids::DepartmentId;
use domain::line_rule::{Drafting, LinePolicy, LineRules, RuleError, STANDARD_RULE};
use domain::org::{OrgChart, OrgDepartment, OrgMember};
use rust_decimal::Decimal;
use support::*;
use uuid::Uuid;

fn items(price: i64) -> FieldValue {
    FieldValue::LineItems(vec![
        LineItem {
            description: "노트북".into(),
            quantity: Decimal::from(2),
            unit_price: Decimal::from(price),
        },
        LineItem {
            description: "마우스".into(),
            quantity: Decimal::ONE,
            unit_price: Decimal::from(10_000),
        },
    ])
}

fn expense_body(price: i64) -> domain::form::Body {
    [
        ("purpose".to_owned(), FieldValue::Text("장비 구입".into())),
        (
            "spent_on".to_owned(),
            FieldValue::Date(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()),
        ),
        ("items".to_owned(), items(price)),
    ]
    .into()
}

#[test]
fn the_five_builtin_forms_exist_with_distinct_prefixes() {
    let forms = builtin_forms();
    let prefixes: std::collections::BTreeSet<_> = forms.iter().map(|f| f.prefix.clone()).collect();
    assert_eq!(forms.len(), 5);
    assert_eq!(prefixes.len(), 5);
}

#[test]
fn an_expense_amount_is_the_total_of_its_line_items() {
    let form = expense_form();
    let body = expense_body(1_500_000);
    form.validate(&body).unwrap();
    assert_eq!(form.amount(&body), Some(Decimal::from(3_010_000)));
}

#[test]
fn every_problem_in_a_body_is_reported_at_once() {
    let mut body = expense_body(100);
    body.insert("purpose".into(), FieldValue::Number(Decimal::ONE));
    body.insert("bogus".into(), FieldValue::Text("?".into()));
    body.remove("spent_on");
    let errors = expense_form().validate(&body).unwrap_err().errors;
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.contains(&FieldError::Unknown { field: "bogus".into() }));
    assert!(errors.contains(&FieldError::Required {
        field: "spent_on".into()
    }));
    assert!(errors.contains(&FieldError::WrongType {
        field: "purpose".into(),
        expected: "text".into()
    }));
}

#[test]
fn line_items_need_a_positive_quantity() {
    let mut body = expense_body(100);
    body.insert(
        "items".into(),
        FieldValue::LineItems(vec![LineItem {
            description: "x".into(),
            quantity: Decimal::ZERO,
            unit_price: Decimal::ONE,
        }]),
    );
    assert_eq!(
        expense_form().validate(&body).unwrap_err().errors,
        vec![FieldError::BadLineItem { field: "items".into() }]
    );
}

#[test]
fn leave_days_come_in_half_days_and_periods_run_forward() {
    let start = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let body = |days: Decimal, end: NaiveDate| -> domain::form::Body {
        [
            ("leave_type".to_owned(), FieldValue::Select("annual".into())),
            ("period".to_owned(), FieldValue::DateRange { start, end }),
            ("days".to_owned(), FieldValue::Number(days)),
        ]
        .into()
    };
    leave_form().validate(&body(Decimal::new(5, 1), start)).unwrap();
    let errors = leave_form()
        .validate(&body(Decimal::new(7, 1), start.pred_opt().unwrap()))
        .unwrap_err()
        .errors;
    assert_eq!(
        errors,
        vec![
            FieldError::EndBeforeStart { field: "period".into() },
            FieldError::OutOfRange { field: "days".into() },
        ]
    );
}

#[test]
fn a_select_only_takes_its_options_and_text_has_a_limit() {
    let mut body = domain::form::Body::new();
    body.insert("leave_type".into(), FieldValue::Select("vacation".into()));
    assert!(leave_form()
        .validate(&body)
        .unwrap_err()
        .errors
        .contains(&FieldError::NotAnOption {
            field: "leave_type".into()
        }));
    let long = [("content".to_owned(), FieldValue::Text("가".repeat(20_001)))].into();
    assert_eq!(
        general_form().validate(&long).unwrap_err().errors,
        vec![FieldError::TooLong {
            field: "content".into(),
            max_len: 20_000
        }]
    );
}

const ROOT: DepartmentId = DepartmentId(Uuid::from_u128(1000));
const PURCHASING: DepartmentId = DepartmentId(Uuid::from_u128(1001));

/// CEO DAVE (rank 9) heads ROOT; CAROL (7) heads DEPT; BOB (5) manages ALICE in DEPT; ERIN (6)
/// heads PURCHASING.
fn chart() -> OrgChart {
    let mut chart = OrgChart::default();
    chart.departments.insert(
        ROOT,
        OrgDepartment {
            parent: None,
            head: Some(DAVE),
        },
    );
    chart.departments.insert(
        DEPT,
        OrgDepartment {
            parent: Some(ROOT),
            head: Some(CAROL),
        },
    );
    chart.departments.insert(
        PURCHASING,
        OrgDepartment {
            parent: Some(ROOT),
            head: Some(ERIN),
        },
    );
    let member = |department, manager, rank| OrgMember {
        department,
        manager,
        rank,
        active: true,
    };
    chart.employees.insert(DAVE, member(ROOT, None, 9));
    chart.employees.insert(CAROL, member(DEPT, Some(DAVE), 7));
    chart.employees.insert(BOB, member(DEPT, Some(CAROL), 5));
    chart.employees.insert(ALICE, member(DEPT, Some(BOB), 1));
    chart.employees.insert(ERIN, member(PURCHASING, Some(DAVE), 6));
    chart
}

fn table() -> AuthorityTable {
    AuthorityTable::default()
}

fn suggest(
    chart: &OrgChart,
    drafter: domain::ids::EmployeeId,
    form: &domain::form::FormTemplate,
    amount: Option<Decimal>,
    leave_days: Option<Decimal>,
) -> Result<domain::line_rule::Suggestion, RuleError> {
    let (policy, table) = (policy(), table());
    LineRules {
        chart,
        policy: &policy,
        table: &table,
    }
    .suggest(Drafting {
        drafter,
        form,
        amount,
        leave_days,
    })
}

fn policy() -> LinePolicy {
    LinePolicy {
        agreement_department: Some(PURCHASING),
        finance_department: Some(PURCHASING),
        ..LinePolicy::default()
    }
}

#[test]
fn a_small_expense_goes_to_the_manager_who_will_hold_final_authority_then_the_head() {
    let s = suggest(&chart(), ALICE, &expense_form(), Some(Decimal::from(50_000)), None).unwrap();
    assert_eq!(s.rule.id, STANDARD_RULE);
    assert_eq!(s.line.steps, vec![Step::approval(BOB), Step::approval(CAROL)]);
    assert_eq!(s.requirement.approvers, vec![BOB]);
    assert_eq!(s.requirement.final_approver, Some(BOB));
    assert_eq!(s.requirement.rule.row.final_rank, 5);
    assert_eq!(s.line.receivers, vec![PURCHASING]);
}

#[test]
fn a_large_expense_needs_the_executive() {
    let s = suggest(&chart(), ALICE, &expense_form(), Some(Decimal::from(20_000_000)), None).unwrap();
    assert_eq!(
        s.line.steps,
        vec![Step::approval(BOB), Step::approval(CAROL), Step::approval(DAVE)]
    );
}

#[test]
fn a_larger_purchase_adds_an_agreement_step_before_the_approver_above_the_authority() {
    let s = suggest(&chart(), ALICE, &purchase_form(), Some(Decimal::from(5_000_000)), None).unwrap();
    assert_eq!(
        s.line.steps,
        vec![
            Step::approval(BOB),
            Step::approval(CAROL),
            Step::Agreement {
                members: vec![ERIN],
                quorum: Quorum::All
            },
            Step::approval(DAVE),
        ]
    );
    assert_eq!(s.requirement.approvers, vec![BOB, CAROL]);
    assert_eq!(s.requirement.agreement, vec![ERIN]);
}

#[test]
fn short_leave_needs_only_the_manager_and_long_leave_the_head_too() {
    let short = suggest(&chart(), ALICE, &leave_form(), None, Some(Decimal::ONE)).unwrap();
    assert_eq!(short.line.steps, vec![Step::approval(BOB)]);
    let long = suggest(&chart(), ALICE, &leave_form(), None, Some(Decimal::from(5))).unwrap();
    assert_eq!(long.line.steps, vec![Step::approval(BOB), Step::approval(CAROL)]);
}

#[test]
fn a_suggested_line_never_holds_the_drafter() {
    // CAROL heads DEPT: her own head is the executive.
    let s = suggest(&chart(), CAROL, &general_form(), None, None).unwrap();
    assert_eq!(s.line.steps, vec![Step::approval(DAVE)]);
    s.line.validate_shape(CAROL).unwrap();
}

#[test]
fn nobody_above_the_top_means_no_line() {
    assert_eq!(
        suggest(&chart(), DAVE, &general_form(), None, None),
        Err(RuleError::NoApprover)
    );
    assert_eq!(
        suggest(&chart(), FRANK, &general_form(), None, None),
        Err(RuleError::UnknownDrafter)
    );
}

#[test]
fn an_inactive_manager_is_passed_over() {
    let mut chart = chart();
    chart.employees.get_mut(&BOB).unwrap().active = false;
    let s = suggest(&chart, ALICE, &leave_form(), None, Some(Decimal::ONE)).unwrap();
    assert_eq!(s.line.steps, vec![Step::approval(CAROL)]);
}

#[test]
fn an_amount_that_would_overflow_is_out_of_range_not_a_panic() {
    let huge = Decimal::MAX;
    let body: domain::form::Body = [
        ("purpose".to_owned(), FieldValue::Text("과다".into())),
        (
            "spent_on".to_owned(),
            FieldValue::Date(NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()),
        ),
        (
            "items".to_owned(),
            FieldValue::LineItems(vec![
                LineItem {
                    description: "a".into(),
                    quantity: huge,
                    unit_price: huge,
                },
                LineItem {
                    description: "b".into(),
                    quantity: huge,
                    unit_price: huge,
                },
            ]),
        ),
    ]
    .into();
    let form = expense_form();
    assert!(form.validate(&body).is_err());
    // Reading the amount of an unvalidated body (line suggestion does) must not panic either.
    assert_eq!(form.amount(&body), Some(Decimal::MAX));
}

#[test]
fn money_above_the_ceiling_is_out_of_range() {
    let too_much = domain::form::MAX_MONEY + Decimal::ONE;
    let item = |price| {
        FieldValue::LineItems(vec![LineItem {
            description: "서버".into(),
            quantity: Decimal::ONE,
            unit_price: price,
        }])
    };
    let form = expense_form();
    let field = form.amount_field.clone().unwrap();
    let with = |v| -> domain::form::Body { [(field.clone(), v)].into() };
    assert!(form
        .validate_draft(&with(item(too_much)))
        .unwrap_err()
        .errors
        .iter()
        .any(|e| matches!(e, FieldError::BadLineItem { .. })));
    assert!(form.validate_draft(&with(item(domain::form::MAX_MONEY))).is_ok());
}
