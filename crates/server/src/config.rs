//! The `[server]` table of `jetlag.toml`: where to listen, where to keep state, who may call.
//!
//! Two stages, like the rest of the config: [`ServerConfig`] is the on-disk form (serde,
//! `deny_unknown_fields`, every field defaulted and documented here), [`ServerConfig::validate`]
//! lists every problem at once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum_server::tls_rustls::RustlsConfig;
use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// The `[server]` table: where `jetlag serve` listens, where it keeps its state, who may
/// call it. Only `jetlag serve` reads it (`--listen` and `--data-dir` override two keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `"127.0.0.1:8080"` (loopback: expose it deliberately).
    pub listen: String,
    /// Directory for the write-ahead log, alerts, detector snapshots and the webhook
    /// dead-letter log. Created if missing. Default `"jetlag-data"`.
    pub data_dir: PathBuf,
    /// Bearer tokens and their roles (`[[server.tokens]]`), each a `token` of at least 16
    /// characters (`openssl rand -hex 32`) and a `role`: `ingest`, `read` or `admin`
    /// (everything). Every endpoint but `/healthz` needs one. Default: none (every call is
    /// refused until tokens are configured).
    /// Example: `tokens = [{ token = "…", role = "ingest" }]`
    pub tokens: Vec<TokenConfig>,
    /// Webhooks that receive every new alert (`[[server.webhooks]]`), each an http(s) `url`
    /// and the HMAC-SHA256 `secret` of its `X-Jetlag-Signature` header. Default: none.
    /// Example: `webhooks = [{ url = "https://soar.example/hook", secret = "…" }]`
    pub webhooks: Vec<WebhookConfig>,
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS only (rustls).
    /// Default: none (plain HTTP).
    /// Example: `tls_cert = "tls/cert.pem"`
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`. Default: none.
    /// Example: `tls_key = "tls/key.pem"`
    pub tls_key: Option<PathBuf>,
    /// Largest request body accepted, in bytes, as sent (compressed or not); larger → 413.
    /// Default 10 MiB.
    pub max_body_bytes: usize,
    /// Largest body after gzip decoding, in bytes; larger → 413 (a gzip bomb never fills
    /// memory). Default 64 MiB.
    pub max_decoded_bytes: usize,
    /// Events accepted but not yet durable and processed. A batch that does not fit in what
    /// is left now → 429 with `Retry-After`; a batch larger than the whole queue → 413 (it
    /// never fits: send smaller batches). Bounds the server's memory. Default 50 000.
    pub queue_events: usize,
    /// `Retry-After` seconds sent with a 429. Default 1.
    pub retry_after_secs: u32,
    /// How far (seconds of event time) an event may arrive behind the newest event seen and
    /// still be run through detection: in time order while it can be, otherwise at once and
    /// reported `out_of_order`. Older events are stored and reported as `late` but not run
    /// through detection. Default 300 (5 minutes: typical shipper batching and Event Hub
    /// delivery delays are seconds to a few minutes).
    pub lateness_secs: u64,
    /// How far (seconds) an event's time may be ahead of this server's clock. Records dated
    /// further ahead are refused with a reason (a bad clock or a forged record would
    /// otherwise move the newest event time ahead and make every real event late). Default
    /// 300 (5 minutes: the clock skew Kerberos tolerates by default, MIT krb5's `clockskew`;
    /// NTP keeps identity providers and servers within a second of each other).
    pub max_future_secs: u64,
    /// Longest wall-clock time (milliseconds) an event waits in the reorder buffer for
    /// stragglers before it is released to detection anyway; once released, anything older
    /// arriving afterwards is `late`. The delay before an ingested event's alerts appear
    /// (`/v1/evaluate` never waits). Default 5000.
    pub max_hold_ms: u64,
    /// Snapshot detector state at least this often (seconds), so a restart replays only the
    /// write-ahead log written since. Default 30.
    pub snapshot_every_secs: u64,
    /// ... or after this many events, whichever comes first. Default 10 000.
    pub snapshot_every_events: u64,
    /// Attempts per webhook delivery before the alert goes to the dead-letter log. Default 6.
    pub webhook_max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubled each retry. Default 500.
    pub webhook_backoff_ms: u64,
    /// Per-attempt webhook timeout, in milliseconds. Default 5000.
    pub webhook_timeout_ms: u64,
    /// Seconds to drain in-flight requests and the queue on shutdown. Default 30.
    pub shutdown_grace_secs: u64,
    /// Seconds between checks of the GeoIP/intel files for changes (SIGHUP reloads at once).
    /// 0 disables polling. Default 10.
    pub reload_poll_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("jetlag-data"),
            tokens: Vec::new(),
            webhooks: Vec::new(),
            tls_cert: None,
            tls_key: None,
            max_body_bytes: 10 << 20,
            max_decoded_bytes: 64 << 20,
            queue_events: 50_000,
            retry_after_secs: 1,
            lateness_secs: 300,
            max_future_secs: 300,
            max_hold_ms: 5000,
            snapshot_every_secs: 30,
            snapshot_every_events: 10_000,
            webhook_max_attempts: 6,
            webhook_backoff_ms: 500,
            webhook_timeout_ms: 5000,
            shutdown_grace_secs: 30,
            reload_poll_secs: 10,
        }
    }
}

/// One `[[server.tokens]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// The bearer token (at least 16 characters; generate with `openssl rand -hex 32`).
    pub token: String,
    /// What the token may do: `ingest`, `read` or `admin` (everything).
    pub role: Role,
}

