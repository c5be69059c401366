//! The accounts sign-in checks tokens against: employees as the command side folds them.

use crate::service::CommandService;
use domain::ids::EmployeeId;
use infra::auth::{Account, Accounts, SignInError};
use std::sync::Arc;

/// Employees as the command side knows them: folded from their own streams. Delegations are
/// not followed here — a 대결 names its delegation, and the document checks it.
#[derive(Debug)]
pub struct LogAccounts(pub Arc<CommandService>);

impl Accounts for LogAccounts {
    /// The employee's name.
    type Detail = String;

    async fn accounts(&self, ids: &[EmployeeId]) -> Result<Vec<Account<String>>, SignInError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match self.0.actor(*id).await {
                Ok(Some((actor, employee))) => found.push(Account {
                    actor,
                    active: employee.active,
                    detail: employee.name,
                }),
                Ok(None) => {}
                Err(e) => return Err(SignInError::Unavailable(e.to_string())),
            }
        }
        Ok(found)
    }
}
