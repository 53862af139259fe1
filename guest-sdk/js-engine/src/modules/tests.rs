//! Unit tests of the built-in modules against the fake host (`fake_host.js`): what k6's API
//! turns into host calls.

use rquickjs::{CatchResultExt, Context, Module, Object, Runtime, Value};

use crate::loader;

/// Evaluates `source` as the module `/test/script.js` (it may import the built-ins) and
/// returns the host calls it made, as JSON, and the value of its `result` export, as JSON.
pub(super) fn run(source: &str) -> (String, String) {
    let rt = Runtime::new().unwrap();
    rt.set_loader(loader::Resolver, loader::Loader);
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        super::install_globals(&ctx).unwrap();
        let module = Module::declare(ctx.clone(), "/test/script.js", source)
            .catch(&ctx)
            .unwrap_or_else(|e| panic!("{}", crate::vm::describe(&e)));
        let (module, promise) = module.eval().unwrap();
        promise
            .finish::<Value>()
            .catch(&ctx)
            .unwrap_or_else(|e| panic!("{}", crate::vm::describe(&e)));
        let host: Object = Module::import(&ctx, "stampede:host")
            .unwrap()
            .finish()
            .unwrap();
        let calls: Value = host.get("calls").unwrap();
        let calls = ctx
            .json_stringify(calls)
            .unwrap()
            .unwrap()
            .to_string()
            .unwrap();
        let result: Value = module
            .get("result")
            .unwrap_or(Value::new_undefined(ctx.clone()));
        let result = ctx
            .json_stringify(result)
            .unwrap()
            .map(|s| s.to_string().unwrap())
            .unwrap_or_default();
        (calls, result)
    })
}

#[test]
fn the_fake_host_has_every_function_of_the_real_one() {
    let rt = Runtime::new().unwrap();
    rt.set_loader(loader::Resolver, loader::Loader);
    let ctx = Context::full(&rt).unwrap();
    ctx.with(|ctx| {
        let host: Object = Module::import(&ctx, "stampede:host")
            .unwrap()
            .finish()
            .unwrap();
        let mut names: Vec<String> = host.keys::<String>().map(Result::unwrap).collect();
        names.retain(|n| n != "calls");
        names.sort();
        let mut expected: Vec<&str> = super::host::FUNCTIONS.to_vec();
        expected.sort();
        assert_eq!(names, expected);
    });
}

