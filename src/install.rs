//! `outboard install`: the binary, the systemd units, the udev rules, the
//! man pages and the shell completions, put in place (or staged under
//! `--destdir` for a package). The files come from `packaging/`, built into
//! the binary, so one binary installs itself.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::{Cli, InstallArgs};

const SERVICE: &str = include_str!("../packaging/outboard.service");
const VFIO_SERVICE: &str = include_str!("../packaging/outboard-vfio-bind@.service");
const VFIO_SCRIPT: &str = include_str!("../packaging/outboard-vfio-bind");
const UDEV_RULES: &str = include_str!("../packaging/60-outboard.rules");
const MODULES: &str = include_str!("../packaging/modules-load.conf");
const CONFIG: &str = include_str!("../packaging/outboard.toml");
const ALSA: &str = include_str!("../packaging/alsa/50-outboard.conf");
const PIPEWIRE: &str = include_str!("../packaging/pipewire/outboard.conf");
const SYSUSERS: &str = include_str!("../packaging/outboard.sysusers");

/// One file to write.
struct Item {
    path: PathBuf,
    contents: Vec<u8>,
    mode: u32,
    /// Leave an existing file alone (the admin's config).
    keep_existing: bool,
}

/// The man pages: outboard.1 and outboard-COMMAND.1 for each command.
pub fn man_pages() -> Result<Vec<(String, Vec<u8>)>, String> {
    let cmd = Cli::command();
    let mut pages = Vec::new();
    let mut top = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut top).map_err(|e| e.to_string())?;
    pages.push(("outboard.1".to_string(), top));
    for sub in cmd.get_subcommands() {
        let name = format!("outboard-{}", sub.get_name());
        let mut page = Vec::new();
        let sub = sub.clone().name(name.clone()).bin_name(format!("outboard {}", sub.get_name()));
        clap_mangen::Man::new(sub).render(&mut page).map_err(|e| e.to_string())?;
        pages.push((format!("{name}.1"), page));
    }
    Ok(pages)
}

/// A shell's completion script.
pub fn completion(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "outboard", &mut out);
    out
}

/// `dir` under `destdir`, if any.
fn staged(destdir: Option<&Path>, dir: &Path) -> PathBuf {
    match destdir {
        Some(d) => d.join(dir.strip_prefix("/").unwrap_or(dir)),
        None => dir.to_path_buf(),
    }
}

fn items(args: &InstallArgs) -> Result<Vec<Item>, String> {
    if !args.prefix.is_absolute() {
        return Err(format!("--prefix {}: must be an absolute path", args.prefix.display()));
    }
    let prefix = &args.prefix;
    let bindir = prefix.join("bin");
    let libexec = prefix.join("libexec/outboard");
    let sysusers = prefix.join("lib/sysusers.d");
    let share = prefix.join("share");
    let d = args.destdir.as_deref();
    let exe = std::env::current_exe().map_err(|e| format!("finding this binary: {e}"))?;
    let binary = std::fs::read(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let fill = |text: &str| {
        text.replace("@BINDIR@", &bindir.display().to_string())
            .replace("@LIBEXECDIR@", &libexec.display().to_string())
            .replace("@SYSUSERSDIR@", &sysusers.display().to_string())
    };
    let file = |dir: &Path, name: &str, contents: Vec<u8>, mode: u32| Item {
        path: staged(d, dir).join(name),
        contents,
        mode,
        keep_existing: false,
    };
    let mut out = vec![
        file(&bindir, "outboard", binary, 0o755),
        file(&libexec, "outboard-vfio-bind", VFIO_SCRIPT.as_bytes().to_vec(), 0o755),
        file(Path::new("/etc/systemd/system"), "outboard.service", fill(SERVICE).into_bytes(), 0o644),
        file(Path::new("/etc/systemd/system"), "outboard-vfio-bind@.service", fill(VFIO_SERVICE).into_bytes(), 0o644),
        file(Path::new("/etc/udev/rules.d"), "60-outboard.rules", UDEV_RULES.as_bytes().to_vec(), 0o644),
        file(Path::new("/etc/modules-load.d"), "outboard.conf", MODULES.as_bytes().to_vec(), 0o644),
        file(&sysusers, "outboard.conf", SYSUSERS.as_bytes().to_vec(), 0o644),
        Item {
            keep_existing: true,
            ..file(Path::new("/etc/outboard"), "outboard.toml", CONFIG.as_bytes().to_vec(), 0o644)
        },
        file(&share.join("outboard/alsa"), "50-outboard.conf", ALSA.as_bytes().to_vec(), 0o644),
        file(&share.join("outboard/pipewire"), "outboard.conf", PIPEWIRE.as_bytes().to_vec(), 0o644),
        file(&share.join("bash-completion/completions"), "outboard", completion(clap_complete::Shell::Bash), 0o644),
        file(&share.join("zsh/site-functions"), "_outboard", completion(clap_complete::Shell::Zsh), 0o644),
        file(&share.join("fish/vendor_completions.d"), "outboard.fish", completion(clap_complete::Shell::Fish), 0o644),
    ];
    for (name, page) in man_pages()? {
        out.push(file(&share.join("man/man1"), &name, page, 0o644));
    }
    Ok(out)
}

fn write(item: &Item) -> Result<(), String> {
    let err = |e: std::io::Error| format!("{}: {e}", item.path.display());
    if let Some(dir) = item.path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Written beside, then renamed: a running binary is replaced, not
    // overwritten in place (ETXTBSY).
    let tmp = item.path.with_extension("outboard-install");
    std::fs::write(&tmp, &item.contents).map_err(err)?;
    std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(item.mode)).map_err(err)?;
    std::fs::rename(&tmp, &item.path).map_err(err)
}

