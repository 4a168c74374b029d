//! TLS to PostgreSQL, with libpq's `sslmode` and `sslrootcert` (in the URL's query, or
//! from `PGSSLMODE` and `PGSSLROOTCERT`), so a URL that works with `psql` works here:
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | not checked |
//! | `require` | always | not checked, unless a root certificate is at hand (then as `verify-ca`) |
//! | `verify-ca` | always | signed by the root certificate |
//! | `verify-full` | always | signed by it, and made out to the host connected to |
//!
//! The root certificate is `sslrootcert` (a PEM file; `system` for the machine's
//! trusted roots), else `~/.postgresql/root.crt`. Managed databases (Amazon RDS, Aurora)
//! sign with their own CA, whose bundle the provider publishes: give its path.
//!
//! tokio-postgres knows only the first three modes and no root certificate, so both
//! settings are taken out of the URL here, and the checks done by a certificate verifier
//! of our own; the TLS itself is rustls (through tokio-postgres-rustls, which also binds
//! SCRAM authentication to the TLS channel).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`s that s3tune supports (all but `allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// What tokio-postgres is told: whether TLS is tried, and whether it is a must.
    pub(super) fn ssl_mode(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

/// The TLS settings of a connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) mode: Mode,
    /// `sslrootcert`: a PEM file, or `system`.
    pub(super) root_cert: Option<String>,
}

