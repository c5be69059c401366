//! Employees, departments and proxy delegations.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use domain::ids::DepartmentId;
use domain::org::{
    Delegation, DelegationCommand, DelegationError, DelegationEvent, Department, DepartmentCommand, DepartmentError,
    Employee, EmployeeCommand, EmployeeError, EmployeeEvent, OrgChart, OrgDepartment, OrgMember, Position, Window,
};
use domain::testkit::given;
use domain::{Actor, Role};
use support::*;
use uuid::Uuid;

fn hr() -> Actor {
    actor(HR).with_role(Role::HrAdmin)
}

fn staff() -> Position {
    Position {
        title: "사원".into(),
        rank: 1,
    }
}

fn register(email: &str, owner: Option<domain::ids::EmployeeId>, by: Actor) -> EmployeeCommand {
    EmployeeCommand::Register {
        id: BOB,
        name: "김밥".into(),
        email: email.into(),
        department: DEPT,
        position: staff(),
        manager: Some(CAROL),
        roles: [Role::Employee].into(),
        email_owner: owner,
        hire_date: None,
        by,
        at: t(0),
    }
}

fn registered() -> EmployeeEvent {
    EmployeeEvent::Registered {
        id: BOB,
        name: "김밥".into(),
        email: "bob@corp.example".into(),
        department: DEPT,
        position: staff(),
        manager: Some(CAROL),
        roles: [Role::Employee].into(),
        by: HR,
        at: t(0),
    }
}

#[test]
fn hr_registers_an_employee_with_a_normalised_email() {
    let state = given::<Employee>([])
        .when(register(" Bob@Corp.Example ", None, hr()))
        .then([registered()]);
    assert!(state.active);
    assert_eq!(state.email, "bob@corp.example");
}

#[test]
fn a_registration_with_a_hire_date_records_it_and_hr_may_correct_it_later() {
    let hired = chrono::NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
    let mut command = register("bob@corp.example", None, hr());
    if let EmployeeCommand::Register { hire_date, .. } = &mut command {
        *hire_date = Some(hired);
    }
    let hire_date_set = |hire_date| EmployeeEvent::HireDateSet {
        hire_date,
        by: HR,
        at: t(0),
    };
    let state = given::<Employee>([])
        .when(command)
        .then([registered(), hire_date_set(hired)]);
    assert_eq!(state.hire_date, Some(hired));

    let corrected = chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
    let set = |hire_date, by| EmployeeCommand::SetHireDate {
        hire_date,
        by,
        at: t(0),
    };
    given::<Employee>([registered(), hire_date_set(hired)])
        .when(set(corrected, hr()))
        .then([hire_date_set(corrected)]);
    given::<Employee>([registered(), hire_date_set(hired)])
        .when(set(hired, hr()))
        .then([]);
    given::<Employee>([registered()])
        .when(set(hired, actor(CAROL)))
        .then_err(EmployeeError::NotHrAdmin);
    given::<Employee>([])
        .when(set(hired, hr()))
        .then_err(EmployeeError::NotFound);
}

#[test]
fn only_hr_manages_employees() {
    given::<Employee>([])
        .when(register("bob@corp.example", None, actor(CAROL)))
        .then_err(EmployeeError::NotHrAdmin);
}

#[test]
fn an_email_belongs_to_one_employee() {
    given::<Employee>([])
        .when(register("bob@corp.example", Some(DAVE), hr()))
        .then_err(EmployeeError::EmailTaken);
}

#[test]
fn a_malformed_email_is_refused() {
    for bad in ["bob", "bob@", "@corp.example", "bob@corp", "b ob@corp.example"] {
        given::<Employee>([])
            .when(register(bad, None, hr()))
            .then_err(EmployeeError::InvalidEmail);
    }
}

#[test]
fn an_email_longer_than_the_read_model_column_is_refused() {
    // 192 characters: valid by RFC length (≤ 254 bytes) but wider than the unique column.
    let long = format!("{}@corp.example", "a".repeat(192 - "@corp.example".len()));
    assert_eq!(long.chars().count(), 192);
    given::<Employee>([])
        .when(register(&long, None, hr()))
        .then_err(EmployeeError::InvalidEmail);
}

#[test]
fn an_overlong_position_title_is_refused() {
    given::<Employee>([registered()])
        .when(EmployeeCommand::ChangePosition {
            position: domain::org::Position {
                title: "부".repeat(51),
                rank: 3,
            },
            by: hr(),
            at: t(1),
        })
        .then_err(EmployeeError::InvalidPosition);
}

