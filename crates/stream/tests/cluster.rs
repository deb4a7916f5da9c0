//! Three real `jetlag consume` workers on a multi-partition topic, one killed with
//! `kill -9` mid-stream: the alerts on the alert topic equal a single-process `jetlag scan`
//! of the same data, with no alert repeated.
#![cfg(feature = "kafka")]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::{Broker, simulate, tansu_bin, wait, worker};

const PARTITIONS: i32 = 4;

fn config(broker: &Broker, sim: &support::Sim, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("jetlag.toml");
    // Population epochs of 6 h (the scan reads the same file): 28 epoch boundaries in the
    // simulated week rather than 168 — each one a round trip through the broker for every
    // by-user partition, slow on tansu's SQLite storage under a loaded CI machine.
    let text = format!(
        "{}\n[detect.population]\nepoch_s = 21600\n[kafka]\nbrokers = {:?}\ntopics = [\"signins\"]\ngroup = \"it\"\nprefix = \"it\"\npartitions = {PARTITIONS}\nlateness_s = 0\ncheckpoint_interval_ms = 200\n[kafka.properties]\n\"session.timeout.ms\" = \"6000\"\n",
        sim.enrich_toml(),
        broker.addr
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn by_id(lines: impl IntoIterator<Item = String>) -> (BTreeMap<String, serde_json::Value>, usize) {
    let mut map = BTreeMap::new();
    let mut n = 0;
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        map.insert(v["alert_id"].as_str().unwrap().to_owned(), v);
        n += 1;
    }
    (map, n)
}

#[test]
fn three_workers_one_killed_equal_a_scan_without_repeats() {
    let Some(tansu) = tansu_bin() else { return };
    let broker = Broker::start(&tansu);
    let sim = simulate(40, 7);
    assert!(sim.records.len() > 500, "{} records", sim.records.len());
    broker.create_topic("signins", PARTITIONS);
    broker.produce("signins", PARTITIONS, &sim.records);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&broker, &sim, dir.path());
    let expected = sim.scan(&cfg);
    assert!(
        expected.len() >= 10,
        "the simulation should raise alerts: {}",
        expected.len()
    );

    let logs: Vec<_> = (0..3)
        .map(|i| dir.path().join(format!("worker{i}.log")))
        .collect();
    let mut workers: Vec<_> = logs.iter().map(|l| worker(&cfg, l, &[])).collect();

    // Kill worker 1 once checkpoints show the stream is under way and alerts are coming
    // out (so its successor has repeats to drop), and before it is done.
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_at_checkpoints = loop {
        let n = broker.read_all("it.state").len();
        if n >= 6 && !broker.read_all("it.alerts").is_empty() {
            break n;
        }
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        assert!(
            workers[1].try_wait().unwrap().is_none(),
            "worker 1 ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let st = std::process::Command::new("kill")
        .args(["-9", &workers[1].id().to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -9");
    let _ = workers[1].wait();
    let alerts_at_kill = broker.read_all("it.alerts").len();
    eprintln!("killed worker 1 after {killed_at_checkpoints} checkpoints, {alerts_at_kill} alerts");
    assert!(
        alerts_at_kill < expected.len(),
        "the kill came after every alert was out"
    );

    // tansu 0.6 drops a dead member after its session timeout but does not make the live
    // members rejoin, so its partitions stay orphaned until the group changes: as an
    // orchestrator would, start a replacement worker once the session has expired.
    std::thread::sleep(Duration::from_secs(8));
    let mut logs = logs;
    logs.push(dir.path().join("worker3.log"));
    workers.push(worker(&cfg, &logs[3], &[]));
    for i in [0, 2, 3] {
        wait(
            &mut workers[i],
            Duration::from_secs(300),
            &format!("worker {i}"),
            &logs[i],
        );
    }

    let got: Vec<String> = broker
        .read_all("it.alerts")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let (got_map, got_n) = by_id(got);
    let (want_map, want_n) = by_id(expected);
    assert_eq!(want_n, want_map.len(), "scan itself repeats no id");
    assert_eq!(got_n, got_map.len(), "an alert was sent twice");
    assert!(
        want_map.len() >= 5,
        "too few alerts to compare: {}",
        want_map.len()
    );
    // The population-weighted detectors must be among them: the population topic makes
    // their figures the org's, not the partition's.
    for d in ["new_country", "unfamiliar_signin"] {
        assert!(
            want_map.values().any(|v| v["detector"] == d),
            "scan raised no {d} alert to compare"
        );
    }
    let missing: Vec<_> = want_map
        .keys()
        .filter(|k| !got_map.contains_key(*k))
        .collect();
    let extra: Vec<_> = got_map
        .keys()
        .filter(|k| !want_map.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {} alerts (e.g. {:?}), {} extra (e.g. {:?})",
        missing.len(),
        missing.first().map(|k| &want_map[*k]),
        extra.len(),
        extra.first().map(|k| &got_map[*k])
    );
    // Every by-user partition published its population figures (keyed by partition).
    let population = broker.read_all("it.population");
    let sources: std::collections::BTreeSet<&str> =
        population.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        sources.len(),
        PARTITIONS as usize,
        "population records from {sources:?}"
    );
    eprintln!("{} population records", population.len());
    // Every detector, JSON for JSON.
    for (id, want) in &want_map {
        assert_eq!(&got_map[id], want, "alert {id} differs from scan's");
    }
}
