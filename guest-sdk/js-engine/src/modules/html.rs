//! `stampede:html` (internal): HTML documents parsed by html5ever (through `scraper`) and
//! queried with CSS selectors, for `k6/html` (`html.js`).
//!
//! A [`Selection`] is a document and an ordered list of its nodes, as k6's (jQuery's); an
//! [`Element`] is one node with the DOM's methods, as k6 passes to `each`. Both hold the parsed
//! document by reference count: it lives as long as something found in it.
//!
//! The tree is Go's (k6's) shape where html5ever's differs: a `<template>`'s content is its
//! children (html5ever keeps it in a fragment apart). Selectors take k6's pseudo-classes
//! (`css.rs`), and nodes are written back as k6 writes them (`render.rs`).

mod css;
mod depth;
mod render;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::rc::Rc;

use ego_tree::{NodeId, NodeRef};
use rquickjs::class::Trace;
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{
    Class, Ctx, Exception, Function, IntoJs, JsLifetime, Module, Object, Result, Value,
};
use scraper::{ElementRef, Html, Node, Selector};

use super::bytes::{self, OptText};
use depth::{nesting_depth, MAX_DEPTH};

/// Elements at most in one selection: a selector over a huge page cannot make a VU allocate
/// without bound.
const MAX_NODES: usize = 1 << 20;

/// A parsed document, shared by what was found in it.
type Doc = Rc<Html>;

/// `text` as a selector, with k6's pseudo-classes; a `SyntaxError` when it is not one.
fn selector(ctx: &Ctx<'_>, text: &str) -> Result<Selector> {
    Selector::parse(&css::translate(text)).map_err(|e| {
        let why = match &e {
            // scraper's own words for these ask the user to report them.
            scraper::error::SelectorErrorKind::UnexpectedSelectorParseError(kind) => format!(
                "{kind:?} (CSS only: goquery's extensions to it, such as `:contains`, are not \
                 supported; filter the selection instead)"
            ),
            other => other.to_string(),
        };
        Exception::throw_syntax(ctx, &format!("invalid CSS selector '{text}': {why}"))
    })
}

fn node(doc: &Html, id: NodeId) -> NodeRef<'_, Node> {
    doc.tree.get(id).expect("a node of this document")
}

fn element(doc: &Html, id: NodeId) -> Option<ElementRef<'_>> {
    ElementRef::wrap(node(doc, id))
}

/// The text of `n` and its descendants, in document order.
fn text_of(n: NodeRef<'_, Node>, out: &mut String) {
    for d in n.descendants() {
        if let Node::Text(t) = d.value() {
            out.push_str(t);
        }
    }
}

/// What a node may be tested against: a CSS selector, or the nodes of a selection.
enum Match {
    Css(Selector),
    Nodes(HashSet<NodeId>),
}

impl Match {
    /// A selector (a string), a selection or an element; `None` for anything else (and for
    /// `null` and `undefined`).
    fn of<'js>(ctx: &Ctx<'js>, v: &Value<'js>) -> Result<Option<Self>> {
        if let Some(text) = v.as_string() {
            return Ok(Some(Self::Css(selector(ctx, &text.to_string()?)?)));
        }
        if let Ok(sel) = Class::<Selection>::from_value(v) {
            return Ok(Some(Self::Nodes(
                sel.borrow().nodes.iter().copied().collect(),
            )));
        }
        if let Ok(el) = Class::<Element>::from_value(v) {
            return Ok(Some(Self::Nodes(HashSet::from([el.borrow().node]))));
        }
        Ok(None)
    }

    fn hits(&self, doc: &Html, id: NodeId) -> bool {
        match self {
            Self::Css(sel) => element(doc, id).is_some_and(|e| sel.matches(&e)),
            Self::Nodes(set) => set.contains(&id),
        }
    }
}

/// k6's (jQuery's) selection: nodes of one document, in order.
#[derive(Trace, JsLifetime, Clone)]
#[rquickjs::class]
pub struct Selection {
    #[qjs(skip_trace)]
    doc: Doc,
    #[qjs(skip_trace)]
    nodes: Vec<NodeId>,
}

