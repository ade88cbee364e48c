//! Shared set-up: a real `rondevu-server` on 127.0.0.1:0 and a raw HTTP helper for the
//! malformed requests the typed client cannot make.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::time::Duration;

use rondevu_api::{Client, Credentials};
use rondevu_server::{ServerConfig, ServerHandle};
use serde_json::Value;

/// A server for one test, stopped when dropped.
pub struct TestServer {
    pub handle: ServerHandle,
    pub client: Client,
}

impl TestServer {
    pub fn start() -> Self {
        Self::with_config(ServerConfig::default())
    }

    pub fn with_config(config: ServerConfig) -> Self {
        let config = ServerConfig {
            port: 0,
            worker_threads: Some(2),
            ..config
        };
        let handle = rondevu_server::serve(config).expect("server starts");
        let client = Client::builder(&handle.url())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Self { handle, client }
    }

    pub fn register(&self) -> Credentials {
        self.client.register().expect("register")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.handle.url(), path)
    }

    /// Sends any request; returns status, JSON body (Null if not JSON) and headers.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Raw {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(body.unwrap_or_default().to_vec())
            .expect("request");
        let mut response = agent.run(request).expect("transport");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let bytes = response.body_mut().read_to_vec().expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Raw {
            status,
            json,
            headers,
        }
    }

    pub fn post_json(&self, path: &str, credentials: Option<&Credentials>, body: &[u8]) -> Raw {
        let auth = credentials.map(bearer);
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("Authorization", auth.as_str()));
        }
        self.raw("POST", path, &headers, Some(body))
    }

    pub fn get(&self, path: &str, credentials: Option<&Credentials>) -> Raw {
        let auth = credentials.map(bearer);
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        self.raw("GET", path, &headers, None)
    }
}

pub fn bearer(credentials: &Credentials) -> String {
    format!("Bearer {}:{}", credentials.peer_id, credentials.secret)
}

/// A response as the raw helper sees it.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub json: Value,
    pub headers: Vec<(String, String)>,
}

impl Raw {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("<no error field>")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An SDP-looking text of about `len` characters, distinct per `tag`.
pub fn sdp(tag: &str, len: usize) -> String {
    let mut text = format!("v=0\r\no=- {tag} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    while text.len() < len {
        text.push_str("a=candidate-filler:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
    }
    text
}

pub const TOPIC: &str = "c3d0f1e2a1b2c3d4e5f60718293a4b5c6d7e8f90";
