//! TLS trust and identity: which servers are trusted, which client certificate goes to whom,
//! and which TLS versions and cipher suites are spoken — k6's `tlsAuth`, `tlsVersion` and
//! `tlsCipherSuites`, and `insecureSkipTLSVerify`.
//!
//! Trust: the system's roots, as Go reads them (`SSL_CERT_FILE` and `SSL_CERT_DIR` replace the
//! system's file and directory, through `rustls-native-certs`); when none can be loaded, the
//! Mozilla roots built into stampede (`webpki-roots`). Roots load on the first TLS connection,
//! once per test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme, SupportedCipherSuite,
    SupportedProtocolVersion,
};
use serde::{Deserialize, Serialize};

use super::netpolicy::HostPattern;

/// One entry of k6's `tlsAuth`: a client certificate and its key (PEM), and the hosts it is
/// presented to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsAuth {
    /// Host names (`*.example.com` for subdomains); empty: any server that asks.
    #[serde(default)]
    pub domains: Vec<String>,
    /// The certificate chain, PEM.
    pub cert: String,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
    /// The password of an encrypted key (legacy PEM encryption, as k6 supports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// k6's `tlsVersion`: one version (`"tls1.2"`) or a range (`{"min": "tls1.2", "max": "tls1.3"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TlsVersionSpec {
    /// Exactly this version.
    One(String),
    /// A range; either end may be absent or empty (any).
    Range {
        /// The lowest version allowed.
        #[serde(default)]
        min: Option<String>,
        /// The highest version allowed.
        #[serde(default)]
        max: Option<String>,
    },
}

/// TLS settings of a test, checked: built by [`TlsSettings::from_k6`].
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    versions: Option<Vec<&'static SupportedProtocolVersion>>,
    suites: Option<Vec<SupportedCipherSuite>>,
    identities: Vec<Identity>,
}

/// A client certificate and the hosts it is for.
#[derive(Debug, Clone)]
struct Identity {
    domains: Vec<HostPattern>,
    key: Arc<CertifiedKey>,
}

/// A TLS version by k6's name: 0 for TLS 1.0 … 3 for TLS 1.3.
fn version_rank(name: &str) -> Result<Option<u8>, String> {
    Ok(Some(match name {
        "" => return Ok(None),
        "tls1.0" => 0,
        "tls1.1" => 1,
        "tls1.2" => 2,
        "tls1.3" => 3,
        other => {
            return Err(format!(
                "unknown TLS version '{other}' (use tls1.0, tls1.1, tls1.2 or tls1.3)"
            ))
        }
    }))
}

/// k6's cipher suite names that rustls implements (with `ring`).
fn suite_by_name(name: &str) -> Option<SupportedCipherSuite> {
    use rustls::crypto::ring::cipher_suite as s;
    Some(match name {
        "TLS_AES_128_GCM_SHA256" => s::TLS13_AES_128_GCM_SHA256,
        "TLS_AES_256_GCM_SHA384" => s::TLS13_AES_256_GCM_SHA384,
        "TLS_CHACHA20_POLY1305_SHA256" => s::TLS13_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => s::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => s::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305" => {
            s::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
        }
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => s::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => s::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" => s::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        _ => return None,
    })
}

/// k6's name of a suite rustls negotiated (`TLS_AES_128_GCM_SHA256`), empty for one k6 does
/// not name.
pub(crate) fn suite_name(suite: rustls::CipherSuite) -> &'static str {
    const NAMES: [&str; 9] = [
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    ];
    NAMES
        .into_iter()
        .find(|n| suite_by_name(n).is_some_and(|s| s.suite() == suite))
        .unwrap_or("")
}

/// k6's names of suites Go has and rustls does not (CBC, RC4, 3DES, RSA key exchange).
const K6_ONLY_SUITES: [&str; 15] = [
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
];

