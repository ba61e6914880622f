//! Newtypes for the identifiers of a topology (and its MAC addresses, from `netwire`).

use std::fmt;

use schemars::gen::SchemaGenerator;
use schemars::schema::Schema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// Id of a VNF, the Incoming Point or an Outgoing Point (one namespace for all three kinds).
    NodeId
);
string_newtype!(
    /// Name of a link, i.e. of the bridge joining its two ends (without the run prefix).
    LinkName
);
string_newtype!(
    /// Id of a topology (PyCOO's SFC `ID`).
    TopologyId
);
string_newtype!(
    /// Name of a host (a machine VNFs run on) in a topology's `hosts`.
    HostName
);

// MAC addresses are the shared vocabulary's; the schema hooks below are for raw fields.
pub use netwire::{MacAddr, MacParseError};

/// Schema hook for raw `Option<String>` MAC fields (checked later, so errors can be collected).
pub(crate) fn optional_mac_schema(gen: &mut SchemaGenerator) -> Schema {
    MacAddr::json_schema(gen)
}
