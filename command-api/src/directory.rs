//! The command side's own view of the organisation: employees and departments folded from
//! their streams, kept current by a subscription. Decisions that span streams read it —
//! email uniqueness, department membership, the org chart for line suggestions — and the dev
//! login lists its employees. It is eventually consistent; the rules it feeds tolerate that
//! (a stale lookup can at worst admit a duplicate email during a race, see ARCHITECTURE.md).

use domain::ids::{DepartmentId, EmployeeId};
use domain::org::{Department, DepartmentEvent, Employee, EmployeeEvent, OrgChart, OrgDepartment, OrgMember};
use domain::Aggregate;
use infra::eventlog::{streams, Checkpoint, EventLog, Position};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Default)]
struct Maps {
    employees: BTreeMap<EmployeeId, Employee>,
    departments: BTreeMap<DepartmentId, Department>,
}

/// Employees and departments, folded from the log.
#[derive(Debug)]
pub struct Directory {
    maps: RwLock<Maps>,
    progress: watch::Sender<BTreeMap<String, Checkpoint>>,
}

impl Directory {
    /// Starts following the employee and department streams.
    pub fn follow(log: Arc<dyn EventLog>) -> Arc<Self> {
        let directory = Arc::new(Self {
            maps: RwLock::new(Maps::default()),
            progress: watch::channel(BTreeMap::new()).0,
        });
        for stream_type in [streams::EMPLOYEE, streams::DEPARTMENT] {
            tokio::spawn(directory.clone().run(log.clone(), stream_type));
        }
        directory
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
