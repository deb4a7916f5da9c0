//! Test records for the benches: one realistic record per vendor (the vendors' documented
//! examples, ~0.6–1.8 KB), made into 100 000 distinct records.

// Each bench binary includes this module and uses part of it.
#![allow(dead_code)]

use jetlag_normalize::Format;

/// Records per vendor.
pub const N: usize = 100_000;

/// A Graph `signIn` as the API returns it (~1.9 KB), with `{i}` placeholders.
pub const ENTRA: &str = r#"{"id":"66ea54eb-6301-4ee5-be62-ff5a759b{i}","createdDateTime":"2024-03-13T19:15:41.6195833Z","userDisplayName":"Test user {i}","userPrincipalName":"User{i}@contoso.com","userId":"26be570a-ae82-4189-b4e2-a37c6808{i}","appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064","appDisplayName":"Graph explorer","ipAddress":"131.107.{a}.{b}","clientAppUsed":"Browser","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0","correlationId":"d79f5bee-5860-4832-928f-3133e22a{i}","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes":[],"riskEventTypes_v2":[],"resourceDisplayName":"Microsoft Graph","resourceId":"00000003-0000-0000-c000-000000000000","authenticationRequirement":"multiFactorAuthentication","status":{"errorCode":0,"failureReason":"Other.","additionalDetails":null},"deviceDetail":{"deviceId":"5c6a8f3e-1b2d-4e5f-8a9b-0c1d2e3f{i}","displayName":"DESKTOP-{i}","operatingSystem":"Windows 10","browser":"Edge 120.0.0","isCompliant":true,"isManaged":true,"trustType":"Azure AD joined"},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{"altitude":null,"latitude":47.68050003051758,"longitude":-122.12094116210938}},"appliedConditionalAccessPolicies":[{"id":"5fd0c4ff-1cd7-4bf6-8607-294a04f58f12","displayName":"Require MFA for admins","enforcedGrantControls":["Mfa"],"enforcedSessionControls":[],"result":"success"},{"id":"8872f6fb-da88-4b63-bcc7-17247669596b","displayName":"Block legacy auth","enforcedGrantControls":["Block"],"enforcedSessionControls":[],"result":"notApplied"}]}"#;

const OKTA: &str = r#"{"actor":{"id":"00uttidj01jqL21aM1d6","type":"User","alternateId":"user{i}@example.com","displayName":"User {i}","detailEntry":null},"client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Safari/537.36","os":"Windows 10","browser":"CHROME"},"zone":null,"device":"Computer","id":null,"ipAddress":"10.0.{a}.{b}","geographicalContext":{"city":"New York","state":"New York","country":"United States","postalCode":"10013","geolocation":{"lat":40.3157,"lon":-74.01}}},"authenticationContext":{"authenticationProvider":null,"credentialProvider":null,"credentialType":null,"issuer":null,"interface":null,"authenticationStep":0,"externalSessionId":"102bZDNFfWaQSyEZQuDgWt{i}"},"displayMessage":"User login to Okta","eventType":"user.session.start","outcome":{"result":"SUCCESS","reason":null},"published":"2024-03-27T16:59:27.245Z","securityContext":{"asNumber":394089,"asOrg":"ASN 0000","isp":"google","domain":null,"isProxy":false},"severity":"INFO","debugContext":{"debugData":{"requestId":"XJuhf-FtY7PGeXvVbQLGwwAAAJY","requestUri":"/api/v1/authn","url":"/api/v1/authn?"}},"legacyEventType":"core.user_auth.login_success","transaction":{"type":"WEB","id":"XJuhf-FtY7PGeXvVbQLGwwAAAJY","detail":{}},"uuid":"a9c0d8b7-50b0-11e9-b5d8-c3cc2c5c{i}","version":"0","request":{"ipChain":[{"ip":"10.0.{a}.{b}","geographicalContext":{"city":"New York","state":"New York","country":"United States","postalCode":"10013","geolocation":{"lat":40.3157,"lon":-74.01}},"version":"V4","source":null}]},"target":null}"#;

