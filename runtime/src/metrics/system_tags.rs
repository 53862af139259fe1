//! k6's system tags: the tags stampede puts on samples by itself, and the `systemTags` option
//! that says which of them samples carry.

/// A set of system tags, as a bit set (one test per tag when a request is recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemTags(u32);

/// k6's system tags, in k6's order, and whether stampede records each.
const TAGS: [(&str, bool); 18] = [
    ("proto", true),
    ("subproto", false),
    ("status", true),
    ("method", true),
    ("url", true),
    ("name", true),
    ("group", true),
    ("check", true),
    ("error", false),
    ("error_code", true),
    ("tls_version", false),
    ("scenario", true),
    ("service", false),
    ("expected_response", true),
    ("iter", false),
    ("vu", false),
    ("ocsp_status", false),
    ("ip", false),
];

const fn bit(name: &str) -> u32 {
    let mut i = 0;
    while i < TAGS.len() {
        if eq(TAGS[i].0, name) {
            return 1 << i;
        }
        i += 1;
    }
    panic!("not a system tag");
}

const fn eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl SystemTags {
    /// `proto`
    pub const PROTO: SystemTags = SystemTags(bit("proto"));
    /// `status`
    pub const STATUS: SystemTags = SystemTags(bit("status"));
    /// `method`
    pub const METHOD: SystemTags = SystemTags(bit("method"));
    /// `url`
    pub const URL: SystemTags = SystemTags(bit("url"));
    /// `name`
    pub const NAME: SystemTags = SystemTags(bit("name"));
    /// `error_code`
    pub const ERROR_CODE: SystemTags = SystemTags(bit("error_code"));
    /// `scenario`
    pub const SCENARIO: SystemTags = SystemTags(bit("scenario"));
    /// `expected_response`
    pub const EXPECTED_RESPONSE: SystemTags = SystemTags(bit("expected_response"));

    /// k6's default: every tag but `iter`, `vu`, `ocsp_status` and `ip`.
    pub const DEFAULT: SystemTags = SystemTags(bit("iter") - 1);

    /// Whether `tag` is in the set.
    #[inline]
    pub fn has(self, tag: SystemTags) -> bool {
        self.0 & tag.0 != 0
    }

    /// The set named by `names` (k6's names, e.g. `["status", "method"]`), and a notice for
    /// each name that is not a system tag, or one stampede does not record. As in k6,
    /// unknown names are left out rather than refused.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> (SystemTags, Vec<String>) {
        let mut set = 0;
        let mut notices = Vec::new();
        for name in names
            .iter()
            .map(|n| n.as_ref().trim())
            .filter(|n| !n.is_empty())
        {
            match TAGS.iter().position(|(n, _)| *n == name) {
                Some(i) => {
                    set |= 1 << i;
                    if !TAGS[i].1 {
                        notices.push(format!(
                            "systemTags: stampede does not record the `{name}` tag"
                        ));
                    }
                }
                None => notices.push(format!(
                    "systemTags: `{name}` is not a system tag (they are: {})",
                    TAGS.map(|(n, _)| n).join(", ")
                )),
            }
        }
        (SystemTags(set), notices)
    }
}

impl Default for SystemTags {
    fn default() -> Self {
        SystemTags::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_k6s() {
        let d = SystemTags::DEFAULT;
        for tag in [
            SystemTags::PROTO,
            SystemTags::STATUS,
            SystemTags::SCENARIO,
            SystemTags::EXPECTED_RESPONSE,
        ] {
            assert!(d.has(tag));
        }
        let (vu, _) = SystemTags::from_names(&["vu", "iter", "ip", "ocsp_status"]);
        assert_eq!(vu.0 & d.0, 0);
    }

    #[test]
    fn names_pick_tags_and_odd_names_are_noted() {
        let (set, notices) = SystemTags::from_names(&["status", " method", "vu", "colour"]);
        assert!(set.has(SystemTags::STATUS) && set.has(SystemTags::METHOD));
        assert!(!set.has(SystemTags::URL));
        assert_eq!(notices.len(), 2, "{notices:?}");
        assert!(notices[0].contains("`vu`") && notices[1].contains("`colour`"));
        let (none, notices) = SystemTags::from_names::<&str>(&[]);
        assert!(!none.has(SystemTags::PROTO) && notices.is_empty());
    }
}
