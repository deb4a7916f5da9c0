//! `--format auto`: which vendor wrote this record?
//!
//! One pass over the record's top-level keys (values are skipped, nothing is built). The
//! keys that decide, in order: `class_uid` → OCSF; `userIdentity`, `eventSource` or
//! `eventName` + `awsRegion` / `recipientAccountId` → CloudTrail; `kind:
//! admin#reports#activity` or `id` + `events` → Google; `published`, or `eventType` with
//! `uuid`, `actor` or `client` → Okta; `@timestamp` → ECS; an Azure envelope (`category` /
//! `operationName` with `properties`) or any of `createdDateTime`, `TimeGenerated`,
//! `userPrincipalName` (either case) → Entra.

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::common::{self, Str, s};
use crate::{Error, Source};

#[derive(Deserialize)]
struct Probe<'a> {
    class_uid: Option<IgnoredAny>,
    #[serde(rename = "userIdentity")]
    user_identity: Option<IgnoredAny>,
    #[serde(rename = "eventSource")]
    event_source: Option<IgnoredAny>,
    #[serde(rename = "eventName")]
    event_name: Option<IgnoredAny>,
    #[serde(rename = "awsRegion")]
    aws_region: Option<IgnoredAny>,
    #[serde(rename = "recipientAccountId")]
    recipient_account_id: Option<IgnoredAny>,
    actor: Option<IgnoredAny>,
    client: Option<IgnoredAny>,
    #[serde(borrow)]
    kind: Option<Str<'a>>,
    id: Option<IgnoredAny>,
    events: Option<IgnoredAny>,
    published: Option<IgnoredAny>,
    #[serde(rename = "eventType")]
    event_type: Option<IgnoredAny>,
    eventtype: Option<IgnoredAny>,
    uuid: Option<IgnoredAny>,
    #[serde(rename = "@timestamp")]
    timestamp: Option<IgnoredAny>,
    properties: Option<IgnoredAny>,
    category: Option<IgnoredAny>,
    #[serde(rename = "operationName")]
    operation_name: Option<IgnoredAny>,
    #[serde(rename = "createdDateTime")]
    created: Option<IgnoredAny>,
    #[serde(rename = "CreatedDateTime")]
    created_la: Option<IgnoredAny>,
    #[serde(rename = "TimeGenerated")]
    time_generated: Option<IgnoredAny>,
    #[serde(rename = "userPrincipalName")]
    upn: Option<IgnoredAny>,
    #[serde(rename = "UserPrincipalName")]
    upn_la: Option<IgnoredAny>,
}

/// Decides which vendor wrote one JSON record.
///
/// # Errors
/// [`Error::Json`] when the record is not a JSON object, [`Error::Unrecognized`] when no
/// vendor's keys are there.
///
/// # Example
/// ```
/// use jetlag_normalize::{Source, sniff};
/// assert_eq!(sniff(br#"{"eventVersion":"1.08","eventSource":"signin.amazonaws.com"}"#).unwrap(), Source::Cloudtrail);
/// assert_eq!(sniff(br#"{"class_uid":3002,"time":1}"#).unwrap(), Source::Ocsf);
/// assert!(sniff(br#"{"hello":"world"}"#).is_err());
/// ```
pub fn sniff(record: &[u8]) -> Result<Source, Error> {
    let p: Probe<'_> = common::decode(record)?;
    let has = |x: &Option<IgnoredAny>| x.is_some();
    Ok(if has(&p.class_uid) {
        Source::Ocsf
    } else if has(&p.user_identity)
        || has(&p.event_source)
        || (has(&p.event_name) && (has(&p.aws_region) || has(&p.recipient_account_id)))
    {
        Source::Cloudtrail
    } else if s(&p.kind).is_some_and(|k| k.starts_with("admin#reports"))
        || (has(&p.id) && has(&p.events))
    {
        Source::Google
    } else if has(&p.published)
        || ((has(&p.event_type) || has(&p.eventtype))
            && (has(&p.uuid) || has(&p.actor) || has(&p.client)))
    {
        Source::Okta
    } else if has(&p.timestamp) {
        Source::Ecs
    } else if (has(&p.properties) && (has(&p.category) || has(&p.operation_name)))
        || [
            &p.created,
            &p.created_la,
            &p.time_generated,
            &p.upn,
            &p.upn_la,
        ]
        .into_iter()
        .any(has)
    {
        Source::Entra
    } else {
        return Err(Error::Unrecognized);
    })
}
