// WebCrypto's plumbing (internal module `stampede:webcrypto-keys`): errors with DOMException
// names, algorithm names, BufferSources, base64url, and `CryptoKey`, whose key material scripts
// cannot reach. `webcrypto.js` builds `crypto.subtle` on it.

/** WebCrypto's errors: an Error with the DOMException name, `name` and `message` both
 *  enumerable, as k6's error objects are (`JSON.stringify(e)` shows both). */
export function domError(name, message) {
  const e = new Error(message);
  Object.defineProperty(e, 'name', { value: name, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(e, 'message', { value: message, enumerable: true, writable: true, configurable: true });
  return e;
}

/** Makes an error thrown by the native half (`stampede:webcrypto`) look like `domError`'s. */
export function asDomError(e) {
  if (e instanceof Error && /Error$/.test(e.name) && !(e instanceof TypeError) && !(e instanceof SyntaxError)) {
    return domError(e.name, e.message);
  }
  return e;
}

/** The hashes WebCrypto names, with k6/crypto's names for them. */
export const HASHES = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };

const NAMES = [
  'AES-CBC', 'AES-CTR', 'AES-GCM', 'AES-KW', 'ECDH', 'ECDSA', 'HMAC', 'HKDF', 'PBKDF2',
  'RSA-OAEP', 'RSA-PSS', 'RSASSA-PKCS1-v1_5', ...Object.keys(HASHES),
];

/** An algorithm identifier (a name, or `{name, …}`) normalised: the name in its spec spelling
 *  (names are case-insensitive); an unknown name is a NotSupportedError. */
export function normalize(alg) {
  const a = typeof alg === 'string' ? { name: alg } : alg;
  if (!a || typeof a.name !== 'string') throw new TypeError('an algorithm needs a name');
  const upper = a.name.toUpperCase();
  const name = NAMES.find((n) => n.toUpperCase() === upper);
  if (name === undefined) throw domError('NotSupportedError', `unsupported algorithm: ${a.name}`);
  return Object.assign({}, a, { name });
}

/** The hash named by `hash` (a name or `{name}`), for `what`. */
export function hashName(hash, what) {
  if (hash === undefined) throw new TypeError(`${what} needs a hash (SHA-1, SHA-256, SHA-384 or SHA-512)`);
  const name = normalize(hash).name;
  if (!(name in HASHES)) throw domError('NotSupportedError', `unsupported hash: ${name}`);
  return name;
}

/** The bytes of a BufferSource (an ArrayBuffer, a typed array or a DataView), copied. */
export function bufferSource(data, what) {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  throw new TypeError(`${what} must be an ArrayBuffer, a typed array or a DataView`);
}

/** An optional BufferSource: empty when absent. */
export const optionalSource = (data, what) => (data === undefined || data === null ? new ArrayBuffer(0) : bufferSource(data, what));

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Unpadded base64url of `bytes`. */
export function b64url(bytes) {
  const b = new Uint8Array(bytes);
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63];
    if (i + 1 < b.length) out += B64[(n >> 6) & 63];
    if (i + 2 < b.length) out += B64[n & 63];
  }
  return out;
}

/** The bytes of base64url (padding allowed) `text`; `what` names the JWK member. */
export function fromB64url(text, what) {
  if (typeof text !== 'string') throw domError('DataError', `the JWK's ${what} must be a base64url string`);
  const clean = text.replace(/=+$/, '');
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const c of clean) {
    const v = B64.indexOf(c);
    if (v < 0) throw domError('DataError', `the JWK's ${what} is not base64url`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 255);
    }
  }
  return new Uint8Array(out).buffer;
}

/** `bytes` left-padded with zeros to `size` (JWK numbers may drop leading zeros). */
export function padLeft(bytes, size) {
  const b = new Uint8Array(bytes);
  if (b.length >= size) return b.buffer.slice(b.length - size);
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out.buffer;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out.buffer;
}

/** A key of `crypto.subtle`; its material is not reachable from scripts. */
export class CryptoKey {
  #material;

  constructor(material, type, algorithm, extractable, usages) {
    this.#material = material;
    this.type = type;
    this.extractable = extractable;
    this.algorithm = algorithm;
    this.usages = usages;
    Object.freeze(this);
  }

  static materialOf(key) {
    return key.#material;
  }
}

/** The usages `usages` (an array) if every one is in `allowed`, else a SyntaxError. */
export function checkUsages(usages, allowed, what) {
  if (!Array.isArray(usages)) throw new TypeError('keyUsages must be an array');
  for (const u of usages) {
    if (!allowed.includes(u)) throw domError('SyntaxError', `invalid key usage: ${u} (${what} keys allow ${allowed.join(', ')})`);
  }
  return [...usages];
}

/** Checks that `key` is a CryptoKey of algorithm `name` (of `type`, if given) usable for `usage`. */
export function usable(key, name, usage, type) {
  if (!(key instanceof CryptoKey)) throw new TypeError('the key must be a CryptoKey');
  if (key.algorithm.name !== name) {
    throw domError('InvalidAccessError', `the key is a ${key.algorithm.name} key, not ${name}`);
  }
  if (type !== undefined && key.type !== type) throw domError('InvalidAccessError', `the key is not a ${type} key`);
  if (!key.usages.includes(usage)) throw domError('InvalidAccessError', `the key cannot be used to ${usage}`);
  return CryptoKey.materialOf(key);
}

/** A JWK given to importKey: an object with `kty`; checks `ext` against `extractable`. */
export function jwkOf(keyData, kty, extractable) {
  if (keyData === null || typeof keyData !== 'object' || ArrayBuffer.isView(keyData) || keyData instanceof ArrayBuffer) {
    throw new TypeError('a JWK must be an object');
  }
  if (keyData.kty !== kty) throw domError('DataError', `invalid key type: ${keyData.kty} (expected ${kty})`);
  if (keyData.ext === false && extractable) throw domError('DataError', 'the JWK is not extractable (ext is false)');
  return keyData;
}
