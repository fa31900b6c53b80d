//! Every fuzz target's corpus (`fuzz/corpus/<target>/`, the inputs the
//! fuzzer kept for the coverage they reach, and every crash it found, kept
//! after the fix) replayed through its harness, and a short run of
//! generated inputs: what CI runs of the fuzzing on a stable toolchain.
//! A harness panics on a finding, so a replay that returns is a pass.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_replays() {
    for (target, run) in outboard_fuzz::TARGETS {
        let files = corpus(target);
        assert!(!files.is_empty(), "{target}: an empty corpus tests nothing");
        for file in &files {
            let data = std::fs::read(file).unwrap();
            let ran = std::panic::catch_unwind(|| run(&data));
            assert!(ran.is_ok(), "{target}: {} fails (above)", file.display());
        }
        eprintln!("{target}: {} corpus inputs replayed", files.len());
    }
}

/// Corpus inputs with a few bytes changed, 300 runs a target (spread over
/// its inputs): a short mutation run that finds what a small change to a
/// known-good input breaks, without the fuzzer.
#[test]
fn mutated_corpus_inputs_are_answered() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (target, run) in outboard_fuzz::TARGETS {
        let files = corpus(target);
        let per_file = (300 / files.len()).max(1);
        for file in files.iter().step_by((files.len() / 300).max(1)) {
            let base = std::fs::read(file).unwrap();
            for _ in 0..per_file {
                let mut data = base.clone();
                for _ in 0..1 + next() % 4 {
                    if data.is_empty() {
                        data.push(next() as u8);
                    } else {
                        let at = (next() as usize) % data.len();
                        data[at] = next() as u8;
                    }
                }
                let ran = std::panic::catch_unwind(|| run(&data));
                assert!(ran.is_ok(), "{target}: {} with bytes changed to {data:02x?} fails (above)", file.display());
            }
        }
    }
}
