//! Unit tests of `crypto.subtle` beyond digests and HMAC, through scripts: AES, ECDSA, ECDH,
//! RSA, PBKDF2 and HKDF. Known answers come from the RFCs and NIST; error names are k6's.

use super::api_tests::eval;

/// Helpers every test script starts with.
const PRELUDE: &str = r#"
const enc = new TextEncoder();
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const subtle = crypto.subtle;
const fails = async (p) => { try { await p; return 'resolved'; } catch (e) { return e.name; } };
"#;

fn run(source: &str) -> String {
    eval(&format!("{PRELUDE}{source}"))
}

#[test]
fn aes_modes_encrypt_known_answers_and_check_parameters() {
    let out = run(r#"
// The GCM specification's test case 4 and SP 800-38A's CBC and CTR vectors (first block).
const k = unhex('feffe9928665731c6d6a8f9467308308');
const gcm = await subtle.importKey('raw', k, 'AES-GCM', true, ['encrypt', 'decrypt']);
const iv = unhex('cafebabefacedbaddecaf888');
const plain = unhex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
const aad = unhex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
const sealed = await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, gcm, plain);
const opened = await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, gcm, sealed);
const k2 = unhex('2b7e151628aed2a6abf7158809cf4f3c');
const cbc = await subtle.importKey('raw', k2, { name: 'aes-cbc' }, false, ['encrypt', 'decrypt']);
const cbcOut = await subtle.encrypt({ name: 'AES-CBC', iv: unhex('000102030405060708090a0b0c0d0e0f') }, cbc, unhex('6bc1bee22e409f96e93d7e117393172a'));
const ctr = await subtle.importKey('raw', k2, 'AES-CTR', false, ['encrypt']);
const ctrOut = await subtle.encrypt({ name: 'AES-CTR', counter: unhex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'), length: 64 }, ctr, unhex('6bc1bee22e409f96e93d7e117393172a'));
// Generated keys of every size round-trip through JWK.
const sizes = [];
for (const length of [128, 192, 256]) {
  const key = await subtle.generateKey({ name: 'AES-GCM', length }, true, ['encrypt', 'decrypt']);
  const jwk = await subtle.exportKey('jwk', key);
  const back = await subtle.importKey('jwk', jwk, 'AES-GCM', true, ['decrypt']);
  const iv2 = crypto.getRandomValues(new Uint8Array(12));
  const c = await subtle.encrypt({ name: 'AES-GCM', iv: iv2, tagLength: 96 }, key, enc.encode('hi'));
  sizes.push([jwk.alg, jwk.kty, key.algorithm.length, c.byteLength,
    new TextDecoder().decode(await subtle.decrypt({ name: 'AES-GCM', iv: iv2, tagLength: 96 }, back, c))]);
}
const tampered = new Uint8Array(sealed); tampered[0] ^= 1;
export const result = [
  hex(sealed).endsWith('5bc94fbc3221a5db94fae95ae7121a47'), hex(opened) === hex(plain),
  hex(cbcOut).slice(0, 32), hex(ctrOut), sizes,
  await fails(subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, gcm, tampered)),
  await fails(subtle.encrypt({ name: 'AES-GCM', iv: new Uint8Array(16) }, gcm, plain)),
  await fails(subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(8) }, cbc, plain)),
  await fails(subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, gcm, plain)),
  await fails(subtle.decrypt({ name: 'AES-CTR', counter: new Uint8Array(16), length: 64 }, ctr, plain)),
  await fails(subtle.importKey('raw', new Uint8Array(15), 'AES-GCM', true, ['encrypt'])),
  await fails(subtle.importKey('raw', k, 'AES-GCM', true, ['sign'])),
  await fails(subtle.importKey('raw', k, 'AES-GCM', true, [])),
  await fails(subtle.generateKey({ name: 'AES-GCM', length: 100 }, true, ['encrypt'])),
  await fails(subtle.exportKey('raw', cbc)),
  await fails(subtle.generateKey({ name: 'AES-KW', length: 128 }, true, ['wrapKey'])),
];
"#);
    assert_eq!(
        out,
        concat!(
            r#"[true,true,"7649abac8119b246cee98e9b12e9197d","874d6191b620e3261bef6864990db6ce","#,
            r#"[["A128GCM","oct",128,14,"hi"],["A192GCM","oct",192,14,"hi"],["A256GCM","oct",256,14,"hi"]],"#,
            r#""OperationError","NotSupportedError","OperationError","InvalidAccessError","InvalidAccessError","#,
            r#""DataError","SyntaxError","SyntaxError","OperationError","InvalidAccessError","NotSupportedError"]"#
        )
    );
}

