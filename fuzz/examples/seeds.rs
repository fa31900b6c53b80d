//! Write the seed inputs into fuzz/corpus/<target>/seed-<name> (run after
//! a change to a harness's encoding; the fuzzer's own finds sit beside).

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (target, name, bytes) in outboard_fuzz::seeds::seeds() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, &bytes)?;
        println!("{}: {} bytes", path.display(), bytes.len());
    }
    Ok(())
}
