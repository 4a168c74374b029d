//! S3 clients: from the standard AWS chain for real buckets, or for the embedded emulator.

use std::time::Duration;

use anyhow::{anyhow, bail};
use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::config::retry::RetryConfig;

use crate::cli::ConnectArgs;

/// An S3 client from the standard AWS chain (environment, `--profile`, config files,
/// instance roles), with boto3's 5 attempts for throttling and 5xx.
pub async fn s3_client(args: &ConnectArgs) -> anyhow::Result<aws_sdk_s3::Client> {
    if let Some(url) = &args.endpoint_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("--endpoint-url `{url}` must start with http:// or https://");
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
        loader = loader.profile_name(p);
    }
    let shared = loader.load().await;
    let provider = shared
        .credentials_provider()
        .ok_or_else(|| anyhow!("no AWS credentials provider is configured"))?;
    provider.provide_credentials().await.map_err(|e| {
        anyhow!(
            "no AWS credentials found ({e}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
             or name a profile with --profile"
        )
    })?;
    let mut b = aws_sdk_s3::config::Builder::from(&shared)
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .build(),
        );
    if let Some(url) = &args.endpoint_url {
        b = b.endpoint_url(url).force_path_style(true);
    }
    Ok(aws_sdk_s3::Client::from_conf(b.build()))
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
