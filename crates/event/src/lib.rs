//! jetlag's shared vocabulary.
//!
//! Every stage speaks these types: readers and vendor formats produce a [`SignIn`],
//! enrichment fills its [`Geo`], `asn` and [`NetClasses`], detectors read it and emit an
//! [`Alert`]. The JSON shapes of [`SignIn`] and [`Alert`] are a user-facing contract
//! (`shared/design/CONTRACT.md`): field names and value spellings must not change.
#![deny(missing_docs)]

mod alert;
mod country;
pub mod hint;
mod network;
mod signin;

pub use alert::{Alert, Severity};
pub use country::Country;
pub use network::{NetClass, NetClasses};
pub use signin::{Geo, GeoSource, Outcome, SignIn, Source};

/// A point in time, UTC. Serialized as RFC 3339 with a `Z` suffix.
pub type Timestamp = jiff::Timestamp;
