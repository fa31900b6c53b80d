//! `outboard bridge` as a user runs it, between two emulated HDA controllers
//! (each `emulated` is a controller of its own, on the machine's clock).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn outboard(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_outboard")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The value after `key=` on `line`.
fn value(line: &str, key: &str) -> f64 {
    let at = line.find(&format!("{key}=")).unwrap_or_else(|| panic!("no {key}= in {line}")) + key.len() + 1;
    let text: String = line[at..].chars().take_while(|c| !c.is_whitespace() && *c != ',' && *c != ';').collect();
    text.parse().unwrap_or_else(|_| panic!("{key}={text} in {line}"))
}

#[test]
fn a_bridge_between_two_emulated_controllers_runs_and_reports() {
    let (ok, stdout, stderr) = outboard(&["bridge", "emulated", "emulated", "--seconds", "3", "--report", "0.5"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("(capture, 48000 Hz, 2 ch, 1024-frame periods)")
            && first.contains("(playback, 48000 Hz, 2 ch, 1024-frame periods), target 4096 frames (85.3 ms)"),
        "{stdout}"
    );
    // The loop's readings, twice a second: the level held near the target.
    let readings: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bridge: t=")).collect();
    assert!(readings.len() >= 5, "{stdout}");
    let last = readings[readings.len() - 1];
    assert!(value(last, "readings") >= 20.0, "the loop updated: {last}");
    let level = value(last, "level");
    assert!((level - 4096.0).abs() < 1100.0, "the level wandered to {level}: {stdout}");
    // One clock under both: the adjustment stays small, nothing underran.
    let stats = stdout.lines().find(|l| l.starts_with("bridge stopped after")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(stats.contains("xruns capture=0 playback=0"), "{stats}");
    assert!(stats.contains("resyncs=0 saturated=0"), "{stats}");
    let median = stdout.lines().find(|l| l.contains("median_ppm=")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(value(median, "median_ppm").abs() < 400.0, "{median}");
    assert!(stdout.lines().any(|l| l.starts_with("engine capture (")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("engine playback (")), "{stdout}");
}

#[test]
fn sigterm_stops_a_bridge_with_its_stats() {
    let child = Command::new(env!("CARGO_BIN_EXE_outboard"))
        .args(["bridge", "emulated", "emulated"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(5), "it took {:?} to stop", start.elapsed());
    assert!(stdout.contains("bridge stopped after"), "{stdout}");
}

#[test]
fn bad_bridge_requests_get_a_clear_error() {
    for (args, expect) in [
        (&["bridge"][..], "the following required arguments were not provided"),
        (&["bridge", "emulated"][..], "<TO>"),
        (&["bridge", "emulated", "emulated", "--seconds", "0"][..], "--seconds must be between"),
        (&["bridge", "emulated", "emulated", "--period", "3"][..], "invalid value '3' for '--period <PERIOD>'"),
        (&["bridge", "emulated", "emulated", "--target", "x"][..], "invalid value 'x' for '--target <TARGET>'"),
        (&["bridge", "emulated", "0000:7f:1f.7", "--seconds", "1"][..], "0000:7f:1f.7"),
        (&["bridge", "emulated", "emulated", "--bogus"][..], "unexpected argument '--bogus'"),
    ] {
        let (ok, stdout, stderr) = outboard(args);
        assert!(!ok, "{args:?} succeeded: {stdout}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
