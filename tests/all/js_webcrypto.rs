//! WebCrypto (`crypto.subtle`) in real scripts run by the `stampede` binary: one script makes
//! keys, encrypts and signs with every algorithm and stores keys (as JWK) and results on a blob
//! server on 127.0.0.1; another fetches them, decrypts and verifies. stampede plays both sides;
//! where k6 is at hand (`$K6`, or `/work/ext/bin/k6`) it plays each side against stampede too,
//! which proves the bytes interoperate both ways.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::js_engine::{run_js, write_files};
use crate::js_modules::{k6, k6_checks};
use crate::support::TempDir;

/// Serves PUT (store the body under the path) and GET (give it back, or 404) on 127.0.0.1.
fn blob_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let blobs: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let blobs = blobs.clone();
            std::thread::spawn(move || serve_blob(stream, &blobs));
        }
    });
    url
}

/// The most a stored blob may hold.
const MAX_BLOB: usize = 1 << 20;

fn serve_blob(mut stream: TcpStream, blobs: &Mutex<HashMap<String, Vec<u8>>>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if data.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let mut words = head.split_whitespace();
    let (method, path) = (
        words.next().unwrap_or(""),
        words.next().unwrap_or("").to_string(),
    );
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(MAX_BLOB);
    let mut body = data[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    let (status, reply) = match method {
        "PUT" => {
            blobs.lock().unwrap().insert(path, body);
            ("204 No Content", Vec::new())
        }
        _ => match blobs.lock().unwrap().get(&path) {
            Some(b) => ("200 OK", b.clone()),
            None => ("404 Not Found", Vec::new()),
        },
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(&reply);
}

/// Which program runs a script.
#[derive(Clone, Copy, Debug)]
enum Runner {
    Stampede,
    K6,
}

/// Runs `script` with `runner` and returns its checks' (passes, fails).
fn checks(runner: Runner, script: &Path, args: &[&str]) -> (f64, f64) {
    match runner {
        Runner::Stampede => {
            let r = run_js(script, args);
            assert_eq!(r.code, 0, "{}", r.output());
            (r.metric("checks", "passes"), r.metric("checks", "fails"))
        }
        Runner::K6 => k6_checks(script, args).expect("k6"),
    }
}

/// Makes keys, encrypts, signs and derives with every algorithm both stampede and k6 have, and
/// stores the keys (JWK) and the results under `$BLOB_URL/$NAME`.
const PRODUCE: &str = r#"
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 1 };

const subtle = crypto.subtle;
const enc = new TextEncoder();
const b64 = (buf) => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const b = new Uint8Array(buf);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] || 0) << 8) | (b[i + 2] || 0);
    out += chars[(n >> 18) & 63] + chars[(n >> 12) & 63] + (i + 1 < b.length ? chars[(n >> 6) & 63] : '=') + (i + 2 < b.length ? chars[n & 63] : '=');
  }
  return out;
};
const MESSAGE = enc.encode('stampede and k6 agree on these bytes');
const e = new Uint8Array([1, 0, 1]);

export default async function () {
  const out = { keys: {}, data: {} };
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const iv16 = crypto.getRandomValues(new Uint8Array(16));
  out.data.iv = b64(iv);
  out.data.iv16 = b64(iv16);

  for (const name of ['AES-GCM', 'AES-CBC', 'AES-CTR']) {
    const key = await subtle.generateKey({ name, length: 256 }, true, ['encrypt', 'decrypt']);
    out.keys[name] = await subtle.exportKey('jwk', key);
    const params = name === 'AES-GCM' ? { name, iv, additionalData: enc.encode('aad') }
      : name === 'AES-CBC' ? { name, iv: iv16 } : { name, counter: iv16, length: 64 };
    out.data[name] = b64(await subtle.encrypt(params, key, MESSAGE));
  }

  const hmac = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, true, ['sign', 'verify']);
  out.keys.HMAC = await subtle.exportKey('jwk', hmac);
  out.data.HMAC = b64(await subtle.sign('HMAC', hmac, MESSAGE));

  for (const [namedCurve, hash] of [['P-256', 'SHA-256'], ['P-384', 'SHA-384'], ['P-521', 'SHA-512']]) {
    const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
    out.keys[`ECDSA ${namedCurve}`] = await subtle.exportKey('jwk', pair.publicKey);
    out.data[`ECDSA ${namedCurve}`] = b64(await subtle.sign({ name: 'ECDSA', hash }, pair.privateKey, MESSAGE));
    out.data[`ECDSA ${namedCurve} spki`] = b64(await subtle.exportKey('spki', pair.publicKey));
  }

  const alice = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  const bob = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  out.keys['ECDH alice'] = await subtle.exportKey('jwk', alice.privateKey);
  out.keys['ECDH bob'] = await subtle.exportKey('jwk', bob.publicKey);
  out.data.ECDH = b64(await subtle.deriveBits({ name: 'ECDH', public: bob.publicKey }, alice.privateKey, 256));
  out.data['ECDH bob raw'] = b64(await subtle.exportKey('raw', bob.publicKey));

  const oaep = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: e, hash: 'SHA-256' }, true, ['encrypt', 'decrypt']);
  out.keys['RSA-OAEP'] = await subtle.exportKey('jwk', oaep.privateKey);
  out.data['RSA-OAEP'] = b64(await subtle.encrypt({ name: 'RSA-OAEP' }, oaep.publicKey, MESSAGE));
  out.data['RSA-OAEP pkcs8'] = b64(await subtle.exportKey('pkcs8', oaep.privateKey));

  for (const name of ['RSA-PSS', 'RSASSA-PKCS1-v1_5']) {
    const pair = await subtle.generateKey({ name, modulusLength: 1024, publicExponent: e, hash: 'SHA-256' }, true, ['sign', 'verify']);
    out.keys[name] = await subtle.exportKey('jwk', pair.publicKey);
    out.data[name] = b64(await subtle.sign({ name, saltLength: 32 }, pair.privateKey, MESSAGE));
    out.data[`${name} spki`] = b64(await subtle.exportKey('spki', pair.publicKey));
  }

  const pw = await subtle.importKey('raw', enc.encode('hunter2'), 'PBKDF2', false, ['deriveBits']);
  out.data.PBKDF2 = b64(await subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('NaCl'), iterations: 1000, hash: 'SHA-256' }, pw, 256));

  const res = http.put(`${__ENV.BLOB_URL}/${__ENV.NAME}`, JSON.stringify(out));
  check(res, { stored: (r) => r.status === 204 });
}
"#;

