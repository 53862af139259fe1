// The web platform's globals that k6 has and QuickJS lacks: `crypto` (WebCrypto's
// `getRandomValues`, `randomUUID` and `subtle` with SHA digests and HMAC keys), `TextEncoder`
// and `TextDecoder`. Evaluated when a script first reads one of them (`webglobals.rs`); it only
// defines globals.
//
//   const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload));
//   const id = crypto.randomUUID();

import * as native from 'stampede:crypto';
import { utf8Encode, utf8Decode } from 'stampede:text';

/** WebCrypto's errors: an Error with the DOMException name the spec gives. */
function domError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

const HASHES = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const HASH_BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };

/** An algorithm identifier (a name, or `{name, …}`) normalised: the name in its spec spelling. */
function normalize(alg) {
  const a = typeof alg === 'string' ? { name: alg } : alg;
  if (!a || typeof a.name !== 'string') throw new TypeError('an algorithm needs a name');
  const upper = a.name.toUpperCase();
  const name = upper === 'HMAC' ? 'HMAC' : Object.keys(HASHES).find((h) => h === upper) ?? a.name;
  return Object.assign({}, a, { name });
}

function hashName(hash) {
  if (hash === undefined) throw new TypeError('HMAC needs a hash (SHA-1, SHA-256, SHA-384 or SHA-512)');
  const name = normalize(hash).name;
  if (!(name in HASHES)) throw domError('NotSupportedError', `unsupported hash: ${name}`);
  return name;
}

/** The bytes of a BufferSource (an ArrayBuffer, a typed array or a DataView). */
function bufferSource(data, what) {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  throw new TypeError(`${what} must be an ArrayBuffer, a typed array or a DataView`);
}

/** A key of `crypto.subtle`; its secret is not reachable from scripts. */
class CryptoKey {
  #secret;

  constructor(secret, algorithm, extractable, usages) {
    this.#secret = secret;
    this.type = 'secret';
    this.extractable = extractable;
    this.algorithm = algorithm;
    this.usages = usages;
    Object.freeze(this);
  }

  static secretOf(key) {
    return key.#secret;
  }
}

function hmacKey(key, usage) {
  if (!(key instanceof CryptoKey) || key.algorithm.name !== 'HMAC') {
    throw domError('InvalidAccessError', 'the key is not an HMAC key');
  }
  if (!key.usages.includes(usage)) throw domError('InvalidAccessError', `the key cannot be used to ${usage}`);
  return CryptoKey.secretOf(key);
}

const HMAC_USAGES = ['sign', 'verify'];

function checkUsages(usages) {
  if (!Array.isArray(usages)) throw new TypeError('keyUsages must be an array');
  for (const u of usages) {
    if (!HMAC_USAGES.includes(u)) throw new SyntaxError(`an HMAC key cannot be used to ${u}`);
  }
  return [...usages];
}

/** Runs `fn` as an async operation: its result or exception as a promise, as WebCrypto does. */
const later = (fn) => new Promise((resolve) => resolve(fn()));

