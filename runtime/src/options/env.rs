//! The `STAMPEDE_*` environment variables layer (k6's `K6_*` ones, renamed).

use super::{parse_duration, Dur, Options, Stage};

/// Parses a stage written `DURATION:TARGET`, as `-s 30s:10`.
pub fn parse_stage(s: &str) -> Result<Stage, String> {
    let (d, t) = s
        .split_once(':')
        .ok_or_else(|| format!("invalid stage `{s}`: expected DURATION:TARGET, like 30s:10"))?;
    let duration = parse_duration(d).map_err(|e| format!("invalid stage `{s}`: {e}"))?;
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
            "HTTP_VERSION" => o.http_version = Some(v),
            _ => {}
        }
    }
    Ok(o)
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
    fn stages_parse_from_flags() {
        assert_eq!(parse_stage("30s:10").unwrap().target, 10);
        assert!(parse_stage("30s").is_err());
        assert!(parse_stage("30s:ten").is_err());
    }
}
