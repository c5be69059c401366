//! What a query may cost before it runs. Complexity counts a field once by default, which
//! undercounts lists: a list weighs its page size (`first`) when it has one, else a realistic
//! fan-out from below, times its selection. Aliases are bounded apart from that: aliasing a
//! cheap field a thousand times makes the server resolve it a thousand times.

use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use async_graphql::Name;
use std::collections::{HashMap, HashSet};

/// Open top-level departments of a company (`orgChart`).
pub const ORG_ROOTS: usize = 10;
/// Sub-departments of one department.
pub const SUB_DEPARTMENTS: usize = 10;
/// Every department (`departments`).
pub const DEPARTMENTS: usize = 50;
/// Steps of an approval line.
pub const LINE_STEPS: usize = 8;
/// Seats of one step (an agreement group), or current approvers.
pub const STEP_SEATS: usize = 5;
/// Employees in cc (참조).
pub const CC: usize = 10;
/// Receiving departments (수신).
pub const RECEIVERS: usize = 5;
/// Comments (의견) on one document.
pub const COMMENTS: usize = 20;
/// Events of one document.
pub const TIMELINE: usize = 30;
/// Entries of one leave ledger.
pub const LEAVE_ENTRIES: usize = 30;
/// Delegations open to one proxy.
pub const DELEGATIONS: usize = 5;
/// Form templates.
pub const FORMS: usize = 10;
/// Attendance rows of a team's day (`teamAttendance`).
pub const TEAM_DAYS: usize = 50;
/// Quests in one list (`openQuests`, `myQuests`, `postedQuests`, `questLeaderboard`).
pub const QUESTS: usize = 20;

/// The aliases of the document's largest operation, each fragment counted as often as it is
/// spread (so spreading one fragment in many places cannot hide its aliases).
pub(crate) fn most_aliases(document: &ExecutableDocument) -> usize {
    let mut count = Aliases {
        fragments: &document.fragments,
        counted: HashMap::new(),
        open: HashSet::new(),
    };
    document
        .operations
        .iter()
        .map(|(_, operation)| count.in_set(&operation.node.selection_set.node))
        .max()
        .unwrap_or(0)
}

struct Aliases<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Per fragment, counted once (a fragment spread everywhere stays linear to count).
    counted: HashMap<&'a str, usize>,
    /// Fragments being counted: a cycle counts nothing here; validation refuses it.
    open: HashSet<&'a str>,
}

impl<'a> Aliases<'a> {
    fn in_set(&mut self, set: &'a SelectionSet) -> usize {
        set.items.iter().fold(0, |total, item| {
            let here = match &item.node {
                Selection::Field(field) => {
                    usize::from(field.node.alias.is_some()).saturating_add(self.in_set(&field.node.selection_set.node))
                }
                Selection::InlineFragment(inline) => self.in_set(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.in_fragment(spread.node.fragment_name.node.as_str()),
            };
            total.saturating_add(here)
        })
    }

    fn in_fragment(&mut self, name: &'a str) -> usize {
        if let Some(known) = self.counted.get(name) {
            return *known;
        }
        let Some(fragment) = self.fragments.get(name) else {
            return 0;
        };
        if !self.open.insert(name) {
            return 0;
        }
        let found = self.in_set(&fragment.node.selection_set.node);
        self.open.remove(name);
        self.counted.insert(name, found);
        found
    }
}
