//! Places in an error's stack led back to the files the user wrote: a TypeScript file before
//! its types were removed, the original files of a bundle with a source map. The host keeps
//! the maps (`modules.original`); the engine rewrites each `path:line:column` it reports.

/// `text` (an error and its stack) with each `/path:line:column` (or `https://…:line:column`,
/// a remote module's) that `original` knows
/// replaced by the place it gives.
pub fn map_places(text: &str, original: impl Fn(&str, u32, u32) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match place_in(line)
            .and_then(|(start, end, path, l, c)| original(path, l, c).map(|to| (start, end, to)))
        {
            Some((start, end, to)) => {
                out.push_str(&line[..start]);
                out.push_str(&to);
                out.push_str(&line[end..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// The place a stack line names, as QuickJS writes it (`    at f (/a/b.js:3:9)` or
/// `    at /a/b.js:3:9`): its byte range in the line, the path, line and column.
fn place_in(line: &str) -> Option<(usize, usize, &str, u32, u32)> {
    let trimmed = line.trim_end();
    let (body_end, open) = match trimmed.strip_suffix(')') {
        Some(inner) => (inner.len(), inner.rfind('(')? + 1),
        None => (trimmed.len(), trimmed.rfind("at ")? + 3),
    };
    let place = &line[open..body_end];
    let (rest, column) = place.rsplit_once(':')?;
    let (path, line_no) = rest.rsplit_once(':')?;
    if !(path.starts_with('/') || crate::loader::is_remote(path)) {
        return None;
    }
    Some((
        open,
        body_end,
        path,
        line_no.parse().ok()?,
        column.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(path: &str, line: u32, column: u32) -> Option<String> {
        (path == "/w/dist/bundle.js").then(|| format!("/w/src/lib.js:{}:{}", line + 100, column))
    }

    #[test]
    fn known_places_are_rewritten_and_others_kept() {
        let stack = "Error: boom\n    at inner (/w/dist/bundle.js:3:9)\n    at /w/dist/bundle.js:7:1\n    at other (/w/x.js:1:2)\n    at <eval> (native)";
        assert_eq!(
            map_places(stack, fake),
            "Error: boom\n    at inner (/w/src/lib.js:103:9)\n    at /w/src/lib.js:107:1\n    at other (/w/x.js:1:2)\n    at <eval> (native)"
        );
        let remote = |path: &str, line, column| {
            (path == "https://h:8443/b.js")
                .then(|| format!("webpack://lib/./src/a.js:{line}:{column}"))
        };
        assert_eq!(
            map_places("E\n    at f (https://h:8443/b.js:1:3200)", remote),
            "E\n    at f (webpack://lib/./src/a.js:1:3200)"
        );
    }

    #[test]
    fn text_without_places_is_unchanged() {
        assert_eq!(map_places("plain message", fake), "plain message");
        assert_eq!(map_places("odd (a:b:c)\n", fake), "odd (a:b:c)\n");
    }
}
