//! An output's settings, from k6's places with stampede's names: defaults, then `STAMPEDE_*`
//! environment variables (k6's `K6_*` ones renamed), then the `--out NAME=key=value,…`
//! argument. Every value is checked; a bad one is a configuration error naming where it came
//! from.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::options::parse_duration;

/// One setting's sources: an argument key and an environment variable.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key in `--out NAME=key=value`, e.g. `pushInterval`.
    pub arg: &'static str,
    /// The environment variable, e.g. `STAMPEDE_PROMETHEUS_RW_PUSH_INTERVAL`.
    pub env: &'static str,
}

/// Where a value came from, for messages.
fn source(key: &Key, from_arg: bool, output: &str) -> String {
    if from_arg {
        format!("`{}` in --out {output}", key.arg)
    } else {
        key.env.to_owned()
    }
}

/// The settings of one output.
pub struct Settings<'a> {
    output: &'a str,
    env: &'a BTreeMap<String, String>,
    args: Vec<(String, String)>,
}

impl<'a> Settings<'a> {
    /// Settings for `output` from `env` and `args` (`key=value` pairs, comma-separated), whose
    /// keys must all be among `known`.
    pub fn new(
        output: &'a str,
        env: &'a BTreeMap<String, String>,
        args: Option<&str>,
        known: &[Key],
    ) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for part in args
            .unwrap_or("")
            .split(',')
            .filter(|p| !p.trim().is_empty())
        {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("invalid --out {output} argument `{part}`: expected key=value")
            })?;
            let k = k.trim();
            if !known.iter().any(|key| key.arg == k) && !k.starts_with("headers.") {
                return Err(format!(
                    "unknown key `{k}` in --out {output}: it takes {}",
                    known.iter().map(|k| k.arg).collect::<Vec<_>>().join(", ")
                ));
            }
            pairs.push((k.to_owned(), v.to_owned()));
        }
        Ok(Self {
            output,
            env,
            args: pairs,
        })
    }

    /// The raw value of `key`, and whether it came from the argument.
    pub fn raw(&self, key: &Key) -> Option<(String, bool)> {
        if let Some((_, v)) = self.args.iter().rev().find(|(k, _)| k == key.arg) {
            return Some((v.clone(), true));
        }
        self.env.get(key.env).map(|v| (v.clone(), false))
    }

    /// A string.
    pub fn string(&self, key: &Key) -> Option<String> {
        self.raw(key).map(|(v, _)| v)
    }

    /// A duration like `5s`; it must be positive.
    pub fn duration(&self, key: &Key) -> Result<Option<Duration>, String> {
        let Some((v, arg)) = self.raw(key) else {
            return Ok(None);
        };
        match parse_duration(&v) {
            Ok(d) if !d.is_zero() => Ok(Some(d)),
            Ok(_) => Err(format!(
                "{} must be longer than 0",
                source(key, arg, self.output)
            )),
            Err(e) => Err(format!("{}: {e}", source(key, arg, self.output))),
        }
    }

    /// `true` or `false`.
    pub fn bool(&self, key: &Key) -> Result<Option<bool>, String> {
        let Some((v, arg)) = self.raw(key) else {
            return Ok(None);
        };
        match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(format!(
                "{}={v}: expected true or false",
                source(key, arg, self.output)
            )),
        }
    }

    /// A comma-separated list (from the environment; in the argument, `|`-separated, since
    /// commas separate the keys there).
    pub fn list(&self, key: &Key) -> Option<Vec<String>> {
        let (v, arg) = self.raw(key)?;
        let sep = if arg { '|' } else { ',' };
        Some(
            v.split(sep)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    /// A value that must be one of `allowed`.
    pub fn one_of(&self, key: &Key, allowed: &[&str]) -> Result<Option<String>, String> {
        let Some((v, arg)) = self.raw(key) else {
            return Ok(None);
        };
        if allowed.contains(&v.as_str()) {
            Ok(Some(v))
        } else {
            Err(format!(
                "{}={v}: expected one of {}",
                source(key, arg, self.output),
                allowed.join(", ")
            ))
        }
    }

    /// Headers: `headers.NAME=value` argument keys, `{env}NAME` variables (k6's
    /// `K6_PROMETHEUS_RW_HEADERS_NAME`), and a `NAME:value,…` list in `list_env`.
    pub fn headers(
        &self,
        env_prefix: &str,
        list_env: &str,
    ) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        for (k, v) in self.env.range(env_prefix.to_owned()..) {
            let Some(name) = k.strip_prefix(env_prefix) else {
                break;
            };
            out.push((name.to_owned(), v.clone()));
        }
        if let Some(list) = self.env.get(list_env) {
            for pair in list.split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) = pair
                    .split_once(':')
                    .ok_or_else(|| format!("{list_env}: `{pair}` is not NAME:VALUE"))?;
                out.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        for (k, v) in &self.args {
            if let Some(name) = k.strip_prefix("headers.") {
                out.push((name.to_owned(), v.clone()));
            }
        }
        for (k, v) in &out {
            let valid = http::HeaderName::from_bytes(k.as_bytes()).is_ok()
                && http::HeaderValue::from_str(v).is_ok();
            if !valid {
                return Err(format!(
                    "invalid header `{k}: {v}` for --out {}",
                    self.output
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Key = Key {
        arg: "pushInterval",
        env: "STAMPEDE_X_PUSH_INTERVAL",
    };
    const FLAG: Key = Key {
        arg: "flag",
        env: "STAMPEDE_X_FLAG",
    };

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_argument_wins_over_the_environment() {
        let e = env(&[
            ("STAMPEDE_X_PUSH_INTERVAL", "10s"),
            ("STAMPEDE_X_FLAG", "true"),
        ]);
        let s = Settings::new("x", &e, Some("pushInterval=2s"), &[INTERVAL, FLAG]).unwrap();
        assert_eq!(s.duration(&INTERVAL).unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(s.bool(&FLAG).unwrap(), Some(true));
    }

    #[test]
    fn bad_values_and_keys_name_their_source() {
        let e = env(&[("STAMPEDE_X_PUSH_INTERVAL", "soon")]);
        let s = Settings::new("x", &e, None, &[INTERVAL]).unwrap();
        assert!(s
            .duration(&INTERVAL)
            .unwrap_err()
            .contains("STAMPEDE_X_PUSH_INTERVAL"));
        let s = Settings::new("x", &e, Some("flag=maybe"), &[FLAG]).unwrap();
        assert!(s.bool(&FLAG).unwrap_err().contains("`flag` in --out x"));
        let err = Settings::new("x", &e, Some("nope=1"), &[FLAG])
            .err()
            .unwrap();
        assert!(
            err.contains("unknown key `nope`") && err.contains("flag"),
            "{err}"
        );
        let err = Settings::new("x", &e, Some("novalue"), &[FLAG])
            .err()
            .unwrap();
        assert!(err.contains("key=value"), "{err}");
        let s = Settings::new("x", &e, Some("pushInterval=0s"), &[INTERVAL]).unwrap();
        assert!(s.duration(&INTERVAL).is_err());
    }

    #[test]
    fn headers_come_from_three_places_and_are_checked() {
        let e = env(&[
            ("STAMPEDE_X_HEADERS_X-Scope-OrgID", "tenant"),
            ("STAMPEDE_X_HTTP_HEADERS", "A:1,B:2"),
        ]);
        let s = Settings::new("x", &e, Some("headers.C=3"), &[]).unwrap();
        let h = s
            .headers("STAMPEDE_X_HEADERS_", "STAMPEDE_X_HTTP_HEADERS")
            .unwrap();
        assert_eq!(h.len(), 4);
        assert!(h.contains(&("X-Scope-OrgID".into(), "tenant".into())));
        let s = Settings::new("x", &e, Some("headers.bad name=3"), &[]).unwrap();
        assert!(s.headers("STAMPEDE_X_HEADERS_", "NONE").is_err());
    }
}
