//! `stampede`: parse the command line, run it, exit with k6's exit codes.

mod capacity;
mod cargo_env;
mod cli;
mod commands;
#[cfg(test)]
mod engine_check;
mod k6_flags;
mod kubernetes;
mod lang;
mod new;
mod script;
mod summary;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage_error = e.use_stderr();
            let _ = e.print();
            // Help and --version are not errors; bad flags are an invalid configuration.
            return ExitCode::from(if usage_error { 104 } else { 0 });
        }
    };
    let code = commands::run(cli);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