/// One `[[server.webhooks]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL that receives each alert as a JSON POST.
    pub url: String,
    /// HMAC-SHA256 key; the signature of the body is sent as
    /// `X-Jetlag-Signature: sha256=<hex>`.
    pub secret: String,
}

impl ServerConfig {
    /// The `[server]` table with every default (`tls_cert` and `tls_key`, which default to
    /// none, are absent), as `jetlag config default` prints it.
    pub fn default_table() -> toml::Table {
        toml::Table::try_from(ServerConfig::default()).unwrap_or_default()
    }

    /// The `[server]` table as `jetlag-config` hands it over (raw), checked: relative paths
    /// (`data_dir`, `tls_cert`, `tls_key`) are resolved against `base`, the config file's
    /// folder. No table gives the defaults.
    ///
    /// # Errors
    /// Every problem, each starting with its key path (`server.tokens[0].role: …`).
    pub fn from_table(
        table: Option<toml::Table>,
        base: &Path,
    ) -> Result<ServerConfig, Vec<String>> {
        let (config, problems) = ServerConfig::from_table_partial(table, base);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// As [`ServerConfig::from_table`], but going on past problems (for `jetlag config
    /// check`): the table read one key at a time, a key serde cannot read reported with its
    /// key path and left at its default, then every check of [`ServerConfig::validate`].
    /// Returns the config and every problem; the config is usable only without problems.
    ///
    /// # Example
    /// ```
    /// use std::path::Path;
    /// let table: toml::Table = toml::from_str(
    ///     "listen = \"nowhere\"\ntokens = [{ token = \"short\", role = \"root\" }]",
    /// ).unwrap();
    /// let (_, problems) = jetlag_server::ServerConfig::from_table_partial(Some(table), Path::new("."));
    /// assert_eq!(problems.len(), 2, "{problems:?}");
    /// assert!(problems[0].starts_with("server.tokens[0].role: unknown variant `root`"));
    /// assert!(problems[1].starts_with("server.listen: 'nowhere'"));
    /// ```
    pub fn from_table_partial(
        table: Option<toml::Table>,
        base: &Path,
    ) -> (ServerConfig, Vec<String>) {
        let mut problems = Vec::new();
        let (mut config, unreadable) = match &table {
            None => (ServerConfig::default(), Default::default()),
            Some(t) => jetlag_config::deserialize_by_key(t, "server", &mut problems),
        };
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.data_dir);
        config.tls_cert.as_mut().map(resolve);
        config.tls_key.as_mut().map(resolve);
        problems.extend(unreadable.filter(config.validate()));
        (config, problems)
    }

    /// Loads `tls_cert` and `tls_key` the way `serve` does ([`start`](crate::start)) and
    /// returns every problem, each with its key path: a file that cannot be read, a
    /// certificate or key rustls cannot use. Empty without TLS (or when only one of the two
    /// is set, which [`ServerConfig::validate`] reports). Needs a Tokio runtime.
    pub async fn check_tls(&self) -> Vec<String> {
        self.load_tls().await.err().unwrap_or_default()
    }

