//! `s3tune serve`: the embedded S3 server as a process of its own.

use std::io::Write;
use std::process::ExitCode;

use std::net::{SocketAddr, ToSocketAddrs};

use anyhow::{anyhow, bail};
use s3tune_emulator::{Emulator, EmulatorConfig, NetworkProfile, ObjectSpec, Rate};

use super::Stop;
use crate::cli::{NetworkOverrides, ServeArgs};

/// `--listen HOST:PORT`: an address, or a name resolved here (an IPv4 address first, as
/// clients that are given `localhost` mostly try it first too).
pub(crate) fn listen_addr(text: &str) -> anyhow::Result<SocketAddr> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        bail!("--listen `{text}`: write HOST:PORT, e.g. 127.0.0.1:9000 or localhost:9000");
    };
    if port.parse::<u16>().is_err() {
        bail!("--listen `{text}`: `{port}` is not a port (0 to 65535)");
    }
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| anyhow!("--listen `{text}`: cannot resolve `{host}`: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| anyhow!("--listen `{text}`: `{host}` has no address"))
}

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
        p.first_byte_latency =
            s3tune_transfer::parse_duration(v).map_err(|e| anyhow!("--first-byte-latency {e}"))?;
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
    let (mut network, _) = crate::experiment::emulated::network(&args.network)?;
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
        listen: listen_addr(&args.listen)?,
        network,
        data_dir: args.data_dir.clone(),
        objects,
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        region: args.region.clone(),
        domains: args.domains.clone(),
    })
}

/// Serves until Ctrl-C or SIGTERM — the way a server is meant to stop, so the exit code
/// is 0 (open responses get a second to finish).
pub async fn run(args: ServeArgs, stop: Stop) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    if !config.listen.ip().is_loopback() {
        eprintln!(
            "s3tune: WARNING: listening on {}, which is not a loopback address: anyone who can \
             reach it and knows the key pair can read and write this server's data",
            config.listen
        );
    }
    let objects = config.objects.clone();
    // Ctrl-C/SIGTERM before the ready line is seen too (`stop` was made at the start): a
    // script that stops the server as soon as it has read the line gets a clean shutdown.
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
        if server.addr().ip().is_unspecified() {
            writeln!(
                out,
                "  listening   on every address, port {}",
                server.addr().port()
            )?;
        }
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
            if o.count() == 1 {
                writeln!(out, "  object      {o} ({}, synthetic)", o.sizes)?;
            } else {
                writeln!(
                    out,
                    "  objects     {o} ({} objects, {}, {} in all, synthetic)",
                    o.count(),
                    o.sizes,
                    bytesize::ByteSize(o.total_bytes())
                )?;
            }
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

    stop.wait().await;
    tracing::info!("shutting down");
    let stats = server.stats();
    server.shutdown().await;
    tracing::info!(?stats, "stopped");
    Ok(ExitCode::SUCCESS)
}
