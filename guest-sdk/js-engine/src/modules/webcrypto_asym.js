// WebCrypto's key pairs (internal module `stampede:webcrypto-asym`): ECDSA and ECDH on P-256,
// P-384 and P-521; RSA-OAEP, RSA-PSS and RSASSA-PKCS1-v1_5. An EC key's material is its
// scalar `d` (private keys) and uncompressed point; an RSA key's is its PKCS #8 or SPKI DER.

import * as native from 'stampede:webcrypto';
import {
  CryptoKey, HASHES, b64url, bufferSource, checkUsages, concat, domError, fromB64url, hashName, jwkOf,
  padLeft, usable,
} from 'stampede:webcrypto-keys';

const FIELD_BYTES = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** `usages` that `allowed` has. */
const intersect = (usages, allowed) => usages.filter((u) => allowed.includes(u));

/** A pair's two keys; the public one is always extractable. */
function pair(privateMaterial, publicMaterial, algorithm, extractable, usages, privateUsages, publicUsages) {
  return {
    privateKey: new CryptoKey(privateMaterial, 'private', algorithm, extractable, intersect(usages, privateUsages)),
    publicKey: new CryptoKey(publicMaterial, 'public', algorithm, true, intersect(usages, publicUsages)),
  };
}

function curveOf(alg) {
  const curve = alg.namedCurve;
  if (!(curve in FIELD_BYTES)) throw domError('NotSupportedError', `unsupported named curve: ${curve} (use P-256, P-384 or P-521)`);
  return curve;
}

/** ECDSA (`sign`/`verify`) or ECDH (`deriveKey`/`deriveBits` on the private key only). */
function ec(name, privateUsages, publicUsages) {
  const allowed = [...privateUsages, ...publicUsages];
  const key = (d, point, curve, extractable, usages) => {
    const type = d === null ? 'public' : 'private';
    const ok = checkUsages(usages, type === 'public' ? publicUsages : privateUsages, `${name} ${type}`);
    return new CryptoKey({ d, point }, type, { name, namedCurve: curve }, extractable, ok);
  };
  return {
    generate(alg, extractable, usages) {
      const curve = curveOf(alg);
      checkUsages(usages, allowed, name);
      const [d, point] = native.ecGenerate(curve);
      return pair({ d, point }, { d: null, point }, { name, namedCurve: curve }, extractable, usages, privateUsages, publicUsages);
    },
    import(format, keyData, alg, extractable, usages) {
      const curve = curveOf(alg);
      if (format === 'raw' || format === 'spki') {
        return key(null, native.ecImportPublic(curve, format, bufferSource(keyData, 'keyData')), curve, extractable, usages);
      }
      if (format === 'pkcs8') {
        const [d, point] = native.ecImportPrivate(curve, 'pkcs8', bufferSource(keyData, 'keyData'));
        return key(d, point, curve, extractable, usages);
      }
      const jwk = jwkOf(keyData, 'EC', extractable);
      if (jwk.crv !== curve) throw domError('DataError', `the JWK's curve ${jwk.crv} is not ${curve}`);
      const size = FIELD_BYTES[curve];
      const raw = concat(new Uint8Array([4]).buffer, padLeft(fromB64url(jwk.x, 'x'), size), padLeft(fromB64url(jwk.y, 'y'), size));
      const point = native.ecImportPublic(curve, 'raw', raw);
      if (jwk.d === undefined) return key(null, point, curve, extractable, usages);
      const [d, derived] = native.ecImportPrivate(curve, 'd', padLeft(fromB64url(jwk.d, 'd'), size));
      if (b64url(derived) !== b64url(point)) throw domError('DataError', "the JWK's d does not match its x and y");
      return key(d, point, curve, extractable, usages);
    },
    export(format, k) {
      const { d, point } = CryptoKey.materialOf(k);
      const curve = k.algorithm.namedCurve;
      if (format === 'jwk') {
        const size = FIELD_BYTES[curve];
        const jwk = { kty: 'EC', crv: curve, x: b64url(point.slice(1, 1 + size)), y: b64url(point.slice(1 + size)) };
        if (d !== null) jwk.d = b64url(d);
        return Object.assign(jwk, { ext: k.extractable, key_ops: [...k.usages] });
      }
      if (format === 'pkcs8') {
        if (d === null) throw domError('InvalidAccessError', 'only a private key exports as pkcs8');
        return native.ecExportPkcs8(curve, d);
      }
      if (d !== null) throw domError('InvalidAccessError', `only a public key exports as ${format}`);
      return format === 'raw' ? point.slice(0) : native.ecExportSpki(curve, point);
    },
  };
}

const ECDSA = Object.assign(ec('ECDSA', ['sign'], ['verify']), {
  sign(alg, key, data) {
    const hash = HASHES[hashName(alg.hash, 'ECDSA')];
    const { d } = usable(key, 'ECDSA', 'sign', 'private');
    return native.ecdsaSign(key.algorithm.namedCurve, hash, d, data);
  },
  verify(alg, key, signature, data) {
    const hash = HASHES[hashName(alg.hash, 'ECDSA')];
    const { point } = usable(key, 'ECDSA', 'verify', 'public');
    return native.ecdsaVerify(key.algorithm.namedCurve, hash, point, signature, data);
  },
});

