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
use crate::lex::{self, Cursor, by_bit, field, flag, once, only};
use crate::{Error, Filled, Parsed, Skip, Warning};

#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    #[serde(default)]
    mfa_authenticated: Option<Flag>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct SessionContext {
    #[serde(default)]
    attributes: Option<Attributes>,
}

/// IAM Identity Center users: who the session acts for.
#[derive(Deserialize, Default, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf<'a> {
    #[serde(borrow, default)]
    user_id: Option<Str<'a>>,
    #[serde(borrow, default)]
    identity_store_arn: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Response<'a> {
    #[serde(borrow, default, rename = "ConsoleLogin")]
    console_login: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
struct Additional<'a> {
    #[serde(default, rename = "MFAUsed")]
    mfa_used: Option<Flag>,
    #[serde(borrow, default, rename = "LoginTo")]
    login_to: Option<Str<'a>>,
}

#[derive(Deserialize, Default, Debug, PartialEq)]
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
    let skip = Filled::Skipped(Skip {
        source: Source::Cloudtrail,
        reason: "not a ConsoleLogin",
    });
    let mut r = Record::default();
    if fast(record, &mut r).is_none() {
        r = match lex::decode_record(record) {
            Ok(r) => r,
            Err(e) => return kind_decides(record, e, skip),
        };
    }
    if s(&r.event_name) != Some("ConsoleLogin") {
        return Ok(skip);
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

/// Only `eventName`, to tell a sign-in from the other events of a trail.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kind<'a> {
    #[serde(borrow, default)]
    event_name: Option<Str<'a>>,
}

/// A record [`Record`] does not decode: skipped when it is valid JSON whose `eventName`
/// is not `ConsoleLogin` — the fields typed for a sign-in (`responseElements`, which
/// `CreateAccount` writes as a string, `additionalEventData`, …) are no concern of other
/// events (audit A, B12) —, else rejected with `error` (broken JSON, or a sign-in with a
/// field of the wrong type). Paid only by records that failed to decode.
fn kind_decides(record: &[u8], error: Error, skip: Filled) -> Result<Filled, Error> {
    match common::decode::<Kind<'_>>(record) {
        Ok(kind) if s(&kind.event_name) != Some("ConsoleLogin") => Ok(skip),
        _ => Err(error),
    }
}

/// Reads a record into `r` with a [`Cursor`], as `okta::fast` does (see DESIGN.md, "Why
/// does Okta have a hand-written reader"): the mapped fields where they lie — `userIdentity`
/// with its `onBehalfOf` and `sessionContext.attributes`, `responseElements` and
/// `additionalEventData` walked as objects —, the rest (`requestParameters`,
/// `sessionIssuer`, `resources`, …) skipped and checked unbuilt; values it does not read
/// itself (numbers and booleans for a flag, escaped strings, wrong types, an array for a
/// struct) decoded by serde from their own slice. `None` declines the record and
/// [`parse_into`] runs the derived `Deserialize`, whose result or error stands.
fn fast<'a>(record: &'a [u8], r: &mut Record<'a>) -> Option<()> {
    let mut c = Cursor::of_record(record)?;
    by_bit(&mut c, record_field, |c, bit| {
        match bit {
            1 => r.event_time = c.opt_str(Str::borrowed)?,
            2 => r.event_id = c.opt_str(Str::borrowed)?,
            4 => r.event_name = c.opt_str(Str::borrowed)?,
            8 => r.source_ip = c.opt_str(Str::borrowed)?,
            16 => r.user_agent = c.opt_str(Str::borrowed)?,
            32 => r.recipient_account_id = c.opt_str(Str::borrowed)?,
            64 => r.user_identity = c.opt_struct(identity)?,
            128 => {
                r.response_elements = c.opt_struct(|c, re: &mut Response<'a>| {
                    only(c, "ConsoleLogin", &mut re.console_login)
                })?;
            }
            _ => {
                r.additional_event_data = c.opt_struct(|c, a: &mut Additional<'a>| {
                    let mut seen = 0;
                    c.object(|c, key| match key {
                        "MFAUsed" => flag(c, &mut seen, 1, &mut a.mfa_used),
                        "LoginTo" => field(c, &mut seen, 2, &mut a.login_to),
                        _ => c.skip(),
                    })
                })?;
            }
        }
        Some(())
    })?;
    c.end()
}

