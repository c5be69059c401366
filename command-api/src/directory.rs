//! The command side's own view of the organisation: employees and departments folded from
//! their streams, kept current by a subscription. Decisions that span streams read it —
//! email uniqueness, department membership, the org chart for line suggestions — and the dev
//! login lists its employees. It is eventually consistent; the rules it feeds tolerate that
//! (a stale lookup can at worst admit a duplicate email during a race, see ARCHITECTURE.md).
//!
//! Two things keep "eventually" from being seen as a wrong answer. An instance is not ready
//! (`/readyz`) until its directory holds everything the log had when it started, so a
//! balancer does not send it callers whose employees it has never heard of. And a decision
//! that finds someone missing ([`Directory::chart_knowing`]) first catches the directory up
//! with the log's end, bounded, before it refuses: the employee HR registered a moment ago
//! on another instance may draft here at once.

use domain::attendance::WorkSchedule;
use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{Department, DepartmentEvent, Employee, EmployeeEvent, OrgChart, OrgDepartment, OrgMember};
use domain::Aggregate;
use infra::eventlog::{streams, Checkpoint, EventLog, Position};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Default)]
struct Maps {
    employees: BTreeMap<EmployeeId, Employee>,
    departments: BTreeMap<DepartmentId, Department>,
}

/// Employees and departments, folded from the log.
pub struct Directory {
    maps: RwLock<Maps>,
    progress: watch::Sender<BTreeMap<String, Checkpoint>>,
    log: Arc<dyn EventLog>,
    /// Set once the directory has held what the log had when it started following it.
    settled: AtomicBool,
    /// When a decision that missed someone last caught the directory up: one catch-up at a
    /// time, and at most one per [`MISS_INTERVAL`], however many requests name strangers.
    missed: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("maps", &self.maps)
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

/// The stream types the directory folds.
const FOLDED: [&str; 2] = [streams::EMPLOYEE, streams::DEPARTMENT];

/// How long a decision that misses someone waits for the directory to catch up.
const CATCH_UP: Duration = Duration::from_secs(3);

/// A catch-up for a miss this recent serves the next miss too: asking the log for its end
/// costs a broker round trip per partition, and a request may name any made-up id.
const MISS_INTERVAL: Duration = Duration::from_secs(1);

impl Directory {
    /// Starts following the employee and department streams.
    pub fn follow(log: Arc<dyn EventLog>) -> Arc<Self> {
        let directory = Arc::new(Self {
            maps: RwLock::new(Maps::default()),
            progress: watch::channel(BTreeMap::new()).0,
            log: log.clone(),
            settled: AtomicBool::new(false),
            missed: tokio::sync::Mutex::new(None),
        });
        for stream_type in FOLDED {
            tokio::spawn(directory.clone().run(log.clone(), stream_type));
        }
        tokio::spawn(directory.clone().settle());
        directory
    }