const ECDH = Object.assign(ec('ECDH', ['deriveKey', 'deriveBits'], []), {
  deriveBits(alg, key, length) {
    const { d } = usable(key, 'ECDH', 'deriveBits', 'private');
    const peer = alg.public;
    if (!(peer instanceof CryptoKey) || peer.algorithm.name !== 'ECDH' || peer.type !== 'public') {
      throw domError('InvalidAccessError', 'algorithm.public must be an ECDH public key');
    }
    if (peer.algorithm.namedCurve !== key.algorithm.namedCurve) {
      throw domError('InvalidAccessError', 'the keys are on different curves');
    }
    const bits = native.ecdh(key.algorithm.namedCurve, d, CryptoKey.materialOf(peer).point);
    if (length === null || length === undefined) return bits;
    if (length / 8 > bits.byteLength) throw domError('OperationError', 'length is too large');
    return bits.slice(0, length / 8);
  },
});

/** The JWK `alg` of an RSA key. */
function rsaJwkAlg(name, hash) {
  const bits = hash.slice(4);
  if (name === 'RSA-OAEP') return bits === '1' ? 'RSA-OAEP' : `RSA-OAEP-${bits}`;
  return `${name === 'RSA-PSS' ? 'PS' : 'RS'}${bits}`;
}

const JWK_RSA = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'];

/** RSA keys of `name`; `privateUsages` and `publicUsages` are what each half may do. */
function rsa(name, privateUsages, publicUsages) {
  const algorithm = (bits, e, hash) => ({ name, modulusLength: bits, publicExponent: new Uint8Array(e), hash: { name: hash } });
  const key = ([der, bits, e], type, hash, extractable, usages) => {
    const ok = checkUsages(usages, type === 'public' ? publicUsages : privateUsages, `${name} ${type}`);
    return new CryptoKey(der, type, algorithm(bits, e, hash), extractable, ok);
  };
  return {
    generate(alg, extractable, usages) {
      const hash = hashName(alg.hash, name);
      checkUsages(usages, [...privateUsages, ...publicUsages], name);
      const bits = Number(alg.modulusLength);
      const e = bufferSource(alg.publicExponent, 'publicExponent');
      const [pkcs8, spki] = native.rsaGenerate(bits, e);
      return pair(pkcs8, spki, algorithm(bits, e, hash), extractable, usages, privateUsages, publicUsages);
    },
    import(format, keyData, alg, extractable, usages) {
      const hash = hashName(alg.hash, name);
      if (format === 'spki') return key(native.rsaImportPublic(bufferSource(keyData, 'keyData')), 'public', hash, extractable, usages);
      if (format === 'pkcs8') return key(native.rsaImportPrivate(bufferSource(keyData, 'keyData')), 'private', hash, extractable, usages);
      if (format !== 'jwk') throw domError('NotSupportedError', `RSA keys are not imported as ${format}`);
      const jwk = jwkOf(keyData, 'RSA', extractable);
      const isPrivate = jwk.d !== undefined;
      const names = isPrivate ? (jwk.p === undefined ? JWK_RSA.slice(0, 3) : JWK_RSA.slice(0, 5)) : JWK_RSA.slice(0, 2);
      const parts = names.map((n) => fromB64url(jwk[n], n));
      return key(native.rsaFromJwk(parts), isPrivate ? 'private' : 'public', hash, extractable, usages);
    },
    export(format, k) {
      const der = CryptoKey.materialOf(k);
      if (format === 'spki' || format === 'pkcs8') {
        if ((format === 'spki') !== (k.type === 'public')) {
          throw domError('InvalidAccessError', `a ${k.type} key does not export as ${format}`);
        }
        return der.slice(0);
      }
      if (format !== 'jwk') throw domError('NotSupportedError', `RSA keys are not exported as ${format}`);
      const jwk = { kty: 'RSA' };
      native.rsaToJwk(der, k.type === 'private').forEach((part, i) => {
        jwk[JWK_RSA[i]] = b64url(part);
      });
      return Object.assign(jwk, { alg: rsaJwkAlg(name, k.algorithm.hash.name), ext: k.extractable, key_ops: [...k.usages] });
    },
  };
}

const hashOf = (key) => HASHES[key.algorithm.hash.name];

const RSA_OAEP = Object.assign(rsa('RSA-OAEP', ['decrypt', 'unwrapKey'], ['encrypt', 'wrapKey']), {
  encrypt(alg, key, data) {
    const der = usable(key, 'RSA-OAEP', 'encrypt', 'public');
    const label = alg.label === undefined ? new ArrayBuffer(0) : bufferSource(alg.label, 'label');
    return native.rsaEncrypt(hashOf(key), der, label, data);
  },
  decrypt(alg, key, data) {
    const der = usable(key, 'RSA-OAEP', 'decrypt', 'private');
    const label = alg.label === undefined ? new ArrayBuffer(0) : bufferSource(alg.label, 'label');
    return native.rsaDecrypt(hashOf(key), der, label, data);
  },
});

/** RSA-PSS (`salted`) or RSASSA-PKCS1-v1_5 signatures. */
function rsaSigner(name, salted) {
  const saltOf = (alg) => {
    if (!salted) return null;
    const n = Number(alg.saltLength);
    if (!Number.isInteger(n) || n < 0) throw new TypeError('RSA-PSS needs a saltLength (a non-negative integer)');
    return n;
  };
  return Object.assign(rsa(name, ['sign'], ['verify']), {
    sign: (alg, key, data) => native.rsaSign(hashOf(key), usable(key, name, 'sign', 'private'), saltOf(alg), data),
    verify: (alg, key, signature, data) =>
      native.rsaVerify(hashOf(key), usable(key, name, 'verify', 'public'), saltOf(alg), signature, data),
  });
}

export const ASYMMETRIC = {
  ECDSA,
  ECDH,
  'RSA-OAEP': RSA_OAEP,
  'RSA-PSS': rsaSigner('RSA-PSS', true),
  'RSASSA-PKCS1-v1_5': rsaSigner('RSASSA-PKCS1-v1_5', false),
};
