//! `s3tune serve`: the embedded S3 server as a process of its own.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use s3tune_emulator::{Emulator, EmulatorConfig, NetworkProfile, ObjectSpec, Rate};

use crate::cli::{NetworkOverrides, ServeArgs};

/// Applies `--first-byte-latency` and friends on top of the chosen profile.
fn apply_overrides(p: &mut NetworkProfile, o: &NetworkOverrides) -> anyhow::Result<()> {
    let rate = |flag: &str, v: &str| -> anyhow::Result<Option<Rate>> {
        if matches!(v, "unlimited" | "none") {
            return Ok(None);
        }
        v.parse::<Rate>()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
    };
    if let Some(v) = &o.first_byte_latency {
        p.first_byte_latency = humantime::parse_duration(v).with_context(|| {
            format!("--first-byte-latency: `{v}` is not a duration (use e.g. 30ms)")
        })?;
    }
    if let Some(v) = o.first_byte_jitter {
        p.first_byte_jitter = v;
    }
    if let Some(v) = &o.connection_bandwidth {
        p.connection_bandwidth = rate("connection-bandwidth", v)?;
    }
    if let Some(v) = &o.link_bandwidth {
        p.link_bandwidth = rate("link-bandwidth", v)?;
    }
    if let Some(v) = o.get_rate_limit {
        p.get_rate_limit = Some(v);
    }
    if let Some(v) = o.put_rate_limit {
        p.put_rate_limit = Some(v);
    }
    if let Some(v) = o.max_concurrent_requests {
        p.max_concurrent_requests = Some(v);
    }
    if let Some(v) = o.slowdown_probability {
        p.slowdown_probability = v;
    }
    if let Some(v) = o.internal_error_probability {
        p.internal_error_probability = v;
    }
    if let Some(v) = o.reset_probability {
        p.reset_probability = v;
    }
    if let Some(v) = o.network_seed {
        p.seed = v;
    }
    p.validate()?;
    Ok(())
}

/// Turns the flags into an emulator configuration, without I/O beyond reading a profile.
fn config(args: &ServeArgs) -> anyhow::Result<EmulatorConfig> {
    let mut network = NetworkProfile::from_name_or_file(&args.network)?;
    apply_overrides(&mut network, &args.overrides)?;
    let objects = args
        .objects
        .iter()
        .map(|s| s.parse::<ObjectSpec>())
        .collect::<Result<Vec<_>, _>>()?;
    if args.access_key.is_empty() || args.secret_key.is_empty() {
        bail!("--access-key and --secret-key must not be empty");
    }
    Ok(EmulatorConfig {
        listen: args.listen,
        network,
        data_dir: args.data_dir.clone(),
        objects,
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        region: args.region.clone(),
        domains: args.domains.clone(),
    })
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    if !config.listen.ip().is_loopback() {
        eprintln!(
            "s3tune: WARNING: listening on {}, which is not a loopback address: anyone who can \
             reach it and knows the key pair can read and write this server's data",
            config.listen
        );
        tracing::warn!(listen = %config.listen, "binding a non-loopback address");
    }
    let objects = config.objects.clone();
    // Handle Ctrl-C/SIGTERM from before the ready line: a script that stops the server
    // as soon as it has read the line must get a clean shutdown.
    let stop = super::interrupted();
    let server = Emulator::start(config).await?;

    let mut out = std::io::stdout().lock();
    if args.json {
        let line = serde_json::json!({
            "endpoint": server.endpoint(),
            "region": server.region(),
            "access_key": server.access_key(),
            "secret_key": server.secret_key(),
        });
        writeln!(out, "{line}")?;
    } else {
        writeln!(out, "s3tune emulator ready")?;
        writeln!(out, "  endpoint    {}", server.endpoint())?;
        writeln!(out, "  region      {}", server.region())?;
        writeln!(out, "  access key  {}", server.access_key())?;
        writeln!(out, "  secret key  {}", server.secret_key())?;
        writeln!(
            out,
            "  network     {} ({})",
            args.network,
            server.profile().describe()
        )?;
        for o in &objects {
            writeln!(
                out,
                "  object      s3://{}/{} ({}, synthetic)",
                o.bucket,
                o.key,
                bytesize::ByteSize(o.size)
            )?;
        }
        writeln!(
            out,
            "Try: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} aws --endpoint-url {} s3 ls\nStop with Ctrl-C.",
            server.access_key(),
            server.secret_key(),
            server.endpoint()
        )?;
    }
    out.flush()?;
    drop(out);

    stop.await;
    tracing::info!("shutting down");
    let stats = server.stats();
    server.shutdown().await;
    tracing::info!(?stats, "stopped");
    Ok(ExitCode::SUCCESS)
}
