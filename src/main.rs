use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = fulcrum::cli::Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("starting the async runtime");
    match runtime.block_on(fulcrum::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fulcrum: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
