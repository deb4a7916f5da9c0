//! The OpenAPI 3.1 document served at `/v1/openapi.json`, written out by hand so that it
//! says what each route means; a test checks it lists exactly the routes of
//! [`route_table`](crate::route_table).

use serde_json::{Value, json};

use crate::app::RouteInfo;

fn op(summary: &str, role: Option<&str>, extra: Value) -> Value {
    let mut o = json!({ "summary": summary, "responses": {
        "200": { "description": "success" },
    }});
    match role {
        Some(role) => {
            o["security"] = json!([{ "bearer": [] }]);
            o["x-jetlag-role"] = json!(role);
            o["responses"]["401"] = json!({ "description": "missing or unknown token" });
            if role != "any" {
                o["responses"]["403"] =
                    json!({ "description": "the token's role may not do this" });
            }
        }
        None => o["security"] = json!([]),
    }
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            if k == "responses" {
                if let Value::Object(r) = v {
                    for (code, d) in r {
                        o["responses"][code] = d;
                    }
                }
            } else {
                o[k] = v;
            }
        }
    }
    o
}

fn ingest_body(what: &str) -> Value {
    json!({
        "requestBody": { "required": true, "description": what, "content": {
            "application/x-ndjson": {}, "application/json": {},
        }},
        "parameters": [{ "name": "Content-Encoding", "in": "header", "required": false,
            "schema": { "type": "string", "enum": ["gzip", "identity"] } }],
        "responses": {
            "400": { "description": "nothing stored and something refused (each reject is \
                listed with its reason), or no record at all" },
            "413": { "description": "body over max_body_bytes (or max_decoded_bytes once \
                decoded), or a batch of more events than the whole ingest queue \
                (queue_events): it never fits, send smaller batches" },
            "415": { "description": "a Content-Encoding other than gzip or identity" },
            "429": { "description": "the ingest queue (queue_events) has no room for the \
                batch now; retry after Retry-After" },
            "503": { "description": "draining or store failure" },
        }
    })
}

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": { "type": ty },
            "description": description })
}

/// The document. `routes` is consulted for nothing but is the list the test compares with.
pub(crate) fn document(_routes: &[RouteInfo]) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jetlag",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Real-time sign-in risk engine: ingest sign-ins, get login-time \
                decisions, read and stream alerts.",
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer",
                "description": "a token from [[server.tokens]]; roles ingest, read, admin \
                (admin may do everything). HEC shippers may send `Authorization: Splunk <token>`." } },
        },
        "paths": {
            "/healthz": { "get": op("liveness: the process answers", None, json!({})) },
            "/readyz": { "get": op("readiness: core running, store committing, not draining", Some("any"),
                json!({ "responses": { "503": { "description": "not ready" } } })) },
            "/metrics": { "get": op("Prometheus/OpenMetrics metrics", Some("read"), json!({})) },
            "/v1/openapi.json": { "get": op("this document", Some("any"), json!({})) },
            "/v1/events": { "post": op(
                "ingest sign-ins in any format `jetlag scan` reads, put in (time, event_id) \
                 order; answers once durable: {accepted, rejected, skipped (records of a \
                 known source that are not sign-ins), late (ids stored beyond lateness_secs, \
                 not run through detection), out_of_order (ids run through detection at \
                 once, behind newer events), duplicates, rejects (line or event_id, and \
                 reason)}. Only skipped records is a 200; records dated more than \
                 max_future_secs ahead of the server's clock are rejected",
                Some("ingest"), ingest_body("NDJSON, one JSON document, a JSON array, or a \
                 {\"records\":[...]} / {\"value\":[...]} wrapper")) },
            "/services/collector/event": { "post": op(
                "Splunk HEC-compatible ingest: concatenated {\"event\": <record>} objects; \
                 Splunk's answer shape (code 6 names the first refused event; records that \
                 are not sign-ins are skipped, not refused), with x-jetlag-accepted, \
                 x-jetlag-rejected and x-jetlag-skipped headers",
                Some("ingest"), ingest_body("Splunk HEC event objects")) },
            "/services/collector": { "post": op(
                "Splunk HEC-compatible ingest (alias of /services/collector/event)",
                Some("ingest"), ingest_body("Splunk HEC event objects")) },
            "/v1/evaluate": { "post": op(
                "decide one sign-in now and record it: {event_id, user, risk 0-100, severity, \
                 action allow|challenge|block, evaluated, late, out_of_order, duplicate, \
                 reasons, alerts}. A sign-in behind newer ones already decided is still \
                 evaluated (out_of_order: true); a retry of a stored event gets the decision \
                 recorded for it (duplicate: true)", Some("ingest"), {
                    let mut body = ingest_body("one sign-in record");
                    body["responses"]["400"] = json!({ "description": "not exactly one \
                        sign-in, or dated more than max_future_secs ahead of the server's clock" });
                    body["responses"]["409"] = json!({ "description": "stored but not \
                        evaluated (action not_evaluated, risk null, evaluated false, the \
                        reason in error): the sign-in is more than lateness_secs older than \
                        the newest event the server has; decide by your own policy, never \
                        as an allow" });
                    body
                }) },
            "/v1/alerts": { "get": op("stored alerts, oldest first, cursor-paged", Some("read"), json!({
                "parameters": [
                    query("since", "string", "RFC 3339; alerts at or after"),
                    query("detector", "string", "one detector name"),
                    query("severity", "string", "minimum severity: low, medium, high, critical"),
                    query("user", "string", "an identity involved"),
                    query("cursor", "integer", "next_cursor of the previous page"),
                    query("limit", "integer", "page size 1..1000, default 100"),
                ],
                "responses": { "400": { "description": "bad filter" } },
            })) },
            "/v1/users/{user}": { "get": op(
                "a user's current risk, recent sign-ins with locations, and alerts",
                Some("read"), json!({
                    "parameters": [{ "name": "user", "in": "path", "required": true,
                        "schema": { "type": "string" } }],
                    "responses": { "404": { "description": "no sign-ins or alerts for the user" } },
                })) },
            "/v1/stream": { "get": op(
                "new alerts as Server-Sent Events (event: alert, id: alert sequence); \
                 Last-Event-ID replays every alert stored after it, however many, before \
                 the new ones (event: lagged, only if the store cannot be read, says where \
                 to resume from /v1/alerts)", Some("read"), json!({
                    "parameters": [{ "name": "Last-Event-ID", "in": "header", "required": false,
                        "schema": { "type": "integer" } }],
                    "responses": { "200": { "description": "an event stream",
                        "content": { "text/event-stream": {} } } },
                })) },
            "/v1/admin/reload": { "post": op(
                "re-read GeoIP databases and intel lists now (as SIGHUP does)", Some("admin"),
                json!({ "responses": { "422": { "description": "reload failed; previous data kept" } } })) },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let routes = crate::route_table();
        let doc = document(&routes);
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, ops) in paths {
            for (method, o) in ops.as_object().unwrap() {
                documented.push((method.clone(), path.clone()));
                let route = routes
                    .iter()
                    .find(|r| r.method == method && r.path == path)
                    .unwrap_or_else(|| panic!("{method} {path} documented but not routed"));
                assert_eq!(
                    route.access.is_none(),
                    o["security"].as_array().unwrap().is_empty(),
                    "{method} {path}: documented auth differs"
                );
            }
        }
        for r in &routes {
            assert!(
                documented.iter().any(|(m, p)| m == r.method && p == r.path),
                "{} {} routed but not documented",
                r.method,
                r.path
            );
        }
        assert_eq!(documented.len(), routes.len());
    }
}