/// rustls's suites, with TLS 1.3's AES-128-GCM first, as Go (k6) offers them: a server that
/// follows the client's order then picks what it picks for k6.
fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    let first = p
        .cipher_suites
        .iter()
        .position(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
    if let Some(i) = first {
        let suite = p.cipher_suites.remove(i);
        p.cipher_suites.insert(0, suite);
    }
    Arc::new(p)
}

impl TlsSettings {
    /// Checks k6's TLS options and makes the settings: every problem is an error naming the
    /// option and the value (a configuration error, exit code 104).
    pub fn from_k6(
        version: Option<&TlsVersionSpec>,
        cipher_suites: Option<&[String]>,
        auth: &[TlsAuth],
    ) -> Result<Self, String> {
        let mut settings = TlsSettings::default();
        if let Some(spec) = version {
            settings.versions = Some(versions(spec)?);
        }
        if let Some(names) = cipher_suites {
            settings.suites = Some(suites(names)?);
        }
        for (i, entry) in auth.iter().enumerate() {
            settings
                .identities
                .push(identity(entry).map_err(|e| format!("tlsAuth[{i}]: {e}"))?);
        }
        // The versions and suites must leave something to speak.
        let probe = builder(&settings, provider());
        probe.map_err(|e| format!("tlsVersion and tlsCipherSuites leave nothing to speak: {e}"))?;
        Ok(settings)
    }
}

fn versions(spec: &TlsVersionSpec) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
    let (min, max) = match spec {
        TlsVersionSpec::One(v) => {
            let r = version_rank(v).map_err(|e| format!("tlsVersion: {e}"))?;
            (r, r)
        }
        TlsVersionSpec::Range { min, max } => (
            version_rank(min.as_deref().unwrap_or(""))
                .map_err(|e| format!("tlsVersion.min: {e}"))?,
            version_rank(max.as_deref().unwrap_or(""))
                .map_err(|e| format!("tlsVersion.max: {e}"))?,
        ),
    };
    let (min, max) = (min.unwrap_or(0).max(2), max.unwrap_or(3));
    if min > max {
        return Err(match max {
            0 | 1 => format!(
                "tlsVersion: TLS 1.{max} is not available (stampede speaks TLS 1.2 and 1.3)"
            ),
            _ => "tlsVersion: min is above max".to_owned(),
        });
    }
    Ok([&rustls::version::TLS12, &rustls::version::TLS13]
        [usize::from(min - 2)..=usize::from(max - 2)]
        .to_vec())
}

fn suites(names: &[String]) -> Result<Vec<SupportedCipherSuite>, String> {
    let mut out = Vec::new();
    for name in names {
        match suite_by_name(name) {
            Some(s) => out.push(s),
            None if K6_ONLY_SUITES.contains(&name.as_str()) => {
                return Err(format!(
                "tlsCipherSuites: '{name}' is not supported by stampede (its TLS library, rustls, \
                     has no CBC, RC4, 3DES or RSA key exchange suites)"
            ))
            }
            None => return Err(format!("tlsCipherSuites: unknown cipher suite '{name}'")),
        }
    }
    // As in Go, naming only TLS 1.2 suites leaves TLS 1.3's as they are.
    if !out
        .iter()
        .any(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
    {
        out.extend(
            rustls::crypto::ring::DEFAULT_CIPHER_SUITES
                .iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_))),
        );
    }
    Ok(out)
}

