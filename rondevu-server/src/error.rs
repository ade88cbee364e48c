//! HTTP errors: a status and the `{"error": "<text>"}` body every failure carries.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::auth::AuthFailure;
use crate::store::{AnswerError, CandidateError, PublishError, StoreError};

/// An error answer: status code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` text.
    pub message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500 after logging the cause (the client only learns that it was our fault).
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "Internal server error".to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<AuthFailure> for ApiError {
    fn from(failure: AuthFailure) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: failure.to_string(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        Self::internal(&error)
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Conflict(_) => Self {
                status: StatusCode::CONFLICT,
                message: error.to_string(),
            },
            PublishError::Store(error) => error.into(),
        }
    }
}

impl From<AnswerError> for ApiError {
    fn from(error: AnswerError) -> Self {
        match error {
            AnswerError::Store(error) => error.into(),
            other => Self::bad_request(other.to_string()),
        }
    }
}

impl From<CandidateError> for ApiError {
    fn from(error: CandidateError) -> Self {
        match error {
            CandidateError::NotFound => Self::not_found(error.to_string()),
            CandidateError::Forbidden => Self {
                status: StatusCode::FORBIDDEN,
                message: error.to_string(),
            },
            CandidateError::Store(error) => error.into(),
        }
    }
}
