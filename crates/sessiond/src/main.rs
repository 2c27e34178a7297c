//! The `sessiond` command.
fn main() -> std::process::ExitCode {
    sessiond::cli::run()
}
