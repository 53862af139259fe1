//! k6's pseudo-classes that scraper's selectors lack, written in the CSS that they have.
//!
//! k6 matches selectors with cascadia, which knows `:checked`, `:disabled`, `:enabled`, `:link`
//! and `:lang(…)` by rules of its own (below), and never matches `:hover` and the other states
//! of a browser. scraper (Servo's `selectors`) refuses all of them, so a selector is rewritten
//! before it is parsed: each such pseudo-class becomes an `:is(…)` of attribute selectors and
//! combinators that selects the same elements, a state k6 never matches becomes `:not(*)`, and
//! a selector naming a pseudo-class k6 refuses matches nothing at all, as in k6. Strings and
//! escapes are copied untouched.

/// Form controls that have a disabled state of their own, or from a disabled `<fieldset>`.
const CONTROLS: &str = ":is(button, input, select, textarea, option)";

/// Elements that are disabled by their own attribute only.
const GROUPS: &str = ":is(optgroup, menuitem, fieldset)";

/// Inside a disabled `<fieldset>`: a child of it (or below one) other than its first `<legend>`
/// (a `<legend>` that follows another one does not count as the first).
const IN_DISABLED_FIELDSET: &str = "fieldset[disabled] > :not(legend), \
     fieldset[disabled] > :not(legend) *, \
     fieldset[disabled] > legend ~ legend, \
     fieldset[disabled] > legend ~ legend *";

/// `:link`: links with an address, whether visited or not (a page has no history).
const LINK: &str = ":is(a, area, link)[href]";

/// `:checked`: ticked checkboxes and radio buttons (by their `checked` attribute, whatever
/// their case of `type`), and selected options.
const CHECKED: &str = ":is(:is(input, menuitem)[checked]:is([type=checkbox i], [type=radio i]), \
     option[selected])";

/// Pseudo-classes that k6 (cascadia) accepts and never matches: states of a browser.
const NEVER: &[&str] = &["active", "focus", "hover", "target", "visited"];

/// Pseudo-classes of CSS that k6 refuses: a selector that names one matches nothing at all,
/// as k6 has it with any selector it cannot read (states of a form's validation, of media,
/// of focus…). Those scraper knows (`:is`, `:where`, `:has`, `:scope`…) are not here.
const REFUSED: &[&str] = &[
    "any-link",
    "autofill",
    "blank",
    "buffering",
    "current",
    "default",
    "defined",
    "focus-visible",
    "focus-within",
    "fullscreen",
    "future",
    "in-range",
    "indeterminate",
    "invalid",
    "local-link",
    "modal",
    "muted",
    "open",
    "optional",
    "out-of-range",
    "past",
    "paused",
    "picture-in-picture",
    "placeholder-shown",
    "playing",
    "popover-open",
    "read-only",
    "read-write",
    "required",
    "seeking",
    "stalled",
    "target-within",
    "user-invalid",
    "user-valid",
    "valid",
    "volume-locked",
];

/// Functional pseudo-classes of CSS that k6 refuses.
const REFUSED_WITH_ARGUMENT: &[&str] = &["current", "dir", "state"];

/// What matches no element.
const NOTHING: &str = ":not(*)";

/// `css` with k6's pseudo-classes written as scraper can read them; a selector that names a
/// pseudo-class k6 refuses becomes one that matches nothing.
pub(super) fn translate(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut i = 0;
    while let Some(c) = css[i..].chars().next() {
        let rest = &css[i..];
        let taken = match c {
            '"' | '\'' => string_len(rest),
            '\\' => 1 + rest[1..].chars().next().map_or(0, char::len_utf8),
            ':' if rest.starts_with("::") => 2,
            ':' => match pseudo_class(rest) {
                Some((_, None)) => return NOTHING.to_string(),
                Some((len, Some(css))) => {
                    out.push_str(&css);
                    i += len;
                    continue;
                }
                None => 1,
            },
            _ => c.len_utf8(),
        };
        out.push_str(&rest[..taken]);
        i += taken;
    }
    out
}

/// The length of the quoted string at the start of `s` (to its end if it is not closed).
fn string_len(s: &str) -> usize {
    let quote = s.as_bytes()[0];
    let mut escaped = false;
    for (at, b) in s.bytes().enumerate().skip(1) {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if b == quote => return at + 1,
            _ => {}
        }
    }
    s.len()
}

