//! Crash safety and multi-process access, with real child processes.
//!
//! The children are this test binary again, running the ignored `child_process` test with
//! its instructions in environment variables, so no extra binary has to be built.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use feedgate::store::{IndicatorStore, ListStore};
use feedgate::{Indicator, IndicatorType};
use feedgate_store_embedded::EmbeddedStore;

const CHILD_DIR: &str = "FEEDGATE_TEST_CHILD_DIR";
const CHILD_MODE: &str = "FEEDGATE_TEST_CHILD_MODE";
const CHILD_FIRST_BATCH: &str = "FEEDGATE_TEST_CHILD_FIRST_BATCH";

/// Indicators per import batch in the crash test: big enough that a kill usually lands inside
/// a batch's transaction.
const CRASH_BATCH: usize = 2_000;
/// Batches each process writes in the concurrent-writers test.
const WRITER_BATCHES: usize = 40;
const WRITER_BATCH: usize = 100;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn crash_value(batch: usize, i: usize) -> String {
    format!("crash-{batch:06}-{i:05}.example")
}

fn batch_of(value: &str) -> Option<usize> {
    value.strip_prefix("crash-")?.get(..6)?.parse().ok()
}

/// Not a test on its own: the body of the child processes the other tests start.
#[test]
#[ignore = "runs only as the child process of the tests in this file"]
fn child_process() {
    let dir = std::env::var_os(CHILD_DIR).expect("started by a test of this file");
    let mode = std::env::var(CHILD_MODE).expect("mode");
    let store = EmbeddedStore::open(Path::new(&dir)).expect("child opens the store");
    runtime().block_on(async {
        match mode.as_str() {
            "import" => {
                let first: usize = std::env::var(CHILD_FIRST_BATCH)
                    .expect("first batch")
                    .parse()
                    .expect("number");
                for batch in first.. {
                    let indicators = (0..CRASH_BATCH)
                        .map(|i| Indicator::new(crash_value(batch, i), IndicatorType::Domain))
                        .collect();
                    store.upsert(indicators).await.expect("import batch");
                    // Printed only once upsert returned Ok: this is the acknowledgement.
                    println!("acked {batch}");
                }
            }
            "write" => {
                for batch in 0..WRITER_BATCHES {
                    let indicators = (0..WRITER_BATCH)
                        .map(|i| Indicator::new(format!("child-{batch}-{i}"), IndicatorType::Ip))
                        .collect();
                    store.upsert(indicators).await.expect("child upsert");
                    store
                        .put_list(&format!("child-{batch}"), Bytes::from(vec![b'c'; 10_000]))
                        .await
                        .expect("child list");
                }
                println!("child done");
            }
            other => panic!("unknown child mode {other}"),
        }
    });
}

