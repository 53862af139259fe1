//! What k6 does with options that stampede takes from it as they are: the keys k6 knows that
//! stampede accepts without using, and which scenario the shortcut options make (k6's
//! `DeriveScenariosFromShortcuts`).

use super::Options;

/// Keys of k6's options (and of its config file) that stampede accepts and does not use,
/// with why. A key that a later version of stampede implements is an [`Options`] field, and
/// is then parsed instead of dropped: this list only matters for keys serde does not know.
const NOT_USED: &[(&str, &str)] = &[
    (
        "paused",
        "stampede has no REST API to resume a paused test; it starts at once",
    ),
    (
        "metricSamplesBufferSize",
        "stampede buffers samples per VU on its own",
    ),
    (
        "cloud",
        "Grafana Cloud settings: stampede runs the test here",
    ),
    ("ext", "settings of k6 extensions and of Grafana Cloud"),
    ("features", "k6's feature flags"),
    ("out", "give outputs with -o/--out"),
    (
        "linger",
        "stampede has no REST API to keep alive after the test",
    ),
    ("noUsageReport", "stampede sends no usage reports"),
    ("webDashboard", "stampede has no web dashboard"),
    ("noArchiveUpload", "a Grafana Cloud setting"),
    ("collectors", "a setting of k6's old outputs"),
];

/// The options k6 reads as whole numbers (its `null.Int`), at the top of a layer.
const WHOLE_NUMBERS: &[&str] = &[
    "vus",
    "iterations",
    "rps",
    "maxRedirects",
    "batch",
    "batchPerHost",
];

/// The settings of a scenario that k6 reads as whole numbers, whatever its executor.
const SCENARIO_WHOLE_NUMBERS: &[&str] = &[
    "vus",
    "iterations",
    "rate",
    "startRate",
    "preAllocatedVUs",
    "maxVUs",
    "startVUs",
];

/// Reads whole numbers written as strings the way k6 does (`vus: __ENV.VUS || 10` gives
/// `"2"` when `-e VUS=2`): a string of a whole number, in decimal, is that number, and an
/// empty string is as if the key were not there. A string that is not a number is left for
/// the option's own check to name.
pub fn read_whole_numbers(layer: &mut serde_json::Value) {
    let Some(map) = layer.as_object_mut() else {
        return;
    };
    numbers_in(map, WHOLE_NUMBERS);
    stage_targets(map);
    if let Some(scenarios) = map.get_mut("scenarios").and_then(|s| s.as_object_mut()) {
        for scenario in scenarios.values_mut().filter_map(|s| s.as_object_mut()) {
            numbers_in(scenario, SCENARIO_WHOLE_NUMBERS);
            stage_targets(scenario);
        }
    }
}

fn stage_targets(map: &mut serde_json::Map<String, serde_json::Value>) {
    if let Some(stages) = map.get_mut("stages").and_then(|s| s.as_array_mut()) {
        for stage in stages.iter_mut().filter_map(|s| s.as_object_mut()) {
            numbers_in(stage, &["target"]);
        }
    }
}

fn numbers_in(map: &mut serde_json::Map<String, serde_json::Value>, keys: &[&str]) {
    for key in keys {
        let Some(serde_json::Value::String(text)) = map.get(*key) else {
            continue;
        };
        if text.is_empty() {
            map.remove(*key);
        } else if let Ok(n) = text.parse::<i64>() {
            map.insert((*key).to_owned(), n.into());
        }
    }
}

/// Why stampede does not use the k6 option `key`, if it is one it accepts that way.
pub fn not_used(key: &str) -> Option<&'static str> {
    NOT_USED
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, why)| *why)
}

/// The key named by serde's "unknown field `KEY`, expected …" message.
pub(super) fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(key, _)| key)
}

/// What the merged options run, decided as k6 v2 decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Execution {
    /// `iterations` (with `vus`, and `duration` as its maxDuration): `shared-iterations`.
    SharedIterations,
    /// `duration` (with `vus`): `constant-vus`.
    ConstantVus,
    /// `stages` (starting at `vus`): `ramping-vus`.
    RampingVus,
    /// `vus` alone: `shared-iterations` of `vus` iterations on `vus` VUs; it overrides
    /// `scenarios`, as in k6 v2.
    VusOnly,
    /// The `scenarios`.
    Scenarios,
    /// Nothing at all: one iteration on one VU (`per-vu-iterations`).
    OneIteration,
}

impl Options {
    /// Which scenario the merged options make, with k6's warning when it is not what the
    /// options seem to ask for (and a notice for scenarios' `options`, k6's browser settings);
    /// or k6's error when shortcuts and `scenarios` conflict.
    pub fn execution(&self) -> Result<(Execution, Vec<String>), String> {
        let (execution, warning) = self.shortcut()?;
        let mut notices: Vec<String> = warning.into_iter().collect();
        if execution == Execution::Scenarios {
            for (name, s) in self.scenarios.iter().flatten() {
                if s.get("options").is_some() {
                    notices.push(format!(
                        "scenario `{name}`: `options` is ignored: they are k6's browser settings, and stampede has no browser"
                    ));
                }
            }
        }
        Ok((execution, notices))
    }

