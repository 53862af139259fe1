//! TLS trust and identity on real TLS servers: a test CA trusted through `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`, k6's error codes, client certificates (`tlsAuth`), `tlsVersion` and
//! `tlsCipherSuites`.

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;

use crate::guests::guest;
use crate::support::{run_command, runtime, stampede, RunResult, TempDir};

/// A test CA with a server certificate for `localhost` and a client certificate.
pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    ca_der: Vec<u8>,
    pub(crate) server: (Vec<u8>, Vec<u8>),
    client_cert: String,
    client_key: String,
    client_key_der: Vec<u8>,
}

pub(crate) fn pki(server_names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "stampede test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let names: Vec<String> = server_names.iter().map(|s| s.to_string()).collect();
    let server = CertificateParams::new(names)
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(DnType::CommonName, "stampede VU");
    let client = client.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
        server: (server.der().to_vec(), server_key.serialize_der()),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        client_key_der: client_key.serialize_der(),
    }
}

/// What a test server demands.
#[derive(Default, Clone, Copy)]
struct Demands {
    client_cert: bool,
    tls12_only: bool,
}

/// An HTTPS server on 127.0.0.1 answering `secure hello`.
fn tls_server(rt: &tokio::runtime::Runtime, pki: &Pki, demands: Demands) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone());
    let builder = if demands.tls12_only {
        builder.with_protocol_versions(&[&rustls::version::TLS12])
    } else {
        builder.with_safe_default_protocol_versions()
    }
    .unwrap();
    let builder = if demands.client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone().into()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server.1.clone().into());
    let config = builder
        .with_single_cert(vec![pki.server.0.clone().into()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_req| async {
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                        b"secure hello",
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

/// Runs the semantics guest against `url`, with `env` for the process and `config` (options
/// JSON) if given.
fn get(url: &str, env: &[(&str, &Path)], config: Option<&str>, expect: &[&str]) -> RunResult {
    let dir = TempDir::new("tls");
    let export = dir.path("summary.json");
    let mut cmd = stampede();
    cmd.arg("run")
        .arg(guest("semantics"))
        .args(["-e", &format!("URL={url}"), "-q", "--summary-export"])
        .arg(&export)
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    for e in expect {
        cmd.args(["-e", e]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    if let Some(json) = config {
        let file = dir.path("config.json");
        std::fs::write(&file, json).unwrap();
        cmd.arg("--config").arg(file);
    }
    run_command(cmd, Some(&export))
}

fn passes(r: &RunResult) {
    assert_eq!(r.code, 0, "{}", r.output());
    assert!(r.metric("checks", "passes") > 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
}

#[test]
fn a_ca_given_in_ssl_cert_file_or_dir_is_trusted_and_names_are_checked() {
    let rt = runtime();
    let pki = pki(&["localhost"]);
    let port = tls_server(&rt, &pki, Demands::default());
    let dir = TempDir::new("ca");
    let ca = dir.path("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let url = format!("https://localhost:{port}/");
    let ok = ["EXPECT_STATUS=200", "EXPECT_BODY=secure hello"];
    passes(&get(&url, &[("SSL_CERT_FILE", &ca)], None, &ok));
    passes(&get(&url, &[("SSL_CERT_DIR", &dir.0)], None, &ok));
    // Not trusted without it (a self-signed CA is an unknown authority): 1310.
    passes(&get(
        &url,
        &[],
        None,
        &["EXPECT_STATUS=0", "EXPECT_CODE=1310"],
    ));
    // Trusted, but not for 127.0.0.1: 1311.
    let by_ip = format!("https://127.0.0.1:{port}/");
    passes(&get(
        &by_ip,
        &[("SSL_CERT_FILE", &ca)],
        None,
        &["EXPECT_CODE=1311"],
    ));
    // Plain HTTP spoken to a TLS client: 1301.
    let rt2 = runtime();
    let plain = crate::semantics_server::SemanticsServer::start(&rt2);
    let https_to_http = format!("https://{}/echo", plain.addr);
    passes(&get(&https_to_http, &[], None, &["EXPECT_CODE=1301"]));
}

fn auth_config(pki: &Pki, domains: &[&str], key: &str, password: Option<&str>) -> String {
    serde_json::json!({
        "tlsAuth": [{
            "domains": domains,
            "cert": pki.client_cert,
            "key": key,
            "password": password,
        }]
    })
    .to_string()
}

#[test]
fn client_certificates_go_to_their_domains() {
    let rt = runtime();
    let pki = pki(&["localhost"]);
    let port = tls_server(
        &rt,
        &pki,
        Demands {
            client_cert: true,
            ..Demands::default()
        },
    );
    let dir = TempDir::new("mtls");
    let ca = dir.path("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let url = format!("https://localhost:{port}/");
    let env = [("SSL_CERT_FILE", ca.as_path())];
    let ok = ["EXPECT_STATUS=200", "EXPECT_BODY=secure hello"];
    for domains in [&["localhost"][..], &["*.example.com", "localhost"], &[]] {
        let config = auth_config(&pki, domains, &pki.client_key, None);
        passes(&get(&url, &env, Some(&config), &ok));
    }
    // Without a certificate for this host, the server refuses: a TLS error.
    let config = auth_config(&pki, &["other.example"], &pki.client_key, None);
    let r = get(&url, &env, Some(&config), &["EXPECT_STATUS=0"]);
    passes(&r);
    let r = get(&url, &env, None, &["EXPECT_STATUS=0", "EXPECT_ERROR=tls"]);
    passes(&r);
    // A key encrypted the legacy way (what k6's `password` decrypts).
    let encrypted = openssl_encrypt(&pki.client_key_der, "s3cret")
        .expect("openssl writes a legacy-encrypted key (tests/run.sh installs openssl)");
    let config = auth_config(&pki, &["localhost"], &encrypted, Some("s3cret"));
    passes(&get(&url, &env, Some(&config), &ok));
    let config = auth_config(&pki, &["localhost"], &encrypted, Some("wrong"));
    let r = get(&url, &env, Some(&config), &ok);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("tlsAuth[0]"), "{}", r.output());
    let config = auth_config(&pki, &["localhost"], &encrypted, None);
    let r = get(&url, &env, Some(&config), &ok);
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("give its `password`"), "{}", r.output());
}

/// The PKCS#8 key `der`, written as a legacy-encrypted SEC1 PEM by the openssl command line.
fn openssl_encrypt(der: &[u8], password: &str) -> Option<String> {
    let dir = TempDir::new("openssl");
    let input = dir.path("key.der");
    std::fs::write(&input, der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["ec", "-inform", "DER", "-in"])
        .arg(&input)
        .args(["-aes256", "-passout", &format!("pass:{password}")])
        .output()
        .ok()?;
    let pem = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && pem.contains("DEK-Info")).then_some(pem)
}

#[test]
fn tls_versions_and_cipher_suites_are_k6s_options() {
    let rt = runtime();
    let pki = pki(&["localhost"]);
    let port = tls_server(
        &rt,
        &pki,
        Demands {
            tls12_only: true,
            ..Demands::default()
        },
    );
    let dir = TempDir::new("versions");
    let ca = dir.path("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let env = [("SSL_CERT_FILE", ca.as_path())];
    let url = format!("https://localhost:{port}/");
    let ok = ["EXPECT_STATUS=200"];
    passes(&get(&url, &env, Some(r#"{"tlsVersion": "tls1.2"}"#), &ok));
    passes(&get(
        &url,
        &env,
        Some(r#"{"tlsVersion": {"min": "tls1.0", "max": "tls1.2"}}"#),
        &ok,
    ));
    passes(&get(
        &url,
        &env,
        Some(r#"{"tlsCipherSuites": ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]}"#),
        &ok,
    ));
    // A TLS 1.3 client and a TLS 1.2 server have nothing in common.
    passes(&get(
        &url,
        &env,
        Some(r#"{"tlsVersion": "tls1.3"}"#),
        &["EXPECT_STATUS=0", "EXPECT_CODE=1300"],
    ));
    // A suite the server's key cannot use.
    passes(&get(
        &url,
        &env,
        Some(r#"{"tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}"#),
        &["EXPECT_STATUS=0", "EXPECT_CODE=1300"],
    ));
    // Names k6 knows but stampede cannot speak, and names nobody knows: configuration errors.
    for (config, needle) in [
        (
            r#"{"tlsCipherSuites": ["TLS_RSA_WITH_AES_128_CBC_SHA"]}"#,
            "TLS_RSA_WITH_AES_128_CBC_SHA",
        ),
        (r#"{"tlsCipherSuites": ["TLS_MADE_UP"]}"#, "TLS_MADE_UP"),
        (r#"{"tlsVersion": "tls1.1"}"#, "TLS 1.1"),
        (r#"{"tlsVersion": "ssl3"}"#, "ssl3"),
        (r#"{"tlsAuth": [{"cert": "x", "key": "y"}]}"#, "tlsAuth[0]"),
    ] {
        let r = get(&url, &env, Some(config), &ok);
        assert_eq!(r.code, 104, "{config}: {}", r.output());
        assert!(r.stderr.contains(needle), "{config}: {}", r.output());
    }
}

/// nginx on a free port of 127.0.0.1 with `ssl_verify_client on` against the test CA; stopped
/// at drop.
struct Nginx {
    child: std::process::Child,
    port: u16,
    _dir: TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nginx_mtls(pki: &Pki) -> Nginx {
    let dir = TempDir::new("nginx");
    let pem = |label: &str, der: &[u8]| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    };
    std::fs::write(dir.path("server.pem"), pem("CERTIFICATE", &pki.server.0)).unwrap();
    std::fs::write(dir.path("server.key"), pem("PRIVATE KEY", &pki.server.1)).unwrap();
    std::fs::write(dir.path("ca.pem"), &pki.ca_pem).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = dir.0.display();
    let conf = format!(
        "worker_processes 1;\nerror_log {d}/error.log;\npid {d}/nginx.pid;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d};\n  proxy_temp_path {d};\n\
           fastcgi_temp_path {d};\n  uwsgi_temp_path {d};\n  scgi_temp_path {d};\n\
           server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name localhost;\n\
             ssl_certificate {d}/server.pem;\n    ssl_certificate_key {d}/server.key;\n\
             ssl_client_certificate {d}/ca.pem;\n    ssl_verify_client on;\n\
             location / {{ return 200 \"nginx mtls ok\"; }}\n  }}\n}}\n"
    );
    std::fs::write(dir.path("nginx.conf"), conf).unwrap();
    let child = std::process::Command::new("nginx")
        .arg("-p")
        .arg(&dir.0)
        .arg("-c")
        .arg(dir.path("nginx.conf"))
        .args(["-g", "daemon off; master_process off;"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx (tests/run.sh installs it)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

#[test]
fn nginx_with_ssl_verify_client_accepts_the_tls_auth_certificate() {
    let pki = pki(&["localhost"]);
    let nginx = nginx_mtls(&pki);
    let dir = TempDir::new("nginx-ca");
    let ca = dir.path("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let env = [("SSL_CERT_FILE", ca.as_path())];
    let url = format!("https://localhost:{}/", nginx.port);
    let config = auth_config(&pki, &["localhost"], &pki.client_key, None);
    passes(&get(
        &url,
        &env,
        Some(&config),
        &["EXPECT_STATUS=200", "EXPECT_BODY=nginx mtls ok"],
    ));
    // Without one, nginx answers 400 ("No required SSL certificate was sent").
    passes(&get(&url, &env, None, &["EXPECT_STATUS=400"]));
}
