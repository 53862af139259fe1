//! How deep a page nests its elements, counted from its tags before it is parsed: `parseHTML`
//! refuses what nests too deep.

/// The deepest nesting of elements a document may have, as k6 (Go's parser) allows: past it,
/// HTML5's tree building costs time in the square of the depth (20,000 nested `div`s take
/// seconds), which a hostile page must not make a VU spend.
pub(super) const MAX_DEPTH: usize = 512;

/// Elements that never contain others, or that close by themselves at their next sibling:
/// not counted as nesting.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
];

/// Elements whose content is text, skipped to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];

/// How deep `html` nests its elements, from its tags alone: the elements that nest and are
/// open, an end tag closing the innermost open element of its name and those inside it (one
/// that closes nothing, `</x>`, is ignored, as the parser ignores it). Comments and raw text are
/// skipped; auto-closing elements are not counted, so the figure is never above the tree's
/// depth by much. It stops counting past `MAX_DEPTH`: the time is linear in the page.
pub(super) fn nesting_depth(html: &str) -> usize {
    let b = html.as_bytes();
    let (mut i, mut deepest) = (0, 0usize);
    let mut open: Vec<String> = Vec::new();
    while let Some(at) = memchr(b'<', &b[i..]) {
        i += at + 1;
        if b[i..].starts_with(b"!--") {
            i = find(b, i, b"-->").map_or(b.len(), |e| e + 3);
            continue;
        }
        let closing = b.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let end = start
            + b[start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
        if end == start {
            continue;
        }
        let name = html[start..end].to_ascii_lowercase();
        // The tag's end: past quoted attribute values, which may hold `>`.
        let mut j = end;
        let mut quote = None;
        while let Some(&c) = b.get(j) {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c == b'>' => break,
                None => {}
            }
            j += 1;
        }
        let self_closing = j > 0 && b.get(j - 1) == Some(&b'/');
        i = j.min(b.len());
        if closing {
            if let Some(at) = open.iter().rposition(|n| *n == name) {
                open.truncate(at);
            }
        } else if RAW_TEXT.contains(&name.as_str()) {
            i = find_end_tag(b, i, name.as_bytes()).unwrap_or(b.len());
        } else if !self_closing && !NOT_NESTING.contains(&name.as_str()) {
            open.push(name);
            deepest = deepest.max(open.len());
            if deepest > MAX_DEPTH {
                break;
            }
        }
    }
    deepest
}

/// Where `</name` (in any case) starts at or after `from`.
fn find_end_tag(b: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(at) = find(b, i, b"</") {
        let tag = b.get(at + 2..at + 2 + name.len())?;
        if tag.eq_ignore_ascii_case(name) {
            return Some(at);
        }
        i = at + 2;
    }
    None
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|c| *c == needle)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::{nesting_depth, MAX_DEPTH};

    #[test]
    fn nesting_is_counted_from_the_tags() {
        assert_eq!(
            nesting_depth("<html><body><div><p>a<p>b</div></body></html>"),
            3
        );
        // Past the limit it stops counting.
        assert_eq!(nesting_depth(&"<div>".repeat(600)), MAX_DEPTH + 1);
        assert_eq!(nesting_depth(&"<div></div>".repeat(600)), 1);
        // An end tag that closes nothing closes nothing: the page nests 600 deep.
        assert_eq!(nesting_depth(&"<div></x>".repeat(600)), MAX_DEPTH + 1);
        // One that closes an outer element closes those inside it too.
        assert_eq!(nesting_depth("<div><span><b></div><div>"), 3);
        // Lists, rows, void elements and self-closing tags do not nest.
        assert_eq!(
            nesting_depth(&"<li>x<br><img src=a><td>y<span/>".repeat(600)),
            0
        );
        // Comments, scripts and quoted attributes may hold anything.
        let s = format!(
            "<div title='a>b<c'><!-- <div><div> --><script>{}</script></div>",
            "if (a<b) x = y<z;".repeat(600)
        );
        assert_eq!(nesting_depth(&s), 1);
        let s = format!("{}<div><div>", "<script>x</SCRIPT>".repeat(600));
        assert_eq!(
            nesting_depth(&s),
            2,
            "a raw text element neither opens nor closes"
        );
        assert_eq!(nesting_depth("<DIV><Div></div>"), 2);
        assert_eq!(nesting_depth("a < b <"), 0);
    }
}
