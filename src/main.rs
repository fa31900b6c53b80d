//! `outboard`: the daemon and command-line tool (the code is in lib.rs).

fn main() -> std::process::ExitCode {
    outboard::main()
}
