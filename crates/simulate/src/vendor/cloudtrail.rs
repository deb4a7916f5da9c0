//! AWS CloudTrail `ConsoleLogin` records, as delivered: one `{"Records":[…]}` document.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::Scratch;
use crate::generate::Ev;
use crate::org::{Plan, Tenant, mix};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'a str,
    user_identity: UserIdentity<'a>,
    event_time: &'a str,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: &'a str,
    user_agent: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: Option<()>,
    response_elements: ResponseElements<'a>,
    additional_event_data: AdditionalEventData<'a>,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    event_type: &'a str,
    management_event: bool,
    recipient_account_id: &'a str,
    event_category: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    principal_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    account_id: &'a str,
    user_name: &'a str,
}

#[derive(Serialize)]
struct ResponseElements<'a> {
    #[serde(rename = "ConsoleLogin")]
    console_login: &'a str,
}

#[derive(Serialize)]
struct AdditionalEventData<'a> {
    #[serde(rename = "LoginTo")]
    login_to: &'a str,
    #[serde(rename = "MobileVersion")]
    mobile_version: &'a str,
    #[serde(rename = "MFAUsed")]
    mfa_used: &'a str,
}

/// Writes one `ConsoleLogin` record (no separator).
pub fn write(
    w: &mut impl Write,
    ev: &Ev,
    plan: &Plan,
    tenant: &Tenant,
    seed: u64,
    s: &mut Scratch,
) -> io::Result<()> {
    s.fill(ev, plan, seed, false);
    let user = &plan.users[ev.user as usize];
    let name = user.aws.as_deref().unwrap_or("unknown");
    s.session.clear();
    let _ = write!(s.session, "arn:aws:iam::{}:user/{name}", tenant.aws_account);
    s.uid.clear();
    let _ = write!(
        s.uid,
        "AIDA{:016X}",
        mix(user.uid(seed, ev.user)) & 0x0fff_ffff_ffff_ffff
    );
    let rec = Record {
        event_version: "1.09",
        user_identity: if ev.ok {
            UserIdentity {
                kind: "IAMUser",
                principal_id: &s.uid,
                arn: Some(&s.session),
                account_id: &tenant.aws_account,
                user_name: name,
            }
        } else {
            // A failed console sign-in names the account and user name, not the ARN.
            UserIdentity {
                kind: "IAMUser",
                principal_id: &tenant.aws_account,
                arn: None,
                account_id: &tenant.aws_account,
                user_name: name,
            }
        },
        event_time: &s.time,
        event_source: "signin.amazonaws.com",
        event_name: "ConsoleLogin",
        aws_region: "us-east-1",
        source_ip_address: &s.ip,
        user_agent: ev.client.user_agent(),
        error_message: (!ev.ok).then_some("Failed authentication"),
        request_parameters: None,
        response_elements: ResponseElements {
            console_login: if ev.ok { "Success" } else { "Failure" },
        },
        additional_event_data: AdditionalEventData {
            login_to: "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            mobile_version: "No",
            mfa_used: if ev.mfa { "Yes" } else { "No" },
        },
        event_id: &s.id,
        read_only: false,
        event_type: "AwsConsoleSignIn",
        management_event: true,
        recipient_account_id: &tenant.aws_account,
        event_category: "Management",
    };
    serde_json::to_writer(&mut *w, &rec).map_err(io::Error::other)
}
