//! The `agency` binary: everything lives in the library; see `lib.rs` for the map.

fn main() -> std::process::ExitCode {
    agency::cli::main()
}
