//! 알림 읽음: a reader marks notifications read one by one or all at once, as events.

mod support;

use domain::feed::{FeedCommand as C, FeedError, FeedEvent as E, FeedReads, Mark, MAX_MARKS};
use domain::testkit::given;
use support::*;

fn mark(id: &str, n: i64) -> Mark {
    Mark {
        id: id.into(),
        at: t(n),
    }
}

fn read(marks: Vec<Mark>, n: i64) -> C {
    C::MarkRead {
        reader: ALICE,
        by: actor(ALICE),
        marks,
        at: t(n),
    }
}

fn all_read(through: i64, n: i64) -> C {
    C::MarkAllRead {
        reader: ALICE,
        by: actor(ALICE),
        through: t(through),
        at: t(n),
    }
}

#[test]
fn a_reader_marks_a_notification_read_and_it_is_read() {
    let state = given::<FeedReads>([])
        .when(read(vec![mark("doc:1:alice:submitted", 1)], 5))
        .then([E::Read {
            reader: ALICE,
            marks: vec![mark("doc:1:alice:submitted", 1)],
            at: t(5),
        }]);
    assert!(state.is_read("doc:1:alice:submitted", t(1)));
    assert!(!state.is_read("doc:2:alice:submitted", t(2)));
}

#[test]
fn marking_what_is_already_read_records_nothing() {
    given::<FeedReads>([E::Read {
        reader: ALICE,
        marks: vec![mark("a", 1)],
        at: t(5),
    }])
    .when(read(vec![mark("a", 1), mark("a", 1)], 6))
    .then([]);
    given::<FeedReads>([E::AllRead {
        reader: ALICE,
        through: t(10),
        at: t(10),
    }])
    .when(read(vec![mark("b", 3)], 11))
    .then([]);
}

#[test]
fn a_mark_named_twice_in_one_command_is_recorded_once() {
    given::<FeedReads>([])
        .when(read(vec![mark("a", 1), mark("a", 1), mark("b", 2)], 5))
        .then([E::Read {
            reader: ALICE,
            marks: vec![mark("a", 1), mark("b", 2)],
            at: t(5),
        }]);
}

#[test]
fn mark_all_read_reads_everything_up_to_what_the_reader_saw_and_not_what_came_after() {
    let state = given::<FeedReads>([]).when(all_read(10, 12)).then([E::AllRead {
        reader: ALICE,
        through: t(10),
        at: t(12),
    }]);
    assert!(state.is_read("anything", t(10)));
    assert!(!state.is_read("arrived while clicking", t(11)));
}

#[test]
fn mark_all_read_forgets_the_single_marks_it_covers_and_keeps_newer_ones() {
    let state = given::<FeedReads>([E::Read {
        reader: ALICE,
        marks: vec![mark("old", 3), mark("new", 20)],
        at: t(21),
    }])
    .when(all_read(10, 22))
    .state_after();
    assert_eq!(state.marks.keys().collect::<Vec<_>>(), ["new"]);
    assert!(state.is_read("old", t(3)) && state.is_read("new", t(20)));
}

#[test]
fn mark_all_read_never_moves_back() {
    given::<FeedReads>([E::AllRead {
        reader: ALICE,
        through: t(10),
        at: t(10),
    }])
    .when(all_read(5, 11))
    .then([]);
}

#[test]
fn only_the_recipient_marks_their_notifications() {
    given::<FeedReads>([])
        .when(C::MarkRead {
            reader: ALICE,
            by: actor(BOB),
            marks: vec![mark("a", 1)],
            at: t(2),
        })
        .then_err(FeedError::NotReader);
    given::<FeedReads>([])
        .when(C::MarkAllRead {
            reader: ALICE,
            by: actor(HR),
            through: t(1),
            at: t(2),
        })
        .then_err(FeedError::NotReader);
}

#[test]
fn a_feed_stream_holds_one_readers_marks() {
    given::<FeedReads>([E::AllRead {
        reader: BOB,
        through: t(1),
        at: t(1),
    }])
    .when(all_read(2, 3))
    .then_err(FeedError::OtherReader);
}

#[test]
fn bad_marks_are_refused_whole() {
    given::<FeedReads>([])
        .when(read(vec![], 1))
        .then_err(FeedError::NoMarks);
    let many = (0..=MAX_MARKS).map(|i| mark(&format!("n{i}"), 1)).collect();
    given::<FeedReads>([])
        .when(read(many, 2))
        .then_err(FeedError::TooManyMarks);
    for bad in ["", "a\nb", &"x".repeat(201)] {
        given::<FeedReads>([])
            .when(read(vec![mark("fine", 1), mark(bad, 1)], 2))
            .then_err(FeedError::BadId);
    }
}

#[test]
fn mark_all_read_through_a_later_time_than_now_is_refused_beyond_the_clock_skew() {
    // t(n) is n minutes after the epoch of the tests: five minutes ahead is a clock, ten a lie.
    given::<FeedReads>([]).when(all_read(14, 9)).then([E::AllRead {
        reader: ALICE,
        through: t(14),
        at: t(9),
    }]);
    given::<FeedReads>([])
        .when(all_read(20, 9))
        .then_err(FeedError::ThroughInFuture);
}

#[test]
fn a_mark_dated_in_the_future_is_refused_so_that_mark_all_read_can_forget_every_mark() {
    given::<FeedReads>([])
        .when(read(vec![mark("a", 1), mark("future", 600)], 2))
        .then_err(FeedError::MarkInFuture);
}

#[test]
fn feed_events_keep_their_wire_names() {
    let event = E::AllRead {
        reader: ALICE,
        through: t(1),
        at: t(1),
    };
    let json = serde_json::to_value(&event).expect("serialises");
    assert_eq!(json["type"], "feed.all_read");
    assert_eq!(serde_json::from_value::<E>(json).expect("deserialises"), event);
}