/// `outboard install [--prefix DIR] [--destdir DIR] [--dry-run]`
pub fn run(args: InstallArgs) -> Result<(), String> {
    let items = items(&args)?;
    for item in &items {
        let kept = item.keep_existing && item.path.exists();
        let what = if kept {
            "kept (exists)"
        } else if args.dry_run {
            "would write"
        } else {
            "wrote"
        };
        if !kept && !args.dry_run {
            write(item)?;
        }
        println!("{what} {} ({:o}, {} bytes)", item.path.display(), item.mode, item.contents.len());
    }
    if args.destdir.is_none() && !args.dry_run {
        println!(
            "next: systemctl daemon-reload; udevadm control --reload; systemctl enable --now outboard \
             (and, for an HDA controller, systemctl enable outboard-vfio-bind@ADDRESS)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_install_holds_every_file_with_paths_filled_in() {
        let root = std::env::temp_dir().join(format!("outboard-install-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let args = InstallArgs { prefix: PathBuf::from("/usr"), destdir: Some(root.clone()), dry_run: false };
        run(args).unwrap();
        let unit = std::fs::read_to_string(root.join("etc/systemd/system/outboard.service")).unwrap();
        assert!(unit.contains("ExecStart=/usr/bin/outboard serve --config /etc/outboard/outboard.toml"), "{unit}");
        assert!(unit.contains("Type=notify"));
        assert!(unit.contains("ExecStartPre=-systemd-sysusers /usr/lib/sysusers.d/outboard.conf"), "{unit}");
        let vfio = std::fs::read_to_string(root.join("etc/systemd/system/outboard-vfio-bind@.service")).unwrap();
        assert!(vfio.contains("ExecStart=/usr/libexec/outboard/outboard-vfio-bind %I"), "{vfio}");
        for f in [
            "usr/bin/outboard",
            "usr/libexec/outboard/outboard-vfio-bind",
            "etc/udev/rules.d/60-outboard.rules",
            "etc/outboard/outboard.toml",
            "usr/lib/sysusers.d/outboard.conf",
            "usr/share/man/man1/outboard.1",
            "usr/share/man/man1/outboard-serve.1",
            "usr/share/bash-completion/completions/outboard",
            "usr/share/zsh/site-functions/_outboard",
            "usr/share/fish/vendor_completions.d/outboard.fish",
        ] {
            assert!(root.join(f).is_file(), "{f} missing");
        }
        let mode =
            |f: &str| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(root.join(f)).unwrap().permissions());
        assert_eq!(mode("usr/bin/outboard") & 0o777, 0o755);
        assert_eq!(mode("etc/udev/rules.d/60-outboard.rules") & 0o777, 0o644);
        // The admin's config survives a second install.
        std::fs::write(root.join("etc/outboard/outboard.toml"), "rate = 44100\n").unwrap();
        run(InstallArgs { prefix: PathBuf::from("/usr"), destdir: Some(root.clone()), dry_run: false }).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("etc/outboard/outboard.toml")).unwrap(), "rate = 44100\n");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let dir = std::env::temp_dir().join(format!("outboard-shipped-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("outboard.toml");
        std::fs::write(&path, CONFIG).unwrap();
        let settings = crate::config::check(&path).unwrap();
        assert!(settings.contains("every one found"), "{settings}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
