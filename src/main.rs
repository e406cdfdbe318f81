use std::process::ExitCode;

fn main() -> ExitCode {
    newsriver::cli::main()
}
