//! Request bodies: size-limited bytes parsed as JSON, with JSON errors instead of axum's text.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde_json::Value;

use crate::error::ApiError;

/// A request body that is empty or one JSON value (any `Content-Type` is accepted, as the
/// reference server does). Over-size bodies get 413, malformed JSON (lone UTF-16 surrogates
/// included) gets 400.
#[derive(Debug)]
pub struct JsonBody {
    /// The parsed value; `None` for an empty body.
    pub value: Option<Value>,
    /// The raw bytes, for callers that keep parts of the text exactly as sent.
    pub raw: Bytes,
}

impl JsonBody {
    /// The value, or 400 when the body was empty.
    pub fn required(&self) -> Result<&Value, ApiError> {
        self.value
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("Request body must be a JSON object"))
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        message: "Request body too large".to_string(),
                    }
                } else {
                    ApiError::bad_request(format!("Could not read request body: {rejection}"))
                }
            })?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self { value: None, raw });
        }
        let value = serde_json::from_slice(&raw)
            .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))?;
        Ok(Self {
            value: Some(value),
            raw,
        })
    }
}