    /// Catches up once with the log's end as of start-up, then marks the directory settled.
    async fn settle(self: Arc<Self>) {
        while !self.catch_up(Duration::from_secs(30)).await {
            tracing::warn!("the org directory has not caught up with the log yet");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.settled.store(true, Ordering::Release);
    }

    /// Whether the directory has caught up with the log as it was at start-up: until then
    /// the instance is not ready for callers.
    pub fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// Waits (bounded by `timeout`) until the directory holds every employee and department
    /// commit the log holds now; false if the log did not answer or the time ran out.
    pub async fn catch_up(&self, timeout: Duration) -> bool {
        let caught_up = async {
            let mut ends = Vec::with_capacity(FOLDED.len());
            for stream_type in FOLDED {
                ends.push((stream_type, self.log.end_offsets(stream_type).await.ok()?));
            }
            let covered = |p: &BTreeMap<String, Checkpoint>| {
                ends.iter().all(|(stream_type, end)| {
                    let at = p.get(*stream_type);
                    end.iter().all(|(partition, end)| {
                        *end == 0 || at.and_then(|c| c.get(partition)).is_some_and(|n| n >= end)
                    })
                })
            };
            self.progress.subscribe().wait_for(covered).await.ok().map(|_| ())
        };
        matches!(tokio::time::timeout(timeout, caught_up).await, Ok(Some(())))
    }

    /// The org chart, caught up with the log first (bounded) when any of `wanted` is missing
    /// from it: a decision about someone the directory has not heard of yet waits for them
    /// rather than refusing them. Misses share catch-ups: one runs at a time, and one that
    /// finished within [`MISS_INTERVAL`] serves the next (an id registered on another
    /// instance in that last second may still be refused, and found on a retry).
    pub async fn chart_knowing(&self, wanted: &[EmployeeId]) -> OrgChart {
        let chart = self.org_chart();
        if wanted.iter().all(|id| chart.employees.contains_key(id)) {
            return chart;
        }
        let Ok(mut last) = tokio::time::timeout(CATCH_UP, self.missed.lock()).await else {
            return self.org_chart();
        };
        if last.is_some_and(|at| at.elapsed() < MISS_INTERVAL) {
            return self.org_chart();
        }
        self.catch_up(CATCH_UP).await;
        *last = Some(tokio::time::Instant::now());
        self.org_chart()
    }

    async fn run(self: Arc<Self>, log: Arc<dyn EventLog>, stream_type: &'static str) {
        let mut subscription = loop {
            match log.subscribe(stream_type, Checkpoint::new()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(stream_type, error = %e, "directory cannot subscribe yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            let batch = match subscription.next_batch(500, Duration::from_millis(500)).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::warn!(stream_type, error = %e, "directory subscription failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Ok(mut maps) = self.maps.write() {
                for delivered in &batch {
                    for event in &delivered.commit.events {
                        maps.apply(stream_type, &delivered.commit.stream_id, &event.payload, event.version);
                    }
                }
            }
            let checkpoint = subscription.checkpoint().clone();
            self.progress.send_modify(|p| {
                p.insert(stream_type.to_owned(), checkpoint);
            });
        }
    }

    /// Waits (bounded) until the directory has applied `position`.
    pub async fn wait_for(&self, position: &Position, timeout: Duration) -> bool {
        let mut progress = self.progress.subscribe();
        let reached =
            |p: &BTreeMap<String, Checkpoint>| p.get(&position.stream_type).is_some_and(|c| position.reached_by(c));
        let reached = tokio::time::timeout(timeout, progress.wait_for(reached)).await.is_ok();
        reached
    }

    pub fn employees(&self) -> Vec<Employee> {
        self.maps
            .read()
            .map(|m| m.employees.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn departments(&self) -> Vec<Department> {
        self.maps
            .read()
            .map(|m| m.departments.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The employee currently holding `email` (already normalised).
    pub fn email_owner(&self, email: &str) -> Option<EmployeeId> {
        let maps = self.maps.read().ok()?;
        maps.employees.values().find(|e| e.email == email).and_then(|e| e.id)
    }

    /// Whether any active employee belongs to the department.
    pub fn has_members(&self, department: DepartmentId) -> bool {
        self.maps.read().is_ok_and(|m| {
            m.employees
                .values()
                .any(|e| e.active && e.department == Some(department))
        })
    }

    /// The work schedule `employee` works now: their department's, else the nearest
    /// ancestor's that has one, else the standard day. Read in place, without copying the org
    /// (a check-in asks it).
    pub fn schedule_of(&self, employee: EmployeeId) -> WorkSchedule {
        let Ok(maps) = self.maps.read() else {
            return WorkSchedule::standard();
        };
        let mut at = maps.employees.get(&employee).and_then(|e| e.department);
        for _ in 0..=maps.departments.len() {
            let Some(department) = at.and_then(|d| maps.departments.get(&d)) else {
                break;
            };
            if let Some(schedule) = &department.schedule {
                return schedule.clone();
            }
            at = department.parent;
        }
        WorkSchedule::standard()
    }

    /// The nearest active head of `employee`'s department or of one above it, other than
    /// the employee ([`OrgChart::head_above`]), read in place (a check-out asks it).
    pub fn head_above(&self, employee: EmployeeId) -> Option<EmployeeId> {
        let maps = self.maps.read().ok()?;
        let active = |id: &EmployeeId| maps.employees.get(id).is_some_and(|e| e.active);
        let mut at = maps.employees.get(&employee).and_then(|e| e.department);
        for _ in 0..=maps.departments.len() {
            let department = maps.departments.get(&at?)?;
            if let Some(head) = department
                .head
                .filter(|h| !department.closed && *h != employee && active(h))
            {
                return Some(head);
            }
            at = department.parent;
        }
        None
    }

    /// The department and its ancestors, nearest first.
    pub fn ancestry(&self, department: DepartmentId) -> Vec<DepartmentId> {
        self.org_chart().ancestry(department)
    }

    /// The org chart snapshot line rules walk.
    pub fn org_chart(&self) -> OrgChart {
        let Ok(maps) = self.maps.read() else {
            return OrgChart::default();
        };
        let employees = maps
            .employees
            .values()
            .filter_map(|e| {
                Some((
                    e.id?,
                    OrgMember {
                        department: e.department?,
                        manager: e.manager,
                        rank: e.position.as_ref().map_or(0, |p| p.rank),
                        active: e.active,
                    },
                ))
            })
            .collect();
        let departments = maps
            .departments
            .values()
            .filter(|d| !d.closed)
            .filter_map(|d| {
                Some((
                    d.id?,
                    OrgDepartment {
                        parent: d.parent,
                        head: d.head,
                    },
                ))
            })
            .collect();
        OrgChart { employees, departments }
    }
}

impl Maps {
    fn apply(&mut self, stream_type: &str, stream_id: &str, payload: &serde_json::Value, version: u64) {
        let Ok(id) = stream_id.parse::<uuid::Uuid>() else {
            return;
        };
        let decoded = match stream_type {
            streams::EMPLOYEE => serde_json::from_value::<EmployeeEvent>(payload.clone())
                .map(|e| self.employees.entry(EmployeeId(id)).or_default().evolve(&e)),
            _ => serde_json::from_value::<DepartmentEvent>(payload.clone())
                .map(|e| self.departments.entry(DepartmentId(id)).or_default().evolve(&e)),
        };
        if let Err(e) = decoded {
            tracing::error!(stream_type, stream_id, version, error = %e, "directory could not decode an event");
        }
    }
}
