//! The schema's own checks: row types against tables, statements' bounds.

use super::*;
use crate::readmodel::rows::*;

fn text_row(bytes: usize) -> Bound {
    Bound {
        table: "approvals",
        key_columns: 1,
        values: vec![Value::Text(Some("x".repeat(bytes))), Value::Int(1)],
    }
}

/// An INSERT carries at most its count of rows and its bytes; a row larger than the
/// byte bound goes alone, and every row goes once, in order.
#[test]
fn statements_are_cut_by_rows_and_by_bytes() {
    let sizes = |rows: &[Bound], per: usize| -> Vec<usize> { statements(rows, per).iter().map(|s| s.len()).collect() };
    let small: Vec<Bound> = (0..10).map(|_| text_row(100)).collect();
    assert_eq!(sizes(&small, 4), vec![4, 4, 2]);
    let mib = 1 << 20;
    let large: Vec<Bound> = (0..10).map(|_| text_row(mib)).collect();
    assert_eq!(
        sizes(&large, 64),
        vec![3, 3, 3, 1],
        "three 1 MiB rows and their ints fit 4 MiB"
    );
    let mixed = vec![text_row(100), text_row(5 * mib), text_row(100), text_row(100)];
    assert_eq!(sizes(&mixed, 64), vec![1, 1, 2], "the oversized row alone");
    assert!(statements(&[], 4).is_empty());
}

/// Every row type names its table's columns, no more and no fewer, and its key is the
/// table's primary key: binding by name cannot silently drop or misplace a column.
#[test]
fn every_row_type_matches_its_tables_columns_and_key() {
    fn check<R: TableRow + Default>() {
        let bound = bound(&R::default()).unwrap_or_else(|e| panic!("{}: {e}", R::TABLE));
        let (_, columns, key) = table(R::TABLE).unwrap();
        assert_eq!(R::KEY.join(", "), *key, "{}", R::TABLE);
        let leading: Vec<&str> = columns.iter().take(R::KEY.len()).map(|(n, _)| *n).collect();
        assert_eq!(leading, R::KEY, "{}: the key leads the columns", R::TABLE);
        assert_eq!(bound.key_columns, key.split(',').count());
    }
    check::<CheckpointRow>();
    check::<StreamGuardRow>();
    check::<EmployeeRow>();
    check::<DepartmentRow>();
    check::<DelegationRow>();
    check::<LeaveBalanceRow>();
    check::<LeaveEntryRow>();
    check::<AttendanceDayRow>();
    check::<QuestRow>();
    check::<QuestParticipantRow>();
    check::<ApprovalRow>();
    check::<TimelineRow>();
    check::<InboxRow>();
    check::<NotificationRow>();
    check::<FeedReadRow>();
    // The HR notice tables hold feed rows too.
    for feed in FEEDS {
        let row = bound_in(feed, &NotificationRow::default()).unwrap_or_else(|e| panic!("{feed}: {e}"));
        assert_eq!((row.table, row.key_columns), (feed, 1));
    }
    let tables: Vec<&str> = TABLES.iter().map(|(t, _, _)| *t).collect();
    assert_eq!(tables.len(), 18, "a table without a row type: {tables:?}");
}
