//! jetlag's evaluation: scores alerts against a simulation's truth.
#![deny(missing_docs)]
