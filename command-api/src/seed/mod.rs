//! The demo company `erp up` seeds on first start, through the same command service as every
//! request, so its history is ordinary events: six departments, twelve employees with
//! managers and heads, this year's leave, documents in every state, a few days of attendance
//! and quests (`hr`).

use crate::error::ApiError;
use crate::service::Meta;
use crate::AppState;
use chrono::{Datelike, Utc};
use domain::approval::{Approval, ApprovalCommand as C, ApprovalLine, Content, RejectTarget};
use domain::authority::{AuthorityCommand, AuthorityPolicy, AuthorityTable};
use domain::form::{Body, FieldValue, LineItem};
use domain::ids::{ApprovalId, DepartmentId, EmployeeId};
use domain::leave::{LeaveCommand, LeaveLedger, DEFAULT_ANNUAL_DAYS};
use domain::line_rule::{Drafting, LineRules};
use domain::org::{Department, DepartmentCommand, Employee, EmployeeCommand, Position};
use domain::{Actor, Role};
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;
use uuid::Uuid;

mod base;
mod hr;

pub use base::*;
use base::{hr, Seeder};

/// Seeds the demo company unless the log already has employees.
pub async fn seed_if_empty(state: &AppState) -> Result<bool, ApiError> {
    let service = &state.service;
    let existing = service.log().end_offsets(streams::EMPLOYEE).await?;
    if existing.values().any(|end| *end > 0) {
        return Ok(false);
    }
    let mut s = Seeder { service, state, n: 0 };
    let now = Utc::now();
    let departments = [
        (HQ, "본사", "HQ", None, CEO),
        (MGMT, "경영지원실", "MGMT", Some(HQ), HR),
        (FINANCE, "재무팀", "FIN", Some(HQ), FIN_HEAD),
        (DEV, "개발본부", "DEV", Some(HQ), DEV_HEAD),
        (PLATFORM, "플랫폼팀", "PLT", Some(DEV), PLATFORM_LEAD),
        (SALES, "영업팀", "SALES", Some(HQ), SALES_HEAD),
    ];
    for (id, name, code, parent, _) in departments {
        let command = DepartmentCommand::Create {
            id,
            name: name.into(),
            code: code.into(),
            parent,
            by: hr(),
            at: now,
        };
        s.run::<Department>(streams::DEPARTMENT, id.0, command).await?;
    }
    let people: [Person; 12] = [
        (
            HR,
            "이인사",
            "hr",
            MGMT,
            "실장",
            6,
            Some(CEO),
            &[Role::HrAdmin, Role::Manager],
        ),
        (CEO, "김대표", "ceo", HQ, "대표이사", 9, None, &[Role::Manager]),
        (
            FIN_HEAD,
            "박재무",
            "finance.head",
            FINANCE,
            "팀장",
            6,
            Some(CEO),
            &[Role::Manager],
        ),
        (
            DEV_HEAD,
            "최개발",
            "dev.head",
            DEV,
            "본부장",
            7,
            Some(CEO),
            &[Role::Manager],
        ),
        (
            PLATFORM_LEAD,
            "정팀장",
            "platform.lead",
            PLATFORM,
            "팀장",
            5,
            Some(DEV_HEAD),
            &[Role::Manager],
        ),
        (
            DEV_KANG,
            "강개발",
            "kang",
            PLATFORM,
            "선임",
            3,
            Some(PLATFORM_LEAD),
            &[],
        ),
        (
            DEV_YOON,
            "윤개발",
            "yoon",
            PLATFORM,
            "사원",
            2,
            Some(PLATFORM_LEAD),
            &[],
        ),
        (
            SALES_HEAD,
            "한영업",
            "sales.head",
            SALES,
            "팀장",
            6,
            Some(CEO),
            &[Role::Manager],
        ),
        (SALES_OH, "오영업", "oh", SALES, "대리", 2, Some(SALES_HEAD), &[]),
        (
            AUDITOR,
            "서감사",
            "auditor",
            MGMT,
            "감사",
            5,
            Some(HR),
            &[Role::Auditor],
        ),
        (FIN_LIM, "임재무", "lim", FINANCE, "사원", 2, Some(FIN_HEAD), &[]),
        (DEV_CHO, "조신입", "cho", PLATFORM, "인턴", 1, Some(PLATFORM_LEAD), &[]),
    ];
    // 조신입 joined four months and a few days ago: his leave is the Act's monthly accrual
    // (one day per month of service), booked by the accrual run below, not a yearly grant.
    let cho_hired = (now.date_naive() - chrono::Days::new(10))
        .checked_sub_months(chrono::Months::new(4))
        .unwrap_or(now.date_naive());
    for (id, name, mail, department, title, rank, manager, roles) in people {
        let mut role_set: domain::Roles = roles.iter().copied().collect();
        role_set.insert(Role::Employee);
        let command = EmployeeCommand::Register {
            id,
            name: name.into(),
            email: format!("{mail}@demo.erp"),
            department,
            position: Position {
                title: title.into(),
                rank,
            },
            manager,
            roles: role_set,
            email_owner: None,
            hire_date: (id == DEV_CHO).then_some(cho_hired),
            by: hr(),
            at: now,
        };
        s.run::<Employee>(streams::EMPLOYEE, id.0, command).await?;
        if id == DEV_CHO {
            continue;
        }
        let grant = LeaveCommand::Grant {
            employee: id,
            year: now.year(),
            days: DEFAULT_ANNUAL_DAYS,
            by: hr(),
            at: now,
        };
        s.run::<LeaveLedger>(streams::LEAVE, id.0, grant).await?;
    }
    for (id, _, _, _, head) in departments {
        s.run::<Department>(
            streams::DEPARTMENT,
            id.0,
            DepartmentCommand::AppointHead {
                head: Some(head),
                by: hr(),
                at: now,
            },
        )
        .await?;
    }
    s.run::<AuthorityPolicy>(
        streams::POLICY,
        domain::authority::COMPANY,
        AuthorityCommand::SetTable {
            rows: AuthorityTable::default().rows,
            reason: "데모 회사 전결 규정".into(),
            by: hr(),
            at: now,
        },
    )
    .await?;
    documents(&mut s).await?;
    hr::schedules(&mut s, now).await?;
    hr::attendance(&mut s, now).await?;
    hr::quests(&mut s, now).await?;
    let today = now.with_timezone(&state.settings.company_offset).date_naive();
    crate::accrual::run(state, today, now).await;
    tracing::info!("seeded the demo company");
    Ok(true)
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn expense_body(purpose: &str, items: &[(&str, i64, i64)]) -> Body {
    [
        ("purpose".to_owned(), text(purpose)),
        ("spent_on".to_owned(), FieldValue::Date(Utc::now().date_naive())),
        (
            "items".to_owned(),
            FieldValue::LineItems(
                items
                    .iter()
                    .map(|(d, q, p)| LineItem {
                        description: (*d).into(),
                        quantity: Decimal::from(*q),
                        unit_price: Decimal::from(*p),
                    })
                    .collect(),
            ),
        ),
    ]
    .into()
}

/// One document per state: 진행 (pending), 완료, 반려, 임시저장, 합의 진행, 회수, 보류.
async fn documents(s: &mut Seeder<'_>) -> Result<(), ApiError> {
    let today = Utc::now().date_naive();
    let general = |t: &str| -> Body { [("content".to_owned(), text(t))].into() };
    let leave: Body = [
        ("leave_type".to_owned(), FieldValue::Select("annual".into())),
        (
            "period".to_owned(),
            FieldValue::DateRange {
                start: today,
                end: today.succ_opt().unwrap_or(today),
            },
        ),
        ("days".to_owned(), FieldValue::Number(Decimal::from(2))),
        ("reason".to_owned(), text("가족 행사")),
    ]
    .into();
    let purchase: Body = [
        ("vendor".to_owned(), text("(주)하드웨어")),
        (
            "items".to_owned(),
            FieldValue::LineItems(vec![LineItem {
                description: "개발용 서버".into(),
                quantity: Decimal::ONE,
                unit_price: Decimal::from(3_000_000),
            }]),
        ),
        ("reason".to_owned(), text("빌드 서버 증설")),
    ]
    .into();
    let docs: Vec<DemoDoc> = vec![
        (
            201,
            DEV_KANG,
            "expense",
            "팀 회식비 정산",
            expense_body("팀 회식", &[("저녁 식사", 1, 180_000)]),
            vec![],
        ),
        (
            202,
            DEV_YOON,
            "leave",
            "연차 신청 (2일)",
            leave,
            vec![Step::Approve(PLATFORM_LEAD)],
        ),
        (
            203,
            SALES_OH,
            "general",
            "거래처 방문 보고",
            general("3월 거래처 방문 결과를 보고합니다."),
            vec![Step::Reject(SALES_HEAD)],
        ),
        (
            204,
            DEV_CHO,
            "expense",
            "도서 구입비",
            expense_body("기술 서적", &[("러스트 프로그래밍", 2, 38_000)]),
            vec![Step::StayDraft],
        ),
        (
            205,
            DEV_KANG,
            "purchase",
            "빌드 서버 구매 요청",
            purchase,
            vec![Step::Approve(PLATFORM_LEAD)],
        ),
        (
            206,
            DEV_YOON,
            "general",
            "재택 근무 신청",
            general("다음 주 재택 근무를 신청합니다."),
            vec![Step::Withdraw],
        ),
        (
            207,
            FIN_LIM,
            "general",
            "분기 결산 일정",
            general("분기 결산 일정을 공유합니다."),
            vec![Step::Hold(FIN_HEAD)],
        ),
    ];
    for (n, drafter, form_id, title, body, steps) in docs {
        let n: u128 = n;
        let id = ApprovalId(demo_id(n));
        let form = s.service.form(form_id, None)?.clone();
        let chart = s.state.directory.org_chart();
        let table = s.service.authority_table().await?;
        let rules = LineRules {
            chart: &chart,
            policy: &s.state.settings.policy,
            table: &table,
        };
        let suggestion = rules.suggest(Drafting {
            drafter,
            form: &form,
            amount: form.amount(&body),
            leave_days: form.leave_days(&body),
        })?;
        let by = Actor::employee(drafter);
        let at = Utc::now();
        let content = Content {
            title: title.into(),
            body,
            attachments: vec![],
        };
        s.run::<Approval>(
            streams::APPROVAL,
            id.0,
            C::Draft {
                id,
                form: form.clone(),
                content,
                line: suggestion.line.clone(),
                by: by.clone(),
                at,
            },
        )
        .await?;
        if steps.first() == Some(&Step::StayDraft) {
            continue;
        }
        let doc = s
            .service
            .load::<Approval>(&StreamRef::new(streams::APPROVAL, id.to_string()))
            .await?
            .state
            .0
            .ok_or_else(|| ApiError::internal("seeding", "a drafted demo document is missing"))?;
        let cause = Meta::system(Uuid::from_u128(0x5eed_0000_0000_7000_8000_0001_0000_0000 + n), None);
        let prepared = crate::submission::prepare(s.state, &form, &doc, &doc.content, &doc.line, &cause).await?;
        s.run::<Approval>(
            streams::APPROVAL,
            id.0,
            C::Submit {
                form,
                rule: prepared.rule.clone(),
                authority: prepared.authority.clone(),
                roster: prepared.roster.clone(),
                leave_balance: prepared.leave_balance,
                by: by.clone(),
                at,
            },
        )
        .await?;
        for step in steps {
            let at = Utc::now();
            let command = match step {
                Step::Approve(who) => C::Approve {
                    comment: Some("확인했습니다.".into()),
                    proxy: None,
                    by: Actor::employee(who),
                    at,
                },
                Step::Reject(who) => C::Reject {
                    reason: "내용 보완 후 재상신 바랍니다.".into(),
                    to: RejectTarget::Drafter,
                    proxy: None,
                    by: Actor::employee(who),
                    at,
                },
                Step::Withdraw => C::Withdraw { by: by.clone(), at },
                Step::Hold(who) => C::Hold {
                    reason: "일정 확인 중".into(),
                    proxy: None,
                    by: Actor::employee(who),
                    at,
                },
                Step::StayDraft => continue,
            };
            s.run::<Approval>(streams::APPROVAL, id.0, command).await?;
        }
    }
    let _ = ApprovalLine::default();
    Ok(())
}

/// id, name, mailbox, department, position title, rank, manager, extra roles.
type Person = (
    EmployeeId,
    &'static str,
    &'static str,
    DepartmentId,
    &'static str,
    u8,
    Option<EmployeeId>,
    &'static [Role],
);

/// id suffix, drafter, form, title, body, what happens after 상신.
type DemoDoc = (u128, EmployeeId, &'static str, &'static str, Body, Vec<Step>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Approve(EmployeeId),
    Reject(EmployeeId),
    Withdraw,
    Hold(EmployeeId),
    StayDraft,
}
