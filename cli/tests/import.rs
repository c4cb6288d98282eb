//! `feedgate indicators import` through the binary: a file that breaks off stores nothing, and
//! a large file with rejections between its records is counted exactly, rejections named in
//! file order.

mod common;

use std::path::Path;

use common::feedgate;

fn config(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("feedgate.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nkind = \"embedded\"\npath = {:?}\n",
            dir.join("store")
        ),
    )
    .expect("config written");
    config
}

fn count(config: &Path) -> String {
    let out = feedgate(config, &["indicators", "count"]);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn json_that_breaks_off_stores_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    // Well-formed records first, then the file ends mid-record.
    let mut content = String::from("[");
    for i in 0..60_000 {
        content.push_str(&format!(
            "{{\"value\":\"10.{}.{}.{}\",\"type\":\"IP\"}},\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    content.push_str("{\"value\": \"10.9.9.9\", \"ty");
    let file = dir.path().join("broken.json");
    std::fs::write(&file, content).expect("file written");
    let out = feedgate(
        &config,
        &["indicators", "import", file.to_str().expect("utf8")],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not valid JSON") && stderr.contains("line 60001"),
        "{stderr}"
    );
    assert_eq!(count(&config), "0");
}

#[test]
fn rejections_between_records_are_counted_and_named_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    // More records than one write batch, every other line without a detectable type.
    let lines = 120_001;
    let mut content = String::new();
    for i in 0..lines {
        if i % 2 == 0 {
            content.push_str(&format!("10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255));
        } else {
            content.push_str(&format!("??{i}\n"));
        }
    }
    let file = dir.path().join("mixed.txt");
    std::fs::write(&file, content).expect("file written");
    let out = feedgate(
        &config,
        &["indicators", "import", file.to_str().expect("utf8")],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "added 60001, updated 0, rejected 60000"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let numbers: Vec<usize> = stderr
        .lines()
        .filter_map(|l| l.split("rejected record ").nth(1))
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .collect();
    let want: Vec<usize> = (1..=lines / 2).map(|k| 2 * k).collect();
    assert_eq!(numbers.len(), want.len());
    assert!(numbers == want, "rejections out of file order");
    assert_eq!(count(&config), "60001");
}
