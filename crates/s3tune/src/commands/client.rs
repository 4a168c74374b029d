//! S3 clients: from the standard AWS chain for real buckets, or for the embedded emulator.
//! Their connections and timeouts are set by each transfer (see `s3tune-transfer`).

use anyhow::{anyhow, bail};
use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::retry::RetryConfig;
use s3tune_transfer::TransferConfig;

use crate::cli::ConnectArgs;

/// The `--connect-timeout` and `--read-timeout` flags, applied to every transfer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    connect: Option<std::time::Duration>,
    read: Option<std::time::Duration>,
}

impl Timeouts {
    /// The flags, checked.
    pub fn from_args(args: &ConnectArgs) -> anyhow::Result<Self> {
        let t = Self {
            connect: args
                .connect_timeout
                .as_deref()
                .map(|t| super::duration("--connect-timeout", t))
                .transpose()?,
            read: args
                .read_timeout
                .as_deref()
                .map(|t| super::duration("--read-timeout", t))
                .transpose()?,
        };
        t.apply(TransferConfig::default())
            .validate()
            .map_err(|e| anyhow!("--{}: {e}", e.knob.replace('_', "-")))?;
        Ok(t)
    }

    /// `config` with the flags' timeouts, where given.
    pub fn apply(self, mut config: TransferConfig) -> TransferConfig {
        if let Some(c) = self.connect {
            config.connect_timeout = c;
        }
        if let Some(r) = self.read {
            config.read_timeout = r;
        }
        config
    }
}

/// An S3 client from the standard AWS chain (environment, config files, instance
/// roles), with boto3's 5 attempts for throttling and 5xx. With `--profile`, as with
/// the AWS CLI, that profile's credentials win over the environment's, and a profile
/// that does not exist is an error.
pub async fn s3_client(args: &ConnectArgs) -> anyhow::Result<aws_sdk_s3::Client> {
    if let Some(url) = &args.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("--endpoint-url `{url}` must start with http:// or https://");
    }
    if let Some(p) = &args.profile {
        check_profile(p).await?;
    }
    // Region: the flag, else AWS_REGION / AWS_DEFAULT_REGION, else the profile, else
    // us-east-1 (as the AWS CLI and boto3 do; no instance-metadata lookup, which only
    // costs time and warnings off EC2).
    let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = &args.profile {
        profile_region = profile_region.profile_name(p);
    }
    let region = RegionProviderChain::first_try(args.region.clone().map(Region::new))
        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new())
        .or_else(profile_region.build())
        .or_else(Region::from_static("us-east-1"));
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
    if let Some(p) = &args.profile {
        loader = loader.profile_name(p).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(p)
                .build(),
        );
    }
    let shared = loader.load().await;
    let provider = shared
        .credentials_provider()
        .ok_or_else(|| anyhow!("no AWS credentials provider is configured"))?;
    if let Err(e) = provider.provide_credentials().await {
        let detail = s3tune_transfer::error::describe(&e);
        return Err(match &args.profile {
            Some(p) => anyhow!("--profile {p}: its credentials cannot be loaded ({detail})"),
            None => anyhow!(
                "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile with --profile (-vv shows where s3tune looked)"
            ),
        });
    }
    let mut b = aws_sdk_s3::config::Builder::from(&shared)
        .retry_config(RetryConfig::standard().with_max_attempts(5));
    if let Some(url) = &args.endpoint_url {
        b = b.endpoint_url(url).force_path_style(true);
    }
    Ok(aws_sdk_s3::Client::from_conf(b.build()))
}

/// `--profile NAME` must name a profile of `~/.aws/config` or `~/.aws/credentials` (or
/// the files `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` name).
async fn check_profile(name: &str) -> anyhow::Result<()> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let set =
        aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
            .await
            .map_err(|e| {
                anyhow!(
                    "--profile {name}: the AWS config files cannot be read: {}",
                    s3tune_transfer::error::describe(&e)
                )
            })?;
    let Some(profile) = set.get_profile(name) else {
        let mut known: Vec<&str> = set.profiles().collect();
        known.sort_unstable();
        bail!(
            "--profile {name}: no such profile in the AWS config files (~/.aws/config, ~/.aws/credentials){}",
            if known.is_empty() {
                String::new()
            } else {
                format!("; they have {}", known.join(", "))
            }
        );
    };
    // The settings a profile can take its credentials from.
    const SOURCES: [&str; 7] = [
        "aws_access_key_id",
        "role_arn",
        "sso_session",
        "sso_start_url",
        "credential_process",
        "web_identity_token_file",
        "credential_source",
    ];
    if SOURCES.iter().all(|k| profile.get(k).is_none()) {
        bail!(
            "--profile {name} has no credentials: give it aws_access_key_id and aws_secret_access_key (in ~/.aws/credentials), or a role, SSO or credential_process (in ~/.aws/config)"
        );
    }
    Ok(())
}

/// A client of the embedded emulator at `endpoint`, signing with its key pair.
pub fn emulator_client(
    endpoint: &str,
    region: &str,
    access_key: &str,
    secret_key: &str,
) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key,
            secret_key,
            None,
            None,
            "s3tune-emulator",
        ))
        .force_path_style(true)
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}
