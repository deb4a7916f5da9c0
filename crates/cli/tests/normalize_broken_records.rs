//! `jetlag normalize` on inputs with one broken record: the broken record is rejected at
//! its line and every other record still comes out (the real 86-row Entra export from
//! `../shared/data`, and a CSV with an unclosed quote).

use assert_cmd::Command;

fn jetlag() -> Command {
    Command::cargo_bin("jetlag").unwrap()
}

fn event_ids(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn entra_rows() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/samples/entra-signinlogs-msticpy/aad_signinlogs.jsonl"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (tests need ../shared/data)"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Deletes the closing quote of the `UserPrincipalName` value of row `row`.
fn break_row(text: &mut String, row: usize) {
    let key = "\"UserPrincipalName\":";
    let at = text.match_indices(key).nth(row).unwrap().0 + key.len();
    let open = at + text[at..].find('"').unwrap();
    let close = open + 1 + text[open + 1..].find('"').unwrap();
    text.remove(close);
}

#[test]
fn a_broken_row_in_an_entra_array_or_page_loses_only_itself() {
    let rows = entra_rows();
    assert_eq!(rows.len(), 86);
    let dir = tempfile::tempdir().unwrap();
    let intact = dir.path().join("intact.json");
    std::fs::write(&intact, serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    let out = jetlag().arg("normalize").arg(&intact).output().unwrap();
    assert!(out.status.success());
    let all = event_ids(&out.stdout);
    assert_eq!(all.len(), 86);

    // Pretty-printed array, row 40 broken.
    let mut text = serde_json::to_string_pretty(&rows).unwrap();
    break_row(&mut text, 40);
    let start = 1 + text[..text.match_indices("\n  {").nth(40).unwrap().0 + 1]
        .matches('\n')
        .count();
    let array = dir.path().join("array.json");
    std::fs::write(&array, &text).unwrap();
    // A Graph page on one line, rows 0, 10 and 85 broken.
    let mut page = serde_json::to_string(&serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": rows,
    }))
    .unwrap();
    for row in [85, 10, 0] {
        break_row(&mut page, row);
    }
    let page_path = dir.path().join("page.json");
    std::fs::write(&page_path, &page).unwrap();

    let out = jetlag()
        .arg("normalize")
        .arg(&array)
        .arg(&page_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = event_ids(&out.stdout);
    let mut want: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 40)
        .map(|(_, id)| id.clone())
        .collect();
    want.extend(
        all.iter()
            .enumerate()
            .filter(|&(i, _)| ![0, 10, 85].contains(&i))
            .map(|(_, id)| id.clone()),
    );
    assert_eq!(got, want);
    let stderr = String::from_utf8(out.stderr).unwrap();
    let array_reject = format!("{}:{start}: broken JSON array element: ", array.display());
    assert!(stderr.contains(&array_reject), "{array_reject}\n{stderr}");
    let page_rejects = stderr
        .matches(&format!(
            "{}:1: broken JSON array element: ",
            page_path.display()
        ))
        .count();
    assert_eq!(page_rejects, 3, "{stderr}");
    assert!(stderr.contains("4 rejected"), "{stderr}");
}

#[test]
fn an_unclosed_quote_in_a_csv_row_loses_only_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "time,user,ip,outcome\n\
         2026-01-05T09:00:00Z,a@x.com,1.1.1.1,success\n\
         2026-01-05T10:00:00Z,\"b@x.com,1.1.1.2,success\n\
         2026-01-05T11:00:00Z,c@x.com,1.1.1.3,success\n\
         2026-01-05T12:00:00Z,d@x.com,1.1.1.4,failure\n",
    )
    .unwrap();
    let out = jetlag().arg("normalize").arg(&csv).output().unwrap();
    assert!(out.status.success());
    let users: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["user"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(users, ["a@x.com", "c@x.com", "d@x.com"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:3: unclosed quote", csv.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 parsed") && stderr.contains("1 rejected"),
        "{stderr}"
    );
}