#[test]
fn ecdsa_verifies_rfc6979_and_keys_travel_in_every_format() {
    let out = run(r#"
// RFC 6979 A.2.5's P-256 key as a JWK and its signature of "sample" with SHA-256.
import { b64encode } from 'k6/encoding';
const b64url = (b) => b64encode(b, 'rawurl');
const jwk = {
  kty: 'EC', crv: 'P-256',
  d: b64url(unhex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721')),
  x: b64url(unhex('60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6')),
  y: b64url(unhex('7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299')),
};
const alg = { name: 'ECDSA', namedCurve: 'P-256' };
const priv = await subtle.importKey('jwk', jwk, alg, true, ['sign']);
const pubJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
const pub = await subtle.importKey('jwk', pubJwk, alg, true, ['verify']);
const sig = await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, priv, enc.encode('sample'));
const ok = await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, sig, enc.encode('sample'));
const rfc = unhex('efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8');
const rfcOk = await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, rfc, enc.encode('sample'));
const spki = await subtle.exportKey('spki', pub);
const raw = await subtle.exportKey('raw', pub);
const pkcs8 = await subtle.exportKey('pkcs8', priv);
const fromSpki = await subtle.importKey('spki', spki, alg, true, ['verify']);
const fromRaw = await subtle.importKey('raw', raw, alg, true, ['verify']);
const fromPkcs8 = await subtle.importKey('pkcs8', pkcs8, alg, true, ['sign']);
const again = await subtle.exportKey('jwk', fromPkcs8);
const curves = [];
for (const [namedCurve, hash] of [['P-256', 'SHA-256'], ['P-384', 'SHA-384'], ['P-521', 'SHA-512']]) {
  const pair = await subtle.generateKey({ name: 'ECDSA', namedCurve }, false, ['sign', 'verify']);
  const s = await subtle.sign({ name: 'ECDSA', hash }, pair.privateKey, enc.encode('x'));
  curves.push([s.byteLength, pair.publicKey.usages, pair.privateKey.usages, pair.publicKey.extractable,
    await subtle.verify({ name: 'ECDSA', hash }, pair.publicKey, s, enc.encode('x')),
    await subtle.verify({ name: 'ECDSA', hash }, pair.publicKey, s, enc.encode('y'))]);
}
export const result = [
  rfcOk, sig.byteLength, ok,
  await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, fromSpki, rfc, enc.encode('sample')),
  await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, fromRaw, sig, enc.encode('sample')),
  again.d === jwk.d && again.x === jwk.x && again.y === jwk.y, hex(raw).slice(0, 4), curves,
  await fails(subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pub, enc.encode('x'))),
  await fails(subtle.exportKey('raw', priv)),
  await fails(subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])),
  await fails(subtle.importKey('jwk', pubJwk, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])),
  await fails(subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-192' }, true, ['sign'])),
  await fails(subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['encrypt'])),
];
"#);
    assert_eq!(
        out,
        concat!(
            r#"[true,64,true,true,true,true,"0460","#,
            r#"[[64,["verify"],["sign"],true,true,false],[96,["verify"],["sign"],true,true,false],"#,
            r#"[132,["verify"],["sign"],true,true,false]],"#,
            r#""InvalidAccessError","InvalidAccessError","DataError","DataError","NotSupportedError","SyntaxError"]"#
        )
    );
}