/// Each field's bit in the "seen" mask (CloudTrail's fields have one spelling each).
fn record_field(key: &str) -> Option<u32> {
    Some(match key {
        "eventTime" => 1,
        "eventID" => 1 << 1,
        "eventName" => 1 << 2,
        "sourceIPAddress" => 1 << 3,
        "userAgent" => 1 << 4,
        "recipientAccountId" => 1 << 5,
        "userIdentity" => 1 << 6,
        "responseElements" => 1 << 7,
        "additionalEventData" => 1 << 8,
        _ => return None,
    })
}

/// `userIdentity`, its `onBehalfOf` and `sessionContext.attributes` walked too.
fn identity<'a>(c: &mut Cursor<'a>, id: &mut Identity<'a>) -> Option<()> {
    let mut seen = 0;
    c.object(|c, key| match key {
        "type" => field(c, &mut seen, 1, &mut id.kind),
        "arn" => field(c, &mut seen, 2, &mut id.arn),
        "accountId" => field(c, &mut seen, 4, &mut id.account_id),
        "userName" => field(c, &mut seen, 8, &mut id.user_name),
        "onBehalfOf" => {
            once(&mut seen, 16)?;
            id.on_behalf_of = c.opt_struct(|c, b: &mut OnBehalfOf<'a>| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "userId" => field(c, &mut seen, 1, &mut b.user_id),
                    "identityStoreArn" => field(c, &mut seen, 2, &mut b.identity_store_arn),
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        "sessionContext" => {
            once(&mut seen, 32)?;
            id.session_context = c.opt_struct(|c, sc: &mut SessionContext| {
                let mut seen = 0;
                c.object(|c, key| match key {
                    "attributes" => {
                        once(&mut seen, 1)?;
                        sc.attributes = c.opt_struct(|c, a: &mut Attributes| {
                            let mut seen = 0;
                            c.object(|c, key| match key {
                                "mfaAuthenticated" => {
                                    flag(c, &mut seen, 1, &mut a.mfa_authenticated)
                                }
                                _ => c.skip(),
                            })
                        })?;
                        Some(())
                    }
                    _ => c.skip(),
                })
            })?;
            Some(())
        }
        _ => c.skip(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::mutation::{Borrowed, fast_path_agrees_with_serde, lines};

    /// CloudTrail records to mutate: every golden input (the `{"Records":[…]}` file
    /// unpacked; there is no bad CloudTrail input under `bad/`), the simulator's and the
    /// bench's shape, and hand-made ones for each branch of [`fast`].
    fn bases() -> Vec<Vec<u8>> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../cli/tests/data/cloudtrail/");
        let text = std::fs::read(format!("{dir}panther_cloudtrail.jsonl")).unwrap();
        let mut bases: Vec<Vec<u8>> = lines(&text).collect();
        let page: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{dir}console_login_records.json")).unwrap(),
        )
        .unwrap();
        for record in page["Records"].as_array().unwrap() {
            bases.push(record.to_string().into_bytes());
        }
        bases.extend(
            [
                r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDA015560E7FC039597","arn":"arn:aws:iam::943641130009:user/mary.schmidt896","accountId":"943641130009","userName":"mary.schmidt896"},"eventTime":"2026-09-07T03:14:16Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"241.18.175.225","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true","MobileVersion":"No","MFAUsed":"Yes"},"eventID":"0b3fa50d-f249-4d3a-b674-e3ca213ba71f","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"943641130009","eventCategory":"Management"}"#,
                r#"{"eventVersion":"1.09","userIdentity":{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"},"credentialId":"EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"},"eventTime":"2023-12-06T18:40:37Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","sourceIPAddress":"2001:db8::1","responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"Yes","LoginTo":null,"CredentialType":"PASSWORD"},"eventID":"e5d2a0b8","recipientAccountId":"111122223333"}"#,
                r#"{"eventName":"ConsoleLogin","eventTime":"2024-06-01T08:00:00Z","userIdentity":{"type":"AssumedRole","principalId":"AROA:bob","arn":"arn:aws:sts::1:assumed-role/Admin/bob","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::1:role/Admin","userName":"Admin"},"webIdFederationData":{},"attributes":{"creationDate":"2024-06-01T07:59:00Z","mfaAuthenticated":"true"}}},"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https:\/\/console.aws.amazon.com\/"},"errorMessage":"Failed authentication","tlsDetails":{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":"signin.aws.amazon.com"}}"#,
                r#" { "eventName" : "ConsoleLogin" , "eventTime" : "2024-06-01T08:00:00Z" , "eventID" : null , "recipientAccountId" : "\u0031" , "userIdentity" : { "type" : "Root" , "arn" : null , "sessionContext" : { "attributes" : { "mfaAuthenticated" : true } } , "onBehalfOf" : null } , "responseElements" : null , "additionalEventData" : { "MFAUsed" : 1 } , "userAgent" : "caf\u00e9 \"ua\"" , "sourceIPAddress" : "AWS Internal" } "#,
                r#"{"eventName":"ConsoleLogin","eventTime":"2024-06-01T08:00:00Z","recipientAccountId":"1","userIdentity":{"type":"IAMUser","userName":"b\u00f6b","sessionContext":null},"additionalEventData":["\u0059es","https://x"],"responseElements":["Success"]}"#,
                r#"{"eventVersion":"1.08","eventName":"GetObject","eventSource":"s3.amazonaws.com","eventTime":"2024-06-01T08:00:00Z","userIdentity":{"type":"AWSService","invokedBy":"s3.amazonaws.com"},"requestParameters":{"bucketName":"b","key":"k\"\\\/\b\f\n\r\t","x-amz-date":[1,-0.5e+3,0,true,false,null,{"a":[[]]}]},"resources":[{"ARN":"arn:aws:s3:::b/k","accountId":"1","type":"AWS::S3::Object"}],"additionalEventData":{"bytesTransferredIn":0.0,"MFAUsed":null},"readOnly":true}"#,
            ]
            .map(|r| r.as_bytes().to_vec()),
        );
        bases
    }

    /// Fields given twice, in other types, escapes, `responseElements` /
    /// `additionalEventData` / `userIdentity` shapes, deep values, broken tokens.
    const FRAGMENTS: &[&str] = &[
        r#""eventTime":"2024-01-01T00:00:00Z","#,
        r#""eventTime":1,"#,
        r#""eventID":"e\u0031","#,
        r#""eventName":"ConsoleLogin","#,
        r#""eventName":"Console\u004cogin","#,
        r#""eventName":null,"#,
        r#""sourceIPAddress":"[2001:db8::1]:443","#,
        r#""sourceIPAddress":7,"#,
        r#""userAgent":["ua"],"#,
        r#""recipientAccountId":111122223333,"#,
        r#""userIdentity":null,"#,
        r#""userIdentity":"IAMUser","#,
        r#""userIdentity":[null,"Root",null,"1"],"#,
        r#""type":"Root","#,
        r#""arn":"","#,
        r#""arn":"arn:aws:iam::1:user/\"q\"","#,
        r#""accountId":{},"#,
        r#""userName":" b\u00f6b ","#,
        r#""onBehalfOf":{"userId":"u-1","identityStoreArn":"arn:aws:identitystore::1:identitystore/d-1"},"#,
        r#""onBehalfOf":{"userId":"u","userId":"v"},"#,
        r#""onBehalfOf":[],"#,
        r#""sessionContext":{"attributes":{"mfaAuthenticated":"TRUE","mfaAuthenticated":"false"}},"#,
        r#""sessionContext":{"attributes":null,"sessionIssuer":{"arn":"x"}},"#,
        r#""sessionContext":"x","#,
        r#""attributes":{"mfaAuthenticated":false,"creationDate":"2024-01-01T00:00:00Z"},"#,
        r#""attributes":[1],"#,
        r#""mfaAuthenticated":"\u0079es","#,
        r#""mfaAuthenticated":-1,"#,
        r#""responseElements":null,"#,
        r#""responseElements":{"ConsoleLogin":"FAILURE","ConsoleLogin":"Success"},"#,
        r#""responseElements":{"ConsoleLogin":"Fail\u0075re"},"#,
        r#""responseElements":"Success","#,
        r#""ConsoleLogin":1,"#,
        r#""ConsoleLogin":null,"#,
        r#""additionalEventData":{"MFAUsed":false,"LoginTo":null},"#,
        r#""additionalEventData":[true,"y",3],"#,
        r#""additionalEventData":{"MFAUsed":{"a":1}},"#,
        r#""MFAUsed":"maybe","#,
        r#""MFAUsed":2.5,"#,
        r#""MFAUsed":18446744073709551616,"#,
        r#""MFAUsed":" No ","#,
        r#""LoginTo":"https:\/\/x","#,
        r#""LoginTo":true,"#,
        r#""requestParameters":{"a":[1,{"b":[true,false,null,-0.0e-1]}]},"#,
        r#""x":[[[[{"y":[]}]]]],"#,
        r#""e\u0076entName":"ConsoleLogin","#,
        r#""s":"\ud83d\ude00","#,
        r#""s":"\ud800","#,
        r#""n":-01,"#,
        r#""n":1.,"#,
        r#""n":tru,"#,
        "\"tab\":\"a\tb\",",
    ];

    struct Borrows;
    impl Borrowed for Borrows {
        type Of<'a> = Record<'a>;
    }

    /// Audit A, B12: the event's kind is decided before the fields only a sign-in needs are
    /// typed. A `CreateAccount` (line 32 of panther's `AWS_CloudTrail.jsonl`) writes
    /// `responseElements` as a string: skipped, as every other event that is not a
    /// `ConsoleLogin`, not rejected. A `ConsoleLogin` with that field of the wrong type,
    /// and any record that is not JSON, stay rejected with serde's words.
    #[test]
    fn a_non_sign_in_is_skipped_whatever_the_types_of_sign_in_fields() {
        let create_account = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cli/tests/data/cloudtrail/panther_cloudtrail.jsonl"
        ))
        .unwrap()
        .lines()
        .nth(31)
        .unwrap()
        .to_owned();
        assert!(create_account.contains(r#""eventName": "CreateAccount""#));
        let login = r#"{"eventName":"ConsoleLogin","eventTime":"2024-06-01T08:00:00Z","userIdentity":{"arn":"arn:aws:iam::1:user/b"},"#;
        let other = r#"{"eventName":"CreateUser","eventTime":"2024-06-01T08:00:00Z","#;
        for (record, want) in [
            (create_account.as_str(), Ok("not a ConsoleLogin")),
            (
                &format!(r#"{other}"responseElements":"x","additionalEventData":[1]}}"#),
                Ok("not a ConsoleLogin"),
            ),
            (
                &format!(r#"{other}"userIdentity":"x","eventTime":7}}"#),
                Ok("not a ConsoleLogin"),
            ),
            (
                &format!(r#"{login}"responseElements":"Success"}}"#),
                Err(r#"wrong type: invalid type: string "Success", expected struct Response"#),
            ),
            (
                &format!(r#"{other}"n":tru,"responseElements":"x"}}"#),
                Err("invalid JSON: "),
            ),
            (
                r#"{"eventName":7,"responseElements":"x"}"#,
                Err("wrong type: invalid type: integer `7`, expected a string"),
            ),
            (
                r#"{"eventName":"ConsoleLogin","eventName":"CreateUser","responseElements":"x"}"#,
                Err("wrong type: "),
            ),
        ] {
            match (parse(record.as_bytes(), &mut Vec::new()), want) {
                (Ok(Parsed::Skipped(skip)), Ok(reason)) => assert_eq!(skip.reason, reason),
                (Err(e), Err(words)) => assert!(e.to_string().starts_with(words), "{record}: {e}"),
                (got, _) => panic!("{record}: {got:?}"),
            }
        }
    }

    /// Every base serde takes (escaped values, arrays for structs, flags as booleans and
    /// numbers...) the fast path takes, and all it accepts of 40,000 mutations it reads
    /// exactly as serde does.
    #[test]
    fn the_fast_path_reads_what_the_derived_deserialize_reads() {
        fast_path_agrees_with_serde::<Borrows>(&bases(), FRAGMENTS, 0x5851_f42d_4c95_7f2d, fast);
    }
}
