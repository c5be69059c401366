//! The SQL store's reads: inbox boxes, feeds, documents and timelines (the approval views
//! port), and the employee read model's records for the query API, notifier and command API.
//! Rows are read as their typed row ([`read`]), columns in the table's order, then shaped for
//! the reader. Each read says its [`Reach`]: one key's rows through an index, or a scan.

use super::reads::{read, Reach};
use super::schema::column_list;
use super::SqlReadModel;
use crate::readmodel::queries::*;
use crate::readmodel::rows::*;
use crate::readmodel::StoreError;
use domain::feed::FeedReads;

impl SqlReadModel {
    /// Every row `query` selects, as typed rows (`{columns}` in `sql` stands for the table's
    /// column list).
    async fn rows<R: TableRow>(&self, sql: &str, binds: &[&str]) -> Result<Vec<R>, StoreError> {
        self.rows_reaching(Reach::Keyed, sql, binds).await
    }

    /// As [`Self::rows`], for a read that scans or sorts a table (run off the runtime's
    /// workers on SQLite).
    async fn scanned_rows<R: TableRow>(&self, sql: &str, binds: &[&str]) -> Result<Vec<R>, StoreError> {
        self.rows_reaching(Reach::Scan, sql, binds).await
    }

    async fn rows_reaching<R: TableRow>(&self, reach: Reach, sql: &str, binds: &[&str]) -> Result<Vec<R>, StoreError> {
        let sql = sql.replace("{columns}", &column_list(R::TABLE)?);
        self.reads.select(reach, &sql, binds, read).await
    }

