//! The `STAMPEDE_*` environment variables layer (k6's `K6_*` ones, renamed).

use std::collections::BTreeMap;

use super::{parse_duration, parse_flag_duration, DnsOptions, Dur, Options, Stage, ThresholdSpec};
use crate::executor::segment::{Segment, SegmentSequence};

/// Parses a stage written `DURATION:TARGET`, as `-s 30s:10`.
pub fn parse_stage(s: &str) -> Result<Stage, String> {
    let (d, t) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid stage `{s}`: expected DURATION:TARGET, like 30s:10"))?;
    let duration = parse_flag_duration(d).map_err(|e| format!("invalid stage `{s}`: {e}"))?;
    let target = t
        .trim()
        .parse()
        .map_err(|_| format!("invalid stage `{s}`: the target `{t}` is not a whole number"))?;
    Ok(Stage {
        duration: Dur(duration),
        target,
    })
}

fn bool_var(name: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("{name}={v}: expected true or false")),
    }
}

fn num_var<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{name}={v}: expected a whole number"))
}

fn dur_var(name: &str, v: &str) -> Result<Dur, String> {
    parse_duration(v)
        .map(Dur)
        .map_err(|e| format!("{name}: {e}"))
}

fn list_var(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The options set by `STAMPEDE_*` variables among `vars`. Variables stampede does not know
/// are left alone (other tools share the prefix namespace with us only by accident).
pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Options, String> {
    let mut o = Options::default();
    for (name, v) in vars {
        let Some(key) = name.strip_prefix("STAMPEDE_") else {
            continue;
        };
        match key {
            "VUS" => o.vus = Some(num_var(&name, &v)?),
            "DURATION" => o.duration = Some(dur_var(&name, &v)?),
            "ITERATIONS" => o.iterations = Some(num_var(&name, &v)?),
            "STAGES" => {
                o.stages = Some(
                    list_var(&v)
                        .iter()
                        .map(|s| parse_stage(s))
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("{name}: {e}"))?,
                )
            }
            "SETUP_TIMEOUT" => o.setup_timeout = Some(dur_var(&name, &v)?),
            "TEARDOWN_TIMEOUT" => o.teardown_timeout = Some(dur_var(&name, &v)?),
            "HANDLE_SUMMARY_TIMEOUT" => o.handle_summary_timeout = Some(dur_var(&name, &v)?),
            "INSECURE_SKIP_TLS_VERIFY" => o.insecure_skip_tls_verify = Some(bool_var(&name, &v)?),
            "MAX_REDIRECTS" => o.max_redirects = Some(num_var(&name, &v)?),
            "USER_AGENT" => o.user_agent = Some(v),
            "DISCARD_RESPONSE_BODIES" => o.discard_response_bodies = Some(bool_var(&name, &v)?),
            "BLOCK_HOSTNAMES" => o.block_hostnames = Some(list_var(&v)),
            "BLACKLIST_IPS" => o.blacklist_ips = Some(list_var(&v)),
            "SUMMARY_TREND_STATS" => o.summary_trend_stats = Some(list_var(&v)),
            "NO_SETUP" => o.no_setup = Some(bool_var(&name, &v)?),
            "NO_TEARDOWN" => o.no_teardown = Some(bool_var(&name, &v)?),
            "RESPONSE_BODY_LIMIT" => o.response_body_limit = Some(num_var(&name, &v)?),
            "HTTP_TIMEOUT" => o.http_timeout = Some(dur_var(&name, &v)?),
            "EXECUTION_SEGMENT" => {
                o.execution_segment = Some(Segment::parse(&v).map_err(|e| format!("{name}: {e}"))?)
            }
            "EXECUTION_SEGMENT_SEQUENCE" => {
                o.execution_segment_sequence =
                    Some(SegmentSequence::parse(&v).map_err(|e| format!("{name}: {e}"))?)
            }
            "EXECUTION_SEGMENT_INDEX" => o.execution_segment_index = Some(num_var(&name, &v)?),
            "HTTP_VERSION" => o.http_version = Some(v),
            "MAX_SERIES" => o.max_series = Some(num_var(&name, &v)?),
            _ => k6_var(&mut o, key, &name, v)?,
        }
    }
    Ok(o)
}

/// The variables of the options stampede took from k6 as they are (k6's `K6_*` names).
fn k6_var(o: &mut Options, key: &str, name: &str, v: String) -> Result<(), String> {
    match key {
        "MIN_ITERATION_DURATION" => o.min_iteration_duration = Some(dur_var(name, &v)?),
        "SUMMARY_TIME_UNIT" => o.summary_time_unit = Some(v),
        // As in k6, an empty list (or `""`) turns every system tag off.
        "SYSTEM_TAGS" => o.system_tags = Some(list_var(v.trim_matches('"'))),
        "NO_CONNECTION_REUSE" => o.no_connection_reuse = Some(bool_var(name, &v)?),
        "NO_VU_CONNECTION_REUSE" => o.no_vu_connection_reuse = Some(bool_var(name, &v)?),
        "BATCH" => o.batch = Some(num_var(name, &v)?),
        "BATCH_PER_HOST" => o.batch_per_host = Some(num_var(name, &v)?),
        "RPS" => o.rps = Some(num_var(name, &v)?),
        "DNS" => o.dns = Some(DnsOptions::parse_text(&v).map_err(|e| format!("{name}: {e}"))?),
        "THROW" => o.throw = Some(bool_var(name, &v)?),
        "HTTP_DEBUG" => o.http_debug = Some(v),
        "CONSOLE_OUTPUT" => o.console_output = Some(v),
        "LOCAL_IPS" => o.local_ips = Some(v),
        "NO_COOKIES_RESET" => o.no_cookies_reset = Some(bool_var(name, &v)?),
        "TAGS" => o.tags = Some(pairs_var(name, &v)?),
        "THRESHOLDS" => o.thresholds = Some(thresholds_var(name, &v)?),
        _ => {}
    }
    Ok(())
}

