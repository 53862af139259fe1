//! Unit tests of k6's API beyond HTTP (`k6/encoding`, `k6/crypto`, WebCrypto, `k6/data`,
//! `open`, `k6/html`), run natively in a bare runtime: each test is a module whose `result`
//! export is compared as JSON. Expected values come from RFCs and other implementations, not
//! from this code.

use rquickjs::{CatchResultExt, Context, Module, Runtime, Value};

use crate::loader;

/// Evaluates `source` as the module `name` (it may import the built-ins and use top-level
/// `await`) in a VU's init context, and returns its `result` export as JSON, or the error.
fn eval_at(name: &str, source: &str) -> Result<String, String> {
    let rt = Runtime::new().unwrap();
    rt.set_loader(loader::Resolver, loader::Loader);
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        super::install_globals(&ctx).unwrap();
        super::files::enter_init();
        let result = (|| {
            let module = Module::declare(ctx.clone(), name, source)?;
            let (module, promise) = module.eval()?;
            promise.finish::<Value>()?;
            let result: Value = module.get("result")?;
            ctx.json_stringify(result)?
                .map(|s| s.to_string())
                .transpose()
        })();
        super::files::leave_init();
        result
            .catch(&ctx)
            .map(Option::unwrap_or_default)
            .map_err(|e| crate::vm::describe(&e))
    })
}

