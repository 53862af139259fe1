//! Nodes written back as HTML the way k6 writes them (Go's `html.Render`, which goquery's
//! `Html()` calls for each child of a node): only `&`, `'`, `<`, `>`, `"` and carriage returns
//! are escaped, as `&amp;`, `&#39;`, `&lt;`, `&gt;`, `&#34;` and `&#13;` (a no-break space
//! stays as it is), void elements close as `<br/>`, and the text of `<script>`, `<style>` and
//! the like is written as it is.

use ego_tree::iter::Edge;
use ego_tree::NodeRef;
use scraper::node::{Doctype, Element};
use scraper::Node;

/// Elements without content, written `<name …/>`.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// HTML elements whose text is written unescaped.
const LITERAL_TEXT: &[&str] = &[
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
    "script",
    "style",
    "xmp",
];

/// The children of `n`, each written as k6 writes a node: what `Selection.html()` gives.
pub(super) fn inner(n: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for child in n.children() {
        write(child, &mut out);
    }
    out
}

/// Writes `n` and what it contains. Like Go's, it stops at the end of a `<plaintext>` element
/// (whose end tag does not exist in HTML), leaving the elements around it unclosed.
fn write(n: NodeRef<'_, Node>, out: &mut String) {
    for edge in n.traverse() {
        match edge {
            Edge::Open(node) => open(node, out),
            Edge::Close(node) => {
                let Node::Element(e) = node.value() else {
                    continue;
                };
                if VOID.contains(&e.name()) {
                    continue;
                }
                if e.name() == "plaintext" && is_html(e) {
                    return;
                }
                out.push_str("</");
                out.push_str(e.name());
                out.push('>');
            }
        }
    }
}

/// What `node` writes before its children.
fn open(node: NodeRef<'_, Node>, out: &mut String) {
    match node.value() {
        Node::Text(t) => {
            let literal = node
                .parent()
                .and_then(|p| p.value().as_element())
                .is_some_and(|e| is_html(e) && LITERAL_TEXT.contains(&e.name()));
            if literal {
                out.push_str(t);
            } else {
                escape(t, out);
            }
        }
        Node::Comment(c) => {
            out.push_str("<!--");
            escape_comment(c, out);
            out.push_str("-->");
        }
        Node::Doctype(d) => doctype(d, out),
        Node::Element(e) => {
            start_tag(e, out);
            // A newline that starts these elements' text is dropped when parsed: one more
            // keeps the text's own.
            let first_is_newline = node
                .first_child()
                .and_then(|c| c.value().as_text().map(|t| t.starts_with('\n')))
                .unwrap_or(false);
            if first_is_newline && matches!(e.name(), "pre" | "listing" | "textarea") {
                out.push('\n');
            }
        }
        Node::Document | Node::Fragment | Node::ProcessingInstruction(_) => {}
    }
}

fn is_html(e: &Element) -> bool {
    &*e.name.ns == "http://www.w3.org/1999/xhtml"
}

/// `<name attr="value"…>`, or `…/>` for a void element; attributes in a namespace (in SVG and
/// MathML) keep their prefix, as `xlink:href`.
fn start_tag(e: &Element, out: &mut String) {
    out.push('<');
    out.push_str(e.name());
    for (name, value) in e.attrs.iter() {
        out.push(' ');
        if let Some(prefix) = &name.prefix {
            out.push_str(prefix);
            out.push(':');
        }
        out.push_str(&name.local);
        out.push_str("=\"");
        escape(value, out);
        out.push('"');
    }
    out.push_str(if VOID.contains(&e.name()) { "/>" } else { ">" });
}

/// Text or an attribute's value, escaped as Go escapes both.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A comment's text: `&` escaped, and a `>` that could end the comment early (first, or after
/// `!` or `-`).
fn escape_comment(text: &str, out: &mut String) {
    let mut before = None;
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '>' if matches!(before, None | Some('!' | '-')) => out.push_str("&gt;"),
            c => out.push(c),
        }
        before = Some(c);
    }
}

/// `<!DOCTYPE name PUBLIC "…" "…">` (or `SYSTEM "…"`), as the page has it.
fn doctype(d: &Doctype, out: &mut String) {
    out.push_str("<!DOCTYPE ");
    escape(d.name(), out);
    let (public, system) = (d.public_id(), d.system_id());
    if !public.is_empty() {
        out.push_str(" PUBLIC ");
        quoted(public, out);
        if !system.is_empty() {
            out.push(' ');
            quoted(system, out);
        }
    } else if !system.is_empty() {
        out.push_str(" SYSTEM ");
        quoted(system, out);
    }
    out.push('>');
}

/// An identifier of a doctype in double quotes, or single ones when it holds a double quote.
fn quoted(id: &str, out: &mut String) {
    let quote = if id.contains('"') { '\'' } else { '"' };
    out.push(quote);
    out.push_str(&id.replace('>', "&gt;"));
    out.push(quote);
}
