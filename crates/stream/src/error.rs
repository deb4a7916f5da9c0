//! The one error type of the crate.

/// Why a stream worker failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Kafka client call failed (`what` says which).
    #[error("kafka: {what}: {reason}")]
    Kafka {
        /// The operation, with its topic/partition where there is one.
        what: String,
        /// librdkafka's reason.
        reason: String,
    },
    /// Detector state could not be saved or restored.
    #[error("detector state: {0}")]
    Detect(#[from] jetlag_detect::Error),
    /// A record or checkpoint could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(String),
    /// An internal-topic record could not be decoded.
    #[error("bad internal record: {0}")]
    Record(String),
    /// A checkpoint could not be read.
    #[error("bad checkpoint: {0}")]
    Checkpoint(String),
    /// The metrics endpoint could not start.
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        /// The configured address.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// jetlag was built without the `kafka` feature.
    #[error("this jetlag was built without Kafka support (cargo feature `kafka`)")]
    Disabled,
}

#[cfg(feature = "kafka")]
impl Error {
    pub(crate) fn kafka(what: impl Into<String>, e: impl std::fmt::Display) -> Error {
        Error::Kafka {
            what: what.into(),
            reason: e.to_string(),
        }
    }
}
