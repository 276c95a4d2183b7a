//! The `starling` binary. All behaviour lives in the library ([`starling_node::cli`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    starling_node::cli::main()
}