pub(super) fn eval(source: &str) -> String {
    eval_at("/test/script.js", source).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn encoding_round_trips_every_variant() {
    let out = eval(
        r#"
import encoding, { b64encode, b64decode } from 'k6/encoding';
const bytes = new Uint8Array([0xfb, 0xff, 0xfe, 0x61]);
export const result = [
  b64encode('hello, world'),
  encoding.b64encode(bytes.buffer, 'rawstd'),
  b64encode(bytes, 'url'),
  b64encode(bytes, 'rawurl'),
  b64decode('aGVsbG8sIHdvcmxk', 'std', 's'),
  Array.from(new Uint8Array(b64decode('-__-YQ', 'rawurl'))),
  b64decode('w6lsw6h2ZQ==', 'std', 's'),
  b64decode('aGk=', null, 's') + b64encode('hi', undefined),
];
"#,
    );
    assert_eq!(
        out,
        r#"["aGVsbG8sIHdvcmxk","+//+YQ","-__-YQ==","-__-YQ","hello, world",[251,255,254,97],"élève","hiaGk="]"#
    );
    let e = eval_at(
        "/t.js",
        "import { b64decode } from 'k6/encoding'; b64decode('not base64!');",
    )
    .unwrap_err();
    assert!(e.contains("illegal base64 data at input byte"), "{e}");
}

#[test]
fn crypto_hashes_hmacs_and_hashers() {
    let out = eval(
        r#"
import crypto from 'k6/crypto';
const h = crypto.createHash('sha1');
h.update('The quick brown fox ');
const partial = h.digest('hex');
h.update('jumps over the lazy dog');
const mac = crypto.createHMAC('sha256', 'key');
mac.update('The quick brown fox jumps over the lazy dog');
export const result = [
  crypto.md5('', 'hex'),
  crypto.sha256('abc', 'hex'),
  crypto.sha512_256('abc', 'base64'),
  crypto.ripemd160('abc', 'hex'),
  h.digest('hex'),
  partial !== h.digest('hex'),
  mac.digest('hex'),
  crypto.hmac('md5', 'key', 'The quick brown fox jumps over the lazy dog', 'hex'),
  new Uint8Array(crypto.sha1('abc', 'binary')).length,
  crypto.randomBytes(16).byteLength,
];
"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"["d41d8cd98f00b204e9800998ecf8427e","#,
            r#""ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","#,
            r#""UwSOJoGUHvmbLim3a0x9q+TC0MY0/G1G4OLxMQfnryM=","#,
            r#""8eb208f7e05d987a9b044a8e98c6b087f15a0bfc","#,
            r#""2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",true,"#,
            r#""f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8","#,
            r#""80070713463e7749b90c2dc24911e275",20,16]"#
        )
    );
    let e = eval_at(
        "/t.js",
        "import { createHash } from 'k6/crypto'; createHash('sha3');",
    )
    .unwrap_err();
    assert!(e.contains("invalid algorithm: sha3"), "{e}");
}

#[test]
fn webcrypto_digests_and_signs() {
    let out = eval(
        r#"
const enc = new TextEncoder();
const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
const key = await crypto.subtle.importKey('raw', enc.encode('key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
const data = enc.encode('The quick brown fox jumps over the lazy dog');
const sig = await crypto.subtle.sign('HMAC', key, data);
const good = await crypto.subtle.verify('HMAC', key, sig, data);
const bad = await crypto.subtle.verify('HMAC', key, sig, enc.encode('other'));
let refused = '';
try { await crypto.subtle.digest('MD5', data); } catch (e) { refused = e.name; }
const id = crypto.randomUUID();
const filled = crypto.getRandomValues(new Uint32Array(8));
export const result = [
  hex(await crypto.subtle.digest('SHA-256', enc.encode('abc'))),
  hex(await crypto.subtle.digest({ name: 'sha-1' }, new Uint8Array([97, 98, 99]))),
  hex(sig), good, bad, refused,
  /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id),
  filled.some((x) => x !== 0),
  new TextDecoder().decode(enc.encode('été')),
];
"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad","#,
            r#""a9993e364706816aba3e25717850c26c9cd0d89d","#,
            r#""f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8","#,
            r#"true,false,"NotSupportedError",true,true,"été"]"#
        )
    );
}

#[test]
fn open_reads_files_relative_to_the_calling_module() {
    let dir = std::env::temp_dir().join(format!("stampede-open-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("data/users.json"),
        r#"[{"name":"ada"},{"name":"bob"}]"#,
    )
    .unwrap();
    std::fs::write(dir.join("blob.bin"), [0u8, 159, 255]).unwrap();
    let name = format!("{}/script.js", dir.display());
    let out = eval_at(
        &name,
        r#"
const users = JSON.parse(open('./data/users.json'));
const blob = new Uint8Array(open('blob.bin', 'b'));
let missing = '';
try { open('nope.txt'); } catch (e) { missing = e.message; }
export const result = [users[1].name, Array.from(blob), missing.startsWith("open('nope.txt'): ")];
"#,
    )
    .unwrap();
    assert_eq!(out, r#"["bob",[0,159,255],true]"#);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn open_and_shared_array_refuse_to_run_outside_the_init_context() {
    let rt = Runtime::new().unwrap();
    rt.set_loader(loader::Resolver, loader::Loader);
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        super::install_globals(&ctx).unwrap();
        super::files::leave_init();
        let e = ctx
            .eval::<Value, _>("open('/etc/hostname')")
            .catch(&ctx)
            .unwrap_err();
        let e = crate::vm::describe(&e);
        assert!(e.contains("only be called in the init context"), "{e}");
        let e = Module::declare(
            ctx.clone(),
            "/t/late.js",
            "import { SharedArray } from 'k6/data'; new SharedArray('late', () => [1]);",
        )
        .and_then(|m| m.eval())
        .and_then(|(_, p)| p.finish::<Value>())
        .catch(&ctx)
        .unwrap_err();
        let e = crate::vm::describe(&e);
        assert!(e.contains("can only be made in the init context"), "{e}");
    });
}

#[test]
fn shared_arrays_are_read_only_and_made_once_per_name() {
    let out = eval(
        r#"
import { SharedArray } from 'k6/data';
let calls = 0;
const users = new SharedArray('users', () => { calls++; return [{ name: 'ada', tags: ['a'] }, { name: 'bob' }, 3]; });
const again = new SharedArray('users', () => { calls++; return []; });
const errors = [];
for (const f of [
  () => { users[0] = 1; },
  () => { users[0].name = 'eve'; },
  () => { users[0].tags.push('b'); },
  () => { users.push(4); },
  () => new SharedArray('bad', () => 'text'),
  () => new SharedArray('', () => []),
]) {
  try { f(); errors.push('none'); } catch (e) { errors.push(e.name); }
}
const names = [];
for (const u of users) names.push(typeof u === 'object' ? u.name : u);
export const result = [
  users.length, again.length, calls, users[1].name, users[5], names,
  users.map((u) => typeof u).join(','), users.filter((u) => u === 3).length,
  errors, Object.keys(users), users instanceof SharedArray,
  // An array, as k6's: to Array.isArray, JSON and concat.
  Array.isArray(users), JSON.stringify(users), [].concat(users).length, users.slice(1, 2).length,
];
"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"[3,3,1,"bob",null,["ada","bob",3],"object,object,number",1,"#,
            r#"["TypeError","TypeError","TypeError","TypeError","TypeError","TypeError"],"#,
            r#"["0","1","2"],true,"#,
            r#"true,"[{\"name\":\"ada\",\"tags\":[\"a\"]},{\"name\":\"bob\"},3]",3,1]"#
        )
    );
}

#[test]
fn html_is_queried_with_css_selectors() {
    let out = eval(
        r#"
import { parseHTML } from 'k6/html';
const doc = parseHTML(`<html><body>
  <div id="a" class="box"><p>one <b>two</b></p><p class="x">three</p></div>
  <select name="s"><option value="1">a</option><option selected>b</option></select>
  <textarea>t&lt;x</textarea><input type="checkbox" name="c"><button value="go">Go</button>
</body></html>`);
const seen = [];
doc.find('p').each((i, el) => seen.push(`${i}:${el.nodeName()}:${el.textContent()}`));
let bad = '';
try { doc.find('p[[['); } catch (e) { bad = e.name; }
export const result = [
  seen,
  doc.find('p').map((i, s) => s.text()),
  doc.find('div.box > p.x').text(),
  doc.find('p').eq(-1).attr('class'),
  doc.find('p').attr('class', 'none'),
  doc.find('b').closest('div').attr('id'),
  doc.find('b').parents('div').size(),
  doc.find('p').first().next().text(),
  doc.find('p').last().prev().html(),
  doc.find('p').filter('.x').size(), doc.find('p').not('.x').size(),
  doc.find('p').filter((i) => i === 0).text(),
  doc.find('p').slice(1).text(),
  doc.find('#a').children('p').toArray().length,
  doc.find('select').val(), doc.find('option').first().val(), doc.find('textarea').val(),
  doc.find('input').val(), doc.find('button').val(), doc.find('div').val(),
  doc.find('div').get(0).querySelectorAll('p').length,
  Object.keys(doc.find('div').get(0).attributes()).sort(),
  doc.find('nothing').attr('x'), doc.find('nothing').html(), bad,
];
"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"[["0:p:one two","1:p:three"],["one two","three"],"three","x","none","a",1,"#,
            r#""three","one <b>two</b>",1,1,"one two","three",2,"b","1","t&lt;x","on","go",null,"#,
            r#"2,["class","id"],null,null,"SyntaxError"]"#
        )
    );
}

#[test]
fn html_has_k6_s_traversal_data_and_forms() {
    let out = eval(
        r#"
import { parseHTML } from 'k6/html';
const doc = parseHTML(`<dl>
  <dt id="t1">one</dt><dd>1a</dd><dd class="b">1b</dd>
  <dt id="t2">two</dt><dd>2a</dd>
</dl>
<h1 data-user-id="42" data-flags='{"a":true}' data-on="true" data-name="x">Hi <!-- c --></h1>
<form>
  <input name="q" value="a b&c"><input name="skip" disabled="disabled" value="x">
  <input type="checkbox" name="box" checked="checked"><input type="checkbox" name="off">
  <input type="submit" name="go" value="Go">
  <select name="m" multiple><option selected>p</option><option value="r" selected>R</option></select>
  <textarea name="t">text</textarea>
</form>`);
const f = doc.find('form');
export const result = [
  doc.find('#t1').nextUntil('dt').size(),
  doc.find('#t1').nextUntil('#t2', '.b').text(),
  doc.find('#t2').prevAll('dd').size(),
  doc.find('#t1').nextAll().size(),
  doc.find('dd').first().parentsUntil('body').size(),
  doc.find('dl').children().filter((i, s) => s.text() === '2a').text(),
  doc.find('dd').not(doc.find('.b')).size(),
  doc.find('dl').has('.b').size(), doc.find('dl').has('form').size(),
  doc.find('h1').contents().size(), doc.find('dd.b').index(),
  doc.find('h1').data(), doc.find('h1').data('userId'), doc.find('h1').data('nope'),
  f.serialize(), f.serializeObject(), doc.find('input').serializeArray().length,
];
"#,
    );
    // The same as k6 v2.2 gives, but for the order of `data()`'s keys (Go's map order is
    // random; here it is the document's).
    assert_eq!(
        out,
        concat!(
            r#"[2,"1b",2,4,1,"2a",2,1,0,2,2,"#,
            r#"{"userID":42,"flags":{"a":true},"on":true,"name":"x"},42,null,"#,
            r#""box=on&m=p&m=r&q=a+b%26c&t=text",{"q":"a b&c","box":"on","m":["p","r"],"t":"text"},2]"#
        )
    );
}

#[test]
fn web_globals_are_made_when_first_read() {
    let out = eval(
        r#"
const before = typeof Object.getOwnPropertyDescriptor(globalThis, 'TextEncoder').get;
const bytes = new TextEncoder().encode('hé').length;
const after = typeof Object.getOwnPropertyDescriptor(globalThis, 'crypto').get;
const same = globalThis.crypto === crypto && typeof CryptoKey === 'function';
globalThis.TextDecoder = 'mine';
export const result = [before, bytes, after, same, TextDecoder];
"#,
    );
    assert_eq!(out, r#"["function",3,"undefined",true,"mine"]"#);
}

#[test]
fn execution_shows_the_test_and_sets_the_vu_s_tags() {
    let out = eval(
        r#"
import exec from 'k6/execution';
exec.vu.tags.step = 'pay';
exec.vu.tags.n = 3;
let refused = '';
try { exec.vu.tags.bad = { no: 1 }; } catch (e) { refused = e.name; }
const before = JSON.stringify(exec.vu.tags);
delete exec.vu.tags.step;
export const result = [
  before,
  JSON.stringify(exec.vu.metrics.tags),
  'step' in exec.vu.tags,
  exec.scenario.executor,
  exec.scenario.startTime,
  exec.scenario.progress,
  exec.instance.iterationsCompleted,
  exec.instance.iterationsInterrupted,
  exec.instance.vusActive,
  exec.instance.vusInitialized,
  exec.test.options.vus,
  Object.isFrozen(exec.test.options.thresholds.checks),
  refused,
];
"#,
    );
    assert_eq!(
        out,
        r#"["{\"scenario\":\"fake\",\"step\":\"pay\",\"n\":\"3\"}","{\"scenario\":\"fake\",\"n\":\"3\"}",false,"constant-vus",1700000000000,0.25,9,1,2,3,2,true,"TypeError"]"#
    );
}

#[test]
fn jslib_k6_summary_writes_the_classic_text_and_junit() {
    let out = eval(
        r#"
import { textSummary, jUnit, humanizeValue } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';
const data = {
  root_group: { name: '', path: '', groups: [
    { name: 'g', path: '::g', groups: [], checks: [{ name: 'bad', passes: 1, fails: 3 }] },
  ], checks: [{ name: 'ok', passes: 2, fails: 0 }] },
  options: { summaryTrendStats: ['avg', 'p(95)'], summaryTimeUnit: '' },
  metrics: {
    iterations: { type: 'counter', contains: 'default', values: { count: 4, rate: 2 } },
    'http_req_duration{s:1}': { type: 'trend', contains: 'time', values: { avg: 1, 'p(95)': 2 } },
    http_req_duration: { type: 'trend', contains: 'time', values: { avg: 12.3456, 'p(95)': 1500 },
      thresholds: { 'p(95)<2000': { ok: true } } },
    checks: { type: 'rate', contains: 'default', values: { rate: 0.5, passes: 3, fails: 3 },
      thresholds: { 'rate>0.9': { ok: false } } },
  },
};
export const result = [
  textSummary(data, { indent: ' ', enableColors: false }),
  jUnit(data),
  humanizeValue(65432.1, { type: 'trend', contains: 'time' }, ''),
  humanizeValue(0.000123, { type: 'trend', contains: 'time' }, ''),
  humanizeValue(123456, { type: 'counter', contains: 'data' }, ''),
  textSummary(data).includes('\x1b[32m'),
];
"#,
    );
    let text = concat!(
        "     ✓ ok\n\n     █ g\n\n       ✗ bad\n        ↳  25% — ✓ 1 / ✗ 3\n\n",
        "   ✗ checks..............: 50.00% ✓ 3 ✗ 3\n",
        "   ✓ http_req_duration...: avg=12.34ms p(95)=1.5s\n",
        "       { s:1 }...........: avg=1ms     p(95)=2ms \n",
        "     iterations..........: 4      2/s",
    );
    let junit = concat!(
        "<?xml version=\"1.0\"?>\n<testsuites tests=\"2\" failures=\"1\">\n",
        "<testsuite name=\"k6 thresholds\" tests=\"2\" failures=\"1\">",
        "<testcase name=\"http_req_duration - p(95)&lt;2000\" />\n",
        "<testcase name=\"checks - rate&gt;0.9\"><failure message=\"failed\" /></testcase>\n",
        "</testsuite >\n</testsuites >",
    );
    // As JSON.stringify writes strings.
    let json = |s: &str| {
        format!(
            "\"{}\"",
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    let expected = format!(
        "[{},{},\"1m5s\",\"123ns\",\"124 kB\",true]",
        json(text),
        json(junit)
    );
    assert_eq!(out, expected);
}

#[test]
fn json_selectors_follow_gjson_paths() {
    // Expected values: what k6 v2.2's `res.json(path)` gave for the same document and paths.
    let out = eval(
        r#"
import { select } from 'stampede:gjson';
const doc = {
  name: { first: 'Tom', last: 'Anderson' }, age: 37, children: ['Sara', 'Alex', 'Jack'],
  'fav.movie': 'Deer Hunter',
  friends: [
    { first: 'Dale', last: 'Murphy', age: 44, nets: ['ig', 'fb', 'tw'], active: true },
    { first: 'Roger', last: 'Craig', age: 68, nets: ['fb', 'tw'], active: 'false' },
    { first: 'Jane', last: 'Murphy', age: 47, nets: ['ig', 'tw'], active: 0 },
  ],
  empty: [], nested: [[1, [2, 3]], [4], 5], objs: [{ a: 1 }, { b: 2 }, { a: 3 }],
  str: '{"id":1023,"name":"alert"}', n: null, flag: false,
};
const paths = [
  'children.#', 'child*.2', 'c?ildren.0', 'fav\\.movie', 'friends.#.first',
  'friends.#(last=="Murphy").first', 'friends.#(last=="Murphy")#.first', 'friends.#(age>45)#.last',
  'friends.#(first%"D*").last', 'friends.#(first!%"D*").last', 'friends.#(nets.#(=="fb"))#.first',
  'friends.#(active==~true)#.first', 'friends.#(active==~false)#.first', 'friends.#(first>"J")#.first',
  'friends.#.nets.0', 'friends.#(missing)#.first', 'friends.#(age>100).first', 'empty.#', 'empty.0',
  'nested.0.1.0', 'nested|@flatten', 'nested|@flatten:{"deep":true}', 'children|@reverse', 'name|@keys',
  'objs|@join', 'str|@fromstr.name', '@this.age', '!"hi"', '[name.first,age]',
  '{name.first,age,"k":children.0}', '{name.first,age}.first', 'friends.#(last=="Murphy")|last',
  'friends|#', 'nope', 'name.nope.deeper', 'n', 'age.x', '',
];
export const result = paths.map((p) => select(doc, p) ?? `<${select(doc, p)}>`);
"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"[3,"Jack","Sara","Deer Hunter",["Dale","Roger","Jane"],"Dale",["Dale","Jane"],["Craig","Murphy"],"#,
            r#""Murphy","Craig",["Dale","Roger"],["Dale"],["Roger","Jane"],["Roger","Jane"],["ig","fb","ig"],[],"#,
            r#""<undefined>",0,"<undefined>",2,[1,[2,3],4,5],[1,2,3,4,5],["Jack","Alex","Sara"],["first","last"],"#,
            r#"{"a":3,"b":2},"alert",37,"hi",["Tom",37],{"first":"Tom","age":37,"k":"Sara"},"Tom","Murphy",3,"#,
            r#""<undefined>","<undefined>","<null>","<undefined>","<undefined>"]"#
        )
    );
}

#[test]
fn a_hostile_gjson_pattern_is_cut_short() {
    // '%' patterns backtrack at most 10,000 steps (as gjson's MatchLimit): this one would take
    // about 2^40 without the limit.
    let out = eval(
        r#"
import { select } from 'stampede:gjson';
const doc = { items: [{ s: 'a'.repeat(40) + 'b' }] };
export const result = select(doc, 'items.#(s%"' + '*a'.repeat(20) + '*c")#');
"#,
    );
    assert_eq!(out, "[]");
}