/// Fetches what `PRODUCE` stored, imports the keys and checks every result.
const CONSUME: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import encoding from 'k6/encoding';

export const options = { iterations: 1 };

const subtle = crypto.subtle;
const enc = new TextEncoder();
const bytes = (text) => new Uint8Array(encoding.b64decode(text, 'std'));
const text = (buf) => String.fromCharCode(...new Uint8Array(buf));
const MESSAGE = 'stampede and k6 agree on these bytes';
const e = new Uint8Array([1, 0, 1]);

export default async function () {
  const res = http.get(`${__ENV.BLOB_URL}/${__ENV.NAME}`);
  const { keys, data } = JSON.parse(res.body);
  const iv = bytes(data.iv);
  const iv16 = bytes(data.iv16);
  const ok = {};

  for (const name of ['AES-GCM', 'AES-CBC', 'AES-CTR']) {
    const key = await subtle.importKey('jwk', keys[name], { name }, false, ['decrypt']);
    const params = name === 'AES-GCM' ? { name, iv, additionalData: enc.encode('aad') }
      : name === 'AES-CBC' ? { name, iv: iv16 } : { name, counter: iv16, length: 64 };
    ok[name] = text(await subtle.decrypt(params, key, bytes(data[name]))) === MESSAGE;
  }

  const hmac = await subtle.importKey('jwk', keys.HMAC, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  ok.HMAC = await subtle.verify('HMAC', hmac, bytes(data.HMAC), enc.encode(MESSAGE));

  for (const [namedCurve, hash] of [['P-256', 'SHA-256'], ['P-384', 'SHA-384'], ['P-521', 'SHA-512']]) {
    const alg = { name: 'ECDSA', namedCurve };
    const jwk = await subtle.importKey('jwk', keys[`ECDSA ${namedCurve}`], alg, true, ['verify']);
    const spki = await subtle.importKey('spki', bytes(data[`ECDSA ${namedCurve} spki`]), alg, true, ['verify']);
    const sig = bytes(data[`ECDSA ${namedCurve}`]);
    ok[`ECDSA ${namedCurve}`] = (await subtle.verify({ name: 'ECDSA', hash }, jwk, sig, enc.encode(MESSAGE)))
      && (await subtle.verify({ name: 'ECDSA', hash }, spki, sig, enc.encode(MESSAGE)))
      && !(await subtle.verify({ name: 'ECDSA', hash }, spki, sig, enc.encode('tampered')));
  }

  const ecdh = { name: 'ECDH', namedCurve: 'P-256' };
  const alice = await subtle.importKey('jwk', keys['ECDH alice'], ecdh, true, ['deriveBits']);
  const bob = await subtle.importKey('raw', bytes(data['ECDH bob raw']), ecdh, true, []);
  ok.ECDH = text(await subtle.deriveBits({ name: 'ECDH', public: bob }, alice, 256)) === text(bytes(data.ECDH));

  const oaepAlg = { name: 'RSA-OAEP', hash: 'SHA-256' };
  const oaep = await subtle.importKey('jwk', keys['RSA-OAEP'], oaepAlg, false, ['decrypt']);
  const oaep8 = await subtle.importKey('pkcs8', bytes(data['RSA-OAEP pkcs8']), oaepAlg, false, ['decrypt']);
  ok['RSA-OAEP'] = text(await subtle.decrypt({ name: 'RSA-OAEP' }, oaep, bytes(data['RSA-OAEP']))) === MESSAGE
    && text(await subtle.decrypt({ name: 'RSA-OAEP' }, oaep8, bytes(data['RSA-OAEP']))) === MESSAGE;

  for (const name of ['RSA-PSS', 'RSASSA-PKCS1-v1_5']) {
    const alg = { name, hash: 'SHA-256' };
    const jwk = await subtle.importKey('jwk', keys[name], alg, true, ['verify']);
    const spki = await subtle.importKey('spki', bytes(data[`${name} spki`]), alg, true, ['verify']);
    const sig = bytes(data[name]);
    // k6 v2.2 imports an RSA public JWK but cannot verify with it ("given CryptoKey is not a
    // public RSA key, it's rsa.PublicKey"): the JWK is only imported, the SPKI key verifies.
    ok[name] = jwk.algorithm.modulusLength === 1024
      && (await subtle.verify({ name, saltLength: 32 }, spki, sig, enc.encode(MESSAGE)))
      && !(await subtle.verify({ name, saltLength: 32 }, spki, sig, enc.encode('tampered')));
  }

  const pw = await subtle.importKey('raw', enc.encode('hunter2'), 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('NaCl'), iterations: 1000, hash: 'SHA-256' }, pw, 256);
  ok.PBKDF2 = text(bits) === text(bytes(data.PBKDF2));

  for (const [name, passed] of Object.entries(ok)) {
    check(passed, { [name]: (p) => p === true });
  }
}
"#;

