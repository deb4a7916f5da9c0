//! The table: a readable summary for a person at a terminal.
//!
//! With user risks, the riskiest users come first (top 20), then the alerts ordered by their
//! user's rank; without, alerts are ordered by severity, score and time. Colour (severity
//! bands) only when asked for, so pipes and files stay plain.

use std::collections::HashMap;
use std::io::Write;

use jetlag_event::{Alert, Severity};
use owo_colors::OwoColorize;

use crate::{Error, Options, terminal_safe};

/// How many users the "top users" section lists.
const TOP_USERS: usize = 20;
/// Longest user name shown in full; longer ones are cut with an ellipsis.
const USER_WIDTH_MAX: usize = 36;

fn paint(text: &str, severity: Severity, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    match severity {
        Severity::Critical => text.bright_red().bold().to_string(),
        Severity::High => text.red().to_string(),
        Severity::Medium => text.yellow().to_string(),
        Severity::Low => text.dimmed().to_string(),
    }
}

fn bold(text: &str, color: bool) -> String {
    if color {
        text.bold().to_string()
    } else {
        text.to_owned()
    }
}

/// Cuts `s` (made [`terminal_safe`]) to `width` characters, ending with `…` when cut.
fn fit(s: &str, width: usize) -> String {
    let s = terminal_safe(s);
    if s.chars().count() <= width {
        s.into_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Writes the whole table, sorting `alerts` in place.
pub(crate) fn write(
    out: &mut impl Write,
    alerts: &mut [Alert],
    options: &Options,
) -> Result<(), Error> {
    let color = options.color;
    let rank: HashMap<&str, usize> = options
        .user_risks
        .iter()
        .enumerate()
        .map(|(i, r)| (r.user.as_str(), i))
        .collect();

    if !options.user_risks.is_empty() {
        let shown = options.user_risks.len().min(TOP_USERS);
        writeln!(
            out,
            "{}",
            bold(
                &format!(
                    "Users by risk (top {shown} of {})",
                    options.user_risks.len()
                ),
                color
            )
        )?;
        let uw = options.user_risks[..shown]
            .iter()
            .map(|r| terminal_safe(&r.user).chars().count().min(USER_WIDTH_MAX))
            .max()
            .unwrap_or(4)
            .max(4);
        writeln!(
            out,
            "{}",
            bold(
                &format!("{:>4}  {:<8}  {:<uw$}  WHY", "RISK", "LEVEL", "USER"),
                color
            )
        )?;
        for r in &options.user_risks[..shown] {
            writeln!(
                out,
                "{:>4}  {}  {:<uw$}  {}",
                r.risk,
                paint(&format!("{:<8}", r.level.as_str()), r.level, color),
                fit(&r.user, uw),
                terminal_safe(&r.explanation)
            )?;
        }
        writeln!(out)?;
    }

    // Riskiest user first (unranked users after), then severity, score, time, id.
    let user_rank = |a: &Alert| {
        a.users
            .iter()
            .filter_map(|u| rank.get(u.as_str()).copied())
            .min()
            .unwrap_or(usize::MAX)
    };
    alerts.sort_by(|a, b| {
        user_rank(a)
            .cmp(&user_rank(b))
            .then(b.severity.cmp(&a.severity))
            .then(b.score.cmp(&a.score))
            .then(a.time.cmp(&b.time))
            .then(a.alert_id.cmp(&b.alert_id))
    });

    let mut by_severity = [0usize; 4];
    for a in alerts.iter() {
        by_severity[a.severity as usize] += 1;
    }
    let counts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
    .into_iter()
    .filter(|s| by_severity[*s as usize] > 0)
    .map(|s| paint(&format!("{} {}", by_severity[s as usize], s), s, color))
    .collect();
    if alerts.is_empty() {
        writeln!(out, "{}", bold("No alerts.", color))?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({})",
        bold(&format!("Alerts: {}", alerts.len()), color),
        counts.join(", ")
    )?;
    let dw = alerts
        .iter()
        .map(|a| a.detector.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let uw = alerts
        .iter()
        .map(|a| {
            terminal_safe(a.user.as_deref().unwrap_or("-"))
                .chars()
                .count()
                .min(USER_WIDTH_MAX)
        })
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{}",
        bold(
            &format!(
                "{:<8}  {:>5}  {:<19}  {:<dw$}  {:<uw$}  SUMMARY",
                "SEVERITY", "SCORE", "TIME (UTC)", "DETECTOR", "USER"
            ),
            color
        )
    )?;
    for a in alerts.iter() {
        let user = match (&a.user, a.users.len()) {
            (Some(u), _) => fit(u, uw),
            (None, 0) => "-".to_owned(),
            (None, n) => fit(&format!("({n} users)"), uw),
        };
        writeln!(
            out,
            "{}  {:>5}  {:<19}  {:<dw$}  {:<uw$}  {}",
            paint(&format!("{:<8}", a.severity.as_str()), a.severity, color),
            a.score,
            a.time.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            a.detector,
            user,
            terminal_safe(&a.summary)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserRisk;
    use crate::testing::alert;

    fn render(alerts: &mut [Alert], options: &Options) -> String {
        let mut out = Vec::new();
        write(&mut out, alerts, options).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn orders_by_severity_then_score_without_risks_and_stays_plain() {
        let mut alerts = vec![
            alert("low", Some("a@x.com"), Severity::Low, 20),
            alert("crit", Some("b@x.com"), Severity::Critical, 95),
            alert("high", None, Severity::High, 70),
        ];
        let text = render(&mut alerts, &Options::default());
        assert!(!text.contains('\u{1b}'), "no colour unless asked");
        let order: Vec<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(order, ["crit", "high", "low"]);
        assert!(
            text.starts_with("Alerts: 3 (1 critical, 1 high, 1 low)\n"),
            "{text}"
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[2]
                .starts_with("critical     95  2025-03-01 12:20:00  impossible_travel  b@x.com"),
            "{text}"
        );
        assert!(
            lines[3].contains("  -  ") || lines[3].contains(" -   "),
            "{text}"
        );
    }

    #[test]
    fn top_users_come_first_and_order_the_alerts() {
        let mut alerts = vec![
            alert("kim-crit", Some("kim@x.com"), Severity::Critical, 95),
            alert("lee-low", Some("lee@x.com"), Severity::Low, 30),
        ];
        let options = Options {
            color: true,
            user_risks: vec![
                UserRisk {
                    user: "lee@x.com".into(),
                    risk: 88,
                    level: Severity::Critical,
                    explanation: "new hire; shared IP with 12 accounts; Korean hours".into(),
                },
                UserRisk {
                    user: "kim@x.com".into(),
                    risk: 60,
                    level: Severity::Medium,
                    explanation: "one impossible travel".into(),
                },
            ],
        };
        let text = render(&mut alerts, &options);
        assert!(text.contains('\u{1b}'), "coloured when asked");
        let lee_risk = text.find("new hire; shared IP").unwrap();
        let kim_risk = text.find("one impossible travel").unwrap();
        let alerts_at = text.find("Alerts: 2").unwrap();
        assert!(lee_risk < kim_risk && kim_risk < alerts_at, "{text}");
        assert_eq!(
            alerts[0].alert_id, "lee-low",
            "the riskier user's alert first"
        );
    }

    #[test]
    fn escape_sequences_from_the_logs_never_reach_the_terminal() {
        // A spray's user names are whatever the attacker typed: a title change, an
        // erase-line and a bidi override must show as text, in the alert rows and the
        // top-users rows alike.
        let evil = "mallory\u{1b}]0;OWNED\u{7}@x.com";
        let mut a = alert("evil", Some(evil), Severity::High, 70);
        a.summary = "from New\u{1b}[2KYork \u{202e}moc.live".into();
        let options = Options {
            color: false,
            user_risks: vec![UserRisk {
                user: evil.into(),
                risk: 70,
                level: Severity::High,
                explanation: "spray\u{9b}31m".into(),
            }],
        };
        let text = render(&mut [a], &options);
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
            assert!(!text.contains(bad), "{bad:?} in {text:?}");
        }
        assert!(
            text.contains("mallory\\u{1b}]0;OWNED\\u{7}@x.com"),
            "{text}"
        );
        assert!(
            text.contains("New\\u{1b}[2KYork \\u{202e}moc.live"),
            "{text}"
        );
        assert!(text.contains("spray\\u{9b}31m"), "{text}");
    }

    #[test]
    fn no_alerts_says_so() {
        assert_eq!(render(&mut [], &Options::default()), "No alerts.\n");
    }

    #[test]
    fn long_users_are_cut() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
