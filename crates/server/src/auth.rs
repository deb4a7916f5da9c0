//! Bearer tokens and roles: who may ingest, who may read, who may administer.
//!
//! Tokens are kept only as SHA-256 digests and looked up by digest, so a lookup takes the
//! same time whatever prefix of a token a caller guesses.

use std::collections::HashMap;
use std::fmt;

use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::TokenConfig;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Send events: `/v1/events`, `/v1/evaluate`, the Splunk HEC endpoint.
    Ingest,
    /// Read alerts, users, the alert stream, metrics.
    Read,
    /// Everything, including `/v1/admin/*`.
    Admin,
}

impl Role {
    /// The name as written in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Read => "read",
            Role::Admin => "admin",
        }
    }

    /// Whether a token of this role may do what `need` asks.
    pub const fn allows(self, need: Access) -> bool {
        matches!(
            (self, need),
            (Role::Admin, _)
                | (_, Access::Any)
                | (Role::Ingest, Access::Ingest)
                | (Role::Read, Access::Read)
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any valid token (`/readyz`, `/v1/openapi.json`).
    Any,
    /// An `ingest` (or `admin`) token.
    Ingest,
    /// A `read` (or `admin`) token.
    Read,
    /// An `admin` token.
    Admin,
}

impl Access {
    fn verb(self) -> &'static str {
        match self {
            Access::Any => "call this endpoint",
            Access::Ingest => "ingest events",
            Access::Read => "read alerts",
            Access::Admin => "administer the server",
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// 401 (no or unknown token) or 403 (a token without the role).
    pub status: StatusCode,
    /// A lowercase explanation for the caller.
    pub message: String,
}

/// The configured tokens, by SHA-256 digest.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], Role>,
}

impl Tokens {
    /// The tokens of the config.
    pub fn new(tokens: &[TokenConfig]) -> Tokens {
        Tokens {
            by_digest: tokens
                .iter()
                .map(|t| (digest(t.token.as_bytes()), t.role))
                .collect(),
        }
    }

    /// Checks the `Authorization` header (`Bearer <token>`, or `Splunk <token>` as HEC
    /// shippers send it) against what the endpoint needs.
    ///
    /// # Errors
    /// 401 when the header is missing, malformed or the token unknown; 403 when the token's
    /// role does not allow `need`.
    pub fn check(&self, headers: &HeaderMap, need: Access) -> Result<Role, Denied> {
        let unauthorized = |message: &str| Denied {
            status: StatusCode::UNAUTHORIZED,
            message: message.to_owned(),
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "missing bearer token (Authorization: Bearer <token>)",
            ));
        };
        let value = value
            .to_str()
            .map_err(|_| unauthorized("malformed Authorization header"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| unauthorized("malformed Authorization header"))?;
        if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("splunk") {
            return Err(unauthorized(
                "unsupported authorization scheme (use Bearer)",
            ));
        }
        let role = *self
            .by_digest
            .get(&digest(token.trim().as_bytes()))
            .ok_or_else(|| unauthorized("unknown token"))?;
        if role.allows(need) {
            Ok(role)
        } else {
            Err(Denied {
                status: StatusCode::FORBIDDEN,
                message: format!("a token of role '{role}' may not {}", need.verb()),
            })
        }
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn roles_map_to_401_and_403() {
        let tokens = Tokens::new(&[
            TokenConfig {
                token: "ingest-token-0123456".into(),
                role: Role::Ingest,
            },
            TokenConfig {
                token: "read-token-0123456789".into(),
                role: Role::Read,
            },
            TokenConfig {
                token: "admin-token-012345678".into(),
                role: Role::Admin,
            },
        ]);
        let ing = headers("Bearer ingest-token-0123456");
        assert_eq!(tokens.check(&ing, Access::Ingest), Ok(Role::Ingest));
        assert_eq!(
            tokens.check(&ing, Access::Read).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(tokens.check(&ing, Access::Any), Ok(Role::Ingest));
        let splunk = headers("Splunk ingest-token-0123456");
        assert_eq!(tokens.check(&splunk, Access::Ingest), Ok(Role::Ingest));
        let admin = headers("bearer admin-token-012345678");
        assert_eq!(tokens.check(&admin, Access::Read), Ok(Role::Admin));
        assert_eq!(tokens.check(&admin, Access::Admin), Ok(Role::Admin));
        let read = headers("Bearer read-token-0123456789");
        assert_eq!(
            tokens.check(&read, Access::Admin).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        for bad in ["Bearer nope", "Basic abc", "Bearer", "ingest-token-0123456"] {
            assert_eq!(
                tokens.check(&headers(bad), Access::Any).unwrap_err().status,
                StatusCode::UNAUTHORIZED,
                "{bad}"
            );
        }
        assert_eq!(
            tokens
                .check(&HeaderMap::new(), Access::Any)
                .unwrap_err()
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
}