#[test]
fn ecdh_derives_the_same_bits_both_ways_and_keys_from_them() {
    let out = run(r#"
const results = [];
for (const namedCurve of ['P-256', 'P-384', 'P-521']) {
  const a = await subtle.generateKey({ name: 'ECDH', namedCurve }, true, ['deriveBits', 'deriveKey']);
  const b = await subtle.generateKey({ name: 'ECDH', namedCurve }, true, ['deriveBits']);
  const ab = await subtle.deriveBits({ name: 'ECDH', public: b.publicKey }, a.privateKey, null);
  const ba = await subtle.deriveBits({ name: 'ECDH', public: a.publicKey }, b.privateKey, 128);
  results.push([ab.byteLength, hex(ab).startsWith(hex(ba)), a.publicKey.usages.length]);
}
// The NIST CAVS ECC CDH vector (P-256, COUNT = 0), keys imported as raw and PKCS #8.
const peer = await subtle.importKey('raw', unhex('04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac'), { name: 'ECDH', namedCurve: 'P-256' }, true, []);
const mine = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveKey']);
const key = await subtle.deriveKey({ name: 'ECDH', public: peer }, mine.privateKey, { name: 'AES-GCM', length: 256 }, true, ['encrypt']);
const other = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, true, ['deriveBits']);
export const result = [
  results, key.algorithm, key.type,
  await fails(subtle.deriveBits({ name: 'ECDH', public: other.publicKey }, mine.privateKey, 256)),
  await fails(subtle.deriveBits({ name: 'ECDH', public: other.publicKey }, other.privateKey, 8000)),
  await fails(subtle.importKey('raw', unhex('0400'), { name: 'ECDH', namedCurve: 'P-256' }, true, [])),
];
"#);
    assert_eq!(
        out,
        concat!(
            r#"[[[32,true,0],[48,true,0],[66,true,0]],{"name":"AES-GCM","length":256},"secret","#,
            r#""InvalidAccessError","OperationError","DataError"]"#
        )
    );
}

#[test]
fn rsa_signs_encrypts_and_travels_as_jwk_spki_and_pkcs8() {
    let out = run(r#"
const e = new Uint8Array([1, 0, 1]);
const pss = await subtle.generateKey({ name: 'RSA-PSS', modulusLength: 1024, publicExponent: e, hash: 'SHA-256' }, true, ['sign', 'verify']);
const sig = await subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, pss.privateKey, enc.encode('data'));
const jwk = await subtle.exportKey('jwk', pss.privateKey);
const pubJwk = await subtle.exportKey('jwk', pss.publicKey);
const spki = await subtle.exportKey('spki', pss.publicKey);
const pub2 = await subtle.importKey('spki', spki, { name: 'RSA-PSS', hash: 'SHA-256' }, true, ['verify']);
const priv2 = await subtle.importKey('jwk', jwk, { name: 'RSA-PSS', hash: 'SHA-256' }, true, ['sign']);
const sig2 = await subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, priv2, enc.encode('data'));
const oaep = await subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: e, hash: 'SHA-1' }, true, ['encrypt', 'decrypt']);
const sealed = await subtle.encrypt({ name: 'RSA-OAEP', label: enc.encode('l') }, oaep.publicKey, enc.encode('secret'));
const pkcs8 = await subtle.exportKey('pkcs8', oaep.privateKey);
const oaepPriv = await subtle.importKey('pkcs8', pkcs8, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['decrypt']);
const opened = await subtle.decrypt({ name: 'RSA-OAEP', label: enc.encode('l') }, oaepPriv, sealed);
const pkcs1 = await subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, false, ['sign']);
const pkcs1Pub = await subtle.importKey('jwk', pubJwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, false, ['verify']);
const s1 = await subtle.sign('RSASSA-PKCS1-v1_5', pkcs1, enc.encode('data'));
const s2 = await subtle.sign('RSASSA-PKCS1-v1_5', pkcs1, enc.encode('data'));
export const result = [
  pss.privateKey.algorithm.modulusLength, Array.from(pss.publicKey.algorithm.publicExponent), pss.publicKey.algorithm.hash,
  await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pss.publicKey, sig, enc.encode('data')),
  await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pub2, sig2, enc.encode('data')),
  await subtle.verify({ name: 'RSA-PSS', saltLength: 32 }, pub2, sig2, enc.encode('datb')),
  [jwk.kty, jwk.alg, Object.keys(jwk).filter((k) => k.length <= 2).sort().join(','), pubJwk.d === undefined],
  new TextDecoder().decode(opened), hex(s1) === hex(s2), s1.byteLength,
  await subtle.verify('RSASSA-PKCS1-v1_5', pkcs1Pub, s1, enc.encode('data')),
  (await subtle.exportKey('jwk', oaep.publicKey)).alg,
  await fails(subtle.decrypt({ name: 'RSA-OAEP' }, oaepPriv, sealed)),
  await fails(subtle.encrypt({ name: 'RSA-OAEP' }, oaep.privateKey, sealed)),
  await fails(subtle.exportKey('spki', pss.privateKey)),
  await fails(subtle.generateKey({ name: 'RSA-PSS', modulusLength: 512, publicExponent: e, hash: 'SHA-256' }, true, ['sign'])),
  await fails(subtle.generateKey({ name: 'RSA-PSS', modulusLength: 8192, publicExponent: e, hash: 'SHA-256' }, true, ['sign'])),
  await fails(subtle.generateKey({ name: 'RSA-OAEP', modulusLength: 1024, publicExponent: e, hash: 'SHA-256' }, true, ['sign'])),
  await fails(subtle.importKey('spki', enc.encode('nope'), { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])),
  await fails(subtle.importKey('raw', spki, { name: 'RSA-OAEP', hash: 'SHA-256' }, true, ['encrypt'])),
];
"#);
    assert_eq!(
        out,
        concat!(
            r#"[1024,[1,0,1],{"name":"SHA-256"},true,true,false,["RSA","PS256","d,dp,dq,e,n,p,q,qi",true],"#,
            r#""secret",true,128,true,"RSA-OAEP","OperationError","InvalidAccessError","InvalidAccessError","#,
            r#""OperationError","OperationError","SyntaxError","DataError","NotSupportedError"]"#
        )
    );
}

