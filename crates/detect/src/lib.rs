//! Detection: turn a time-ordered stream of enriched sign-ins into alerts.
//!
//! The front door is [`Engine`]: build it from a [`DetectConfig`] and a roster, feed it
//! sign-ins in `(time, event_id)` order ([`order`] sorts a batch) with
//! [`Engine::observe`], call [`Engine::finish`] at the end of a batch, and carry state
//! between runs with [`Engine::snapshot`] / [`Engine::restore`].
//!
//! Each detector lives in its own module under [`detectors`] and does no I/O: it sees one
//! event at a time through [`Detector::observe`], keeps whatever state it needs (per user
//! in dense tables indexed by [`UserId`], or per IP / device), and pushes
//! [`Alert`](jetlag_event::Alert)s.
#![deny(missing_docs)]

mod config;
mod detector;
pub mod detectors;
mod engine;
mod error;
mod evidence;
pub mod geo;
mod id;
pub mod population;

pub use config::{DetectConfig, Problems};
pub use detector::{Context, Detector, Names, StateKey, UserId, alert_id};
pub use engine::{Engine, Stages, cmp_copies, order, same_event};
pub use error::Error;
pub use id::CompactId;