impl Selection {
    fn with(&self, nodes: Vec<NodeId>) -> Self {
        Self {
            doc: self.doc.clone(),
            nodes,
        }
    }

    fn elements(&self) -> impl Iterator<Item = ElementRef<'_>> {
        self.nodes.iter().filter_map(|id| element(&self.doc, *id))
    }

    fn first_element(&self) -> Option<ElementRef<'_>> {
        self.elements().next()
    }

    /// Each node's element relatives `step` gives, once each, optionally filtered.
    fn relatives<'a>(
        &'a self,
        ctx: &Ctx<'_>,
        filter: Option<String>,
        step: impl Fn(NodeRef<'a, Node>) -> Vec<NodeRef<'a, Node>>,
    ) -> Result<Self> {
        let filter = filter.map(|f| selector(ctx, &f)).transpose()?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in &self.nodes {
            for r in step(node(&self.doc, *id)) {
                let Some(el) = ElementRef::wrap(r) else {
                    continue;
                };
                if filter.as_ref().is_some_and(|f| !f.matches(&el)) {
                    continue;
                }
                if seen.insert(r.id()) && out.len() < MAX_NODES {
                    out.push(r.id());
                }
            }
        }
        Ok(self.with(out))
    }

    /// The nodes that match `test` (a selector, a selection, an element, or a function of
    /// (index, selection) as k6 calls it), or that do not when `want` is false.
    fn keep_where<'js>(
        &self,
        ctx: &Ctx<'js>,
        test: &Value<'js>,
        want: bool,
    ) -> Result<Vec<NodeId>> {
        let mut out = Vec::new();
        if let Some(f) = test.as_function() {
            for (i, id) in self.nodes.iter().enumerate() {
                let one = Class::instance(ctx.clone(), self.with(vec![*id]))?;
                let hit = f.call::<_, Value>((i, one))?.as_bool().unwrap_or(false);
                if hit == want {
                    out.push(*id);
                }
            }
            return Ok(out);
        }
        let m = Match::of(ctx, test)?.ok_or_else(|| {
            Exception::throw_type(
                ctx,
                "expected a CSS selector, a selection, an element or a function (index, selection)",
            )
        })?;
        for id in &self.nodes {
            if m.hits(&self.doc, *id) == want {
                out.push(*id);
            }
        }
        Ok(out)
    }

    /// For each node, the nodes `walk` gives until one matches `until` (not included),
    /// keeping those that match `filter`.
    fn walk_until<'a, 'js, I: Iterator<Item = NodeRef<'a, Node>>>(
        &'a self,
        ctx: &Ctx<'js>,
        until: Opt<Value<'js>>,
        filter: Opt<OptText>,
        walk: impl Fn(NodeRef<'a, Node>) -> I,
    ) -> Result<Selection> {
        let until = match until.0 {
            Some(v) => Match::of(ctx, &v)?,
            None => None,
        };
        let filter = bytes::text(filter).map(|f| selector(ctx, &f)).transpose()?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in &self.nodes {
            for n in walk(node(&self.doc, *id)) {
                let Some(el) = ElementRef::wrap(n) else {
                    continue;
                };
                if until.as_ref().is_some_and(|u| u.hits(&self.doc, n.id())) {
                    break;
                }
                if filter.as_ref().is_none_or(|f| f.matches(&el))
                    && seen.insert(n.id())
                    && out.len() < MAX_NODES
                {
                    out.push(n.id());
                }
            }
        }
        Ok(self.with(out))
    }

    /// The position of the first node among the document's elements that match `sel`, or -1.
    fn rank_in_document(&self, sel: &Selector) -> i64 {
        let Some(first) = self.nodes.first() else {
            return -1;
        };
        let root = self.doc.tree.root();
        let mut matching = root
            .descendants()
            .filter(|d| ElementRef::wrap(*d).is_some_and(|e| sel.matches(&e)));
        matching
            .position(|d| d.id() == *first)
            .map_or(-1, |i| i as i64)
    }

    fn element_at(&self, id: NodeId) -> Element {
        Element {
            doc: self.doc.clone(),
            node: id,
        }
    }
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Selection {
    /// The descendants of the selected nodes that match `selector`, in document order.
    pub fn find(&self, ctx: Ctx<'_>, selector: String) -> Result<Selection> {
        let sel = self::selector(&ctx, &selector)?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in &self.nodes {
            for d in node(&self.doc, *id).descendants().skip(1) {
                if let Some(el) = ElementRef::wrap(d) {
                    if sel.matches(&el) && seen.insert(d.id()) && out.len() < MAX_NODES {
                        out.push(d.id());
                    }
                }
            }
        }
        Ok(self.with(out))
    }

    /// The text of every selected node and its descendants, joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for id in &self.nodes {
            text_of(node(&self.doc, *id), &mut out);
        }
        out
    }

    /// The attribute `name` of the first element, else `default` (undefined).
    pub fn attr<'js>(
        &self,
        ctx: Ctx<'js>,
        name: String,
        default: Opt<Value<'js>>,
    ) -> Result<Value<'js>> {
        match self.first_element().and_then(|e| e.attr(&name)) {
            Some(v) => v.into_js(&ctx),
            None => Ok(default.0.unwrap_or_else(|| Value::new_undefined(ctx))),
        }
    }

    /// The inner HTML of the first node (its children as k6 writes them), or undefined.
    pub fn html<'js>(&self, ctx: Ctx<'js>) -> Result<Value<'js>> {
        match self.nodes.first() {
            Some(id) => render::inner(node(&self.doc, *id)).into_js(&ctx),
            None => Ok(Value::new_undefined(ctx)),
        }
    }

    /// A form control's value, as k6 reads it: inputs, buttons, text areas, options, selects.
    pub fn val<'js>(&self, ctx: Ctx<'js>) -> Result<Value<'js>> {
        let Some(e) = self.first_element() else {
            return Ok(Value::new_undefined(ctx));
        };
        // As k6: an option without a value gives its inner HTML.
        let option_value = |o: ElementRef<'_>| {
            o.attr("value")
                .map(str::to_string)
                .unwrap_or_else(|| render::inner(*o))
        };
        match e.value().name() {
            "input" => match e.attr("value") {
                Some(v) => v.into_js(&ctx),
                None if matches!(e.attr("type"), Some("radio" | "checkbox")) => "on".into_js(&ctx),
                None => "".into_js(&ctx),
            },
            "button" => e.attr("value").unwrap_or("").into_js(&ctx),
            "textarea" => render::inner(*e).into_js(&ctx),
            "option" => option_value(e).into_js(&ctx),
            "select" => {
                let sel = selector(&ctx, "option[selected]")?;
                let chosen: Vec<String> = e.select(&sel).map(option_value).collect();
                if e.attr("multiple").is_some() {
                    chosen.into_js(&ctx)
                } else {
                    chosen.into_iter().next().unwrap_or_default().into_js(&ctx)
                }
            }
            _ => Ok(Value::new_undefined(ctx)),
        }
    }

    /// The number of selected nodes.
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    #[qjs(get, rename = "length")]
    pub fn length(&self) -> usize {
        self.nodes.len()
    }

    /// The node at `index` (negative from the end), as a selection; empty past the ends.
    pub fn eq(&self, index: i64) -> Selection {
        let n = self.nodes.len() as i64;
        let i = if index < 0 { n + index } else { index };
        self.with(
            (0..n)
                .contains(&i)
                .then(|| self.nodes[i as usize])
                .into_iter()
                .collect(),
        )
    }

    pub fn first(&self) -> Selection {
        self.eq(0)
    }

    pub fn last(&self) -> Selection {
        self.eq(-1)
    }

    /// The nodes from `start` to `end` (exclusive), as `Array.prototype.slice` counts.
    pub fn slice(&self, start: i64, end: Opt<i64>) -> Selection {
        let n = self.nodes.len() as i64;
        let at = |i: i64| (if i < 0 { n + i } else { i }).clamp(0, n) as usize;
        let (a, b) = (at(start), at(end.0.unwrap_or(n)));
        self.with(self.nodes.get(a..b.max(a)).unwrap_or_default().to_vec())
    }

    /// The element children of the selected nodes, optionally only those matching `filter`.
    pub fn children(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| n.children().collect())
    }

    pub fn parent(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| {
            n.parent().into_iter().collect()
        })
    }

    pub fn parents(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| n.ancestors().collect())
    }

    pub fn siblings(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| {
            let me = n.id();
            n.parent()
                .map(|p| p.children().filter(|c| c.id() != me).collect())
                .unwrap_or_default()
        })
    }

    /// The next element sibling of each selected node.
    pub fn next(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| {
            n.next_siblings()
                .find(|s| s.value().is_element())
                .into_iter()
                .collect()
        })
    }

    pub fn prev(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.relatives(&ctx, bytes::text(filter), |n| {
            n.prev_siblings()
                .find(|s| s.value().is_element())
                .into_iter()
                .collect()
        })
    }

    /// Every child node (text and comments too) of the selected nodes.
    pub fn contents(&self) -> Selection {
        let mut out = Vec::new();
        for id in &self.nodes {
            out.extend(node(&self.doc, *id).children().map(|c| c.id()));
            if out.len() >= MAX_NODES {
                out.truncate(MAX_NODES);
                break;
            }
        }
        self.with(out)
    }

    /// The nodes that have a descendant matching `test` (a selector, selection or element).
    pub fn has<'js>(&self, ctx: Ctx<'js>, test: Value<'js>) -> Result<Selection> {
        let m = Match::of(&ctx, &test)?.ok_or_else(|| {
            Exception::throw_type(&ctx, "has() needs a selector, a selection or an element")
        })?;
        let keep = self
            .nodes
            .iter()
            .copied()
            .filter(|id| {
                node(&self.doc, *id)
                    .descendants()
                    .skip(1)
                    .any(|d| m.hits(&self.doc, d.id()))
            })
            .collect();
        Ok(self.with(keep))
    }

    pub fn next_all(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.walk_until(&ctx, Opt(None), filter, |n| n.next_siblings())
    }

    pub fn prev_all(&self, ctx: Ctx<'_>, filter: Opt<OptText>) -> Result<Selection> {
        self.walk_until(&ctx, Opt(None), filter, |n| n.prev_siblings())
    }

    pub fn next_until<'js>(
        &self,
        ctx: Ctx<'js>,
        until: Opt<Value<'js>>,
        filter: Opt<OptText>,
    ) -> Result<Selection> {
        self.walk_until(&ctx, until, filter, |n| n.next_siblings())
    }

    pub fn prev_until<'js>(
        &self,
        ctx: Ctx<'js>,
        until: Opt<Value<'js>>,
        filter: Opt<OptText>,
    ) -> Result<Selection> {
        self.walk_until(&ctx, until, filter, |n| n.prev_siblings())
    }

    pub fn parents_until<'js>(
        &self,
        ctx: Ctx<'js>,
        until: Opt<Value<'js>>,
        filter: Opt<OptText>,
    ) -> Result<Selection> {
        self.walk_until(&ctx, until, filter, |n| n.ancestors())
    }

    /// As k6 (goquery): without an argument, the position of the first node among its
    /// element siblings; with a selector, the first node's position among the document's
    /// elements that match it; with a selection, the position of its first node in this one;
    /// with an element, its position in this selection. -1 when not there (and for anything
    /// else).
    pub fn index<'js>(&self, ctx: Ctx<'js>, of: Opt<Value<'js>>) -> Result<i64> {
        let Some(of) = of.0 else {
            let Some(first) = self.nodes.first() else {
                return Ok(-1);
            };
            let before = node(&self.doc, *first).prev_siblings();
            return Ok(before.filter(|s| s.value().is_element()).count() as i64);
        };
        let wanted = if let Some(text) = of.as_string() {
            let sel = selector(&ctx, &text.to_string()?)?;
            return Ok(self.rank_in_document(&sel));
        } else if let Ok(sel) = Class::<Selection>::from_value(&of) {
            sel.borrow().nodes.first().copied()
        } else if let Ok(el) = Class::<Element>::from_value(&of) {
            Some(el.borrow().node)
        } else {
            None
        };
        Ok(wanted
            .and_then(|w| self.nodes.iter().position(|n| *n == w))
            .map_or(-1, |i| i as i64))
    }

    /// The closest ancestor-or-self of each node that matches `selector`.
    pub fn closest(&self, ctx: Ctx<'_>, selector: String) -> Result<Selection> {
        let sel = self::selector(&ctx, &selector)?;
        self.relatives(&ctx, None, |n| {
            std::iter::once(n)
                .chain(n.ancestors())
                .find(|a| ElementRef::wrap(*a).is_some_and(|e| sel.matches(&e)))
                .into_iter()
                .collect()
        })
    }

    /// The nodes that match a selector, selection or element, or for which a function
    /// (index, selection) is true.
    pub fn filter<'js>(&self, ctx: Ctx<'js>, test: Value<'js>) -> Result<Selection> {
        Ok(self.with(self.keep_where(&ctx, &test, true)?))
    }

    /// The nodes that do not match.
    pub fn not<'js>(&self, ctx: Ctx<'js>, test: Value<'js>) -> Result<Selection> {
        Ok(self.with(self.keep_where(&ctx, &test, false)?))
    }

    /// Whether any node matches.
    pub fn is<'js>(&self, ctx: Ctx<'js>, test: Value<'js>) -> Result<bool> {
        Ok(!self.keep_where(&ctx, &test, true)?.is_empty())
    }

    /// Calls `f(index, element)` for each node, as k6 does; returns the selection.
    pub fn each<'js>(&self, ctx: Ctx<'js>, f: Function<'js>) -> Result<Selection> {
        for (i, id) in self.nodes.iter().enumerate() {
            let el = Class::instance(ctx.clone(), self.element_at(*id))?;
            f.call::<_, Value>((i, el))?;
        }
        Ok(self.clone())
    }

    /// `f(index, selection)` for each node, as k6 does: the results, in an array.
    pub fn map<'js>(&self, ctx: Ctx<'js>, f: Function<'js>) -> Result<Vec<Value<'js>>> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for (i, id) in self.nodes.iter().enumerate() {
            let one = Class::instance(ctx.clone(), self.with(vec![*id]))?;
            out.push(f.call::<_, Value>((i, one))?);
        }
        Ok(out)
    }

    /// The element at `index`, or every element (an array) without one.
    pub fn get<'js>(&self, ctx: Ctx<'js>, index: Opt<i64>) -> Result<Value<'js>> {
        match index.0 {
            None => {
                let all: Vec<Element> = self.nodes.iter().map(|id| self.element_at(*id)).collect();
                all.into_js(&ctx)
            }
            Some(i) => {
                let n = self.nodes.len() as i64;
                let i = if i < 0 { n + i } else { i };
                if (0..n).contains(&i) {
                    self.element_at(self.nodes[i as usize]).into_js(&ctx)
                } else {
                    Ok(Value::new_undefined(ctx))
                }
            }
        }
    }

    /// Each node as a selection of its own.
    pub fn to_array(&self) -> Vec<Selection> {
        self.nodes.iter().map(|id| self.with(vec![*id])).collect()
    }
}

