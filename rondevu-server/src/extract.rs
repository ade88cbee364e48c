//! Request extractors that answer failures with the API's JSON errors: the authenticated
//! caller, one path parameter, and the query parameters.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::AuthFailure;
use crate::error::ApiError;
use crate::routes::AppState;

/// The authenticated caller's peer id (`Authorization: Bearer <peerId>:<secret>`).
pub(crate) struct Caller(pub(crate) String);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = match parts.headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| AuthFailure::HeaderFormat)?),
        };
        Ok(Caller(state.auth.authenticate(header)?))
    }
}

/// One path parameter, with a JSON 400 when it is not valid percent-encoded UTF-8.
pub(crate) struct PathParam(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| PathParam(value))
            .map_err(|rejection| ApiError::bad_request(format!("Invalid path: {rejection}")))
    }
}

/// Query parameters (`+` reads as a space, as browsers' `URLSearchParams` does).
pub(crate) struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(map)| QueryParams(map))
            .map_err(|rejection| {
                ApiError::bad_request(format!("Invalid query string: {rejection}"))
            })
    }
}

impl QueryParams {
    /// The value of parameter `name`, if present.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}
