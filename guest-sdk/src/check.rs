//! Checks: named assertions whose pass rate becomes the `checks` metric.
//!
//! A failed check does not stop the iteration; it is counted, shown in the summary with its
//! pass/fail counts, and can be gated with a threshold such as `checks: rate>0.99`.

use crate::bindings::stampede::script::checks;

/// Records the check `name` as passed (`ok`) or failed, and returns `ok`.
///
/// ```no_run
/// let res = stampede::http::get("http://127.0.0.1:8080/");
/// stampede::check("status is 200", res.status() == 200);
/// ```
pub fn check(name: &str, ok: bool) -> bool {
    checks::check(name, ok, &[])
}

/// Like [`check`], with extra tags on the `checks` sample.
pub fn check_tagged(name: &str, ok: bool, tags: &[(&str, &str)]) -> bool {
    let tags: Vec<(String, String)> = tags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    checks::check(name, ok, &tags)
}

/// Runs several named checks on one value, like k6's `check(res, {...})`, and returns whether
/// all passed.
///
/// ```no_run
/// use stampede::{check, http};
/// let res = http::get("http://127.0.0.1:8080/get");
/// let all_ok = check!(res, {
///     "status is 200" => |r| r.status() == 200,
///     "has a body" => |r| !r.body().is_empty(),
/// });
/// ```
#[macro_export]
macro_rules! check {
    ($value:expr, { $($name:expr => $predicate:expr),+ $(,)? }) => {{
        let value = &$value;
        let mut all = true;
        $( all &= $crate::check($name, $crate::__private::apply(value, $predicate)); )+
        all
    }};
}