const subtle = Object.freeze({
  digest(algorithm, data) {
    return later(() => {
      const { name } = normalize(algorithm);
      if (!(name in HASHES)) throw domError('NotSupportedError', `unsupported digest algorithm: ${name}`);
      return native.digest(HASHES[name], bufferSource(data, 'data'));
    });
  },

  importKey(format, keyData, algorithm, extractable, usages) {
    return later(() => {
      const alg = normalize(algorithm);
      if (alg.name !== 'HMAC') throw domError('NotSupportedError', `importKey supports HMAC keys here, not ${alg.name}`);
      let secret;
      if (format === 'raw') secret = bufferSource(keyData, 'keyData');
      else if (format === 'jwk') secret = fromJwk(keyData);
      else throw domError('NotSupportedError', `unsupported key format for HMAC: ${format}`);
      if (secret.byteLength === 0) throw domError('DataError', 'an HMAC key cannot be empty');
      const hash = hashName(alg.hash);
      const length = alg.length ?? secret.byteLength * 8;
      return new CryptoKey(secret, { name: 'HMAC', hash: { name: hash }, length }, !!extractable, checkUsages(usages));
    });
  },

  generateKey(algorithm, extractable, usages) {
    return later(() => {
      const alg = normalize(algorithm);
      if (alg.name !== 'HMAC') throw domError('NotSupportedError', `generateKey supports HMAC keys here, not ${alg.name}`);
      const hash = hashName(alg.hash);
      const length = alg.length ?? HASH_BLOCK_BITS[hash];
      const secret = native.random(Math.ceil(length / 8));
      return new CryptoKey(secret, { name: 'HMAC', hash: { name: hash }, length }, !!extractable, checkUsages(usages));
    });
  },

  exportKey(format, key) {
    return later(() => {
      if (!(key instanceof CryptoKey)) throw new TypeError('exportKey needs a CryptoKey');
      if (!key.extractable) throw domError('InvalidAccessError', 'the key is not extractable');
      const secret = CryptoKey.secretOf(key);
      if (format === 'raw') return secret.slice(0);
      if (format === 'jwk') return toJwk(key, secret);
      throw domError('NotSupportedError', `unsupported key format: ${format}`);
    });
  },

  sign(algorithm, key, data) {
    return later(() => {
      if (normalize(algorithm).name !== 'HMAC') throw domError('NotSupportedError', 'sign supports HMAC here');
      const secret = hmacKey(key, 'sign');
      return native.hmac(HASHES[key.algorithm.hash.name], secret, bufferSource(data, 'data'));
    });
  },

  verify(algorithm, key, signature, data) {
    return later(() => {
      if (normalize(algorithm).name !== 'HMAC') throw domError('NotSupportedError', 'verify supports HMAC here');
      const secret = hmacKey(key, 'verify');
      const want = new Uint8Array(native.hmac(HASHES[key.algorithm.hash.name], secret, bufferSource(data, 'data')));
      const got = new Uint8Array(bufferSource(signature, 'signature'));
      if (want.length !== got.length) return false;
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff |= want[i] ^ got[i];
      return diff === 0;
    });
  },
});

const B64URL = (bytes) => {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  // btoa is not a QuickJS global: encode by hand (keys are short).
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const n = (s.charCodeAt(i) << 16) | ((s.charCodeAt(i + 1) || 0) << 8) | (s.charCodeAt(i + 2) || 0);
    out += chars[(n >> 18) & 63] + chars[(n >> 12) & 63];
    if (i + 1 < s.length) out += chars[(n >> 6) & 63];
    if (i + 2 < s.length) out += chars[n & 63];
  }
  return out;
};

function fromB64url(text) {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const clean = String(text).replace(/=+$/, '');
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const c of clean) {
    const v = chars.indexOf(c);
    if (v < 0) throw domError('DataError', 'the JWK\'s k is not base64url');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 255);
    }
  }
  return new Uint8Array(out).buffer;
}

function fromJwk(jwk) {
  if (!jwk || jwk.kty !== 'oct' || typeof jwk.k !== 'string') throw domError('DataError', 'an HMAC JWK needs kty "oct" and k');
  return fromB64url(jwk.k);
}

function toJwk(key, secret) {
  const bits = key.algorithm.hash.name.slice(4);
  return { kty: 'oct', k: B64URL(secret), alg: `HS${bits === '1' ? '1' : bits}`, ext: key.extractable, key_ops: [...key.usages] };
}

const INTEGER_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];

const crypto = Object.freeze({
  subtle,

  /** Fills an integer typed array with random values (at most 65,536 bytes) and returns it. */
  getRandomValues(array) {
    if (!INTEGER_ARRAYS.some((T) => array instanceof T)) {
      throw domError('TypeMismatchError', 'getRandomValues needs an integer typed array');
    }
    if (array.byteLength > 65536) {
      throw domError('QuotaExceededError', `getRandomValues: ${array.byteLength} bytes asked, 65536 at most`);
    }
    const random = new Uint8Array(native.random(array.byteLength));
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(random);
    return array;
  },

  /** A random (version 4) UUID. */
  randomUUID() {
    const b = new Uint8Array(native.random(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  },
});

/** UTF-8 only, as in k6. */
class TextEncoder {
  get encoding() {
    return 'utf-8';
  }

  encode(input = '') {
    return new Uint8Array(utf8Encode(String(input)));
  }
}

class TextDecoder {
  #fatal;

  constructor(label = 'utf-8', options = {}) {
    const l = String(label).trim().toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8' && l !== 'unicode-1-1-utf-8') {
      throw new RangeError(`TextDecoder supports utf-8 only, not '${label}'`);
    }
    this.#fatal = !!options.fatal;
  }

  get encoding() {
    return 'utf-8';
  }

  get fatal() {
    return this.#fatal;
  }

  decode(input) {
    return utf8Decode(input, this.#fatal);
  }
}

for (const [name, value] of Object.entries({ crypto, CryptoKey, TextEncoder, TextDecoder })) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
