//! Reading a document as a proxy (대결): the command side follows no delegations of its own
//! accord, so a request names the one it acts or reads under, and one rule decides both
//! ([`may_read`]): the approval actions, attachments, the print page and the PDF.

use crate::extract::Caller;
use crate::AppState;
use chrono::Utc;
use domain::approval::ApprovalDocument;
use domain::ids::DelegationId;
use uuid::Uuid;

/// Whether the caller may read `doc`: they may see it, or `proxy` is a delegation open now
/// that lets them take the seat of someone on its line (대결). The command side follows no
/// delegations of its own accord: a request names the one it acts under.
pub(crate) fn may_read(doc: &ApprovalDocument, caller: &Caller, proxy: Option<&domain::org::Delegation>) -> bool {
    doc.visible_to(&caller.actor)
        || proxy.is_some_and(|d| {
            d.principal.is_some_and(|principal| {
                d.authorises(caller.actor.id, principal, Utc::now()) && doc.visible_to_proxy_of(principal)
            })
        })
}

/// `?delegation=…`: the delegation a proxy (대결) reads a document under.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ProxyQuery {
    pub delegation: Option<Uuid>,
}

impl ProxyQuery {
    /// The named delegation, if any; one that does not exist reads as none.
    pub(crate) async fn load(&self, state: &AppState) -> Option<domain::org::Delegation> {
        state.service.delegation(DelegationId(self.delegation?)).await.ok()
    }
}
