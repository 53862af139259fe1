// `crypto.subtle` (internal module `stampede:subtle`): digests, HMAC, AES-GCM/CBC/CTR, PBKDF2
// and HKDF here; ECDSA, ECDH and RSA in `webcrypto_asym.js`. The bytes are worked on natively
// (`stampede:webcrypto`, `stampede:crypto`); this file checks parameters, usages and formats as
// k6's webcrypto module does, with its error names.
//
//   const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']);
//   const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data);

import * as hashes from 'stampede:crypto';
import * as native from 'stampede:webcrypto';
import {
  CryptoKey, HASHES, asDomError, b64url, bufferSource, checkUsages, domError, fromB64url, hashName,
  jwkOf, normalize, optionalSource, usable,
} from 'stampede:webcrypto-keys';
import { ASYMMETRIC } from 'stampede:webcrypto-asym';

const HASH_BLOCK_BITS = { 'SHA-1': 512, 'SHA-256': 512, 'SHA-384': 1024, 'SHA-512': 1024 };
const AES_USAGES = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];

/** A whole number parameter, or a TypeError naming it. */
function integer(value, what) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || Math.floor(n) !== n) throw new TypeError(`${what} must be a non-negative integer`);
  return n;
}

/** The raw secret of a `raw` or `jwk` (kty "oct") import. */
function secretOf(format, keyData, extractable) {
  if (format === 'raw') return bufferSource(keyData, 'keyData');
  if (format === 'jwk') return fromB64url(jwkOf(keyData, 'oct', extractable).k, 'k');
  throw domError('NotSupportedError', `unsupported key format: ${format}`);
}

function exportSecret(format, key, alg) {
  const secret = CryptoKey.materialOf(key);
  if (format === 'raw') return secret.slice(0);
  if (format === 'jwk') return { kty: 'oct', k: b64url(secret), alg, ext: key.extractable, key_ops: [...key.usages] };
  throw domError('NotSupportedError', `unsupported key format: ${format}`);
}

const HMAC = {
  generate(alg, extractable, usages) {
    const hash = hashName(alg.hash, 'HMAC');
    const length = alg.length === undefined ? HASH_BLOCK_BITS[hash] : integer(alg.length, 'length');
    if (length === 0) throw domError('OperationError', 'an HMAC key cannot be empty');
    return this.make(hashes.random(Math.ceil(length / 8)), hash, length, extractable, usages);
  },
  import(format, keyData, alg, extractable, usages) {
    const secret = secretOf(format, keyData, extractable);
    if (secret.byteLength === 0) throw domError('DataError', 'an HMAC key cannot be empty');
    return this.make(secret, hashName(alg.hash, 'HMAC'), alg.length ?? secret.byteLength * 8, extractable, usages);
  },
  make(secret, hash, length, extractable, usages) {
    const algorithm = { name: 'HMAC', hash: { name: hash }, length };
    return new CryptoKey(secret, 'secret', algorithm, extractable, checkUsages(usages, ['sign', 'verify'], 'HMAC'));
  },
  export: (format, key) => exportSecret(format, key, `HS${key.algorithm.hash.name.slice(4)}`),
  sign(alg, key, data) {
    const secret = usable(key, 'HMAC', 'sign');
    return hashes.hmac(HASHES[key.algorithm.hash.name], secret, data);
  },
  verify(alg, key, signature, data) {
    const secret = usable(key, 'HMAC', 'verify');
    const want = new Uint8Array(hashes.hmac(HASHES[key.algorithm.hash.name], secret, data));
    const got = new Uint8Array(signature);
    if (want.length !== got.length) return false;
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff |= want[i] ^ got[i];
    return diff === 0;
  },
  length: (alg) => (alg.length === undefined ? HASH_BLOCK_BITS[hashName(alg.hash, 'HMAC')] : integer(alg.length, 'length')),
};

