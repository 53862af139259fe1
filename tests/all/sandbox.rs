//! What a script may reach: nothing but the host's HTTP, within the test's network policy.

use crate::guests::guest;
use crate::support::{run, runtime, target};

#[test]
fn a_script_has_no_files_sockets_environment_or_arguments() {
    let r = run(&guest("probe"), &["-e", "MODE=sandbox", "-i", "1", "-q"]);
    assert_eq!(r.code, 0, "{}", r.output());
    let s = r.summary.as_ref().unwrap();
    for check in [
        "no files",
        "no writes",
        "no sockets",
        "no process environment",
        "no arguments",
    ] {
        assert_eq!(
            s["root_group"]["checks"][check]["passes"],
            1,
            "{check}: {}",
            r.output()
        );
    }
}

#[test]
fn only_dash_e_variables_reach_the_script_unless_system_ones_are_asked_for() {
    let rt = runtime();
    let server = target(&rt);
    // PATH is in every process's environment: the probe uses it as the request path. (The
    // tests' `stampede()` keeps the system environment out with
    // STAMPEDE_INCLUDE_SYSTEM_ENV_VARS=false; k6's default, which passes it, is tested in
    // k6_cli.)
    let base = format!("BASE_URL={}", server.url());
    let r = run(&guest("probe"), &["-e", &base, "-i", "1", "-q"]);
    assert_eq!(
        r.metric("checks", "passes"),
        1.0,
        "without the system PATH the probe GETs `/`: {}",
        r.output()
    );
    let r = run(
        &guest("probe"),
        &["-e", &base, "-i", "1", "-q", "--include-system-env-vars"],
    );
    assert_eq!(
        r.metric("checks", "fails"),
        1.0,
        "with it, PATH (a list of directories) is the path, a 404: {}",
        r.output()
    );
}

#[test]
fn blocked_hostnames_are_refused_on_every_request_and_redirect() {
    let rt = runtime();
    let server = target(&rt);
    let port = server.addr().port();
    let base = format!("BASE_URL={}", server.url());
    // The first hop goes to 127.0.0.1 and is answered; its redirect to localhost is refused.
    let path = format!("PATH=/redirect-to?url=http://localhost:{port}/get");
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-e",
            &path,
            "-i",
            "3",
            "-q",
            "--block-hostnames",
            "localhost,*.example.com",
            "--threshold",
            "http_reqs{error_code:1111}: count==3",
            "--threshold",
            "http_reqs{status:302}: count==3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(
        server.stats().requests(),
        3,
        "nothing reached the blocked host"
    );
}

#[test]
fn blacklisted_addresses_are_refused_before_connecting() {
    let rt = runtime();
    let server = target(&rt);
    let base = format!("BASE_URL={}", server.url());
    let r = run(
        &guest("probe"),
        &[
            "-e",
            &base,
            "-i",
            "3",
            "-q",
            "--blacklist-ip",
            "10.0.0.0/8,127.0.0.0/8",
            "--threshold",
            "http_reqs{error_code:1110}: count==3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.output());
    assert_eq!(server.stats().connections(), 0);
    // A bad block is a configuration error.
    let r = run(
        &guest("probe"),
        &["-i", "1", "--blacklist-ip", "10.0.0.0/33"],
    );
    assert_eq!(r.code, 104, "{}", r.output());
    assert!(r.stderr.contains("blacklistIPs"), "{}", r.output());
}
