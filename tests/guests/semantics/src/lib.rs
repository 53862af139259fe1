//! A test guest for HTTP semantics (cookies, compression, redirects, authentication), driven
//! by `-e MODE=…` against the tests' semantics server at `$BASE_URL`:
//!
//! - `request` (default): one request described by `METHOD`, `URL` (or `$BASE_URL$PATH`),
//!   `BODY`, `HEADERS` (`name: value` lines), `REDIRECTS`, `AUTH` (`basic` | `digest`),
//!   `COMPRESSION`, `NO_JAR` and `KEEP_BODY` (then `THEN_PLAIN`: a plain request), checked against `EXPECT_STATUS`, `EXPECT_CODE`, `EXPECT_URL`,
//!   `EXPECT_BODY` and `EXPECT_ERROR` (a part of the error message) when they are set.
//! - `cookies`: the cookie jar and k6's cookie API, each step a check.
//! - `decoded`: every content coding the server can send, decoded; each a check.

use stampede::http::{self, CookieJar, CookieOptions, Request, Response};
use stampede::{check, Json, Result};

fn var(name: &str) -> Option<String> {
    stampede::env(name).filter(|v| !v.is_empty())
}

fn base() -> String {
    var("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080".into())
}

fn request_mode() {
    let url = var("URL").unwrap_or_else(|| format!("{}{}", base(), var("PATH").unwrap_or_default()));
    let mut req = Request::new(&var("METHOD").unwrap_or_else(|| "GET".into()), &url);
    if let Some(body) = var("BODY") {
        req = req.body(body);
    }
    for line in var("HEADERS").unwrap_or_default().lines() {
        if let Some((k, v)) = line.split_once(':') {
            req = req.header(k.trim(), v.trim());
        }
    }
    if let Some(n) = var("REDIRECTS").and_then(|n| n.parse().ok()) {
        req = req.max_redirects(n);
    }
    match var("AUTH").as_deref() {
        Some("digest") => req = req.auth(http::Auth::Digest),
        Some("basic") => req = req.auth(http::Auth::Basic),
        _ => {}
    }
    if let Some(c) = var("COMPRESSION") {
        req = req.compression(&c);
    }
    if var("NO_JAR").is_some() {
        req = req.no_jar();
    }
    if var("KEEP_BODY").is_some() {
        req = req.keep_body();
    }
    let res = req.send();
    if var("KEEP_BODY").is_some() {
        check("the body is kept", !res.text().is_empty());
    }
    if var("THEN_PLAIN").is_some() {
        // After a request that kept its body, the VU decides: a plain request follows the
        // test's `discardResponseBodies` still.
        let plain = Request::get(&url).send();
        check("a plain request after it discards", plain.text().is_empty());
    }
    expect(&res);
}

fn expect(res: &Response) {
    if let Some(s) = var("EXPECT_STATUS").and_then(|s| s.parse::<u16>().ok()) {
        if !check("status", res.status() == s) {
            stampede::log::warn(&format!("status {} (error: {:?})", res.status(), res.error()));
        }
    }
    if let Some(c) = var("EXPECT_CODE").and_then(|s| s.parse::<u32>().ok()) {
        if !check("error_code", res.error_code() == c) {
            stampede::log::warn(&format!("error code {} ({:?})", res.error_code(), res.error()));
        }
    }
    if let Some(u) = var("EXPECT_URL") {
        if !check("url", res.url() == u) {
            stampede::log::warn(&format!("url {}", res.url()));
        }
    }
    if let Some(b) = var("EXPECT_BODY") {
        if !check("body", res.text() == b) {
            stampede::log::warn(&format!("body {:?}", res.text()));
        }
    }
    if let Some(e) = var("EXPECT_ERROR") {
        let error = res.error().unwrap_or_default();
        if !check("error", error.contains(&e)) {
            stampede::log::warn(&format!("error {error:?}"));
        }
    }
}