/** AES-GCM, AES-CBC and AES-CTR share keys; `op` does the mode's encryption or decryption. */
function aes(name, op) {
  const make = (secret, extractable, usages) =>
    new CryptoKey(secret, 'secret', { name, length: secret.byteLength * 8 }, extractable, checkUsages(usages, AES_USAGES, name));
  return {
    generate(alg, extractable, usages) {
      checkUsages(usages, AES_USAGES, name);
      const length = Number(alg.length);
      if (length !== 128 && length !== 192 && length !== 256) throw domError('OperationError', 'invalid key length');
      return make(hashes.random(length / 8), extractable, usages);
    },
    import(format, keyData, alg, extractable, usages) {
      checkUsages(usages, AES_USAGES, name);
      const secret = secretOf(format, keyData, extractable);
      if (![16, 24, 32].includes(secret.byteLength)) throw domError('DataError', `invalid key length ${secret.byteLength} bytes`);
      return make(secret, extractable, usages);
    },
    export: (format, key) => exportSecret(format, key, `A${key.algorithm.length}${name.slice(4)}`),
    encrypt: (alg, key, data) => op(true, alg, usable(key, name, 'encrypt'), data),
    decrypt: (alg, key, data) => op(false, alg, usable(key, name, 'decrypt'), data),
    length(alg) {
      const length = Number(alg.length);
      if (length !== 128 && length !== 192 && length !== 256) throw domError('OperationError', 'invalid key length');
      return length;
    },
  };
}

const AES_GCM = aes('AES-GCM', (encrypt, alg, secret, data) => {
  const iv = bufferSource(alg.iv, 'iv');
  const aad = optionalSource(alg.additionalData, 'additionalData');
  const tagLength = alg.tagLength === undefined ? 128 : integer(alg.tagLength, 'tagLength');
  return native.aesGcm(encrypt, secret, iv, data, aad, tagLength);
});

const AES_CBC = aes('AES-CBC', (encrypt, alg, secret, data) => native.aesCbc(encrypt, secret, bufferSource(alg.iv, 'iv'), data));

const AES_CTR = aes('AES-CTR', (encrypt, alg, secret, data) => {
  const counter = bufferSource(alg.counter, 'counter');
  return native.aesCtr(secret, counter, integer(alg.length, 'length'), data);
});

/** PBKDF2 and HKDF keys: raw secrets that only derive. */
function kdf(name, derive) {
  return {
    import(format, keyData, alg, extractable, usages) {
      if (format !== 'raw') throw domError('NotSupportedError', `${name} keys are imported raw, not as ${format}`);
      if (extractable) throw domError('SyntaxError', `${name} keys cannot be extractable`);
      const secret = bufferSource(keyData, 'keyData');
      return new CryptoKey(secret, 'secret', { name }, false, checkUsages(usages, ['deriveKey', 'deriveBits'], name));
    },
    deriveBits(alg, key, length) {
      const secret = usable(key, name, 'deriveBits');
      if (length === null || length === undefined) throw domError('OperationError', 'length cannot be null');
      return derive(alg, secret, integer(length, 'length'));
    },
  };
}

const PBKDF2 = kdf('PBKDF2', (alg, secret, length) => {
  const hash = HASHES[hashName(alg.hash, 'PBKDF2')];
  return native.pbkdf2(hash, secret, bufferSource(alg.salt, 'salt'), integer(alg.iterations, 'iterations'), length);
});

const HKDF = kdf('HKDF', (alg, secret, length) => {
  const hash = HASHES[hashName(alg.hash, 'HKDF')];
  return native.hkdf(hash, secret, bufferSource(alg.salt, 'salt'), bufferSource(alg.info, 'info'), length);
});

const ALGORITHMS = Object.assign(
  { HMAC, 'AES-GCM': AES_GCM, 'AES-CBC': AES_CBC, 'AES-CTR': AES_CTR, PBKDF2, HKDF },
  ASYMMETRIC,
);

/** The handler of `algorithm` for operation `op`, and the normalised algorithm. */
function handler(algorithm, op) {
  const alg = normalize(algorithm);
  const h = ALGORITHMS[alg.name];
  if (h === undefined || h[op] === undefined) throw domError('NotSupportedError', `${op} is not supported for ${alg.name}`);
  return [h, alg];
}