fn identity(entry: &TlsAuth) -> Result<Identity, String> {
    let domains = entry
        .domains
        .iter()
        .map(|d| {
            d.parse::<HostPattern>()
                .map_err(|e| format!("domains: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(entry.cert.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cert: not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("cert: no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into());
    }
    let key_pem = match &entry.password {
        Some(password) => super::pemcrypt::decrypt(&entry.key, password)?,
        None => entry.key.clone(),
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| {
        if key_pem.contains("ENCRYPTED") {
            "key: the key is encrypted: give its `password`".to_owned()
        } else {
            format!("key: not a PEM private key: {e}")
        }
    })?;
    let signer = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("key: {e}"))?;
    let key = CertifiedKey::new(certs, signer);
    key.keys_match()
        .map_err(|e| format!("the key does not belong to the certificate: {e}"))?;
    Ok(Identity {
        domains,
        key: Arc::new(key),
    })
}

/// The config builder with the test's versions and suites.
fn builder(
    settings: &TlsSettings,
    provider: Arc<CryptoProvider>,
) -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, rustls::Error> {
    let provider = match &settings.suites {
        Some(suites) => Arc::new(CryptoProvider {
            cipher_suites: suites.clone(),
            ..(*provider).clone()
        }),
        None => provider,
    };
    let versions: &[&'static SupportedProtocolVersion] = match &settings.versions {
        Some(v) => v,
        None => rustls::DEFAULT_VERSIONS,
    };
    ClientConfig::builder_with_provider(provider).with_protocol_versions(versions)
}

/// The trusted roots: the system's (and `SSL_CERT_FILE` / `SSL_CERT_DIR`), else webpki's.
fn roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                store.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec();
            }
            Arc::new(store)
        })
        .clone()
}

/// The client configuration of stampede's own requests (a script's remote modules, the
/// outputs' pushes): the roots the VUs trust (no check at all with `insecure`), HTTP/1.1.
pub fn own_client_config(insecure: bool) -> Arc<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions");
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        builder.with_root_certificates(roots())
    };
    let mut config = builder.with_no_client_auth();
    config.alpn_protocols = Alpn::Http1.protocols().iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Which protocols a TLS handshake offers (ALPN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Alpn {
    /// `h2` and `http/1.1`: the server picks (k6's default).
    Both,
    /// `http/1.1` only.
    Http1,
    /// `h2` only.
    Http2,
}

impl Alpn {
    fn protocols(self) -> &'static [&'static [u8]] {
        match self {
            Alpn::Both => &[b"h2", b"http/1.1"],
            Alpn::Http1 => &[b"http/1.1"],
            Alpn::Http2 => &[b"h2"],
        }
    }
}

/// The connectors of a test: one per set of client certificates a host may get, made when a
/// host first needs it.
pub(crate) struct Connectors {
    settings: TlsSettings,
    insecure: bool,
    by_identities: Mutex<HashMap<(Vec<usize>, Alpn), tokio_rustls::TlsConnector>>,
    /// The identities of hosts seen, so the pattern matching runs once per host.
    by_host: Mutex<HashMap<String, Vec<usize>>>,
}

impl Connectors {
    pub(crate) fn new(settings: &TlsSettings, insecure: bool) -> Self {
        Self {
            settings: settings.clone(),
            insecure,
            by_identities: Mutex::new(HashMap::new()),
            by_host: Mutex::new(HashMap::new()),
        }
    }

    /// The connector for `host`, offering `alpn` in the handshake.
    pub(crate) fn for_host(&self, host: &str, alpn: Alpn) -> tokio_rustls::TlsConnector {
        let ids = if self.settings.identities.is_empty() {
            Vec::new()
        } else {
            let mut by_host = self.by_host.lock().unwrap_or_else(|e| e.into_inner());
            by_host
                .entry(host.to_owned())
                .or_insert_with(|| self.identities_for(host))
                .clone()
        };
        let mut made = self.by_identities.lock().unwrap_or_else(|e| e.into_inner());
        made.entry((ids.clone(), alpn))
            .or_insert_with(|| tokio_rustls::TlsConnector::from(self.config(&ids, alpn)))
            .clone()
    }

    /// The identities offered to `host`: those for its domain first, then those for any.
    fn identities_for(&self, host: &str) -> Vec<usize> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ids = &self.settings.identities;
        let specific = (0..ids.len()).filter(|i| ids[*i].domains.iter().any(|d| d.matches(host)));
        let general = (0..ids.len()).filter(|i| ids[*i].domains.is_empty());
        specific.chain(general).collect()
    }

    fn config(&self, ids: &[usize], alpn: Alpn) -> Arc<ClientConfig> {
        let provider = provider();
        let builder = builder(&self.settings, provider.clone())
            .expect("the versions and suites were checked by TlsSettings::from_k6");
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(roots())
        };
        let mut config = if ids.is_empty() {
            builder.with_no_client_auth()
        } else {
            let keys = ids
                .iter()
                .map(|i| self.settings.identities[*i].key.clone())
                .collect();
            builder.with_client_cert_resolver(Arc::new(Identities(keys)))
        };
        config.alpn_protocols = alpn.protocols().iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