#[test]
fn an_employee_is_not_their_own_manager() {
    given::<Employee>([registered()])
        .when(EmployeeCommand::ChangeManager {
            manager: Some(BOB),
            by: hr(),
            at: t(1),
        })
        .then_err(EmployeeError::OwnManager);
}

#[test]
fn transfers_promotions_and_roles_are_recorded() {
    let other = DepartmentId(Uuid::from_u128(999));
    let state = given::<Employee>([registered()])
        .when(EmployeeCommand::ChangeDepartment {
            department: other,
            by: hr(),
            at: t(1),
        })
        .state_after();
    assert_eq!(state.department, Some(other));
    let lead = Position {
        title: "팀장".into(),
        rank: 5,
    };
    let state = given::<Employee>([registered()])
        .when(EmployeeCommand::ChangePosition {
            position: lead.clone(),
            by: hr(),
            at: t(1),
        })
        .state_after();
    assert_eq!(state.position, Some(lead));
    given::<Employee>([registered()])
        .when(EmployeeCommand::AssignRoles {
            roles: [Role::Auditor].into(),
            by: hr(),
            at: t(1),
        })
        .then_err(EmployeeError::MissingEmployeeRole);
}

#[test]
fn a_deactivated_employee_cannot_be_changed() {
    let off = EmployeeEvent::Deactivated { by: HR, at: t(1) };
    let state = given::<Employee>([registered()])
        .when(EmployeeCommand::Deactivate { by: hr(), at: t(1) })
        .then([off.clone()]);
    assert!(!state.active);
    given::<Employee>([registered(), off])
        .when(EmployeeCommand::UpdateProfile {
            name: "X".into(),
            email: "x@corp.example".into(),
            email_owner: None,
            by: hr(),
            at: t(2),
        })
        .then_err(EmployeeError::Deactivated);
}

#[test]
fn changes_to_an_unknown_employee_are_not_found() {
    given::<Employee>([])
        .when(EmployeeCommand::Deactivate { by: hr(), at: t(1) })
        .then_err(EmployeeError::NotFound);
}

fn dept_created(id: DepartmentId, parent: Option<DepartmentId>) -> domain::org::DepartmentEvent {
    domain::org::DepartmentEvent::Created {
        id,
        name: "개발팀".into(),
        code: "DEV".into(),
        parent,
        by: HR,
        at: t(0),
    }
}

#[test]
fn hr_creates_departments_and_appoints_heads() {
    let state = given::<Department>([dept_created(DEPT, None)])
        .when(DepartmentCommand::AppointHead {
            head: Some(CAROL),
            by: hr(),
            at: t(1),
        })
        .state_after();
    assert_eq!(state.head, Some(CAROL));
}

#[test]
fn a_department_cannot_move_under_its_own_descendant() {
    let child = DepartmentId(Uuid::from_u128(777));
    given::<Department>([dept_created(DEPT, None)])
        .when(DepartmentCommand::Move {
            parent: Some(child),
            parent_ancestors: vec![child, DEPT],
            by: hr(),
            at: t(1),
        })
        .then_err(DepartmentError::Cycle);
    given::<Department>([dept_created(DEPT, None)])
        .when(DepartmentCommand::Move {
            parent: Some(DEPT),
            parent_ancestors: vec![],
            by: hr(),
            at: t(1),
        })
        .then_err(DepartmentError::Cycle);
}

#[test]
fn a_department_with_members_stays_open() {
    given::<Department>([dept_created(DEPT, None)])
        .when(DepartmentCommand::Close {
            has_members: true,
            by: hr(),
            at: t(1),
        })
        .then_err(DepartmentError::HasMembers);
    let state = given::<Department>([dept_created(DEPT, None)])
        .when(DepartmentCommand::Close {
            has_members: false,
            by: hr(),
            at: t(1),
        })
        .state_after();
    assert!(state.closed);
}

fn grant(
    principal: domain::ids::EmployeeId,
    proxy: domain::ids::EmployeeId,
    by: Actor,
    window: Window,
) -> DelegationCommand {
    DelegationCommand::Grant {
        id: DELEGATION,
        principal,
        proxy,
        window,
        reason: "휴가".into(),
        by,
        at: t(0),
    }
}

#[test]
fn an_employee_names_their_own_proxy_for_a_window() {
    let window = Window {
        from: t(0),
        until: t(60),
    };
    let state = given::<Delegation>([])
        .when(grant(BOB, FRANK, actor(BOB), window))
        .state_after();
    assert!(state.authorises(FRANK, BOB, t(59)));
    assert!(!state.authorises(FRANK, BOB, t(60)), "the window is half-open");
    assert!(!state.authorises(CAROL, BOB, t(1)));
}