    /// The TLS configuration of `tls_cert` and `tls_key` (`None` unless both are set): the
    /// one loading path of `serve` and `config check`.
    pub(crate) async fn load_tls(&self) -> Result<Option<RustlsConfig>, Vec<String>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let read = |key_path: &'static str, path: PathBuf| async move {
            tokio::fs::read(&path)
                .await
                .map_err(|e| format!("{key_path}: cannot read {}: {e}", path.display()))
        };
        let (cert_pem, key_pem) = match (
            read("server.tls_cert", cert.clone()).await,
            read("server.tls_key", key.clone()).await,
        ) {
            (Ok(c), Ok(k)) => (c, k),
            (c, k) => return Err(c.err().into_iter().chain(k.err()).collect()),
        };
        // One process-wide crypto provider; a second install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        RustlsConfig::from_pem(cert_pem, key_pem)
            .await
            .map(Some)
            .map_err(|e| {
                vec![format!(
                    "server.tls_cert, server.tls_key: cannot use the certificate {} with the key {}: {e}",
                    cert.display(),
                    key.display()
                )]
            })
    }

    /// Every problem with the table, each prefixed `server.<field>: `. Empty when valid.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            errs.push(format!(
                "server.listen: '{}' is not an address:port (e.g. \"127.0.0.1:8080\")",
                self.listen
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            errs.push("server.data_dir: must not be empty".into());
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.len() < 16 {
                errs.push(format!(
                    "server.tokens[{i}].token: too short ({} characters, at least 16)",
                    t.token.len()
                ));
            }
            if t.token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                errs.push(format!(
                    "server.tokens[{i}].token: must not contain whitespace"
                ));
            }
            if self.tokens[..i].iter().any(|o| o.token == t.token) {
                errs.push(format!(
                    "server.tokens[{i}].token: duplicate of an earlier token"
                ));
            }
        }
        for (i, w) in self.webhooks.iter().enumerate() {
            match reqwest::Url::parse(&w.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => errs.push(format!(
                    "server.webhooks[{i}].url: '{}' is not an http(s) URL",
                    w.url
                )),
            }
            if w.secret.is_empty() {
                errs.push(format!("server.webhooks[{i}].secret: must not be empty"));
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => errs.push("server.tls_key: required when tls_cert is set".into()),
            (None, Some(_)) => errs.push("server.tls_cert: required when tls_key is set".into()),
            _ => {}
        }
        let positive = [
            ("max_body_bytes", self.max_body_bytes as u64),
            ("max_decoded_bytes", self.max_decoded_bytes as u64),
            ("queue_events", self.queue_events as u64),
            ("snapshot_every_secs", self.snapshot_every_secs),
            ("snapshot_every_events", self.snapshot_every_events),
            ("webhook_max_attempts", u64::from(self.webhook_max_attempts)),
            ("webhook_timeout_ms", self.webhook_timeout_ms),
        ];
        for (name, v) in positive {
            if v == 0 {
                errs.push(format!("server.{name}: must be greater than 0"));
            }
        }
        if self.max_decoded_bytes < self.max_body_bytes {
            errs.push(format!(
                "server.max_decoded_bytes: {} is below max_body_bytes ({})",
                self.max_decoded_bytes, self.max_body_bytes
            ));
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_every_problem_is_reported() {
        assert!(ServerConfig::default().validate().is_empty());
        let bad: ServerConfig = toml_like(
            r#"{"listen":"nowhere","tokens":[{"token":"short","role":"read"}],
                "webhooks":[{"url":"ftp://x","secret":""}],"tls_cert":"c.pem","queue_events":0}"#,
        );
        let errs = bad.validate();
        for needle in [
            "server.listen",
            "server.tokens[0].token: too short",
            "server.webhooks[0].url",
            "server.webhooks[0].secret",
            "server.tls_key",
            "server.queue_events",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(needle)),
                "{needle} missing in {errs:?}"
            );
        }
    }

    #[test]
    fn unknown_fields_and_roles_are_refused() {
        assert!(serde_json::from_str::<ServerConfig>(r#"{"lisen":"x"}"#).is_err());
        assert!(
            serde_json::from_str::<ServerConfig>(
                r#"{"tokens":[{"token":"0123456789abcdef","role":"root"}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn toml_table_paths_resolve_against_the_config_folder() {
        let table: toml::Table = toml::from_str(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"state\"\n[[tokens]]\ntoken = \"0123456789abcdef\"\nrole = \"admin\"\n",
        )
        .unwrap();
        let c = ServerConfig::from_table(Some(table), Path::new("/etc/jetlag")).unwrap();
        assert_eq!(c.data_dir, Path::new("/etc/jetlag/state"));
        assert_eq!(c.tokens[0].role, Role::Admin);
        let bad: toml::Table = toml::from_str("listen = 5\n").unwrap();
        let errs = ServerConfig::from_table(Some(bad), Path::new(".")).unwrap_err();
        assert!(
            errs[0].starts_with("server.listen: invalid type"),
            "{errs:?}"
        );
        let none = ServerConfig::from_table(None, Path::new("/srv")).unwrap();
        assert_eq!(none.data_dir, Path::new("/srv/jetlag-data"));
        assert_eq!(none.listen, ServerConfig::default().listen);
    }

    /// Audit A6: `config check` said "ok" for TLS files that do not exist (serve then
    /// failed); the check loads them the way `serve` does, each problem with its key path.
    #[tokio::test]
    async fn a6_check_tls_loads_the_certificate_and_key_as_serve_does() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let table = |cert: &str, key: &str| -> toml::Table {
            toml::from_str(&format!("tls_cert = {cert:?}\ntls_key = {key:?}\n")).unwrap()
        };
        let config =
            |cert: &str, key: &str| ServerConfig::from_table(Some(table(cert, key)), base).unwrap();
        let missing = config("cert.pem", "key.pem").check_tls().await;
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(
            missing[0].starts_with("server.tls_cert: cannot read "),
            "{missing:?}"
        );
        assert!(
            missing[1].starts_with("server.tls_key: cannot read "),
            "{missing:?}"
        );

        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(base.join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(base.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        std::fs::write(base.join("junk.pem"), "not pem\n").unwrap();
        assert_eq!(
            config("cert.pem", "key.pem").check_tls().await,
            Vec::<String>::new()
        );
        // Readable but not a key: rustls's reason, both files named.
        let wrong = config("cert.pem", "junk.pem").check_tls().await;
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert!(
            wrong[0].starts_with("server.tls_cert, server.tls_key: cannot use the certificate ")
                && wrong[0].contains("junk.pem"),
            "{wrong:?}"
        );
        // No TLS: nothing to load.
        assert!(ServerConfig::default().check_tls().await.is_empty());
    }

    /// Audit A5: a value serde could not read hid the table's other problems, and its
    /// message had no key path.
    #[test]
    fn a5_every_key_is_read_and_checked_apart() {
        let table: toml::Table = toml::from_str(
            "listen = \"nowhere\"\ntls_key = 5\nqueue_events = 0\n\
             tokens = [{ token = \"0123456789abcdef\", role = \"read\" }, \
                       { token = \"short\", role = \"root\" }]\n",
        )
        .unwrap();
        let errs = ServerConfig::from_table(Some(table), Path::new(".")).unwrap_err();
        assert_eq!(
            errs.iter()
                .map(|e| e.split(':').next().unwrap())
                .collect::<Vec<_>>(),
            [
                "server.tls_key",
                "server.tokens[1].role",
                "server.listen",
                "server.queue_events"
            ],
            "{errs:#?}"
        );
        // The defaults that stood in for unreadable keys are not checked: `tls_key` is not
        // also reported "required when tls_cert is set" the other way round.
        let table: toml::Table = toml::from_str("tls_cert = 5\ntls_key = \"key.pem\"\n").unwrap();
        let errs = ServerConfig::from_table(Some(table), Path::new(".")).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("server.tls_cert: invalid type"),
            "{errs:?}"
        );
    }

    fn toml_like(json: &str) -> ServerConfig {
        serde_json::from_str(json).unwrap()
    }
}