const GOOGLE: &str = r#"{"kind":"admin#reports#activity","id":{"time":"2024-03-05T14:22:11.000Z","uniqueQualifier":"-40119302393988{i}","applicationName":"login","customerId":"C03az79cb"},"etag":"\"JDMC8884sebSctZ17CIssbQ/1\"","actor":{"email":"user{i}@example.com","profileId":"1145111473123456{i}"},"ipAddress":"203.0.{a}.{b}","networkInfo":{"ipAsn":[15169],"regionCode":"US","subdivisionCode":"US-CA"},"events":[{"type":"login","name":"login_success","parameters":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiValue":["password","google_authenticator"]},{"name":"is_suspicious","boolValue":false}]}]}"#;

const CLOUDTRAIL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/User{i}","accountId":"111122223333","userName":"User{i}"},"eventTime":"2024-07-16T15:49:27Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-2","sourceIPAddress":"192.0.{a}.{b}","userAgent":"Mozilla/5.0 (Windows NT 6.1; WOW64; rv:24.0) Gecko/20100101 Firefox/24.0","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MobileVersion":"No","LoginTo":"https://console.aws.amazon.com/s3/","MFAUsed":"No"},"eventID":"3fcfb182-98f8-4744-bd45-10a395ab{i}","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}"#;

const OCSF: &str = r#"{"metadata":{"product":{"vendor_name":"Okta","name":"Okta System Log"},"version":"1.1.0","uid":"a9c0d8b7-50b0-11e9-b5d8-c3cc2c5c{i}","original_time":"2019-03-27T16:59:27.245Z"},"severity":"Informational","severity_id":1,"class_name":"Authentication","class_uid":3002,"category_name":"Identity & Access Management","category_uid":3,"activity_name":"Logon","activity_id":1,"type_uid":300201,"type_name":"Authentication: Logon","time":1711558767245,"status":"Success","status_id":1,"user":{"uid":"00uttidj01jqL21aM1d6","name":"user{i}@example.com","type":"User","type_id":1},"src_endpoint":{"ip":"203.0.{a}.{b}","location":{"city":"New York","country":"US","region":"US-NY","coordinates":[-74.01,40.3157]}},"session":{"uid":"102bZDNFfWaQSyEZQuDgWt{i}"},"is_mfa":false,"http_request":{"user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Safari/537.36"},"auth_protocol":"Unknown","auth_protocol_id":0}"#;

const ECS: &str = r#"{"@timestamp":"2024-02-10T08:15:00.123Z","event":{"kind":"event","category":["authentication"],"type":["start"],"outcome":"success","action":"ssh_login","dataset":"system.auth","id":"evt-{i}"},"user":{"name":"user{i}"},"source":{"ip":"198.51.{a}.{b}","port":51122,"geo":{"city_name":"Berlin","country_iso_code":"DE","country_name":"Germany","location":{"lat":52.52,"lon":13.405},"region_name":"Land Berlin"},"as":{"number":3320,"organization":{"name":"Deutsche Telekom AG"}}},"host":{"id":"8b1c2d3e4f5a6b7c","name":"bastion-1"},"service":{"name":"sshd"}}"#;

pub fn records(template: &str) -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| {
            template
                .replace("{i}", &format!("{i:06}"))
                .replace("{a}", &(i / 256 % 256).to_string())
                .replace("{b}", &(i % 256).to_string())
                .into_bytes()
        })
        .collect()
}

pub fn vendors() -> [(&'static str, Format, &'static str); 6] {
    [
        ("entra", Format::Entra, ENTRA),
        ("okta", Format::Okta, OKTA),
        ("google", Format::Google, GOOGLE),
        ("cloudtrail", Format::Cloudtrail, CLOUDTRAIL),
        ("ocsf", Format::Ocsf, OCSF),
        ("ecs", Format::Ecs, ECS),
    ]
}
