//! Remote modules (`import … from 'https://…'`), fetched as k6 fetches them, from an HTTPS
//! server on 127.0.0.1 whose test CA is trusted through `SSL_CERT_FILE`: relative and absolute
//! imports inside a remote module, a redirect, a CommonJS bundle (as k6's jslib ships), each
//! module fetched once per test however many VUs load it; and every way a fetch can fail
//! stopping the test with exit code 107 and a message that names the module and the cause.
//! Where k6 is at hand, it runs the same script and must count the same checks.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::http_tls::pki;
use crate::js_engine::{js_cache, write_files};
use crate::js_modules::k6;
use crate::support::{run_command, runtime, stampede, RunResult, TempDir};

/// How many times each path was asked for.
type Asked = Arc<Mutex<BTreeMap<String, usize>>>;

type Body = BoxBody<Bytes, Infallible>;

fn full(bytes: &'static [u8]) -> Body {
    Full::new(Bytes::from_static(bytes)).boxed()
}

/// A body that says it is 100 MiB long and sends zeros until the client goes away.
struct Huge;

impl hyper::body::Body for Huge {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        static CHUNK: [u8; 64 << 10] = [0; 64 << 10];
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(
            &CHUNK,
        )))))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(100 << 20)
    }
}

/// What the server answers for `path` (`port` is its own, for a redirect to plain http).
fn answer(path: &str, port: u16) -> Response<Body> {
    let body = |s: &'static str| Response::new(full(s.as_bytes()));
    let redirect = |to: String| {
        Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header("location", to)
            .body(full(b""))
            .unwrap()
    };
    match path {
        "/lib/v1/util.js" => body(
            "import { helper } from './helper.js';\n\
             import { root } from '/root.js';\n\
             import { sum } from '../shared/math.js';\n\
             export function describe(n) { return `${helper()}+${root()}=${sum(n, 1)}`; }\n",
        ),
        "/lib/v1/helper.js" => body("export function helper() { return 'helper'; }\n"),
        // A redirected module's imports resolve against the URL imported, as in k6.
        "/lib/latest/helper.js" => body("export function helper() { return 'latest'; }\n"),
        "/root.js" => body("export const root = () => 'root';\n"),
        "/lib/shared/math.js" => body("export function sum(a, b) { return a + b; }\n"),
        // A jslib-style CommonJS bundle: named imports come from `module.exports`.
        "/lib/bundle.js" => body(
            "module.exports = { randomIntBetween: function (a, b) { \
             return Math.floor(Math.random() * (b - a + 1) + a); }, version: '1.0' };\n",
        ),
        "/lib/latest/util.js" => redirect("/lib/v1/util.js".into()),
        // A minified bundle and its map, fetched beside it: `throw` (column 32) is line 6 of
        // src/boom.ts.
        "/lib/min.js" => body(
            "module.exports={boom:function(){throw new Error('remote boom')}};\n\
             //# sourceMappingURL=min.js.map\n",
        ),
        "/lib/min.js.map" => {
            body(r#"{"version":3,"sources":["../src/boom.ts"],"names":[],"mappings":"gCAKA"}"#)
        }
        // A map named by a path of the server's root: line 6 of src/root.ts.
        "/lib/rootmap.js" => body(
            "module.exports={boom2:function(){throw new Error('root map')}};\n\
             //# sourceMappingURL=/maps/rootmap.js.map\n",
        ),
        "/maps/rootmap.js.map" => body(
            r#"{"version":3,"sources":["../src/root.ts"],"names":[],"mappings":"iCAKA"}"#,
        ),
        // The global `require` of a remote module reaches no local file.
        "/lib/req.js" => body(
            "export const local = (() => { try { require('file:///etc/hostname'); return 'read'; } \
             catch (e) { return String(e); } })();\n",
        ),
        "/lib/late.js" => body("export const late = true;\n"),
        // Compressed, as a CDN answers the `Accept-Encoding: gzip` Go's client (and stampede)
        // sends.
        "/lib/gz.js" => {
            use std::io::Write as _;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(b"export const zipped = 'unzipped';\n").unwrap();
            Response::builder()
                .header("content-encoding", "gzip")
                .body(Full::new(Bytes::from(gz.finish().unwrap())).boxed())
                .unwrap()
        }
        // A scheme-relative import names another server (here the same one by another name).
        "/lib/elsewhere.js" => Response::new(
            Full::new(Bytes::from(format!(
                "export {{ helper }} from '//127.0.0.1:{port}/lib/v1/helper.js';\n"
            )))
            .boxed(),
        ),
        "/loop.js" => redirect("/loop.js".into()),
        "/down.js" => redirect(format!("http://127.0.0.1:{port}/lib/v1/helper.js")),
        "/huge.js" => Response::new(Huge.boxed()),
        // 70 MiB of zeros in some 70 KiB of gzip: undone no further than the bound.
        "/bomb.js" => {
            use std::io::Write as _;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..70 {
                gz.write_all(&zeros).unwrap();
            }
            Response::builder()
                .header("content-encoding", "gzip")
                .body(Full::new(Bytes::from(gz.finish().unwrap())).boxed())
                .unwrap()
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(full(b"no such module"))
            .unwrap(),
    }
}

/// An HTTPS server of modules on 127.0.0.1, with the PEM of the CA that signed its
/// certificate; it counts what it is asked for.
fn module_server(rt: &tokio::runtime::Runtime, dir: &TempDir) -> (u16, std::path::PathBuf, Asked) {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let ca = dir.path("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server.1.clone().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.server.0.clone().into()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Asked::default();
    let counts = asked.clone();
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counts) = (acceptor.clone(), counts.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let path = req.uri().path().to_owned();
                    *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
                    async move { Ok::<_, Infallible>(answer(&path, port)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (port, ca, asked)
}

/// Runs `script` with the test CA trusted (or, with `ca` `None`, no root but the system's).
fn run(script: &Path, ca: Option<&Path>) -> RunResult {
    let out = TempDir::new("remote-run");
    let export = out.path("summary.json");
    let mut cmd = stampede();
    cmd.env("STAMPEDE_CACHE_DIR", js_cache())
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .arg("run")
        .arg(script)
        .arg("--summary-export")
        .arg(&export);
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    run_command(cmd, Some(&export))
}

const SCRIPT: &str = r#"
import { check } from 'k6';
import { describe } from 'https://localhost:PORT/lib/v1/util.js';
import { describe as latest } from 'https://localhost:PORT/lib/latest/util.js';
import { randomIntBetween, version } from 'https://localhost:PORT/lib/bundle.js';
import bundle from 'https://localhost:PORT/lib/bundle.js';

export const options = { vus: 4, iterations: 12 };

export default function () {
  const n = randomIntBetween(1, 5);
  check(n, {
    'imports of a remote module are resolved on its server': () => describe(2) === 'helper+root=3',
    'a redirected module loads, its imports beside the URL imported': () => latest(4) === 'latest+root=5',
    'a CommonJS bundle gives named imports': () => n >= 1 && n <= 5 && version === '1.0',
    'and a default one': () => bundle.version === '1.0',
  });
}
"#;

#[test]
fn remote_modules_load_once_per_test_as_k6_loads_them() {
    let rt = runtime();
    let dir = TempDir::new("remote-modules");
    let (port, ca, asked) = module_server(&rt, &dir);
    let script = dir.path("script.js");
    write_files(
        &dir,
        &[("script.js", &SCRIPT.replace("PORT", &port.to_string()))],
    );

    let r = run(&script, Some(&ca));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 48.0, "{}", r.output());
    let counts = asked.lock().unwrap().clone();
    let once = |p: &str| assert_eq!(counts.get(p), Some(&1), "{p} fetched once: {counts:?}");
    for p in [
        "/lib/v1/helper.js",
        "/root.js",
        "/lib/shared/math.js",
        "/lib/bundle.js",
    ] {
        once(p);
    }
    once("/lib/latest/util.js");
    // Once as itself, once as the redirect's target (k6 also keeps them two modules).
    assert_eq!(counts.get("/lib/v1/util.js"), Some(&2), "{counts:?}");

    if let Some(k6) = k6() {
        let out = std::process::Command::new(k6)
            .args(["run", "--quiet", "--no-usage-report"])
            .arg(&script)
            .env("SSL_CERT_FILE", &ca)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "k6: {text}");
        assert!(
            text.contains("48 out of 48"),
            "k6 counts the checks alike: {text}"
        );
    }
}

#[test]
fn a_remote_module_that_cannot_be_had_stops_the_test_naming_it() {
    let rt = runtime();
    let dir = TempDir::new("remote-fails");
    let (port, ca, asked) = module_server(&rt, &dir);
    let base = format!("https://localhost:{port}");
    let cases: [(&str, String, Option<&Path>, &str); 8] = [
        (
            "missing",
            format!("{base}/nope.js"),
            Some(&ca),
            "404 Not Found",
        ),
        (
            "untrusted",
            format!("{base}/root.js"),
            None,
            "invalid peer certificate",
        ),
        (
            "loop",
            format!("{base}/loop.js"),
            Some(&ca),
            "stopped after 10 redirects",
        ),
        (
            "downgrade",
            format!("{base}/down.js"),
            Some(&ca),
            "over https only",
        ),
        (
            "huge",
            format!("{base}/huge.js"),
            Some(&ca),
            "larger than the 64 MiB",
        ),
        (
            "bomb",
            format!("{base}/bomb.js"),
            Some(&ca),
            "larger than the 64 MiB",
        ),
        (
            "plain",
            format!("http://127.0.0.1:{port}/root.js"),
            Some(&ca),
            "has `http`",
        ),
        (
            "nobody",
            "https://127.0.0.1:1/x.js".into(),
            Some(&ca),
            "cannot connect",
        ),
    ];
    for (name, url, trust, why) in cases {
        let script = dir.path(&format!("{name}.js"));
        write_files(
            &dir,
            &[(
                &format!("{name}.js"),
                &format!("import '{url}';\nexport default function () {{}}\n"),
            )],
        );
        let r = run(&script, trust);
        assert_eq!(r.code, 107, "{name}: {}", r.output());
        let said = r.output();
        assert!(said.contains(&url) && said.contains(why), "{name}: {said}");
    }
    let counts = asked.lock().unwrap();
    assert_eq!(
        counts.get("/loop.js"),
        Some(&10),
        "as Go's client: ten requests, the tenth redirect an error: {counts:?}"
    );
}

#[test]
fn a_remote_bundle_s_errors_name_the_files_of_its_source_map() {
    let rt = runtime();
    let dir = TempDir::new("remote-map");
    let (port, ca, asked) = module_server(&rt, &dir);
    let script = dir.path("script.js");
    let code = format!(
        "import {{ boom }} from 'https://localhost:{port}/lib/min.js';\n\
         export const options = {{ iterations: 1 }};\n\
         export default function () {{ boom(); }}\n"
    );
    write_files(&dir, &[("script.js", &code)]);
    let r = run(&script, Some(&ca));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("iteration_errors", "count"), 1.0, "{}", r.output());
    let place = format!("https://localhost:{port}/src/boom.ts:6:");
    assert!(r.stderr.contains(&place), "at {place}: {}", r.output());
    assert_eq!(asked.lock().unwrap().get("/lib/min.js.map"), Some(&1));
}

#[test]
fn remote_modules_stay_remote_and_are_fetched_only_as_the_test_starts() {
    let rt = runtime();
    let dir = TempDir::new("remote-rules");
    let (port, ca, asked) = module_server(&rt, &dir);
    let script = dir.path("script.js");
    let code = r#"
import { check } from 'k6';
import { boom2 } from 'https://localhost:PORT/lib/rootmap.js';
import { local } from 'https://localhost:PORT/lib/req.js';
import { helper } from 'https://localhost:PORT/lib/elsewhere.js';
import { zipped } from 'https://localhost:PORT/lib/gz.js';

export const options = { iterations: 2 };

export default async function () {
  let late = '';
  try { await import('https://localhost:PORT/lib/late.js'); late = 'loaded'; } catch (e) { late = String(e); }
  check(null, {
    "a remote module's require reaches no local file": () => local.includes('may not import the local file'),
    'a scheme-relative import is another server': () => helper() === 'helper',
    'a gzip answer is undone': () => zipped === 'unzipped',
    'a module not fetched as the test started is refused': () => late.includes('was not fetched when the test started'),
  });
  if (__ITER === 1) boom2();
}
"#
    .replace("PORT", &port.to_string());
    write_files(&dir, &[("script.js", &code)]);
    let r = run(&script, Some(&ca));
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 8.0, "{}", r.output());
    assert!(
        r.elapsed < std::time::Duration::from_secs(20),
        "{:?}",
        r.elapsed
    );
    let place = format!("https://localhost:{port}/src/root.ts:6:");
    assert!(r.stderr.contains(&place), "at {place}: {}", r.output());
    let counts = asked.lock().unwrap();
    assert_eq!(counts.get("/lib/late.js"), None, "{counts:?}");
    assert_eq!(counts.get("/maps/rootmap.js.map"), Some(&1), "{counts:?}");
}

/// A long URL's error keeps its end: the why (QuickJS cut its own at 255 bytes).
#[test]
fn a_long_remote_url_s_error_is_whole() {
    let rt = runtime();
    let dir = TempDir::new("remote-long");
    let (port, ca, _) = module_server(&rt, &dir);
    let url = format!("https://localhost:{port}/{}.js", "a".repeat(300));
    let script = dir.path("script.js");
    write_files(
        &dir,
        &[(
            "script.js",
            &format!("import '{url}';\nexport default function () {{}}\n"),
        )],
    );
    let r = run(&script, Some(&ca));
    assert_eq!(r.code, 107, "{}", r.output());
    let said = r.output();
    assert!(
        said.contains(&format!(
            "cannot fetch {url}: the server answered 404 Not Found"
        )),
        "{said}"
    );
}