    fn shortcut(&self) -> Result<(Execution, Option<String>), String> {
        let stages = self.stages.as_ref().is_some_and(|s| !s.is_empty());
        let conflict = |a: &str, b: &str| {
            format!("using `{a}` and `{b}` options simultaneously is not allowed")
        };
        if self.iterations.is_some() {
            if stages {
                return Err(conflict("iterations", "stages"));
            }
            if self.scenarios.is_some() {
                return Err(conflict("iterations", "scenarios"));
            }
            return Ok((Execution::SharedIterations, None));
        }
        if let Some(d) = self.duration {
            if stages {
                return Err(conflict("duration", "stages"));
            }
            if self.scenarios.is_some() {
                return Err(conflict("duration", "scenarios"));
            }
            if d.0.is_zero() {
                return Err("`duration` must be more than 0 (to run until interrupted, set a long duration)".into());
            }
            return Ok((Execution::ConstantVus, None));
        }
        if stages {
            if self.scenarios.is_some() {
                return Err(conflict("stages", "scenarios"));
            }
            return Ok((Execution::RampingVus, None));
        }
        if let (Some(vus), None) = (self.vus, &self.stages) {
            let warning = self
                .scenarios
                .is_some()
                .then(|| format!("`vus={vus}` overrides scenarios configuration"));
            return Ok((Execution::VusOnly, warning));
        }
        if self.scenarios.as_ref().is_some_and(|s| !s.is_empty()) {
            return Ok((Execution::Scenarios, None));
        }
        let warning = if self.stages.is_some() {
            Some("`stages` was explicitly set to an empty value, running the script with 1 iteration in 1 VU")
        } else if self.scenarios.is_some() {
            Some("`scenarios` was explicitly set to an empty value, running the script with 1 iteration in 1 VU")
        } else {
            None
        };
        Ok((Execution::OneIteration, warning.map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Source;

    #[test]
    fn serde_names_the_unknown_field() {
        assert_eq!(
            unknown_field("unknown field `cloud`, expected one of `vus`, `duration`"),
            Some("cloud")
        );
        assert_eq!(unknown_field("invalid type: string"), None);
    }

    #[test]
    fn k6_keys_are_dropped_with_a_notice_and_others_still_fail() {
        let (o, notices) = Options::parse_layer(
            r#"{"vus": 2, "cloud": {"name": "x"}, "ext": {"loadimpact": {}}, "paused": true,
                "linger": true, "metricSamplesBufferSize": 100}"#,
            &Source::Script,
        )
        .unwrap();
        assert_eq!(o.vus, Some(2));
        assert_eq!(notices.len(), 5, "{notices:?}");
        assert!(notices.iter().any(|n| n.contains("`cloud` is ignored")));
        let err = Options::parse_layer(r#"{"cloud": {}, "durration": "1s"}"#, &Source::Script)
            .unwrap_err();
        assert!(err.contains("durration"), "{err}");
        // A known key with a value of the wrong type is still an error about that key.
        let err = Options::parse_layer(r#"{"vus": "ten"}"#, &Source::Script).unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
    }

    #[test]
    fn whole_numbers_written_as_strings_are_read_as_k6_reads_them() {
        let o = Options::from_json(
            r#"{"vus": "2", "iterations": "+4", "maxRedirects": "", "batch": "3",
                "stages": [{"duration": "1s", "target": "5"}],
                "scenarios": {"a": {"executor": "ramping-arrival-rate", "startRate": "1",
                    "preAllocatedVUs": "2", "maxVUs": "7", "timeUnit": "1s",
                    "stages": [{"duration": "1s", "target": "9"}]}}}"#,
            &Source::Script,
        )
        .unwrap();
        assert_eq!((o.vus, o.iterations, o.batch), (Some(2), Some(4), Some(3)));
        // An empty string is no value at all, as in k6.
        assert_eq!(o.max_redirects, None);
        assert_eq!(o.stages.as_ref().unwrap()[0].target, 5);
        let a = &o.scenarios.as_ref().unwrap()["a"];
        assert_eq!(a["startRate"], 1);
        assert_eq!(a["maxVUs"], 7);
        assert_eq!(a["stages"][0]["target"], 9);
        // Durations stay strings; what is not a whole number is still refused by name.
        assert_eq!(a["timeUnit"], "1s");
        for bad in [r#"{"vus": "2.5"}"#, r#"{"vus": "two"}"#, r#"{"vus": "-1"}"#] {
            let err = Options::parse_layer(bad, &Source::Script).unwrap_err();
            assert!(err.contains("`vus`"), "{bad}: {err}");
        }
        let err = Options::from_json(
            r#"{"scenarios": {"a": {"executor": "constant-vus", "vus": "x", "duration": "1s"}}}"#,
            &Source::Script,
        )
        .and_then(|o| crate::executor::scenarios(&o))
        .unwrap_err();
        assert!(err.contains("`vus` must be a whole number"), "{err}");
    }

    #[test]
    fn a_scenarios_browser_options_are_taken_with_a_notice() {
        let o = Options::from_json(
            r#"{"scenarios": {"ui": {"executor": "shared-iterations",
                "options": {"browser": {"type": "chromium"}}}}}"#,
            &Source::Script,
        )
        .unwrap();
        let (execution, notices) = o.execution().unwrap();
        assert_eq!(execution, Execution::Scenarios);
        assert!(
            notices[0].contains("scenario `ui`: `options` is ignored"),
            "{notices:?}"
        );
        assert_eq!(crate::executor::scenarios(&o).unwrap()[0].name, "ui");
    }
}