/// One node with a few of the DOM's methods, as k6 passes to `each` and `get`.
#[derive(Trace, JsLifetime, Clone)]
#[rquickjs::class]
pub struct Element {
    #[qjs(skip_trace)]
    doc: Doc,
    #[qjs(skip_trace)]
    node: NodeId,
}

#[rquickjs::methods(rename_all = "camelCase")]
impl Element {
    pub fn get_attribute<'js>(&self, ctx: Ctx<'js>, name: String) -> Result<Value<'js>> {
        match element(&self.doc, self.node).and_then(|e| e.attr(&name)) {
            Some(v) => v.into_js(&ctx),
            None => Ok(Value::new_undefined(ctx)),
        }
    }

    pub fn has_attribute(&self, name: String) -> bool {
        element(&self.doc, self.node).is_some_and(|e| e.attr(&name).is_some())
    }

    pub fn has_attributes(&self) -> bool {
        element(&self.doc, self.node).is_some_and(|e| e.value().attrs().next().is_some())
    }

    /// `{name: {name, value}}` for each attribute, as k6 has it.
    pub fn attributes<'js>(&self, ctx: Ctx<'js>) -> Result<Object<'js>> {
        let out = Object::new(ctx.clone())?;
        if let Some(e) = element(&self.doc, self.node) {
            for (name, value) in e.value().attrs() {
                let a = Object::new(ctx.clone())?;
                a.set("name", name)?;
                a.set("value", value)?;
                out.set(name, a)?;
            }
        }
        Ok(out)
    }

    pub fn text_content(&self) -> String {
        let mut out = String::new();
        text_of(node(&self.doc, self.node), &mut out);
        out
    }

    #[qjs(rename = "innerHTML")]
    pub fn inner_html(&self) -> String {
        render::inner(node(&self.doc, self.node))
    }

    pub fn id(&self) -> String {
        element(&self.doc, self.node)
            .and_then(|e| e.value().id().map(str::to_string))
            .unwrap_or_default()
    }

    /// The tag name in lower case, as k6 gives it (the DOM would capitalise it).
    pub fn node_name(&self) -> String {
        match node(&self.doc, self.node).value() {
            Node::Element(e) => e.name().to_string(),
            Node::Text(_) => "#text".into(),
            Node::Document => "#document".into(),
            _ => String::new(),
        }
    }

    pub fn class_name(&self) -> String {
        element(&self.doc, self.node)
            .and_then(|e| e.attr("class").map(str::to_string))
            .unwrap_or_default()
    }

    /// This element as a selection, for k6's `Selection` methods.
    pub fn selection(&self) -> Selection {
        Selection {
            doc: self.doc.clone(),
            nodes: vec![self.node],
        }
    }

    pub fn query_selector<'js>(&self, ctx: Ctx<'js>, selector: String) -> Result<Value<'js>> {
        let found = self.selection().find(ctx.clone(), selector)?;
        found.get(ctx, Opt(Some(0)))
    }

    pub fn query_selector_all<'js>(&self, ctx: Ctx<'js>, selector: String) -> Result<Value<'js>> {
        let found = self.selection().find(ctx.clone(), selector)?;
        found.get(ctx, Opt(None))
    }

    #[qjs(rename = "toString")]
    pub fn to_js_string(&self) -> String {
        "[object html.Node]".to_string()
    }
}

