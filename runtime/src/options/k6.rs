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
