//! The engine's access log, as an operator reads it: one line per request naming the instance,
//! status, bytes, duration and client — never a secret — and every line written out by the
//! time the engine has stopped.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use base64::Engine as _;
use feedgate_tests::http_client::send;

mod common;

const PASSWORD: &str = "Corr3ct-horse-battery";
const WRONG: &str = "Wr0ng-horse-battery";

#[tokio::test(flavor = "current_thread")]
async fn one_line_per_request_without_secrets_all_written_at_shutdown() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = common::free_ports(1);
    let config = common::write_config(
        dir.path(),
        &format!(
            "[[instance]]\nname = \"edl_fw\"\nkind = \"export\"\nport = {port}\n\
             [instance.credentials]\nusername = \"poller\"\npassword = \"{PASSWORD}\"\n"
        ),
    );
    let ips = dir.path().join("ips.txt");
    std::fs::write(&ips, "192.0.2.1\n192.0.2.2\n").expect("ips");
    let imported = common::feedgate(
        &config,
        &[
            "indicators",
            "import",
            "--type",
            "IP",
            ips.to_str().expect("path"),
        ],
    );
    assert!(imported.status.success(), "{imported:?}");

    let (mut engine, _out) = common::serve(&config, 1, Stdio::piped());

    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let basic = |password: &str| {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("poller:{password}"));
        vec![("Authorization".to_owned(), format!("Basic {token}"))]
    };
    let answers = [
        send(addr, "GET", "/?n=2", &basic(PASSWORD), None).await,
        send(addr, "GET", "/?n=2", &basic(WRONG), None).await,
        send(addr, "GET", "/", &[], None).await,
        send(addr, "GET", "/?n=-1", &basic(PASSWORD), None).await,
    ]
    .map(|r| r.expect("answer"));
    let statuses = answers.each_ref().map(|a| a.status);
    assert_eq!(statuses, [200, 401, 401, 400]);

    // SIGTERM: a clean shutdown.
    let term = Command::new("kill")
        .args(["-TERM", &engine.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let mut log = String::new();
    engine
        .0
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("utf8 log");
    assert!(engine.0.wait().expect("engine exits").success(), "{log}");

    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("feedgate::access"))
        .collect();
    assert_eq!(access.len(), statuses.len(), "one line per request:\n{log}");
    for (line, answer) in access.iter().zip(&answers) {
        for field in [
            "instance=edl_fw".to_owned(),
            format!("status={}", answer.status),
            format!("bytes={} ", answer.body.len()),
            "duration_ms=".to_owned(),
            "client=127.0.0.1:".to_owned(),
        ] {
            assert!(line.contains(&field), "{field} missing from: {line}");
        }
    }
    assert!(answers[0].body.starts_with(b"192.0.2.1\n192.0.2.2"));
    for secret in [
        PASSWORD.to_owned(),
        WRONG.to_owned(),
        basic(PASSWORD)[0].1.clone(),
        basic(WRONG)[0].1.clone(),
    ] {
        let token = secret.trim_start_matches("Basic ");
        assert!(
            !log.contains(token),
            "the log shows a secret ({token}):\n{log}"
        );
    }
}
