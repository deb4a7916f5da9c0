//! The one error type of `jetlag-detect`.

/// What went wrong in the detection engine. Detection itself never fails on input: only
/// saving and restoring state can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A snapshot could not be encoded.
    #[error("cannot encode the state of detector {detector}: {source}")]
    Encode {
        /// The detector (or `engine`) whose state failed.
        detector: &'static str,
        /// The encoder's error.
        source: postcard::Error,
    },
    /// A snapshot could not be decoded: truncated, corrupt, or from another version.
    #[error("cannot decode the state of detector {detector}: {source}")]
    Decode {
        /// The detector (or `engine`) whose state failed.
        detector: &'static str,
        /// The decoder's error.
        source: postcard::Error,
    },
    /// A snapshot was written by an incompatible version of jetlag.
    #[error("state snapshot has format version {found}, this jetlag reads version {expected}")]
    Version {
        /// The version found in the snapshot.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A decoded snapshot is internally inconsistent (e.g. refers to an unknown user).
    #[error("state of detector {detector} is inconsistent: {reason}")]
    Inconsistent {
        /// The detector (or `engine`) whose state failed.
        detector: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Wraps an encoding error of `detector`.
    pub fn encode(detector: &'static str, source: postcard::Error) -> Error {
        Error::Encode { detector, source }
    }

    /// Wraps a decoding error of `detector`.
    pub fn decode(detector: &'static str, source: postcard::Error) -> Error {
        Error::Decode { detector, source }
    }
}