#[test]
fn a_get_with_params_becomes_one_request() {
    let (calls, _) = run(r#"
import http from 'k6/http';
http.get('http://t/x', { headers: { Accept: 'text/plain' }, tags: { name: 'items', page: 'home' }, timeout: '1m30s', redirects: 0 });
"#);
    assert_eq!(
        calls,
        r#"[["request","GET","http://t/x",{"Accept":"text/plain"},null,90000,{"page":"home"},"items",0,false,null,null,null,null,null,null]]"#
    );
}

#[test]
fn an_object_body_is_sent_as_a_form() {
    let (calls, _) = run(r#"
import http from 'k6/http';
http.post('http://t/', { a: '1 2', list: ['x', 'y'] }, { responseType: 'none' });
"#);
    assert_eq!(
        calls,
        r#"[["request","POST","http://t/",{"Content-Type":"application/x-www-form-urlencoded"},"a=1+2&list=x&list=y",null,null,null,null,true,null,null,null,null,null,null]]"#
    );
}

#[test]
fn response_parts_are_fetched_once_when_read() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const res = http.get('http://t/');
export const result = [res.status, res.status, res.headers['Set-Cookie'], res.headers['Content-Type'], res.json('a.b.1'), res.json().a.b[0]];
"#);
    assert_eq!(result, r#"[200,200,"a=1, b=2","application/json",2,1]"#);
    // One status and one headers call however often they are read; the body each json().
    assert!(
        calls.contains(r#"["status",1]]"#) || calls.matches("\"status\"").count() == 1,
        "{calls}"
    );
    assert_eq!(calls.matches("\"headers\"").count(), 1, "{calls}");
}

#[test]
fn checks_record_each_assertion_and_return_whether_all_passed() {
    let (calls, result) = run(r#"
import { check } from 'k6';
export const result = [
  check(5, { 'is five': (v) => v === 5, 'is six': (v) => v === 6, 'constant': true }, { kind: 'num' }),
  check(5, { 'is five': (v) => v === 5 }),
];
"#);
    assert_eq!(result, "[false,true]");
    assert_eq!(
        calls,
        r#"[["check","is five",true,{"kind":"num"}],["check","is six",false,{"kind":"num"}],["check","constant",true,{"kind":"num"}],["check","is five",true,null]]"#
    );
}

#[test]
fn a_check_that_throws_fails_and_the_exception_goes_on_as_in_k6() {
    let (calls, result) = run(r#"
import { check } from 'k6';
let caught = '';
try {
  check(1, { before: true, throws: () => { throw new Error('inside'); }, after: true });
} catch (e) { caught = e.message; }
export const result = caught;
"#);
    assert_eq!(result, r#""inside""#);
    assert_eq!(
        calls,
        r#"[["check","before",true,null],["check","throws",false,null]]"#
    );
}

#[test]
fn groups_are_left_when_their_function_throws() {
    let (calls, result) = run(r#"
import { group } from 'k6';
let caught = '';
try { group('outer', () => { throw new Error('inside'); }); } catch (e) { caught = e.message; }
export const result = [caught, group('ok', () => 42)];
"#);
    assert_eq!(result, r#"["inside",42]"#);
    assert_eq!(
        calls,
        r#"[["groupEnter","outer"],["groupExit"],["groupEnter","ok"],["groupExit"]]"#
    );
}

#[test]
fn metrics_register_when_made_and_add_numbers() {
    // k6 v2.2: what is not a number (nor a boolean, nor a string of one) is dropped with a
    // warning, `add` returning false; what converts to 0 but is truthy (`'0'`) counts as 1.
    let (calls, result) = run(r#"
import { Trend, Rate, Counter } from 'k6/metrics';
const t = new Trend('t', true);
const r = new Rate('r');
const c = new Counter('c');
t.add(1.5, { a: 'b' });
r.add(false);
c.add(true);
c.add('5.5');
c.add('0');
export const result = [r.add('yes'), c.add('lots'), t.add(), t.add(null), t.add(NaN), r.add(2), t.add('x'.repeat(120))];
"#);
    assert_eq!(result, "[false,false,false,false,false,true,false]");
    let warn = |what: &str, name: &str| {
        format!(
            r#"["log","warn","'{what}' is an invalid value for metric '{name}', a number or a boolean value is expected"]"#
        )
    };
    let long = format!(
        "{}... omitting 20 characters ...{}",
        "x".repeat(50),
        "x".repeat(50)
    );
    let want = [
        r#"["register","t","trend",true],["register","r","rate",false],["register","c","counter",false]"#.to_string(),
        r#"["add",7,1.5,{"a":"b"}],["add",7,0,null],["add",7,1,null],["add",7,5.5,null],["add",7,1,null]"#.into(),
        warn("yes", "r"),
        warn("lots", "c"),
        r#"["log","warn","no value was provided for metric 't', a number or a boolean value is expected"]"#.into(),
        warn("null", "t"),
        warn("NaN", "t"),
        r#"["add",7,1,null]"#.into(),
        warn(&long, "t"),
    ];
    assert_eq!(calls, format!("[{}]", want.join(",")));
}

#[test]
fn a_metric_value_that_is_not_a_number_throws_with_the_throw_option() {
    let (_, result) = run(r#"
import { Trend } from 'k6/metrics';
globalThis.fakeExecOptions = JSON.stringify({ throw: true });
const t = new Trend('t');
let err = '';
try { t.add(undefined); } catch (e) { err = e.message; }
export const result = err;
"#);
    assert_eq!(
        result,
        r#""'undefined' is an invalid value for metric 't', a number or a boolean value is expected""#
    );
}

#[test]
fn batch_takes_urls_arrays_and_objects() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const named = http.batch({ a: 'http://t/a', b: { method: 'PUT', url: 'http://t/b', body: 'x' } });
const list = http.batch([['DELETE', 'http://t/c']]);
export const result = [Object.keys(named), named.b.status, list.length];
"#);
    assert_eq!(result, r#"[["a","b"],200,1]"#);
    assert!(calls.starts_with(r#"[["request","GET","http://t/a",null,null,null,null,null,null,false,null,null,null,null,null,null],["request","PUT","http://t/b",null,"x",null,null,null,null,false,null,null,null,null,null,null],["request","DELETE","http://t/c""#), "{calls}");
}

#[test]
fn cookies_compression_auth_and_version_reach_the_host() {
    let (calls, _) = run(r#"
import http from 'k6/http';
http.post('http://t/', 'x', { cookies: { a: '1', b: { value: 2, replace: true } }, jar: null, compression: 'gzip', auth: 'digest', httpVersion: '2' });
const mine = new http.CookieJar();
http.get('http://t/', { jar: mine });
http.get('http://t/', { jar: http.cookieJar() });
"#);
    assert_eq!(
        calls,
        r#"[["request","POST","http://t/",null,"x",null,null,null,null,false,null,{"a":"1","b":{"value":2,"replace":true}},"gzip","digest","2",null],["request","GET","http://t/",null,null,null,null,null,null,false,{"jar":1},null,null,null,null,null],["request","GET","http://t/",null,null,null,null,null,null,false,{"jar":"vu"},null,null,null,null,null]]"#
    );
}

#[test]
fn a_jar_that_is_not_one_is_refused() {
    let (_, result) = run(r#"
import http from 'k6/http';
let err = '';
try { http.get('http://t/', { jar: {} }); } catch (e) { err = `${e.name}: ${e.message}`; }
export const result = err;
"#);
    assert!(
        result.contains("TypeError: params.jar must be a CookieJar"),
        "{result}"
    );
}

#[test]
fn cookie_jars_speak_k6() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const jar = http.cookieJar();
jar.set('http://t/', 'sid', 'v', { domain: 't', path: '/p', expires: 'Thu, 01 Jan 1970 00:00:01 GMT', max_age: 9.7, secure: true, http_only: true });
jar.set('http://t/', 'plain', 'w');
jar.clear('http://t/');
jar.delete('http://t/', 'sid');
const res = http.get('http://t/');
export const result = [http.cookieJar() === jar, jar.cookiesForURL('http://t/'), res.cookies.sid.length, res.cookies.sid[0].http_only, res.cookies.sid[1].max_age, res.status_text];
"#);
    assert_eq!(result, r#"[true,{"sid":["1"]},2,true,60,"200 OK"]"#);
    assert!(
        calls.contains(r#"["jarSet",{"jar":"vu"},"http://t/","sid","v",{"domain":"t","path":"/p","expiresMs":1000,"maxAge":9,"secure":true,"httpOnly":true}],["jarSet",{"jar":"vu"},"http://t/","plain","w",{"secure":false,"httpOnly":false}]"#),
        "{calls}"
    );
    assert!(
        calls.contains(
            r#"["jarClear",{"jar":"vu"},"http://t/"],["jarDelete",{"jar":"vu"},"http://t/","sid"]"#
        ),
        "{calls}"
    );
}

#[test]
fn execution_reads_the_host_s_facts() {
    let (_, result) = run(r#"
import exec from 'k6/execution';
export const result = [exec.vu.idInTest, exec.vu.idInInstance, exec.vu.iterationInScenario, exec.scenario.name, exec.scenario.iterationInInstance, exec.scenario.iterationInTest, exec.instance.currentTestRunDuration];
"#);
    assert_eq!(result, r#"[13,3,4,"fake",4,24,1000]"#);
}
