//! Cookies on real sockets: the VU's jar, reset every iteration, k6's cookie API, cookies
//! across redirects, and request cookies.

use crate::guests::guest;
use crate::semantics_server::{Seen, SemanticsServer};
use crate::support::{run, runtime};

#[test]
fn the_cookie_jar_works_as_k6s_and_is_emptied_every_iteration() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let base = format!("BASE_URL={}", server.url());
    // Two iterations on one VU: the second starts with an empty jar again.
    let r = run(
        &guest("semantics"),
        &["-e", &base, "-e", "MODE=cookies", "-i", "2", "-q"],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    assert_eq!(r.metric("checks", "passes"), 28.0, "{}", r.output());
    // Eight requests plus one redirect hop per iteration.
    assert_eq!(r.metric("http_reqs", "count"), 18.0);
    let seen = server.seen();
    let hops: Vec<_> = seen.iter().filter(|s| s.path() == "/redirect").collect();
    assert_eq!(hops.len(), 2);
    assert!(hops[1]
        .header("cookie")
        .is_some_and(|c| c.contains("sid=1")));
}

/// A request to `server` that sets the cookies `set` (URL-encoded `Set-Cookie` lines) and
/// redirects to `to`; what the server saw.
fn set_and_redirect(server: &SemanticsServer, set: &str, to: &str) -> Vec<Seen> {
    let path = format!(
        "/redirect?status=302&{set}&to={}",
        to.replace(':', "%3A").replace('/', "%2F")
    );
    let r = run(
        &guest("semantics"),
        &[
            "-e",
            &format!("BASE_URL={}", server.url()),
            "-e",
            &format!("PATH={path}"),
            "-e",
            "EXPECT_STATUS=200",
            "-q",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(r.metric("checks", "fails"), 0.0, "{}", r.output());
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    seen
}

#[test]
fn a_secure_cookie_of_this_machine_is_sent_over_plain_http_as_in_k6() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    // 127.0.0.1 is a secure origin for Go's jar (and browsers) whatever the scheme: k6 sends
    // the `Secure` cookie back over http, and so does stampede.
    let to = format!("{}/echo", server.url());
    let seen = set_and_redirect(&server, "set=s%3D1%3B%20Secure", &to);
    assert_eq!(seen[1].header("cookie").as_deref(), Some("s=1"), "{seen:?}");
}

#[test]
fn cookies_do_not_leak_to_other_hosts_or_over_plain_http() {
    let rt = runtime();
    let server = SemanticsServer::start(&rt);
    let port = server.addr.port();
    // A Secure cookie from 127.0.0.1 (over http: Go's jar keeps it), then a redirect to
    // localhost on the same port: neither the host-only cookie nor the Secure one goes there.
    let to = format!("http://localhost:{port}/echo");
    let seen = set_and_redirect(&server, "set=a%3D1&set=s%3D1%3B%20Secure", &to);
    assert_eq!(
        seen[1].header("host").as_deref(),
        Some(format!("localhost:{port}").as_str())
    );
    assert_eq!(seen[1].header("cookie"), None, "{seen:?}");
}
