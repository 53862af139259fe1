//! Unit tests of k6/http's bodies, `http.url`, response callbacks and constants against the
//! fake host: the bytes and arguments k6 would send (k6 v2.2's behaviour is noted by each).

use super::tests::run;

#[test]
fn an_object_body_is_encoded_as_gos_url_values() {
    // k6 v2.2 sends `a=1&a=2&b=x+y&c%21=%3Cnil%3E&d=1e-05&e=true&f=%27%28%29%2A~`: keys sorted,
    // Go's QueryEscape, values as Go's %v prints them.
    let (calls, _) = run(r#"
import http from 'k6/http';
http.post('http://t/', { f: "'()*~", b: 'x y', a: ['1', 2], 'c!': null, d: 1e-5, e: true, z: [] });
"#);
    assert!(
        calls.contains(r#""a=1&a=2&b=x+y&c%21=%3Cnil%3E&d=1e-05&e=true&f=%27%28%29%2A~""#),
        "{calls}"
    );
}

#[test]
fn an_object_body_with_a_file_is_multipart_as_go_writes_it() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const f = http.file('file "data"', 'a"b.txt', 'text/plain');
const bin = http.file(new Uint8Array([0, 255]).buffer, 'bin');
const res = http.post('http://t/', { field: 'v 1', 'q"k': 2, upload: f, raw: bin });
const text = Array.from(new Uint8Array(res.request.body.buffer), (b) => String.fromCharCode(b)).join('');
const type = res.request.headers['Content-Type'];
const b = type.slice('multipart/form-data; boundary='.length);
export const result = [
  /^[0-9a-f]{60}$/.test(b),
  text.split(b).join('B'),
  [f.filename, f.content_type, bin.content_type],
];
"#);
    let want = concat!(
        r#"[true,"--B\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nv 1"#,
        r#"\r\n--B\r\nContent-Disposition: form-data; name=\"q\\\"k\"\r\n\r\n2"#,
        r#"\r\n--B\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a\\\"b.txt\"\r\nContent-Type: text/plain\r\n\r\nfile \"data\""#,
        r#"\r\n--B\r\nContent-Disposition: form-data; name=\"raw\"; filename=\"bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\u0000ÿ"#,
        r#"\r\n--B--\r\n",["a\"b.txt","text/plain","application/octet-stream"]]"#,
    );
    assert_eq!(result, want);
    assert!(
        calls.contains(r#"{"Content-Type":"multipart/form-data; boundary="#),
        "{calls}"
    );
}

#[test]
fn http_file_takes_strings_and_array_buffers_only() {
    let (_, result) = run(r#"
import http from 'k6/http';
let err = '';
try { http.file(new Uint8Array(2)); } catch (e) { err = `${e.name}: ${e.message}`; }
const f = http.file('x');
export const result = [err, /^\d{16,}$/.test(f.filename), f.content_type, f.data];
"#);
    assert_eq!(
        result,
        r#"["TypeError: invalid type Uint8Array, expected string or ArrayBuffer",true,"application/octet-stream","x"]"#
    );
}

#[test]
fn http_url_names_the_request_with_its_template() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const id = 7;
const u = http.url`http://u:p@t/items/${id}?q=${'a b'}`;
http.get(u);
http.get(http.url`http://t/plain`);
http.get(u, { tags: { name: 'mine' } });
http.batch([u]);
export const result = [u.url, u.name, u.clean_url];
"#);
    assert_eq!(
        result,
        r#"["http://u:p@t/items/7?q=a b","http://u:p@t/items/${}?q=${}","http://****:****@t/items/7?q=a b"]"#
    );
    let named =
        r#""GET","http://u:p@t/items/7?q=a b",null,null,null,null,"http://u:p@t/items/${}?q=${}""#;
    assert_eq!(calls.matches(named).count(), 2, "{calls}");
    assert!(
        calls.contains(r#""GET","http://t/plain",null,null,null,null,null"#),
        "{calls}"
    );
    assert!(calls.contains(r#"{},"mine""#), "{calls}");
}

#[test]
fn response_callbacks_reach_the_host_around_the_requests_that_have_one() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const ok404 = http.expectedStatuses(404, { min: 200, max: 299 });
http.setResponseCallback(ok404);
http.get('http://t/a');
http.get('http://t/b', { responseCallback: null });
http.get('http://t/c', { responseCallback: ok404 });
http.setResponseCallback(null);
http.get('http://t/d', { responseCallback: http.expectedStatuses(201) });
const errors = [];
for (const f of [
  () => http.expectedStatuses(),
  () => http.expectedStatuses({ min: 200 }),
  () => http.expectedStatuses({ min: 200, max: 2.5 }),
  () => http.setResponseCallback(() => true),
  () => http.get('http://t/', { responseCallback: 5 }),
]) {
  try { f(); errors.push('none'); } catch (e) { errors.push(e.message); }
}
export const result = errors;
"#);
    let set = r#"["setResponseCallback",[404],[[200,299]]]"#;
    let none = r#"["setResponseCallback",null,null]"#;
    let req = |path: &str| {
        format!(
            r#"["request","GET","http://t/{path}",null,null,null,null,null,null,false,null,null,null,null,null,null]"#
        )
    };
    let want = [
        set.to_owned(),
        req("a"),
        none.to_owned(),
        req("b"),
        set.to_owned(),
        req("c"),
        none.to_owned(),
        r#"["setResponseCallback",[201],[]]"#.to_owned(),
        req("d"),
        none.to_owned(),
    ];
    assert_eq!(calls, format!("[{}]", want.join(",")));
    assert_eq!(
        result,
        concat!(
            r#"["no arguments","argument number 1 to expectedStatuses was neither an integer nor an object like {min:100, max:329}","#,
            r#""both min and max need to be integers for argument number 1","unsupported argument, expected http.expectedStatuses","#,
            r#""unsupported responseCallback"]"#
        )
    );
}

#[test]
fn k6s_constants_are_read_only_exports() {
    let (_, result) = run(r#"
import http, { TLS_1_3, OCSP_REASON_AA_COMPROMISE } from 'k6/http';
let threw = false;
try { http.TLS_1_0 = 'changed'; } catch (e) { threw = e instanceof TypeError; }
export const result = [threw, http.TLS_1_0, http.TLS_1_1, http.TLS_1_2, TLS_1_3, http.OCSP_STATUS_GOOD,
  http.OCSP_STATUS_SERVER_FAILED, OCSP_REASON_AA_COMPROMISE, http.OCSP_REASON_CESSATION_OF_OPERATION];
"#);
    assert_eq!(
        result,
        r#"[true,"tls1.0","tls1.1","tls1.2","tls1.3","good","server_failed","aa_compromise","cessation_of_operation"]"#
    );
}

#[test]
fn async_requests_start_at_once_and_settle_their_promises() {
    let (calls, result) = run(r#"
import http from 'k6/http';
const order = [];
const p1 = http.asyncRequest('GET', 'http://t/1');
const p2 = http.asyncRequest('POST', 'http://t/2', 'x', { responseCallback: null });
order.push('sync code first');
const [a, b] = await Promise.all([p1.then((r) => (order.push('resolved'), r)), p2]);
let err = '';
try { await http.asyncRequest('GET', 'http://t/', null, { responseType: 'bad' }); } catch (e) { err = e.name; }
const mixed = http.batch([['GET', 'http://t/b1', null, { responseCallback: null }], 'http://t/b2']);
export const result = [order, a.status, b.request.method, b.request.body, err, mixed.length];
"#);
    assert_eq!(
        result,
        r#"[["sync code first","resolved"],200,"POST","x","TypeError",2]"#
    );
    // Each request starts when made, with its own response callback set around it.
    let at = |s: &str| calls.find(s).unwrap_or_else(|| panic!("{s} in {calls}"));
    assert!(
        at(r#"["startRequest","GET","http://t/1""#) < at(r#"["startRequest","POST","http://t/2""#),
        "{calls}"
    );
    assert!(
        at("http://t/1") < at(r#"["setResponseCallback",null,null]"#),
        "{calls}"
    );
    assert!(
        at(r#"["setResponseCallback",null,null]"#) < at("http://t/2"),
        "{calls}"
    );
    assert!(
        at("http://t/2") < at(r#"["setResponseCallback",[],[[200,399]]]"#),
        "{calls}"
    );
    assert!(at("http://t/b1") < at("http://t/b2"), "{calls}");
}