/// The length of the parenthesised argument at the start of `s`, parentheses included, or
/// `None` when it is not closed.
fn argument_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(c) = s[at..].chars().next() {
        match c {
            '"' | '\'' => at += string_len(&s[at..]) - 1,
            '\\' => at += s[at + 1..].chars().next().map_or(0, char::len_utf8),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            _ => {}
        }
        at += c.len_utf8();
    }
    None
}

/// The name's length at the start of `s`: letters, digits, `-`, `_` and anything not ASCII.
fn name_len(s: &str) -> usize {
    s.char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || !c.is_ascii()))
        .map_or(s.len(), |(at, _)| at)
}

/// For the pseudo-class at the start of `s` (at its `:`), when it is one of k6's that scraper
/// lacks: how long it is, and the CSS that replaces it (`None`: k6 refuses it).
fn pseudo_class(s: &str) -> Option<(usize, Option<String>)> {
    let end = 1 + name_len(&s[1..]);
    let name = s[1..end].to_ascii_lowercase();
    if !s[end..].starts_with('(') {
        let css = match name.as_str() {
            "checked" => CHECKED.to_string(),
            "disabled" => format!(
                ":is({GROUPS}[disabled], {CONTROLS}:is([disabled], {IN_DISABLED_FIELDSET}))"
            ),
            "enabled" => format!(
                ":is({LINK}, {GROUPS}:not([disabled]), \
                 {CONTROLS}:not([disabled], {IN_DISABLED_FIELDSET}))"
            ),
            "link" => LINK.to_string(),
            n if NEVER.contains(&n) => NOTHING.to_string(),
            n if REFUSED.contains(&n) => return Some((end, None)),
            _ => return None,
        };
        return Some((end, Some(css)));
    }
    let len = argument_len(&s[end..])?;
    let argument = &s[end + 1..end + len - 1];
    let css = match name.as_str() {
        "lang" => lang(argument)?,
        n if REFUSED_WITH_ARGUMENT.contains(&n) => return Some((end + len, None)),
        _ => return None,
    };
    Some((end + len, Some(css)))
}

/// `:lang(code)` as k6 has it: the element or one of its ancestors has a `lang` attribute
/// that is `code` in lower case, or starts with it and a `-`. The attribute's value is
/// compared as it is written (`lang="EN"` is not English to k6; `lang="en-US"` is English but
/// not `:lang(en-US)`). `None` when `code` is not a CSS name.
fn lang(code: &str) -> Option<String> {
    let code = code.trim_matches(|c: char| c.is_ascii_whitespace());
    let first = code.trim_start_matches('-').chars().next()?;
    let name_like = code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '\\' || !c.is_ascii());
    if !name_like || first.is_ascii_digit() || code.ends_with('\\') {
        return None;
    }
    let code = code.to_lowercase();
    let own = format!(r#"[lang="{code}" s], [lang^="{code}-" s]"#);
    let inherited = format!(r#"[lang="{code}" s] *, [lang^="{code}-" s] *"#);
    Some(format!(":is({own}, {inherited})"))
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn only_k6_s_pseudo_classes_are_rewritten() {
        assert_eq!(translate("a:LINK > b"), "a:is(a, area, link)[href] > b");
        // A state k6 accepts and never matches matches nothing where it stands…
        assert_eq!(translate("a:hover, p"), "a:not(*), p");
        assert_eq!(translate("input:not(:hover)"), "input:not(:not(*))");
        // …and one k6 refuses leaves the whole selector matching nothing.
        assert_eq!(translate("p:required, p"), ":not(*)");
        assert_eq!(translate("input:not(:required)"), ":not(*)");
        assert_eq!(translate("p:dir(ltr)"), ":not(*)");
        assert_eq!(
            translate(":lang( EN )"),
            r#":is([lang="en" s], [lang^="en-" s], [lang="en" s] *, [lang^="en-" s] *)"#
        );
        // Inside negations and `:is`, as anywhere else.
        assert_eq!(translate(":not(:link)"), ":not(:is(a, area, link)[href])");
        // Strings, escapes, pseudo-elements and other pseudo-classes are left alone.
        for s in [
            r#"[title=":checked"]"#,
            r#"[title=':link\':link']"#,
            r"a\:link",
            "p::before",
            ":first-child:not(.x)",
            ":has(> p)",
            ":contains(\"x\")",
            ":lang(1x)",
            ":lang(*)",
            ":lang()",
            ":lang(en",
            "",
            "é:checke",
        ] {
            assert_eq!(translate(s), s);
        }
    }
}