/** Runs `fn` as an async operation: its result or exception as a promise, as WebCrypto does. */
const later = (fn) =>
  new Promise((resolve) => resolve(fn())).catch((e) => {
    throw asDomError(e);
  });

/** Checks a new key's usages: a secret or private key needs one, as k6 says. */
function withUsages(result) {
  const keys = result instanceof CryptoKey ? [result] : [result.privateKey];
  for (const k of keys) {
    if (k.type !== 'public' && k.usages.length === 0) throw domError('SyntaxError', 'usages cannot not be empty for a secret or private CryptoKey');
  }
  return result;
}

const KEY_FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];

export const subtle = Object.freeze({
  digest(algorithm, data) {
    return later(() => {
      const { name } = normalize(algorithm);
      if (!(name in HASHES)) throw domError('NotSupportedError', `unsupported digest algorithm: ${name}`);
      return hashes.digest(HASHES[name], bufferSource(data, 'data'));
    });
  },

  generateKey(algorithm, extractable, usages) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'generate');
      return withUsages(h.generate(alg, !!extractable, usages));
    });
  },

  importKey(format, keyData, algorithm, extractable, usages) {
    return later(() => {
      if (!KEY_FORMATS.includes(format)) throw new TypeError(`invalid key format: ${format} (use ${KEY_FORMATS.join(', ')})`);
      const [h, alg] = handler(algorithm, 'import');
      return withUsages(h.import(format, keyData, alg, !!extractable, usages));
    });
  },

  exportKey(format, key) {
    return later(() => {
      if (!(key instanceof CryptoKey)) throw new TypeError('exportKey needs a CryptoKey');
      if (!KEY_FORMATS.includes(format)) throw new TypeError(`invalid key format: ${format} (use ${KEY_FORMATS.join(', ')})`);
      const h = ALGORITHMS[key.algorithm.name];
      if (h.export === undefined) throw domError('NotSupportedError', `${key.algorithm.name} keys cannot be exported`);
      if (!key.extractable) throw domError('InvalidAccessError', 'the key is not extractable');
      return h.export(format, key);
    });
  },

  encrypt(algorithm, key, data) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'encrypt');
      return h.encrypt(alg, key, bufferSource(data, 'data'));
    });
  },

  decrypt(algorithm, key, data) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'decrypt');
      return h.decrypt(alg, key, bufferSource(data, 'data'));
    });
  },

  sign(algorithm, key, data) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'sign');
      return h.sign(alg, key, bufferSource(data, 'data'));
    });
  },

  verify(algorithm, key, signature, data) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'verify');
      return h.verify(alg, key, bufferSource(signature, 'signature'), bufferSource(data, 'data'));
    });
  },

  deriveBits(algorithm, baseKey, length) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'deriveBits');
      if (length !== null && length !== undefined && length % 8 !== 0) {
        throw domError('OperationError', 'currently only multiples of 8 are supported for length');
      }
      return h.deriveBits(alg, baseKey, length);
    });
  },

  deriveKey(algorithm, baseKey, derivedKeyType, extractable, usages) {
    return later(() => {
      const [h, alg] = handler(algorithm, 'deriveBits');
      const [target, targetAlg] = handler(derivedKeyType, 'import');
      if (target.length === undefined) throw domError('NotSupportedError', `cannot derive a ${targetAlg.name} key`);
      if (!(baseKey instanceof CryptoKey) || !baseKey.usages.includes('deriveKey')) {
        throw domError('InvalidAccessError', 'the base key cannot be used to deriveKey');
      }
      // The derivation is checked against deriveKey, not deriveBits: use a view with it.
      const bits = h.deriveBits(alg, withDeriveBits(baseKey), target.length(targetAlg));
      return withUsages(target.import('raw', bits, targetAlg, !!extractable, usages));
    });
  },
});

/** `key` as a key allowed to deriveBits (deriveKey was checked). */
function withDeriveBits(key) {
  if (key.usages.includes('deriveBits')) return key;
  return new CryptoKey(CryptoKey.materialOf(key), key.type, key.algorithm, false, [...key.usages, 'deriveBits']);
}

export { CryptoKey };
