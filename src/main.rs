//! The `dripfeed` binary: parses the command line and hands over to the server.

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    dripfeed::server::cli::main()
}

/// The WASM build has no binary; `lib.rs` holds its entry point.
#[cfg(not(feature = "ssr"))]
fn main() {}