/// Client certificates offered in order: the first whose key the server can verify.
#[derive(Debug)]
struct Identities(Vec<Arc<CertifiedKey>>);

impl ResolvesClientCert for Identities {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.0
            .iter()
            .find(|k| k.key.choose_scheme(sigschemes).is_some())
            .cloned()
    }

    fn has_certs(&self) -> bool {
        !self.0.is_empty()
    }
}

/// Accepts any server certificate (but still checks handshake signatures are well-formed).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn versions_parse_as_k6_writes_them() {
        let one = TlsVersionSpec::One("tls1.2".into());
        assert_eq!(versions(&one).unwrap().len(), 1);
        let range: TlsVersionSpec =
            serde_json::from_str(r#"{"min":"tls1.0","max":"tls1.3"}"#).unwrap();
        assert_eq!(versions(&range).unwrap().len(), 2);
        let old = TlsVersionSpec::One("tls1.1".into());
        assert!(versions(&old)
            .unwrap_err()
            .contains("TLS 1.1 is not available"));
        let bad = TlsVersionSpec::One("ssl3".into());
        assert!(versions(&bad)
            .unwrap_err()
            .contains("unknown TLS version 'ssl3'"));
    }

    #[test]
    fn cipher_suites_map_to_rustls_or_are_refused_by_name() {
        let s = suites(&names(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"])).unwrap();
        assert_eq!(s.len(), 4, "the named TLS 1.2 suite and TLS 1.3's three");
        let s = suites(&names(&["TLS_AES_256_GCM_SHA384"])).unwrap();
        assert_eq!(s.len(), 1);
        let e = suites(&names(&["TLS_RSA_WITH_AES_128_CBC_SHA"])).unwrap_err();
        assert!(
            e.contains("'TLS_RSA_WITH_AES_128_CBC_SHA' is not supported"),
            "{e}"
        );
        let e = suites(&names(&["TLS_NOPE"])).unwrap_err();
        assert!(e.contains("unknown cipher suite 'TLS_NOPE'"), "{e}");
        let tls13_only = TlsSettings::from_k6(
            Some(&TlsVersionSpec::One("tls1.2".into())),
            Some(&names(&["TLS_AES_128_GCM_SHA256"])),
            &[],
        );
        assert!(
            tls13_only.is_err(),
            "TLS 1.2 with only TLS 1.3 suites cannot work"
        );
    }

    #[test]
    fn client_certificates_are_checked_up_front() {
        let ck = rcgen::generate_simple_self_signed(vec!["client".into()]).unwrap();
        let good = TlsAuth {
            domains: vec!["*.example.com".into()],
            cert: ck.cert.pem(),
            key: ck.signing_key.serialize_pem(),
            password: None,
        };
        let s = TlsSettings::from_k6(None, None, std::slice::from_ref(&good)).unwrap();
        let c = Connectors::new(&s, false);
        assert_eq!(c.identities_for("api.example.com"), vec![0]);
        assert!(c.identities_for("example.org").is_empty());
        let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
        let mismatched = TlsAuth {
            key: other.signing_key.serialize_pem(),
            ..good.clone()
        };
        let e = TlsSettings::from_k6(None, None, &[good.clone(), mismatched]).unwrap_err();
        assert!(e.starts_with("tlsAuth[1]: the key does not belong"), "{e}");
        let garbage = TlsAuth {
            cert: "not pem".into(),
            ..good
        };
        let e = TlsSettings::from_k6(None, None, &[garbage]).unwrap_err();
        assert!(e.contains("tlsAuth[0]: cert"), "{e}");
    }
}
