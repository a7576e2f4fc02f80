//! The command-line tools, run as a user runs them: the real binary on real files.

use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

fn satchel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("the binary runs")
}

fn fixture(path: &str) -> String {
    format!("{FIXTURES}/{path}")
}

#[test]
fn unbake_prints_the_payload_exactly_as_stored() {
    let output = satchel(&["unbake", &fixture("ob-bakery-py/baked_heart.png")]);

    assert!(output.status.success());
    let payload = String::from_utf8(output.stdout).expect("utf-8");
    assert!(payload.starts_with("{\"uid\":\"123\""), "{payload}");
    assert!(
        !payload.ends_with('\n'),
        "nothing is added to the stored payload"
    );
}

#[test]
fn unbake_json_names_the_format_chunk_and_keyword() {
    let output = satchel(&["unbake", "--json", &fixture("ob-bakery-py/baked_heart.png")]);

    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(summary["format"], "png");
    assert_eq!(summary["chunk"], "iTXt");
    assert_eq!(summary["keyword"], "openbadges");
    assert!(summary["payload"]
        .as_str()
        .expect("text")
        .contains("\"uid\":\"123\""));
}

#[test]
fn unbake_of_an_image_without_a_badge_exits_1_with_one_line_on_stderr() {
    let output = satchel(&["unbake", &fixture("mozilla-bakery/unbaked.png")]);

    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no_badge"), "{stderr}");
}

#[test]
fn unbake_of_a_missing_file_is_a_usage_error() {
    let output = satchel(&["unbake", "/no/such/file.png"]);

    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn bake_then_unbake_returns_the_payload_byte_for_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let payload = "{\"name\":\"Insignia de participación ® ’\",\"x\":\"]]>\"}";
    let payload_file = dir.path().join("payload.json");
    std::fs::write(&payload_file, payload).expect("write");
    for image in ["mozilla-bakery/unbaked.png", "mozilla-bakery/unbaked.svg"] {
        let out = dir.path().join("baked");

        let baked = satchel(&[
            "bake",
            &fixture(image),
            payload_file.to_str().expect("path"),
            "-o",
            out.to_str().expect("path"),
        ]);
        let unbaked = satchel(&["unbake", out.to_str().expect("path")]);

        assert!(
            baked.status.success(),
            "{image}: {}",
            String::from_utf8_lossy(&baked.stderr)
        );
        assert_eq!(
            String::from_utf8(unbaked.stdout).expect("utf-8"),
            payload,
            "{image}"
        );
    }
}

#[test]
fn inspect_prints_the_normalized_badge() {
    let output = satchel(&["inspect", &fixture("ob-bakery-py/baked_heart.png")]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let received: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(received["carrier"], "png");
    assert_eq!(received["badge"]["version"], "1.0");
    assert_eq!(
        received["badge"]["recipient"]["identity"],
        "test@example.com"
    );
}

#[test]
fn inspect_reads_standard_input() {
    use std::io::Write;
    let json = std::fs::read(fixture(
        "ob-scenarios/legacy-0.5-plain/issuer.example/assertion05.json",
    ))
    .expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["inspect", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&json)
        .expect("written");

    let output = child.wait_with_output().expect("finishes");

    assert!(output.status.success());
    let received: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(received["carrier"], "json");
    assert_eq!(received["badge"]["version"], "0.5");
}

#[test]
fn worker_once_checks_what_is_due_and_exits() {
    let data = tempfile::tempdir().expect("temp dir");
    let output = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["worker", "--once"])
        .env_remove("DATABASE_URL")
        .env("SATCHEL_DATA_DIR", data.path())
        .output()
        .expect("the binary runs");

    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "checked 0 badges: 0 changed status, 0 stale\n"
    );
    assert!(
        data.path().join("satchel.sqlite3").is_file(),
        "it opened the database"
    );
}
