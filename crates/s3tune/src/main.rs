//! `s3tune`: find the fastest S3 transfer configuration for this machine, network and
//! object. This binary is glue: the work is done by `s3tune-emulator` (the embedded S3
//! server), `s3tune-transfer` (the engine) and `s3tune-hpo` (the optimizer).

mod cli;
mod commands;
mod dashboard;
mod experiment;
mod report;
mod study;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Some(code) = experiment::usage::child_main() {
        return code;
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    init_logging(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let code = commands::code_of(&err);
            if code == commands::exit::INTERRUPTED {
                eprintln!("s3tune: interrupted; nothing was left behind");
            } else {
                // One line, with the chain of causes: what failed and why.
                eprintln!("s3tune: error: {err:#}");
            }
            ExitCode::from(code)
        }
    }
}

/// Help and version go to stdout as clap writes them; a usage mistake becomes one line
/// on stderr (clap's first line, the accepted values if it lists them) and exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("bad usage")
        .trim_start_matches("error: ")
        .to_owned();
    let values = lines.find(|l| l.starts_with("[possible values"));
    eprintln!(
        "s3tune: error: {first}{}; see --help",
        values.map_or(String::new(), |v| format!(" {v}"))
    );
    ExitCode::from(commands::exit::USAGE)
}

/// Logs go to stderr: warnings by default, `-v` info (e.g. each request the emulator
/// serves), `-vv` debug, `-vvv` trace. `RUST_LOG` overrides.
///
/// Without `-v` only s3tune's own warnings show: the AWS SDK's are about its inner
/// workings (each credential provider it tried on the way to "no credentials", in debug
/// form), and the error that follows them says what the user needs to know.
///
/// Two kinds of crates are held back whatever the verbosity. The s3s crate logs every S3
/// error it answers (a 404 for a missing key, say) at ERROR level; those are the
/// client's errors, not the server's, so they only show from `-vv` on. The AWS SDK and
/// HTTP crates log requests, headers and signing material at debug and trace: they stay
/// at info, so that credentials never reach a log.
fn init_logging(verbose: u8) {
    const SDK_QUIET: &str = "aws_config=info,aws_sigv4=info,aws_runtime=info,aws_smithy_runtime=info,\
        aws_smithy_runtime_api=info,aws_smithy_http_client=info,aws_smithy_types=info,aws_sdk_s3=info,\
        aws_credential_types=info,hyper=info,hyper_util=info,h2=info,rustls=info";
    let default = match verbose {
        0 => "off,s3tune=warn,s3tune_hpo=warn,s3tune_transfer=warn,s3tune_emulator=warn".to_owned(),
        1 => format!("info,s3s=off,{SDK_QUIET}"),
        // Where the credentials were looked for (no secrets: the SDK redacts them).
        2 => format!("debug,{SDK_QUIET},aws_config=debug"),
        _ => format!("trace,{SDK_QUIET}"),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