#[test]
fn nobody_names_a_proxy_for_someone_else_unless_hr() {
    let window = Window {
        from: t(0),
        until: t(60),
    };
    given::<Delegation>([])
        .when(grant(BOB, FRANK, actor(CAROL), window))
        .then_err(DelegationError::NotAllowed);
    given::<Delegation>([]).when(grant(BOB, FRANK, hr(), window)).events();
}

#[test]
fn a_delegation_needs_another_person_and_a_real_window() {
    given::<Delegation>([])
        .when(grant(
            BOB,
            BOB,
            actor(BOB),
            Window {
                from: t(0),
                until: t(60),
            },
        ))
        .then_err(DelegationError::SelfDelegation);
    given::<Delegation>([])
        .when(grant(
            BOB,
            FRANK,
            actor(BOB),
            Window {
                from: t(60),
                until: t(60),
            },
        ))
        .then_err(DelegationError::EmptyWindow);
}

#[test]
fn a_revoked_delegation_stops_authorising() {
    let granted = DelegationEvent::Granted {
        id: DELEGATION,
        principal: BOB,
        proxy: FRANK,
        window: Window {
            from: t(0),
            until: t(60),
        },
        reason: "휴가".into(),
        by: BOB,
        at: t(0),
    };
    let state = given::<Delegation>([granted.clone()])
        .when(DelegationCommand::Revoke {
            by: actor(BOB),
            at: t(1),
        })
        .state_after();
    assert!(!state.authorises(FRANK, BOB, t(2)));
    given::<Delegation>([granted, DelegationEvent::Revoked { by: BOB, at: t(1) }])
        .when(DelegationCommand::Revoke {
            by: actor(BOB),
            at: t(2),
        })
        .then_err(DelegationError::AlreadyRevoked);
}

#[test]
fn the_org_chart_walks_up_to_the_executive() {
    let root = DepartmentId(Uuid::from_u128(1000));
    let mut chart = OrgChart::default();
    chart.departments.insert(
        root,
        OrgDepartment {
            parent: None,
            head: Some(DAVE),
        },
    );
    chart.departments.insert(
        DEPT,
        OrgDepartment {
            parent: Some(root),
            head: Some(CAROL),
        },
    );
    for (id, dept) in [(DAVE, root), (CAROL, DEPT), (BOB, DEPT)] {
        chart.employees.insert(
            id,
            OrgMember {
                department: dept,
                manager: None,
                rank: 1,
                active: true,
            },
        );
    }
    assert_eq!(chart.ancestry(DEPT), vec![DEPT, root]);
    assert_eq!(chart.head_above(DEPT, BOB), Some(CAROL));
    assert_eq!(
        chart.head_above(DEPT, CAROL),
        Some(DAVE),
        "a head's own head is above them"
    );
    assert_eq!(chart.executive_of(DEPT), Some(DAVE));
}

#[test]
fn hr_sets_a_departments_work_schedule_once_and_may_return_it_to_the_standard_day() {
    use domain::attendance::{ScheduleError, WorkSchedule};
    use domain::org::{DepartmentError, DepartmentEvent};
    let flexible = WorkSchedule::flexible_standard();
    let set = |schedule: Option<WorkSchedule>, by: Actor| DepartmentCommand::SetSchedule { schedule, by, at: t(1) };
    let state = given::<Department>([dept_created(DEPT, None)])
        .when(set(Some(flexible.clone()), hr()))
        .then([DepartmentEvent::ScheduleSet {
            schedule: Some(flexible.clone()),
            by: HR,
            at: t(1),
        }]);
    assert_eq!(state.schedule, Some(flexible.clone()));
    let scheduled = [
        dept_created(DEPT, None),
        DepartmentEvent::ScheduleSet {
            schedule: Some(flexible.clone()),
            by: HR,
            at: t(1),
        },
    ];
    given::<Department>(scheduled.clone())
        .when(set(Some(flexible.clone()), hr()))
        .then([]);
    let state = given::<Department>(scheduled).when(set(None, hr())).state_after();
    assert_eq!(state.schedule, None);
    given::<Department>([dept_created(DEPT, None)])
        .when(set(Some(flexible.clone()), actor(BOB).with_role(Role::Manager)))
        .then_err(DepartmentError::NotHrAdmin);
    let mut backwards = WorkSchedule::standard();
    backwards.end = backwards.start;
    given::<Department>([dept_created(DEPT, None)])
        .when(set(Some(backwards), hr()))
        .then_err(DepartmentError::Schedule(ScheduleError::EndBeforeStart));
}