/// Moves each `<template>`'s content out of the fragment html5ever keeps it in, to be the
/// template's children as in Go's tree: k6 finds `template p`, and `children()` and
/// `contents()` of a template list its content.
fn templates_as_children(doc: &mut Html) {
    let fragments: Vec<NodeId> = doc
        .tree
        .root()
        .descendants()
        .filter(|n| n.value().is_fragment())
        .map(|n| n.id())
        .collect();
    for id in fragments {
        let Some(template) = doc.tree.get(id).and_then(|f| f.parent()).map(|t| t.id()) else {
            continue;
        };
        if let Some(mut template) = doc.tree.get_mut(template) {
            template.reparent_from_id_append(id);
        }
        if let Some(mut fragment) = doc.tree.get_mut(id) {
            fragment.detach();
        }
    }
}

/// `parseHTML(source)`: the document as a selection of its root.
fn parse_html(ctx: Ctx<'_>, source: String) -> Result<Selection> {
    let depth = nesting_depth(&source);
    if depth > MAX_DEPTH {
        return Err(Exception::throw_range(
            &ctx,
            &format!("parseHTML: the document nests elements {depth} deep, more than the {MAX_DEPTH} allowed"),
        ));
    }
    let mut doc = Html::parse_document(&source);
    templates_as_children(&mut doc);
    let doc = Rc::new(doc);
    let root = doc.tree.root().id();
    Ok(Selection {
        doc,
        nodes: vec![root],
    })
}

struct HtmlModule;

impl ModuleDef for HtmlModule {
    fn declare(decl: &Declarations<'_>) -> Result<()> {
        decl.declare("parseHTML")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> Result<()> {
        exports.export(
            "parseHTML",
            Function::new(ctx.clone(), parse_html)?.with_name("parseHTML")?,
        )?;
        Ok(())
    }
}

/// Declares `stampede:html` under `name`.
pub fn declare<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Module<'js>> {
    Module::declare_def::<HtmlModule, _>(ctx.clone(), name)
}
