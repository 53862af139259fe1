//! The options stampede took over from k6 as they are, checked and turned into what the run
//! uses: HTTP client settings (`hosts`, `dns`, `rps`, `batch`, connection reuse, `throw`,
//! `httpDebug`), the system tags, the summary's time unit, the pause after short iterations
//! and where the script's console lines go. Pure, as planning is; [`redirect_console`] is
//! the one step with I/O, for the run to take.

use std::time::Duration;

use stampede_host_api::http::dns::DnsConfig;
use stampede_host_api::http::hosts::Hosts;
use stampede_host_api::http::local_ips::IpPool;
use stampede_host_api::http::{ClientConfig, HttpDebug};

use crate::log::Logger;
use crate::metrics::SystemTags;
use crate::options::{parse_duration, Options};
use crate::output::TimeUnit;

/// What those options set for the run, besides the HTTP client.
#[derive(Debug, Clone)]
pub struct K6Run {
    /// `minIterationDuration` (zero: none).
    pub min_iteration_duration: Duration,
    /// `systemTags`.
    pub system_tags: SystemTags,
    /// `summaryTimeUnit`.
    pub time_unit: Option<TimeUnit>,
    /// `consoleOutput`: the file the script's log lines go to.
    pub console_output: Option<String>,
    /// One line each about options taken but not fully used.
    pub notices: Vec<String>,
}

impl Default for K6Run {
    fn default() -> Self {
        Self {
            min_iteration_duration: Duration::ZERO,
            system_tags: SystemTags::DEFAULT,
            time_unit: None,
            console_output: None,
            notices: Vec::new(),
        }
    }
}

/// Checks the options and sets the HTTP client's part of them in `http`.
pub fn apply(o: &Options, http: &mut ClientConfig) -> Result<K6Run, String> {
    let k6 = &mut http.k6;
    k6.no_connection_reuse = o.no_connection_reuse.unwrap_or(false);
    k6.no_vu_connection_reuse = o.no_vu_connection_reuse.unwrap_or(false);
    k6.throw = o.throw.unwrap_or(false);
    k6.no_cookies_reset = o.no_cookies_reset.unwrap_or(false);
    k6.http_debug = o.http_debug.as_deref().and_then(HttpDebug::from_option);
    if let Some(hosts) = &o.hosts {
        k6.hosts = Hosts::parse(hosts)?;
    }
    if let Some(dns) = &o.dns {
        k6.dns = DnsConfig::parse(
            dns.ttl.as_deref(),
            dns.select.as_deref(),
            dns.policy.as_deref(),
            parse_duration,
        )?;
    }
    if let Some(n) = o.batch {
        k6.batch = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(n) = o.batch_per_host {
        k6.batch_per_host = usize::try_from(n).unwrap_or(usize::MAX);
    }
    k6.rps = o.rps.unwrap_or(0);
    if let Some(list) = o.local_ips.as_deref().filter(|l| !l.trim().is_empty()) {
        k6.local_ips = Some(IpPool::parse(list)?);
    }
    let (system_tags, notices) = match &o.system_tags {
        Some(names) => SystemTags::from_names(names),
        None => (SystemTags::DEFAULT, Vec::new()),
    };
    let time_unit = match o.summary_time_unit.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(unit) => Some(TimeUnit::parse(unit)?),
    };
    Ok(K6Run {
        min_iteration_duration: o.min_iteration_duration.map(|d| d.0).unwrap_or_default(),
        system_tags,
        time_unit,
        console_output: o.console_output.clone().filter(|p| !p.is_empty()),
        notices,
    })
}

/// Sends the script's log lines to the `consoleOutput` file `path` (created anew).
pub fn redirect_console(path: &str, log: &Logger) -> Result<(), String> {
    let file = std::fs::File::create(path)
        .map_err(|e| format!("cannot write consoleOutput file {path}: {e}"))?;
    log.redirect_console(Box::new(std::io::LineWriter::new(file)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Level;
    use crate::options::Source;

    fn apply_json(json: &str) -> Result<(K6Run, ClientConfig), String> {
        let o = Options::from_json(json, &Source::Script)?;
        let mut http = ClientConfig::default();
        let run = apply(&o, &mut http)?;
        if let Some(path) = &run.console_output {
            let log = Logger::to_writer(Level::Info, Box::new(std::io::sink()));
            redirect_console(path, &log)?;
        }
        Ok((run, http))
    }

    #[test]
    fn k6_options_reach_the_client_and_the_run() {
        let (run, http) = apply_json(
            r#"{"noConnectionReuse": true, "noVUConnectionReuse": true, "throw": true,
                "httpDebug": "full", "hosts": {"test.k6.io": "127.0.0.1:8080"},
                "dns": {"ttl": "0", "select": "first", "policy": "onlyIPv4"},
                "batch": 3, "batchPerHost": 1, "rps": 50, "minIterationDuration": "1s",
                "systemTags": ["status", "vu"], "summaryTimeUnit": "ms"}"#,
        )
        .unwrap();
        let k6 = &http.k6;
        assert!(k6.no_connection_reuse && k6.no_vu_connection_reuse && k6.throw);
        assert_eq!(k6.http_debug, Some(HttpDebug::Full));
        assert_eq!(
            k6.hosts.lookup("test.k6.io", 80),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(k6.dns.ttl, Duration::ZERO);
        assert_eq!((k6.batch, k6.batch_per_host, k6.rps), (3, 1, 50));
        assert_eq!(run.min_iteration_duration, Duration::from_secs(1));
        assert!(run.system_tags.has(SystemTags::STATUS));
        assert!(!run.system_tags.has(SystemTags::URL));
        assert_eq!(run.time_unit, Some(TimeUnit::Ms));
        assert_eq!(run.notices.len(), 1, "{:?}", run.notices);
    }

    #[test]
    fn bad_values_are_named() {
        for (json, words) in [
            (r#"{"hosts": {"a.io": "a-name"}}"#, "not an IP"),
            (r#"{"dns": {"select": "last"}}"#, "invalid DNS select"),
            (r#"{"dns": {"ttl": "soon"}}"#, "invalid DNS ttl"),
            (r#"{"summaryTimeUnit": "min"}"#, "invalid summary time unit"),
            (
                r#"{"consoleOutput": "/nonexistent-dir/x.log"}"#,
                "consoleOutput",
            ),
        ] {
            let err = apply_json(json).unwrap_err();
            assert!(err.contains(words), "{json}: {err}");
        }
    }
}