    /// As [`Self::rows`] for each of `ids`, asked in chunks: `{in}` in `sql` stands for a
    /// chunk's placeholders, bound after `leading`.
    async fn rows_in<R: TableRow>(&self, sql: &str, leading: &[&str], ids: &[String]) -> Result<Vec<R>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut binds = leading.to_vec();
            binds.extend(chunk.iter().map(String::as_str));
            found.extend(self.rows::<R>(&sql.replace("{in}", &marks), &binds).await?);
        }
        Ok(found)
    }

    /// The documents in one box of a principal (`emp:<id>` or `dept:<id>`), newest first.
    pub async fn inbox_items(
        &self,
        principal: &str,
        inbox: domain::approval::Inbox,
    ) -> Result<Vec<InboxItem>, StoreError> {
        let rows: Vec<InboxRow> = self
            .rows(
                "SELECT {columns} FROM inbox WHERE principal = ? AND box = ? ORDER BY updated_at DESC, doc",
                &[principal, inbox.as_str()],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Documents per box for a principal.
    pub async fn box_counts(&self, principal: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.reads
            .select(
                Reach::Keyed,
                "SELECT box, COUNT(*) FROM inbox WHERE principal = ? GROUP BY box ORDER BY box",
                &[principal],
                |r| Ok((r.text(0)?.unwrap_or_default(), r.int(1)?.unwrap_or_default())),
            )
            .await
    }

    /// A recipient's notification feed, newest first.
    pub async fn feed(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        let rows: Vec<NotificationRow> = self
            .rows(
                "SELECT {columns} FROM notifications WHERE recipient = ? ORDER BY at DESC, id DESC",
                &[recipient],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// A recipient's HR notices (quests, leave, the 52-hour week), newest first: the other
    /// half of their notification feed ([`merge_feeds`]).
    pub async fn hr_feed(&self, recipient: &str) -> Result<Vec<FeedEntry>, StoreError> {
        let rows: Vec<NotificationRow> = self
            .rows(
                "SELECT {columns} FROM leave_notices WHERE recipient = ? \
                 UNION ALL SELECT {columns} FROM attendance_notices WHERE recipient = ? \
                 UNION ALL SELECT {columns} FROM quest_notices WHERE recipient = ? \
                 ORDER BY at DESC, id DESC",
                &[recipient, recipient, recipient],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// What `reader` has read of their feed: nothing before their first mark.
    pub async fn feed_reads(&self, reader: &str) -> Result<FeedReads, StoreError> {
        let rows: Vec<FeedReadRow> = self
            .rows("SELECT {columns} FROM feed_reads WHERE reader = ?", &[reader])
            .await?;
        rows.into_iter()
            .next()
            .map_or_else(|| Ok(FeedReads::default()), feed_reads_of)
    }

    /// A document's view and version, its stored JSON as a JSON tree (the views port's
    /// `approval`; queries take the typed document, [`Self::approval_decoded`]).
    pub async fn approval_view(&self, id: &str) -> Result<Option<(u64, serde_json::Value)>, StoreError> {
        let rows: Vec<ApprovalRow> = self.rows("SELECT {columns} FROM approvals WHERE id = ?", &[id]).await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let doc = serde_json::from_str(&row.document).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some((row.version as u64, doc)))
    }

    /// A document's version and the domain's document, decoded from its stored text unless
    /// the same text was decoded before ([`crate::readmodel::decoded`]).
    pub async fn approval_decoded(
        &self,
        id: &str,
    ) -> Result<Option<(u64, std::sync::Arc<domain::approval::ApprovalDocument>)>, StoreError> {
        let rows: Vec<ApprovalRow> = self.rows("SELECT {columns} FROM approvals WHERE id = ?", &[id]).await?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        let doc = self
            .documents
            .decode(id, row.document)
            .map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))?;
        Ok(Some((row.version as u64, doc)))
    }

    /// A document's timeline, in version order.
    pub async fn timeline_of(&self, id: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows: Vec<TimelineRow> = self
            .rows(
                "SELECT {columns} FROM approval_timeline WHERE doc = ? ORDER BY version",
                &[id],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Employees by id, in any order; unknown ids are left out (one query for a DataLoader's
    /// batch, in chunks).
    pub async fn employees_by_ids(&self, ids: &[String]) -> Result<Vec<EmployeeRecord>, StoreError> {
        let rows: Vec<EmployeeRow> = self
            .rows_in("SELECT {columns} FROM employees WHERE id IN ({in})", &[], ids)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One page of employees by (name, id), after the given one.
    pub async fn find_employees(
        &self,
        filter: &EmployeeFilter,
        after: Option<&(String, String)>,
        limit: usize,
    ) -> Result<Vec<EmployeeRecord>, StoreError> {
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(text) = &filter.text {
            clauses.push("(LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(email) LIKE ? ESCAPE '\\')");
            binds.push(contains_pattern(text));
            binds.push(contains_pattern(text));
        }
        if let Some(department) = &filter.department {
            clauses.push("department = ?");
            binds.push(department.clone());
        }
        if let Some((name, id)) = after {
            clauses.push("(name > ? OR (name = ? AND id > ?))");
            binds.extend([name.clone(), name.clone(), id.clone()]);
        }
        let mut sql = "SELECT {columns} FROM employees".to_owned();
        if let Some(active) = filter.active {
            clauses.push(if active { "active = 1" } else { "active = 0" });
        }
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(" ORDER BY name, id");
        if limit < usize::MAX {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let binds: Vec<&str> = binds.iter().map(String::as_str).collect();
        let rows: Vec<EmployeeRow> = self.scanned_rows(&sql, &binds).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The open departments `employee` heads, with every department under them: whose
    /// attendance, leave and quests a head sees (the query API and the notifier alike).
    pub async fn headed_departments(&self, employee: &str) -> Result<std::collections::HashSet<String>, StoreError> {
        let all = self.departments().await?;
        let mut headed: std::collections::HashSet<String> = all
            .iter()
            .filter(|d| !d.closed && d.head.as_deref() == Some(employee))
            .map(|d| d.id.clone())
            .collect();
        loop {
            let before = headed.len();
            for d in &all {
                if d.parent.as_ref().is_some_and(|p| headed.contains(p)) {
                    headed.insert(d.id.clone());
                }
            }
            if headed.len() == before {
                return Ok(headed);
            }
        }
    }

    /// Every department (open and closed), by name.
    pub async fn departments(&self) -> Result<Vec<DepartmentRecord>, StoreError> {
        let rows: Vec<DepartmentRow> = self
            .scanned_rows("SELECT {columns} FROM departments ORDER BY name, id", &[])
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Delegations naming any of `proxies`, not revoked (whether their window is open is the
    /// caller's question: it knows the time), by the start of their window.
    pub async fn delegations_to(&self, proxies: &[String]) -> Result<Vec<DelegationRecord>, StoreError> {
        let mut rows: Vec<DelegationRow> = self
            .rows_in(
                "SELECT {columns} FROM delegations WHERE proxy IN ({in}) AND revoked = 0",
                &[],
                proxies,
            )
            .await?;
        rows.sort_by(|a, b| a.valid_from.cmp(&b.valid_from));
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Delegations naming any of `proxies` whose window holds `now`.
    pub async fn open_delegations_to(
        &self,
        proxies: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<DelegationRecord>, StoreError> {
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&chrono::Utc));
        Ok(self
            .delegations_to(proxies)
            .await?
            .into_iter()
            .filter(|d| matches!((parse(&d.valid_from), parse(&d.valid_until)), (Ok(f), Ok(u)) if f <= now && now < u))
            .collect())
    }

    /// An employee's leave ledger, oldest first.
    pub async fn leave_entries(&self, employee: &str) -> Result<Vec<LeaveEntry>, StoreError> {
        let rows: Vec<LeaveEntryRow> = self
            .rows(
                "SELECT {columns} FROM leave_entries WHERE employee = ? ORDER BY version",
                &[employee],
            )
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// An employee's attendance days from `from` to `to` (`YYYY-MM-DD`, both included),
    /// oldest first.
    pub async fn attendance_days(
        &self,
        employee: &str,
        from: &str,
        to: &str,
    ) -> Result<Vec<AttendanceDayRow>, StoreError> {
        self.rows(
            "SELECT {columns} FROM attendance_days WHERE employee = ? AND day >= ? AND day <= ? ORDER BY day",
            &[employee, from, to],
        )
        .await
    }

    /// Everyone's attendance on `day` (`YYYY-MM-DD`).
    pub async fn attendance_on(&self, day: &str) -> Result<Vec<AttendanceDayRow>, StoreError> {
        self.scanned_rows(
            "SELECT {columns} FROM attendance_days WHERE day = ? ORDER BY employee",
            &[day],
        )
        .await
    }

    /// The first `limit` quests open to `viewer` at `now` (RFC 3339 UTC), soonest deadline
    /// first: not cancelled, not past their deadline, not the viewer's own, and for the
    /// viewer's audience — the company, the viewer's department, or the team of the viewer's
    /// manager.
    pub async fn open_quests(
        &self,
        now: &str,
        viewer: &str,
        department: Option<&str>,
        manager: Option<&str>,
        limit: usize,
    ) -> Result<Vec<QuestRow>, StoreError> {
        let sql = format!(
            "SELECT {{columns}} FROM quests WHERE cancelled = 0 AND deadline > ? AND poster <> ? \
             AND (audience = 'company' OR (audience = 'department' AND department = ?) \
             OR (audience = 'team' AND poster = ?)) ORDER BY deadline, id LIMIT {}",
            limit.min(1000)
        );
        let (department, manager) = (department.unwrap_or(""), manager.unwrap_or(""));
        self.scanned_rows(&sql, &[now, viewer, department, manager]).await
    }

    /// The `limit` quests `poster` posted with the latest deadlines, latest first.
    pub async fn quests_posted_by(&self, poster: &str, limit: usize) -> Result<Vec<QuestRow>, StoreError> {
        let sql = format!(
            "SELECT {{columns}} FROM quests WHERE poster = ? ORDER BY deadline DESC, id LIMIT {}",
            limit.min(1000)
        );
        self.rows(&sql, &[poster]).await
    }

    /// One quest.
    pub async fn quest(&self, id: &str) -> Result<Option<QuestRow>, StoreError> {
        Ok(self
            .rows("SELECT {columns} FROM quests WHERE id = ?", &[id])
            .await?
            .into_iter()
            .next())
    }

    /// Quests by id (those that exist), in no particular order.
    pub async fn quests_by_id(&self, ids: &[String]) -> Result<Vec<QuestRow>, StoreError> {
        self.rows_in("SELECT {columns} FROM quests WHERE id IN ({in})", &[], ids)
            .await
    }

    /// The participants of one quest, by employee id.
    pub async fn quest_participants(&self, quest: &str) -> Result<Vec<QuestParticipantRow>, StoreError> {
        self.quest_participants_of(&[quest.to_owned()]).await
    }

    /// The participants of each of `quests` (at most a quest's capacity each), by quest and
    /// employee id.
    pub async fn quest_participants_of(&self, quests: &[String]) -> Result<Vec<QuestParticipantRow>, StoreError> {
        let sql = "SELECT {columns} FROM quest_participants WHERE quest IN ({in})";
        let mut rows: Vec<QuestParticipantRow> = self.rows_in(sql, &[], quests).await?;
        rows.sort_by(|a, b| (&a.quest, &a.employee).cmp(&(&b.quest, &b.employee)));
        Ok(rows)
    }

    /// The `limit` quests `employee` took on most recently, latest first.
    pub async fn quest_participations(
        &self,
        employee: &str,
        limit: usize,
    ) -> Result<Vec<QuestParticipantRow>, StoreError> {
        let sql = format!(
            "SELECT {{columns}} FROM quest_participants WHERE employee = ? ORDER BY accepted_at DESC, quest LIMIT {}",
            limit.min(1000)
        );
        self.rows(&sql, &[employee]).await
    }

    /// `employee`'s standing in each of `quests` they took on.
    pub async fn quest_standing(
        &self,
        employee: &str,
        quests: &[String],
    ) -> Result<Vec<QuestParticipantRow>, StoreError> {
        let sql = "SELECT {columns} FROM quest_participants WHERE employee = ? AND quest IN ({in})";
        self.rows_in(sql, &[employee], quests).await
    }

    /// Verified rewards of the active members of `department`, summed per employee and reward
    /// kind: `(employee, reward_kind, total, quests)`, largest first.
    pub async fn quest_leaderboard(&self, department: &str) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
        // Summed here, not in SQL: MySQL's SUM is a DECIMAL, SQLite's an integer.
        let rows = self
            .reads
            .select(
                Reach::Scan,
                "SELECT p.employee, q.reward_kind, p.earned FROM quest_participants p \
                 JOIN quests q ON q.id = p.quest JOIN employees e ON e.id = p.employee \
                 WHERE p.status = 'verified' AND e.department = ? AND e.active = 1",
                &[department],
                |r| {
                    let key = (r.text(0)?.unwrap_or_default(), r.text(1)?.unwrap_or_default());
                    Ok((key, r.int(2)?.unwrap_or_default()))
                },
            )
            .await?;
        let mut sums: std::collections::BTreeMap<(String, String), (i64, i64)> = Default::default();
        for (key, earned) in rows {
            let sum = sums.entry(key).or_default();
            sum.0 += earned;
            sum.1 += 1;
        }
        let mut board: Vec<(String, String, i64, i64)> =
            sums.into_iter().map(|((e, k), (total, n))| (e, k, total, n)).collect();
        board.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        Ok(board)
    }

    /// Attendance summed per employee from `from` to `to` (`YYYY-MM-DD`, both included), one
    /// row per employee in `scope` (zeros for one without a day), by employee id. One query
    /// over the `(employee, day)` key, summed in SQL: a department's month is one round trip.
    pub async fn attendance_totals(
        &self,
        scope: ReportScope<'_>,
        from: &str,
        to: &str,
    ) -> Result<Vec<AttendanceTotals>, StoreError> {
        // CAST … AS SIGNED: MySQL sums to DECIMAL, which the Any driver does not read as an
        // integer; SQLite keeps an integral value an integer under the name's numeric affinity.
        let sum = |expr: &str| format!("CAST(COALESCE(SUM({expr}), 0) AS SIGNED)");
        let (filter, who) = match scope {
            ReportScope::Department(d) => ("e.department = ? AND e.active = 1", d),
            ReportScope::Employee(e) => ("e.id = ?", e),
        };
        let sql = format!(
            "SELECT e.id, COUNT(a.day), {}, {}, {}, {}, {}, {}, {} FROM employees e \
             LEFT JOIN attendance_days a ON a.employee = e.id AND a.day >= ? AND a.day <= ? \
             WHERE {filter} GROUP BY e.id ORDER BY e.id",
            sum("CASE WHEN a.late_minutes > 0 THEN 1 ELSE 0 END"),
            sum("a.late_minutes"),
            sum("CASE WHEN a.early_leave_minutes > 0 THEN 1 ELSE 0 END"),
            sum("a.early_leave_minutes"),
            sum("a.regular_minutes"),
            sum("a.overtime_minutes"),
            sum("a.night_minutes"),
        );
        self.reads
            .select(Reach::Scan, &sql, &[from, to, who], |r| {
                let int = |i: usize| Ok::<_, StoreError>(r.int(i)?.unwrap_or_default());
                Ok(AttendanceTotals {
                    employee: r.text(0)?.unwrap_or_default(),
                    days_present: int(1)?,
                    late_days: int(2)?,
                    late_minutes: int(3)?,
                    early_leave_days: int(4)?,
                    early_leave_minutes: int(5)?,
                    regular_minutes: int(6)?,
                    overtime_minutes: int(7)?,
                    night_minutes: int(8)?,
                })
            })
            .await
    }

    /// Candidate documents newest first (by `updated_at`, then id), after `after`.
    pub async fn search_approvals(
        &self,
        search: &ApprovalSearch,
        after: Option<&ApprovalCursor>,
        limit: usize,
    ) -> Result<Vec<ApprovalCandidate>, StoreError> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        for (value, clause) in [
            (&search.status, "status = ?"),
            (&search.drafter, "drafter = ?"),
            (&search.submitted_from, "submitted_at >= ?"),
            (&search.submitted_until, "submitted_at <= ?"),
        ] {
            if let Some(v) = value {
                clauses.push(clause);
                binds.push(v.clone());
            }
        }
        if let Some(form) = &search.form {
            clauses.push("form LIKE ? ESCAPE '\\'");
            binds.push(format!("{}@%", form.replace('%', "\\%").replace('_', "\\_")));
        }
        if let Some((updated_at, id)) = after {
            clauses.push("(updated_at < ? OR (updated_at = ? AND id < ?))");
            binds.extend([updated_at.clone(), updated_at.clone(), id.clone()]);
        }
        let mut sql = "SELECT version, updated_at, document FROM approvals".to_owned();
        if !clauses.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&clauses.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {}", limit.min(1000)));
        let binds: Vec<&str> = binds.iter().map(String::as_str).collect();
        self.reads
            .select(Reach::Scan, &sql, &binds, |r| {
                let json = r.text(2)?.unwrap_or_default();
                let doc = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((
                    r.int(0)?.unwrap_or_default() as u64,
                    r.text(1)?.unwrap_or_default(),
                    doc,
                ))
            })
            .await
    }
}

/// `%text%` for LIKE, with the wildcards in `text` itself escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

/// Marks each entry of `feed` read or unread as its reader's `reads` say.
pub fn with_reads(mut feed: Vec<FeedEntry>, reads: &FeedReads) -> Vec<FeedEntry> {
    for entry in &mut feed {
        entry.read = match chrono::DateTime::parse_from_rfc3339(&entry.at) {
            Ok(at) => reads.is_read(&entry.id, at.with_timezone(&chrono::Utc)),
            Err(_) => reads.marks.contains_key(&entry.id),
        };
    }
    feed
}

/// A reader's row back as their read state.
fn feed_reads_of(row: FeedReadRow) -> Result<FeedReads, StoreError> {
    let time = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|e| StoreError::Corrupt(format!("feed_reads of {}: {text:?}: {e}", row.reader)))
    };
    let marks: std::collections::BTreeMap<String, String> = serde_json::from_str(&row.marks)
        .map_err(|e| StoreError::Corrupt(format!("feed_reads of {}: marks: {e}", row.reader)))?;
    Ok(FeedReads {
        reader: row.reader.parse().ok(),
        read_through: row.read_through.as_deref().map(time).transpose()?,
        marks: marks
            .iter()
            .map(|(id, at)| Ok((id.clone(), time(at)?)))
            .collect::<Result<_, StoreError>>()?,
    })
}

/// One notification feed from the approval feed and the HR notices, newest first (the order
/// each comes in).
pub fn merge_feeds(approvals: Vec<FeedEntry>, hr: Vec<FeedEntry>) -> Vec<FeedEntry> {
    let mut all = approvals;
    all.extend(hr);
    all.sort_by(|a, b| (&b.at, &b.id).cmp(&(&a.at, &a.id)));
    all
}
