// A fake `stampede:host` for the engine's unit tests (native, without a host): it records every
// call in `calls` and answers requests with a canned response.
export const calls = [];
const responses = [];

function rec(name, ...args) {
  calls.push([name, ...args]);
}

export function request(...args) {
  rec('request', ...args);
  responses.push({ status: 200 });
  return responses.length;
}
// Answers at once, in a later job (the real host answers from its event loop).
export function startRequest(onDone, ...args) {
  rec('startRequest', ...args);
  responses.push({ status: 200 });
  const h = responses.length;
  Promise.resolve().then(() => onDone(h));
}
export function batch(list) {
  return list.map((args) => request(...args));
}
export const status = (h) => (rec('status', h), responses[h - 1].status);
export const proto = () => 'HTTP/1.1';
export const url = () => 'http://fake/';
export const error = () => '';
export const errorCode = () => 0;
export const timings = () => ({ blocked: 0, connecting: 0, tls_handshaking: 0, sending: 1, waiting: 2, receiving: 3, duration: 6 });
export const headers = (h) => (rec('headers', h), [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
export const header = (h, name) => undefined;
export const bodyText = (h) => (rec('bodyText', h), '{"a":{"b":[1,2]}}');
export const bodyBytes = (h) => new Uint8Array([123, 125]).buffer;
export const jsonDepth = (text, limit) => {
  let depth = 0, deepest = 0, inString = false, escaped = false;
  for (const c of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') { deepest = Math.max(deepest, ++depth); if (deepest > limit) break; }
    else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return deepest;
};
export const cookies = (h) => (rec('cookies', h), [
  { name: 'sid', value: '1', domain: '', path: '/', http_only: true, secure: false, max_age: 0, expires: 0 },
  { name: 'sid', value: '2', domain: 'fake', path: '', http_only: false, secure: true, max_age: 60, expires: 0 },
]);
let jars = 0;
export const newJar = () => ({ jar: ++jars });
export const vuJar = () => ({ jar: 'vu' });
export const jarSet = (...args) => (rec('jarSet', ...args), true);
export const jarCookies = (jar, url) => (rec('jarCookies', jar, url), { sid: ['1'] });
export const jarClear = (jar, url) => rec('jarClear', jar, url);
export const jarDelete = (jar, url, name) => rec('jarDelete', jar, url, name);
export const check = (name, ok, tags) => (rec('check', name, ok, tags ?? null), ok);
export const register = (name, kind, isTime) => (rec('register', name, kind, isTime), 7);
export const add = (id, value, tags) => rec('add', id, value, tags ?? null);
export const info = () => ({ vuId: 3, iterationInInstance: 5, iterationInScenario: 4, scenario: 'fake', testElapsedMs: 1000 });
export const ids = () => ({ vuIdInTest: 13, scenarioIterationInInstance: 4, scenarioIterationInTest: 24 });
export const env = (name) => undefined;
export const sleep = (s) => rec('sleep', s);
export const log = (level, msg) => rec('log', level, msg);
export const groupEnter = (name) => rec('groupEnter', name);
export const groupExit = () => rec('groupExit');
export const abortTest = (r) => rec('abortTest', r);
export const failTest = (r) => rec('failTest', r);
export const connection = (h) => (rec('connection', h), { remote_ip: '127.0.0.1', remote_port: 8080, tls_version: '', tls_cipher_suite: '' });
export const setResponseCallback = (exact, ranges) => rec('setResponseCallback', exact, ranges);
export const randomSeed = (s) => rec('randomSeed', s);
const vuTagValues = { scenario: 'fake' };
export const execState = () => JSON.stringify({ executor: 'constant-vus', startTime: 1700000000000, progress: 0.25, iterationsCompleted: 9, iterationsInterrupted: 1, vusActive: 2, vusInitialized: 3 });
// A test may set `globalThis.fakeExecOptions` (JSON) before the options are first read.
export const execOptions = () =>
  globalThis.fakeExecOptions ?? JSON.stringify({ vus: 2, thresholds: { checks: ['rate>0.9'] } });
export const vuTags = () => ({ ...vuTagValues });
export const setVuTag = (k, v) => { rec('setVuTag', k, v); vuTagValues[k] = v; };
export const deleteVuTag = (k) => { rec('deleteVuTag', k); delete vuTagValues[k]; };
