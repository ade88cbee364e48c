//! Storage errors: failures that are ours (500) and refusals that are the caller's.

/// A storage failure that is not the caller's fault (maps to 500).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be read back.
    #[error("corrupt stored row: {0}")]
    Corrupt(String),
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// An offer id is already taken (or repeated in the request); nothing was stored.
    #[error("Offer {0} already exists")]
    Conflict(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an answer was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// No unexpired offer has that id.
    #[error("Offer not found or expired")]
    NotFound,
    /// The offer has a secret and the request's is missing or wrong.
    #[error("Invalid or missing secret")]
    InvalidSecret,
    /// Somebody answered first.
    #[error("Offer already answered")]
    AlreadyAnswered,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an ICE candidate request was refused.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// No unexpired offer has that id.
    #[error("Offer not found or expired")]
    NotFound,
    /// The caller is neither the offer's owner nor its answerer.
    #[error("Not authorized for this offer")]
    Forbidden,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PublishError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(error.into())
    }
}
impl From<rusqlite::Error> for AnswerError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(error.into())
    }
}
impl From<rusqlite::Error> for CandidateError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(error.into())
    }
}