fn spawn_child(dir: &Path, mode: &str, first_batch: usize) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_process", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_MODE, mode)
        .env(CHILD_FIRST_BATCH, first_batch.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

fn parse_ack(line: &str) -> Option<usize> {
    line.strip_prefix("acked ")?.trim().parse().ok()
}

/// Starts an importing child, waits for `acks` acknowledged batches, kills it with SIGKILL
/// (it is always inside the next batch by then), and returns every batch it acknowledged.
fn import_and_kill(dir: &Path, first_batch: usize, acks: usize) -> Vec<usize> {
    let mut child = spawn_child(dir, "import", first_batch);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut acked = Vec::new();
    for line in lines.by_ref() {
        if let Some(batch) = parse_ack(&line.expect("child output")) {
            acked.push(batch);
            if acked.len() == acks {
                break;
            }
        }
    }
    assert_eq!(
        acked.len(),
        acks,
        "child stopped early: see its stderr above"
    );
    // std's kill is SIGKILL on Unix: no destructors, no flush, no rollback.
    child.kill().expect("kill -9");
    child.wait().expect("reap child");
    // Acknowledgements already written to the pipe before the kill count too.
    acked.extend(lines.map_while(Result::ok).filter_map(|l| parse_ack(&l)));
    acked
}

#[test]
fn acknowledged_imports_survive_kill_9_mid_import() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acked = Vec::new();
    let mut next = 0;
    // Three crashes on the same store: each restart must open what the last crash left.
    for acks in [3, 7, 5] {
        let round = import_and_kill(dir.path(), next, acks);
        next = round.iter().max().expect("acks") + 10;
        acked.extend(round);
    }

    let store = EmbeddedStore::open(dir.path()).expect("store opens cleanly after the crashes");
    let dataset = runtime().block_on(store.load()).expect("every row decodes");
    let mut per_batch: BTreeMap<usize, usize> = BTreeMap::new();
    for indicator in dataset.indicators() {
        let batch = batch_of(indicator.value()).expect("only crash values");
        *per_batch.entry(batch).or_default() += 1;
    }
    for batch in &acked {
        assert_eq!(
            per_batch.get(batch),
            Some(&CRASH_BATCH),
            "acknowledged batch {batch} is not complete after kill -9"
        );
    }
    for (batch, n) in &per_batch {
        assert_eq!(*n, CRASH_BATCH, "batch {batch} is half there: not atomic");
    }
    // Export order is import order, across the crashes.
    let batches: Vec<usize> = dataset
        .indicators()
        .iter()
        .filter_map(|i| batch_of(i.value()))
        .collect();
    assert!(
        batches.windows(2).all(|w| w[0] <= w[1]),
        "import order kept"
    );

    let conn = rusqlite::Connection::open(store.file()).expect("open with sqlite");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(check, "ok");
}

#[test]
fn a_second_process_writes_while_this_one_has_the_store_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let rt = runtime();
    let before = rt.block_on(store.version()).expect("version");
    rt.block_on(store.load()).expect("load before");

    let child = spawn_child(dir.path(), "write", 0);
    // Both processes write at once; SQLite hands the write lock back and forth.
    rt.block_on(async {
        for batch in 0..WRITER_BATCHES {
            let indicators = (0..WRITER_BATCH)
                .map(|i| Indicator::new(format!("parent-{batch}-{i}"), IndicatorType::Ip))
                .collect();
            store.upsert(indicators).await.expect("parent upsert");
        }
    });
    let output = child.wait_with_output().expect("child finishes");
    assert!(output.status.success(), "child failed: {output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("child done"));

    rt.block_on(async {
        let total = (2 * WRITER_BATCHES * WRITER_BATCH) as u64;
        assert_eq!(store.count().await.expect("count"), total);
        let after = store.version().await.expect("version");
        assert_eq!(after.version, before.version + 2 * WRITER_BATCHES as u64);
        // The handle loaded before the child wrote: it must not serve its old copy.
        let dataset = store.load().await.expect("load after");
        assert_eq!(dataset.indicators().len() as u64, total);
        assert_eq!(dataset.version(), after.version);
        let list = store.get_list("child-7").await.expect("list");
        assert_eq!(list.map(|l| l.len()), Some(10_000));
    });
}

#[test]
fn two_handles_in_one_process_see_each_others_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = EmbeddedStore::open(dir.path()).expect("open a");
    let b = EmbeddedStore::open(dir.path()).expect("open b");
    runtime().block_on(async {
        a.upsert(vec![Indicator::new("1.1.1.1", IndicatorType::Ip)])
            .await
            .expect("a writes");
        let first = b.load().await.expect("b loads");
        assert_eq!(first.indicators().len(), 1);
        a.upsert(vec![Indicator::new("2.2.2.2", IndicatorType::Ip)])
            .await
            .expect("a writes again");
        let second = b.load().await.expect("b loads again");
        let values: Vec<&str> = second.indicators().iter().map(Indicator::value).collect();
        assert_eq!(values, ["1.1.1.1", "2.2.2.2"]);
        assert!(second.version() > first.version());
    });
}