/// The checks `CONSUME` makes: one per algorithm (and curve).
const CONSUMED: f64 = 12.0;

/// `producer` makes and stores; `consumer` fetches and checks.
fn exchange(producer: Runner, consumer: Runner) {
    let dir = TempDir::new("js-webcrypto");
    write_files(&dir, &[("produce.js", PRODUCE), ("consume.js", CONSUME)]);
    let url = format!("BLOB_URL={}", blob_server());
    let name = format!("NAME={producer:?}-to-{consumer:?}");
    let args = ["-e", url.as_str(), "-e", name.as_str(), "-q"];
    assert_eq!(
        checks(producer, &dir.path("produce.js"), &args),
        (1.0, 0.0),
        "{producer:?} stores its blob"
    );
    assert_eq!(
        checks(consumer, &dir.path("consume.js"), &args),
        (CONSUMED, 0.0),
        "{consumer:?} decrypts and verifies what {producer:?} made"
    );
}

#[test]
fn what_stampede_encrypts_and_signs_it_decrypts_and_verifies() {
    exchange(Runner::Stampede, Runner::Stampede);
}

#[test]
fn stampede_and_k6_read_each_other_s_keys_ciphertexts_and_signatures() {
    if k6().is_none() {
        eprintln!("no k6 here: the exchange with k6 is skipped");
        return;
    }
    exchange(Runner::K6, Runner::Stampede);
    exchange(Runner::Stampede, Runner::K6);
}

const ERRORS: &str = r#"
import { check } from 'k6';

export const options = { iterations: 1 };

const subtle = crypto.subtle;
const failure = async (p) => { try { await p; return 'resolved'; } catch (e) { return `${e.name}`; } };

export default async function () {
  const aes = await subtle.generateKey({ name: 'AES-GCM', length: 128 }, false, ['encrypt']);
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  // What k6 v2.2 rejects these with (its webcrypto module's error names).
  const got = {
    'short iv': await failure(subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(8) }, aes, new Uint8Array(4))),
    'wrong usage': await failure(subtle.decrypt({ name: 'AES-GCM', iv: new Uint8Array(12) }, aes, new Uint8Array(32))),
    'bad key length': await failure(subtle.generateKey({ name: 'AES-CBC', length: 64 }, true, ['encrypt'])),
    'bad usage': await failure(subtle.generateKey({ name: 'AES-CBC', length: 128 }, true, ['sign'])),
    'not extractable': await failure(subtle.exportKey('jwk', pair.privateKey)),
    'unknown algorithm': await failure(subtle.generateKey({ name: 'NO-SUCH-CIPHER' }, true, ['encrypt'])),
  };
  const want = {
    'short iv': 'NotSupportedError', 'wrong usage': 'InvalidAccessError', 'bad key length': 'OperationError',
    'bad usage': 'SyntaxError', 'not extractable': 'InvalidAccessError', 'unknown algorithm': 'NotSupportedError',
  };
  for (const [name, error] of Object.entries(want)) {
    check(got[name], { [name]: (g) => g === error });
  }
}
"#;

#[test]
fn webcrypto_rejects_bad_parameters_with_k6_s_error_names() {
    let dir = TempDir::new("js-webcrypto-errors");
    write_files(&dir, &[("errors.js", ERRORS)]);
    let args = ["-q"];
    let script = dir.path("errors.js");
    assert_eq!(checks(Runner::Stampede, &script, &args), (6.0, 0.0));
    if k6().is_some() {
        assert_eq!(
            checks(Runner::K6, &script, &args),
            (6.0, 0.0),
            "k6 names the errors alike"
        );
    }
}
