//! JSON values written as YAML documents, for `kubectl apply -f`.
//!
//! Block style for objects and arrays, and every string value as a JSON (double-quoted)
//! string, which YAML reads the same way: no value can be mistaken for another type (`"on"`,
//! `"1"`, `"null"`), and no character needs YAML-specific escaping. Keys that are plain names
//! (`apiVersion`, `app.kubernetes.io/name`) are written bare, for the reader.

use std::fmt::Write as _;

use serde_json::Value;

/// `docs` as a multi-document YAML stream.
pub fn documents(docs: &[Value]) -> String {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        block(&mut out, doc, 0);
    }
    out
}

/// A key: bare when YAML cannot read it as anything but that string.
fn key(k: &str) -> String {
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
    let special = matches!(
        k.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null"
    );
    if plain && !special {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        // serde_json writes strings with JSON escapes, which YAML's double-quoted style shares.
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => v.to_string(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(o) if o.is_empty() => "{}".into(),
        _ => unreachable!("only scalars and empty collections are written inline"),
    }
}

fn is_inline(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => true,
    }
}

/// Writes `v`, a collection, at `indent` spaces.
fn block(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, val) in map {
                let key = key(k);
                if is_inline(val) {
                    let _ = writeln!(out, "{pad}{key}: {}", scalar(val));
                } else {
                    let _ = writeln!(out, "{pad}{key}:");
                    block(out, val, indent + 2);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                if is_inline(item) {
                    let _ = writeln!(out, "{pad}- {}", scalar(item));
                } else {
                    // The item's first line follows the dash; the rest align under it.
                    let mut inner = String::new();
                    block(&mut inner, item, indent + 2);
                    let body = inner.trim_start_matches(' ');
                    let _ = write!(out, "{pad}- {body}");
                }
            }
        }
        other => {
            let _ = writeln!(out, "{pad}{}", scalar(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_are_written_in_block_style() {
        let doc = json!({
            "kind": "Job",
            "on": "off",
            "a b": 1,
            "spec": {
                "args": ["run", "x y", "on", "1"],
                "empty": {},
                "list": [],
                "items": [{"name": "a", "value": "line\nbreak"}, [1, 2], 3],
                "n": 4, "b": true, "z": null
            }
        });
        let yaml = documents(&[doc]);
        assert_eq!(
            yaml,
            r#"---
"a b": 1
kind: "Job"
"on": "off"
spec:
  args:
    - "run"
    - "x y"
    - "on"
    - "1"
  b: true
  empty: {}
  items:
    - name: "a"
      value: "line\nbreak"
    - - 1
      - 2
    - 3
  list: []
  "n": 4
  z: null
"#
        );
    }
}
