// The web platform's globals that k6 has and QuickJS lacks: `crypto` (WebCrypto's
// `getRandomValues`, `randomUUID` and `subtle`, from `webcrypto.js`), `TextEncoder`
// and `TextDecoder`. Evaluated when a script first reads one of them (`webglobals.rs`); it only
// defines globals.
//
//   const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(payload));
//   const id = crypto.randomUUID();

import * as native from 'stampede:crypto';
import { utf8Encode, utf8Decode } from 'stampede:text';
import { subtle, CryptoKey } from 'stampede:subtle';
import { domError } from 'stampede:webcrypto-keys';

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