impl Settings {
    /// The settings as a URL query (`?sslmode=…&sslrootcert=…`, empty for the default),
    /// so that the store's location, shown in hints, reaches the server the same way.
    pub(super) fn query(&self) -> String {
        let mut parts = Vec::new();
        let mode = match self.mode {
            Mode::Disable => Some("disable"),
            Mode::Prefer => None,
            Mode::Require => Some("require"),
            Mode::VerifyCa => Some("verify-ca"),
            Mode::VerifyFull => Some("verify-full"),
        };
        if let Some(m) = mode {
            parts.push(format!("sslmode={m}"));
        }
        if let Some(r) = &self.root_cert {
            const VALUE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
                .add(b' ')
                .add(b'&')
                .add(b'#')
                .add(b'%')
                .add(b'?');
            parts.push(format!(
                "sslrootcert={}",
                percent_encoding::utf8_percent_encode(r, VALUE)
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of `url` (a `postgres://` URL or libpq's
/// `key=value` form), falling back to `PGSSLMODE` and `PGSSLROOTCERT`; returns the rest
/// of the URL, for tokio-postgres, and the settings.
pub(super) fn take_settings(
    url: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, Settings), String> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root_cert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|part| {
                        let (key, value) = part.split_once('=').unwrap_or((part, ""));
                        let value = percent_encoding::percent_decode_str(value)
                            .decode_utf8_lossy()
                            .into_owned();
                        !take(key, value)
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        url.split_whitespace()
            .filter(|part| {
                let (key, value) = part.split_once('=').unwrap_or((part, ""));
                !take(key, value.trim_matches('\'').to_owned())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mode = match mode.or_else(|| env("PGSSLMODE")) {
        Some(m) => Mode::parse(&m)?,
        None => Mode::Prefer,
    };
    let root_cert = root_cert.or_else(|| env("PGSSLROOTCERT"));
    Ok((rest, Settings { mode, root_cert }))
}

/// The connector for `settings`; `home` is where `~/.postgresql/root.crt` is looked for.
pub(super) fn connector(
    settings: &Settings,
    home: Option<PathBuf>,
) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let default_root = home.map(|h| h.join(".postgresql").join("root.crt"));
    let root_file = match &settings.root_cert {
        Some(r) => Some(r.clone()),
        None => default_root
            .filter(|p| p.is_file())
            .map(|p| p.display().to_string()),
    };
    let mode = match (settings.mode, &root_file) {
        // libpq: `require` with a root certificate at hand checks the chain.
        (Mode::Require, Some(_)) => Mode::VerifyCa,
        (m, _) => m,
    };
    let inner = match mode {
        Mode::Disable | Mode::Prefer | Mode::Require => None,
        Mode::VerifyCa | Mode::VerifyFull => {
            let Some(root) = root_file else {
                return Err(format!(
                    "sslmode={} needs the server's root certificate: add \
                     sslrootcert=/path/to/ca.pem to the URL (or sslrootcert=system), \
                     or put it in ~/.postgresql/root.crt",
                    if mode == Mode::VerifyCa {
                        "verify-ca"
                    } else {
                        "verify-full"
                    }
                ));
            };
            let roots = roots(&root)?;
            let verifier =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| format!("the root certificates in {root}: {e}"))?;
            Some(verifier)
        }
    };
    let verifier = Verifier {
        inner,
        check_name: mode == Mode::VerifyFull,
        provider: Arc::clone(&provider),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

/// `reason` (a failed connection's), with what to do when the server's certificate was
/// refused.
pub(super) fn explain(reason: String) -> String {
    if reason.contains("UnknownIssuer") {
        format!(
            "{reason} (the server's certificate is not signed by the root certificate \
             trusted: give its CA file as sslrootcert=/path/to/ca.pem)"
        )
    } else if reason.contains("not valid for name") {
        format!(
            "{reason} (connect to a name the certificate is made out to, or check only \
             its signature with sslmode=verify-ca)"
        )
    } else {
        reason
    }
}

/// The certificates of a PEM file, or the machine's trusted roots for `system`.
fn roots(root: &str) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    if root == "system" {
        let found = rustls_native_certs::load_native_certs();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(
                "sslrootcert=system: this machine has no trusted root certificates \
                 (install ca-certificates, or give sslrootcert=/path/to/ca.pem)"
                    .to_owned(),
            );
        }
        return Ok(store);
    }
    let certs = CertificateDer::pem_file_iter(root)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot read the root certificate {root}: {e}"))?;
    let (added, _) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "the root certificate file {root} holds no PEM certificate"
        ));
    }
    Ok(store)
}

/// Checks the server's certificate as the mode says: not at all (`prefer`, `require`:
/// encryption only, as libpq does), its chain (`verify-ca`), or its chain and name
/// (`verify-full`). Handshake signatures are always checked.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn settings_come_out_of_the_url_and_the_rest_stays() {
        let (rest, s) = take_settings(
            "postgres://u:p@h:5432/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&connect_timeout=3",
            none,
        )
        .unwrap();
        assert_eq!(rest, "postgres://u:p@h:5432/db?connect_timeout=3");
        assert_eq!(s.mode, Mode::VerifyFull);
        assert_eq!(s.root_cert.as_deref(), Some("/etc/ca.pem"));
        assert_eq!(s.query(), "?sslmode=verify-full&sslrootcert=/etc/ca.pem");
        let (rest, s) = take_settings("postgres://u@h/db?sslmode=require", none).unwrap();
        assert_eq!(
            (rest.as_str(), s.mode),
            ("postgres://u@h/db", Mode::Require)
        );
        let (rest, s) =
            take_settings("host=h user=u sslmode=verify-ca sslrootcert='/a.pem'", none).unwrap();
        assert_eq!(rest, "host=h user=u");
        assert_eq!(s.mode, Mode::VerifyCa);
        assert_eq!(s.root_cert.as_deref(), Some("/a.pem"));
    }

    #[test]
    fn the_environment_fills_in_and_the_url_wins() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("verify-ca".to_owned()),
            "PGSSLROOTCERT" => Some("system".to_owned()),
            _ => None,
        };
        let (_, s) = take_settings("postgres://u@h/db", env).unwrap();
        assert_eq!(s.mode, Mode::VerifyCa);
        assert_eq!(s.root_cert.as_deref(), Some("system"));
        let (_, s) = take_settings("postgres://u@h/db?sslmode=disable", env).unwrap();
        assert_eq!(s.mode, Mode::Disable);
        let (_, s) = take_settings("postgres://u@h/db", none).unwrap();
        assert_eq!(s.query(), "");
        assert_eq!((s.mode, s.root_cert), (Mode::Prefer, None));
    }

    #[test]
    fn bad_settings_say_what_is_allowed() {
        let e = take_settings("postgres://u@h/db?sslmode=allow", none).unwrap_err();
        assert!(
            e.contains("sslmode=allow") && e.contains("verify-full"),
            "{e}"
        );
        let home = tempfile::tempdir().unwrap();
        let verify = |mode, root: Option<&str>| Settings {
            mode,
            root_cert: root.map(str::to_owned),
        };
        let e = connector(
            &verify(Mode::VerifyFull, None),
            Some(home.path().to_owned()),
        )
        .err()
        .unwrap();
        assert!(e.contains("sslrootcert=/path/to/ca.pem"), "{e}");
        let missing = home.path().join("missing.pem");
        let e = connector(&verify(Mode::VerifyCa, missing.to_str()), None)
            .err()
            .unwrap();
        assert!(e.contains("cannot read the root certificate"), "{e}");
        let empty = home.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = connector(&verify(Mode::VerifyCa, empty.to_str()), None)
            .err()
            .unwrap();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        // Encryption without a root certificate needs none.
        assert!(connector(&verify(Mode::Require, None), Some(home.path().to_owned())).is_ok());
    }
}
