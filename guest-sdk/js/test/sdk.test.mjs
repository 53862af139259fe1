// Unit tests of the SDK under Node, with a fake host in place of the component's imports.
// Run: node --test test/
import { test } from 'node:test';
import assert from 'node:assert/strict';

// The fake host records calls; `send` answers from `respond`.
const calls = [];
let dropped = 0;
/** A fake `http.response` resource, as componentize-js hands it over: an object with methods. */
class FakeResponse {
  constructor(req) {
    this.req = req;
    this.calls = 0;
  }
  status() { this.calls++; return 200; }
  proto() { return 'HTTP/1.1'; }
  url() { return this.req.url; }
  headers() {
    this.calls++;
    return [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']];
  }
  header(name) {
    const values = this.headers().filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
    return values.length ? values.join(', ') : undefined;
  }
  body() { this.calls++; return new TextEncoder().encode('{"a":{"b":[1,2]}}'); }
  timings() {
    return { blocked: 0, connecting: 0, tlsHandshaking: 0, sending: 1, waiting: 2, receiving: 3, duration: 6 };
  }
  error() { return ''; }
  errorCode() { return 0; }
  cookies() {
    return [
      { name: 'a', value: '1', domain: '', path: '/', httpOnly: true, secure: false, maxAge: 60n, expires: 0n },
      { name: 'a', value: '2', domain: 'x', path: '', httpOnly: false, secure: true, maxAge: 0n, expires: 1700000000000n },
    ];
  }
  [Symbol.dispose ?? Symbol.for('dispose')]() { dropped++; }
}
let respond = (req) => new FakeResponse(req);
/** A fake `cookie-jar` resource: records calls, answers cookiesForUrl. */
class FakeJar {
  constructor(kind = 'own') { this.kind = kind; }
  set(...args) { calls.push(['jar.set', this.kind, ...args]); }
  cookiesForUrl(url) { calls.push(['jar.cookiesForUrl', this.kind, url]); return [['s', '1'], ['s', '2'], ['t', '3']]; }
  clear(url) { calls.push(['jar.clear', this.kind, url]); }
  delete(url, name) { calls.push(['jar.delete', this.kind, url, name]); }
}
const env = { BASE_URL: 'http://x' };
let nextHandle = 0;
globalThis.__stampedeHost = {
  http: {
    send: (req) => (calls.push(['send', req]), respond(req)),
    sendJson: (json, body, jar) => {
      const req = { ...JSON.parse(new TextDecoder().decode(json)), body, jar };
      calls.push(['send', req]);
      return respond(req);
    },
    batch: (reqs) => (calls.push(['batch', reqs]), reqs.map(respond)),
    vuCookieJar: () => new FakeJar('vu'),
    CookieJar: class extends FakeJar {},
  },
  checks: {
    check: (name, ok, tags) => (calls.push(['check', name, ok, tags]), ok),
    checkMany: (bytes) => {
      for (const [name, ok, tags = []] of JSON.parse(new TextDecoder().decode(bytes))) {
        calls.push(['check', name, ok, tags]);
      }
    },
  },
  metrics: {
    register: (name, kind, isTime) => {
      calls.push(['register', name, kind, isTime]);
      if (name === 'bad name') throw Object.assign(new Error('invalid'), { payload: 'invalid name' });
      return nextHandle++;
    },
    add: (h, v, tags) => calls.push(['add', h, v, tags]),
  },
  context: {
    info: () => ({ vuId: 3, iterationInInstance: 5n, iterationInScenario: 2n, scenario: 'default', testElapsedMs: 1234n }),
    ids: () => ({ vuIdInTest: 7, scenarioIterationInInstance: 4n, scenarioIterationInTest: 11n }),
    env: (name) => env[name],
    sleep: (s) => calls.push(['sleep', s]),
    log: (level, msg) => calls.push(['log', level, msg]),
    groupEnter: (n) => calls.push(['groupEnter', n]),
    groupExit: () => calls.push(['groupExit']),
    abortTest: (r) => calls.push(['abortTest', r]),
    failTest: (r) => calls.push(['failTest', r]),
  },
};

await import('../sdk/internal/globals.js');
const http = (await import('../sdk/http.js')).default;
const { check, group, sleep, fail } = await import('../sdk/index.js');
const { Counter, Rate, Trend } = await import('../sdk/metrics.js');
const exec = (await import('../sdk/execution.js')).default;
const { makeGuest } = await import('../sdk/internal/runtime.js');
const { flushChecks } = await import('../sdk/internal/state.js');
const { durationMs } = await import('../sdk/internal/util.js');

const last = (kind) => calls.filter((c) => c[0] === kind).at(-1);

test('http.request maps params to the WIT request record', () => {
  const res = http.post('http://x/p', { a: 1, b: 'c d' }, {
    headers: { 'X-A': 'b' },
    tags: { name: 'named', t: 'v' },
    timeout: '2s',
    redirects: 0,
  });
  const req = last('send')[1];
  assert.equal(req.method, 'POST');
  assert.equal(new TextDecoder().decode(req.body), 'a=1&b=c+d');
  assert.deepEqual(req.headers, [['X-A', 'b'], ['Content-Type', 'application/x-www-form-urlencoded']]);
  assert.deepEqual(req.tags, [['t', 'v']]);
  assert.equal(req.name, 'named');
  assert.equal(req.timeoutMs, 2000);
  assert.equal(req.maxRedirects, 0);
  assert.equal(req.discardBody, false);
  assert.equal(req.httpVersion, undefined);
  assert.equal(res.status, 200);
  assert.equal(res.headers['Content-Type'], 'application/json');
  assert.equal(res.headers['content-type'], 'application/json');
  // One name (the host's `header`) and enumerating agree: a repeated header's values joined.
  assert.equal(res.headers['Set-Cookie'], 'a=1, b=2');
  assert.deepEqual(Object.keys(res.headers), ['Content-Type', 'Set-Cookie']);
  assert.equal(JSON.stringify(res.headers), '{"Content-Type":"application/json","Set-Cookie":"a=1, b=2"}');
  assert.equal(res.headers['Set-Cookie'], 'a=1, b=2');
  assert.equal('X-None' in res.headers, false);
  assert.equal(res.json('a.b.1'), 2);
  assert.equal(res.timings.tls_handshaking, 0);
  assert.equal(res.timings.duration, 6);
});

test('cookies, jars, compression and auth map to the WIT request', () => {
  const res = http.get('http://x/', {
    cookies: { a: '1', b: { value: 2, replace: true }, skip: null },
    compression: 'gzip, br',
    auth: 'digest',
  });
  const req = last('send')[1];
  assert.deepEqual(req.cookies, [['a', '1', false], ['b', '2', true]]);
  assert.equal(req.compression, 'gzip, br');
  assert.equal(req.auth, 'digest');
  assert.deepEqual(req.jar, { tag: 'vu' });
  assert.deepEqual(res.cookies.a.map((c) => [c.value, c.http_only, c.max_age, c.expires]), [
    ['1', true, 60, 0],
    ['2', false, 0, 1700000000000],
  ]);
  http.get('http://x/', { jar: null });
  assert.deepEqual(last('send')[1].jar, { tag: 'no-jar' });
  const jar = new http.CookieJar();
  http.get('http://x/', { jar });
  assert.equal(last('send')[1].jar.tag, 'custom');
  assert.equal(last('send')[1].jar.val.kind, 'own');
  assert.throws(() => http.get('http://x/', { jar: {} }), /CookieJar/);
  assert.throws(() => http.get('http://x/', { auth: 'ntlm' }), /unsupported auth/);
  const vu = http.cookieJar();
  assert.equal(http.cookieJar(), vu);
  vu.set('http://x/', 'n', 'v', { domain: 'x', max_age: 10, secure: true, expires: 'Thu, 01 Jan 2037 00:00:00 GMT' });
  const set = last('jar.set');
  assert.equal(set[1], 'vu');
  assert.deepEqual([set[3], set[4], set[5].maxAge, set[5].expiresMs, set[5].secure], ['n', 'v', 10n, 2114380800000n, true]);
  assert.deepEqual(vu.cookiesForURL('http://x/'), { s: ['1', '2'], t: ['3'] });
  vu.delete('http://x/', 's');
  assert.deepEqual(last('jar.delete'), ['jar.delete', 'vu', 'http://x/', 's']);
  assert.throws(() => vu.set('http://x/', 'n', 'v', { expires: 'never' }), /unable to parse/);
});

test('http.get defaults and responseType none', () => {
  const res = http.get('http://x/', { responseType: 'none' });
  const req = last('send')[1];
  assert.equal(req.timeoutMs, undefined);
  assert.equal(req.name, undefined);
  assert.equal(req.body.length, 0);
  assert.equal(req.discardBody, true);
  assert.equal(res.body, null);
});

test('httpVersion is passed on as a string', () => {
  http.get('http://x/', { httpVersion: 2 });
  assert.equal(last('send')[1].httpVersion, '2');
  http.get('http://x/', { httpVersion: '1.1' });
  assert.equal(last('send')[1].httpVersion, '1.1');
});

test('http.batch keeps order and names', () => {
  const arr = http.batch(['http://x/1', ['PUT', 'http://x/2', 'b'], { url: 'http://x/3' }]);
  assert.deepEqual(last('batch')[1].map((r) => r.method + ' ' + r.url), ['GET http://x/1', 'PUT http://x/2', 'GET http://x/3']);
  assert.equal(arr[2].url, 'http://x/3');
  const obj = http.batch({ one: 'http://x/1' });
  assert.equal(obj.one.url, 'http://x/1');
});

test('check, group, sleep, fail', () => {
  assert.equal(check(1, { yes: (v) => v === 1, no: false }, { t: 'v' }), false);
  // Check results cross to the host together, at the end of the call or at a group's edge.
  assert.equal(last('check'), undefined);
  flushChecks();
  assert.deepEqual(last('check'), ['check', 'no', false, [['t', 'v']]]);
  check(2, { 'in the group': true });
  group('g', () => check(3, { 'inside': true }));
  const order = calls.filter(([c]) => c === 'check' || c === 'groupEnter').map((c) => c[1]);
  assert.deepEqual(order.slice(-3), ['in the group', 'g', 'inside'], 'queued checks are recorded before the group begins');
  assert.equal(group('g', () => 7), 7);
  assert.throws(() => group('g', () => fail('boom')), /boom/);
  assert.deepEqual(last('groupExit'), ['groupExit']);
  sleep(0.5);
  assert.deepEqual(last('sleep'), ['sleep', 0.5]);
});

test('metrics register and add', () => {
  const t = new Trend('t', true);
  assert.deepEqual(last('register'), ['register', 't', 'trend', true]);
  t.add(3, { a: 'b' });
  assert.deepEqual(last('add').slice(2), [3, [['a', 'b']]]);
  new Rate('r').add(false);
  assert.equal(last('add')[2], 0);
  new Counter('c').add(true);
  assert.equal(last('add')[2], 1);
  assert.throws(() => new Counter('bad name'), /invalid name/);
});

test('globals and execution', () => {
  assert.equal(__ENV.BASE_URL, 'http://x');
  assert.equal(__ENV.NOPE, undefined);
  assert.ok('BASE_URL' in __ENV);
  __ENV.MINE = 1;
  assert.equal(__ENV.MINE, '1');
  assert.equal(__VU, 3);
  assert.equal(exec.vu.iterationInInstance, 5);
  assert.equal(exec.vu.iterationInScenario, 2);
  assert.equal(exec.scenario.name, 'default');
  assert.equal(exec.vu.idInInstance, 3);
  assert.equal(exec.vu.idInTest, 7);
  assert.equal(exec.scenario.iterationInInstance, 4);
  assert.equal(exec.scenario.iterationInTest, 11);
  console.log('x', { a: 1 });
  assert.deepEqual(last('log'), ['log', 'info', 'x {"a":1}']);
});

test('the world exports', async () => {
  const seen = [];
  const guest = makeGuest({
    options: { vus: 2 },
    setup: () => ({ token: 't' }),
    default: (d) => seen.push(d.token),
    other: () => {
      throw new TypeError('bad');
    },
    later: async () => {
      throw 'a string';
    },
    teardown: (d) => seen.push('td ' + d.token),
  });
  assert.equal(guest.options(), '{"vus":2}');
  assert.deepEqual(guest.entryPoints(), ['default', 'other', 'later']);
  const data = await guest.setup();
  assert.ok(data instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(data), '{"token":"t"}');
  assert.equal(guest.iteration('default', data), undefined);
  const e = guest.iteration('other', data);
  assert.equal(e.tag, 'err');
  assert.match(e.val, /^TypeError: bad\n.*other/s);
  assert.deepEqual(await guest.iteration('later', data), { tag: 'err', val: 'a string' });
  assert.match(guest.iteration('nope', data).val, /no entry point named 'nope'/);
  assert.match(guest.iteration('setup', data).val, /no entry point named 'setup'/);
  assert.equal(await guest.teardown(data), undefined);
  assert.deepEqual(seen, ['t', 'td t']);
  assert.equal(new TextDecoder().decode(await makeGuest({}).setup()), 'null');
  assert.equal(makeGuest({}).options(), '{}');
});

test('responses are read lazily, once, and dropped when the call ends', async () => {
  const guest = makeGuest({
    default: () => {
      const res = http.get('http://x/');
      globalThis.kept = res;
      res.status;
      res.status;
      res.body;
      assert.equal(res.body, '{"a":{"b":[1,2]}}');
      http.batch(['http://x/1', 'http://x/2']);
    },
  });
  const before = dropped;
  assert.equal(guest.iteration('default', new Uint8Array(0)), undefined);
  assert.equal(dropped - before, 3);
  assert.equal(last('send')[1].url, 'http://x/');
  // Parts read during the iteration stay readable; the others are gone.
  assert.equal(globalThis.kept.status, 200);
  assert.throws(() => globalThis.kept.headers['content-type'], /no longer available/);
});

test('durations', () => {
  assert.equal(durationMs(250), 250);
  assert.equal(durationMs('2s'), 2000);
  assert.equal(durationMs('1m30s'), 90000);
  assert.equal(durationMs('1.5s'), 1500);
  assert.equal(durationMs('500'), 500);
  assert.throws(() => durationMs('2 s'));
  assert.throws(() => durationMs('abc'));
});