/// The `Cookie` header the echo server saw, if any.
fn cookie_sent(res: &Response) -> Option<String> {
    let echo: Json = res.json().ok()?;
    echo["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case("cookie")))
        .and_then(|h| h[1].as_str().map(str::to_owned))
}

fn cookies_mode() -> Result<()> {
    let b = base();
    let first = http::get(&format!("{b}/echo"));
    check("the jar is empty when an iteration starts", cookie_sent(&first).is_none());

    let set = http::get(&format!("{b}/cookie?set=sid%3D1%3B%20Path%3D%2F%3B%20HttpOnly&set=theme%3Ddark%3B%20Max-Age%3D600"));
    let cookies = set.cookies();
    check!(cookies, {
        "res.cookies has both" => |c| c.len() == 2,
        "res.cookies has k6's fields" => |c| c[0].name == "sid" && c[0].value == "1" && c[0].path == "/" && c[0].http_only && c[1].max_age == 600,
    });

    let again = http::get(&format!("{b}/echo"));
    check("the jar's cookies are sent", cookie_sent(&again).as_deref() == Some("sid=1; theme=dark"));

    let own = Request::get(&format!("{b}/echo"))
        .cookie("extra", "x")
        .replace_cookie("theme", "light")
        .send();
    check(
        "request cookies are added, replace wins",
        cookie_sent(&own).as_deref() == Some("extra=x; theme=light; sid=1"),
    );

    let none = Request::get(&format!("{b}/echo")).no_jar().send();
    check("no jar, no cookie", cookie_sent(&none).is_none());

    let jar = CookieJar::new();
    jar.set(&b, "own", "1", CookieOptions::default())?;
    let mine = Request::get(&format!("{b}/echo")).jar(&jar).send();
    check("a jar of the script's own", cookie_sent(&mine).as_deref() == Some("own=1"));
    Request::get(&format!("{b}/cookie?set=k%3Dv")).jar(&jar).send();
    let vu = http::cookie_jar();
    check(
        "responses fill the jar the request used",
        jar.get(&b, "k").as_deref() == Some("v") && vu.get(&b, "k").is_none(),
    );

    let hop = http::get(&format!("{b}/redirect?status=302&to=%2Fecho&set=hop%3D1"));
    check(
        "a redirect's cookies go with the next hop",
        cookie_sent(&hop).is_some_and(|c| c.contains("hop=1")),
    );

    check("the VU jar lists its cookies", vu.get(&b, "sid").as_deref() == Some("1"));
    vu.delete(&b, "sid")?;
    check("delete removes one", vu.get(&b, "sid").is_none() && vu.get(&b, "theme").is_some());
    vu.clear(&b)?;
    check("clear removes all", vu.cookies_for_url(&b)?.is_empty());
    vu.set(
        &b,
        "scoped",
        "1",
        CookieOptions {
            path: Some("/only".into()),
            ..CookieOptions::default()
        },
    )?;
    check(
        "set honours the path",
        vu.get(&b, "scoped").is_none() && vu.get(&format!("{b}/only/x"), "scoped").is_some(),
    );
    check(
        "a bad URL is an error",
        vu.set("not a url", "a", "b", CookieOptions::default()).is_err(),
    );
    Ok(())
}

fn decoded_mode() {
    let b = base();
    for ce in ["gzip", "deflate", "br", "zstd", "gzip,%20br", "zstd,deflate"] {
        let res = http::get(&format!("{b}/encoded?ce={ce}&text=hello%20world"));
        let name = format!("{} is decoded", ce.replace("%20", " "));
        if !check(&name, res.status() == 200 && res.text() == "hello world") {
            stampede::log::warn(&format!("{name}: {} {:?} {:?}", res.status(), res.error(), res.text()));
        }
    }
}

fn iteration() -> Result<()> {
    match var("MODE").as_deref().unwrap_or("request") {
        "request" => {
            for _ in 0..var("REPEAT").and_then(|n| n.parse().ok()).unwrap_or(1) {
                request_mode();
            }
        }
        "cookies" => cookies_mode()?,
        "decoded" => decoded_mode(),
        other => stampede::bail!("unknown MODE `{other}`"),
    }
    Ok(())
}

stampede::script! {
    default: iteration,
}
