//! The one error type of this crate: transport failure, refusal by the server, or a body
//! we could not decode.

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request did not complete: connection refused, DNS, TLS, timeout, reading the body…
    #[error("{endpoint}: transport failure: {source}")]
    Transport {
        /// Method and path of the call, e.g. `GET /health`.
        endpoint: String,
        /// What went wrong underneath.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The server answered with an error status.
    #[error("{endpoint}: server answered {status}: {message}")]
    Status {
        /// Method and path of the call.
        endpoint: String,
        /// HTTP status code.
        status: u16,
        /// The server's `error` text (or the start of the body when it sent no JSON error).
        message: String,
    },
    /// The server answered success with a body that is not what the API promises.
    #[error("{endpoint}: undecodable response body (status {status}): {reason}")]
    Decode {
        /// Method and path of the call.
        endpoint: String,
        /// HTTP status code.
        status: u16,
        /// What did not parse.
        reason: String,
    },
    /// The caller passed something the API cannot carry (for example, an unusable base URL).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The HTTP status when the server refused the call.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error text when it refused the call.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    /// True for 401: the credentials are unknown to this server (register again).
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