#[test]
fn pbkdf2_and_hkdf_derive_known_bits_and_keys() {
    let out = run(r#"
const pw = await subtle.importKey('raw', enc.encode('password'), 'PBKDF2', false, ['deriveBits', 'deriveKey']);
const bits = await subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 2, hash: 'SHA-1' }, pw, 160);
const ikm = await subtle.importKey('raw', unhex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'), 'HKDF', false, ['deriveBits']);
const okm = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: unhex('000102030405060708090a0b0c'), info: unhex('f0f1f2f3f4f5f6f7f8f9') }, ikm, 336);
const aes = await subtle.deriveKey({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1000, hash: 'SHA-256' }, pw, { name: 'AES-CBC', length: 128 }, true, ['encrypt']);
const hmac = await subtle.deriveKey({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1, hash: 'SHA-256' }, pw, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
const direct = await subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('salt'), iterations: 1000, hash: 'SHA-256' }, pw, 128);
export const result = [
  hex(bits), hex(okm), hex(await subtle.exportKey('raw', aes)) === hex(direct), hmac.algorithm.length,
  await fails(subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 0, hash: 'SHA-256' }, pw, 128)),
  await fails(subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 20000000, hash: 'SHA-256' }, pw, 128)),
  await fails(subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 1, hash: 'SHA-256' }, pw, null)),
  await fails(subtle.deriveBits({ name: 'PBKDF2', salt: enc.encode('s'), iterations: 1, hash: 'SHA-256' }, pw, 12)),
  await fails(subtle.importKey('raw', enc.encode('p'), 'PBKDF2', true, ['deriveBits'])),
  await fails(subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(), info: new Uint8Array() }, ikm, { name: 'AES-GCM', length: 128 }, true, ['encrypt'])),
];
"#);
    assert_eq!(
        out,
        concat!(
            r#"["ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957","#,
            r#""3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",true,512,"#,
            r#""OperationError","OperationError","OperationError","OperationError","SyntaxError","InvalidAccessError"]"#
        )
    );
}