/// `name:value,name:value` (k6's form of `K6_TAGS`).
fn pairs_var(name: &str, v: &str) -> Result<BTreeMap<String, String>, String> {
    list_var(v)
        .iter()
        .map(|pair| match pair.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => Err(format!("{name}: `{pair}` is not NAME:VALUE")),
        })
        .collect()
}

/// Thresholds as JSON (`{"http_req_duration": ["p(95)<250"]}`, as in options), or as
/// `--threshold` flags separated by `;` (`http_reqs: count>0; checks: rate>0.99`).
fn thresholds_var(name: &str, v: &str) -> Result<BTreeMap<String, Vec<ThresholdSpec>>, String> {
    if v.trim_start().starts_with('{') {
        let json = format!(r#"{{"thresholds": {v}}}"#);
        return Options::from_json(&json, &super::Source::Env)
            .map(|o| o.thresholds.unwrap_or_default())
            .map_err(|e| format!("{name}: {e}"));
    }
    let mut map: BTreeMap<String, Vec<ThresholdSpec>> = BTreeMap::new();
    for flag in v.split(';').map(str::trim).filter(|f| !f.is_empty()) {
        let (metric, expr) =
            crate::thresholds::split_flag(flag).map_err(|e| format!("{name}: {e}"))?;
        map.entry(metric)
            .or_default()
            .push(ThresholdSpec::Short(expr));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_stampede_variables_only() {
        let o = from_env(vars(&[
            ("STAMPEDE_VUS", "7"),
            ("STAMPEDE_DURATION", "1m"),
            ("STAMPEDE_STAGES", "10s:5,20s:0"),
            ("STAMPEDE_INSECURE_SKIP_TLS_VERIFY", "true"),
            ("K6_VUS", "99"),
            ("STAMPEDE_SOMETHING_ELSE", "x"),
        ]))
        .unwrap();
        assert_eq!(o.vus, Some(7));
        assert_eq!(o.duration.unwrap().0.as_secs(), 60);
        assert_eq!(o.stages.unwrap()[1].target, 0);
        assert_eq!(o.insecure_skip_tls_verify, Some(true));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = from_env(vars(&[("STAMPEDE_VUS", "many")])).unwrap_err();
        assert!(err.contains("STAMPEDE_VUS"), "{err}");
        let err = from_env(vars(&[("STAMPEDE_DURATION", "10 minutes")])).unwrap_err();
        assert!(
            err.contains("STAMPEDE_DURATION") && err.contains("invalid duration"),
            "{err}"
        );
    }

    #[test]
    fn k6_options_have_variables_too() {
        let o = from_env(vars(&[
            ("STAMPEDE_MIN_ITERATION_DURATION", "2s"),
            ("STAMPEDE_SYSTEM_TAGS", "status,method"),
            ("STAMPEDE_DNS", "ttl=0,select=first"),
            ("STAMPEDE_RPS", "50"),
            ("STAMPEDE_NO_VU_CONNECTION_REUSE", "true"),
            ("STAMPEDE_TAGS", "team:api,env:ci"),
            (
                "STAMPEDE_THRESHOLDS",
                "http_req_duration{status:200}: p(95)<250; checks: rate>0.9",
            ),
        ]))
        .unwrap();
        assert_eq!(o.min_iteration_duration.unwrap().0.as_secs(), 2);
        assert_eq!(o.system_tags.unwrap(), ["status", "method"]);
        assert_eq!(o.dns.unwrap().select.as_deref(), Some("first"));
        assert_eq!(o.rps, Some(50));
        assert_eq!(o.no_vu_connection_reuse, Some(true));
        assert_eq!(o.tags.unwrap()["env"], "ci");
        let t = o.thresholds.unwrap();
        assert_eq!(
            t["http_req_duration{status:200}"][0].expression(),
            "p(95)<250"
        );
        assert_eq!(t["checks"][0].expression(), "rate>0.9");
        let o = from_env(vars(&[(
            "STAMPEDE_THRESHOLDS",
            r#"{"http_reqs": "count>0"}"#,
        )]))
        .unwrap();
        assert_eq!(
            o.thresholds.unwrap()["http_reqs"][0].expression(),
            "count>0"
        );
        assert!(from_env(vars(&[("STAMPEDE_SYSTEM_TAGS", r#""""#)]))
            .unwrap()
            .system_tags
            .unwrap()
            .is_empty());
        assert!(from_env(vars(&[("STAMPEDE_TAGS", "novalue")])).is_err());
    }

    #[test]
    fn stages_parse_from_flags() {
        assert_eq!(parse_stage("30s:10").unwrap().target, 10);
        assert!(parse_stage("30s").is_err());
        assert!(parse_stage("30s:ten").is_err());
        // As in k6, a stage's duration needs its unit.
        assert!(parse_stage("1000:20").is_err());
    }
}
