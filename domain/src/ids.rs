//! Identifier newtypes. Ids are minted outside the domain (UUIDv7 at the edge) and arrive in
//! commands; the domain never generates one, so replaying the same commands is deterministic.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Short type tag used in stream names and global ids.
            pub const PREFIX: &'static str = $prefix;

            /// Wraps an id minted elsewhere.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// An employee (사원).
    EmployeeId,
    "emp"
);
uuid_id!(
    /// A department (부서).
    DepartmentId,
    "dept"
);
uuid_id!(
    /// An approval document (결재 문서). One event stream per document.
    ApprovalId,
    "apv"
);
uuid_id!(
    /// A proxy delegation (대결자 지정).
    DelegationId,
    "dlg"
);
uuid_id!(
    /// A comment (의견) on a document.
    CommentId,
    "cmt"
);
uuid_id!(
    /// An attachment's metadata record (첨부).
    AttachmentId,
    "att"
);
uuid_id!(
    /// A quest (퀘스트) a manager posts for employees to take on.
    QuestId,
    "qst"
);
