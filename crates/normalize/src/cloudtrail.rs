//! AWS CloudTrail `ConsoleLogin` records.
//!
//! Fields: `eventTime`, `eventID`, `eventName`, `eventSource`, `sourceIPAddress`,
//! `userAgent`, `recipientAccountId`, `userIdentity{type, arn, accountId, userName,
//! principalId, sessionContext.attributes.mfaAuthenticated}` (types `IAMUser`, `Root`,
//! `AssumedRole`, `IdentityCenterUser`, …), `responseElements.ConsoleLogin` (`Success` /
//! `Failure`), `additionalEventData{MFAUsed, LoginTo}`.
//!
//! `user` is `userIdentity.arn` (lower-cased). A failed sign-in of an unknown user carries
//! no ARN: one is built from `recipientAccountId` and `userIdentity.userName`
//! (`arn:aws:iam::ACCOUNT:user/NAME`; `…:root` for `Root`). Other event names (`PutObject`,
//! `GetSigninToken`, …) are skipped.

use compact_str::{CompactString, format_compact};
use jetlag_event::{Outcome, SignIn, Source};
use serde::Deserialize;

use crate::common::{self, Draft, Flag, Str, Text, s};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    #[serde(default)]
    mfa_authenticated: Option<Flag>,
}

#[derive(Deserialize, Default)]
struct SessionContext {
    #[serde(default)]
    attributes: Option<Attributes>,
}

/// IAM Identity Center users: who the session acts for.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf<'a> {
    #[serde(borrow, default)]
    user_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    identity_store_arn: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, default)]
    on_behalf_of: Option<OnBehalfOf<'a>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<Str<'a>>,
    #[serde(borrow, default)]
    arn: Option<Str<'a>>,
    #[serde(borrow, default)]
    account_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    user_name: Option<Str<'a>>,
    #[serde(default)]
    session_context: Option<SessionContext>,
}

#[derive(Deserialize, Default)]
struct Response<'a> {
    #[serde(borrow, default, rename = "ConsoleLogin")]
    console_login: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
struct Additional<'a> {
    #[serde(default, rename = "MFAUsed")]
    mfa_used: Option<Flag>,
    #[serde(borrow, default, rename = "LoginTo")]
    login_to: Option<Str<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow, default)]
    event_time: Option<Str<'a>>,
    #[serde(borrow, default, rename = "eventID")]
    event_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    event_name: Option<Str<'a>>,
    #[serde(borrow, default, rename = "sourceIPAddress")]
    source_ip: Option<Str<'a>>,
    #[serde(borrow, default)]
    user_agent: Option<Str<'a>>,
    #[serde(borrow, default)]
    recipient_account_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    user_identity: Option<Identity<'a>>,
    /// `null` when a sign-in fails before AWS answers.
    #[serde(borrow, default)]
    response_elements: Option<Response<'a>>,
    #[serde(borrow, default)]
    additional_event_data: Option<Additional<'a>>,
}

/// Parses one CloudTrail record.
///
/// # Errors
/// Not JSON / wrong types, no `eventTime`, no user (neither an ARN nor a user name).
pub fn parse(record: &[u8], warnings: &mut Vec<Warning>) -> Result<Parsed, Error> {
    common::by_value(|out| parse_into(record, out, warnings))
}

/// [`parse`] into a caller's event (see [`crate::parse_json_into`]).
///
/// # Errors
/// As [`parse`].
pub fn parse_into(
    record: &[u8],
    out: &mut SignIn,
    warnings: &mut Vec<Warning>,
) -> Result<Filled, Error> {
    let r: Record<'_> = common::decode(record)?;
    if s(&r.event_name) != Some("ConsoleLogin") {
        return Ok(Filled::Skipped(Skip {
            source: Source::Cloudtrail,
            reason: "not a ConsoleLogin",
        }));
    }
    let time = common::required_time(s(&r.event_time), "eventTime")?;
    let outcome = match r
        .response_elements
        .as_ref()
        .and_then(|re| s(&re.console_login))
    {
        Some(v) if v.eq_ignore_ascii_case("success") => Outcome::Success,
        Some(v) if v.eq_ignore_ascii_case("failure") => Outcome::Failure,
        _ => Outcome::Unknown,
    };
    let identity = r.user_identity.unwrap_or_default();
    let account = s(&r.recipient_account_id)
        .or(s(&identity.account_id))
        .filter(|a| !a.is_empty());
    let arn = match (s(&identity.arn).filter(|a| !a.trim().is_empty()), account) {
        (Some(arn), _) => Some(Text::Str(arn)),
        (None, Some(acct)) if s(&identity.kind) == Some("Root") => {
            Some(Text::Made(format_compact!("arn:aws:iam::{acct}:root")))
        }
        (None, Some(acct)) => s(&identity.user_name)
            .filter(|n| !n.trim().is_empty())
            .map(|name| Text::Made(format_compact!("arn:aws:iam::{acct}:user/{}", name.trim()))),
        (None, None) => None,
    };
    // An Identity Center user without a name: the identity store's user.
    let arn = arn.or_else(|| {
        let behalf = identity.on_behalf_of.as_ref()?;
        let user = s(&behalf.user_id).filter(|u| !u.is_empty())?;
        let store =
            s(&behalf.identity_store_arn).unwrap_or("arn:aws:identitystore:::identitystore");
        Some(Text::Made(format_compact!("{store}/user/{user}")))
    });
    // The user is the ARN, trimmed (lower-cased when written out).
    let user = match &arn {
        Some(Text::Str(a)) => Text::Str(common::user(Some(a), "userIdentity.arn")?),
        Some(Text::Made(a)) => Text::Made(CompactString::from(common::user(
            Some(a),
            "userIdentity.arn",
        )?)),
        None => return Err(Error::Missing("userIdentity.arn")),
    };
    let mut ev = Draft::new(
        common::id_or_hash(s(&r.event_id), record),
        time,
        Source::Cloudtrail,
        user,
        outcome,
    );
    ev.tenant = account;
    ev.ip = common::ip(s(&r.source_ip), "sourceIPAddress", warnings);
    ev.user_agent = common::nonempty(s(&r.user_agent));
    let additional = r.additional_event_data.as_ref();
    ev.app = common::nonempty(additional.and_then(|a| s(&a.login_to)));
    ev.mfa = additional
        .and_then(|a| a.mfa_used)
        .and_then(|f| f.0)
        .or_else(|| {
            identity
                .session_context
                .and_then(|c| c.attributes)
                .and_then(|a| a.mfa_authenticated)
                .and_then(|f| f.0)
        });
    ev.write(out);
    Ok(Filled::Event)
}
