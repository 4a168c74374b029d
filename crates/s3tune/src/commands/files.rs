//! The files a user hands s3tune — a transfer configuration (`--config`), a search space
//! (`--space`), a network profile (`--network FILE`) — read in one way: each library
//! parses its own kind and says where it is wrong (line, column, field); this says which
//! file, as `FLAG PATH: line L, column C: field: what is wrong`.

use std::path::Path;

use anyhow::anyhow;
use s3tune_emulator::NetworkProfile;
use s3tune_hpo::Space;
use s3tune_transfer::TransferConfig;

/// The text of `path`, given with `flag`.
pub fn read(flag: &str, path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        anyhow!(
            "{flag} {}: {}",
            path.display(),
            s3tune_transfer::error::io_reason(&e)
        )
    })
}

/// JSON when it says so by its name; TOML otherwise.
fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// `--config FILE`: the knobs and timeouts, as TOML or JSON.
pub fn transfer_config(path: &Path) -> anyhow::Result<TransferConfig> {
    let text = read("--config", path)?;
    let parsed = if is_json(path) {
        TransferConfig::from_json(&text)
    } else {
        TransferConfig::from_toml(&text)
    };
    parsed.map_err(|e| anyhow!("--config {}: {e}", path.display()))
}

/// `--space FILE`: a search space, as TOML or JSON, and the text it was read from.
pub fn space(path: &Path) -> anyhow::Result<(Space, String)> {
    let text = read("--space", path)?;
    let parsed = if is_json(path) {
        Space::from_json(&text)
    } else {
        Space::from_toml(&text)
    };
    let space = parsed.map_err(|e| anyhow!("--space {}: {e}", path.display()))?;
    Ok((space, text))
}

/// An error about parameter `param` of the space in `path` (read as `text`), placed
/// where the file sets it.
pub fn space_error(path: &Path, text: &str, param: &str, message: &str) -> anyhow::Error {
    match s3tune_hpo::SpaceError::position_of(text, param) {
        Some((line, column)) => anyhow!(
            "--space {}: line {line}, column {column}: {message}",
            path.display()
        ),
        None => anyhow!("--space {}: {message}", path.display()),
    }
}

/// `--network NAME|FILE`: a named profile, or a TOML file (anything ending in `.toml`,
/// or naming a file).
pub fn network(name: &str) -> anyhow::Result<NetworkProfile> {
    let path = Path::new(name);
    if !(name.ends_with(".toml") || path.is_file()) {
        return Ok(NetworkProfile::named(name)?);
    }
    let text = read("--network", path)?;
    NetworkProfile::from_toml(&text).map_err(|e| anyhow!("--network {name}: {e}"))
}
