//! `k6/html` against what k6 v2.2 gives for the same scripts (each expected value below is
//! k6's output, but where a comment says otherwise).

use crate::modules::tests::run;

/// The `result` export of a script that imports `parseHTML`, as JSON.
fn result(body: &str) -> String {
    run(&format!("import {{ parseHTML }} from 'k6/html';\n{body}")).1
}

const FORM: &str = r#"const doc = parseHTML(`<form><input name="a" checked type="checkbox"><input name="b" disabled><input name="c" required>
<input type="RADIO" checked><input type="text" checked><input checked>
<select><option>x</option><option selected>y</option></select><a href="/x">l</a><a>no</a><area href="y"><link href="z">
<button disabled>b</button><button>c</button><select disabled><option>o</option></select>
<fieldset disabled><input name="fi"><legend><input name="lg"></legend><legend><input name="l2"></legend></fieldset>
<optgroup disabled><option>og</option></optgroup><textarea disabled></textarea><option disabled>od</option><div disabled></div>
</form>`);
const count = (s) => doc.find(s).size();
const names = (s) => doc.find(s).map((i, e) => e.attr('name') ?? e.get(0).nodeName()).join(',');"#;

#[test]
fn html_form_states_match_as_in_k6() {
    let out = result(&format!(
        "{FORM}\nexport const result = [{}];",
        "count('input:checked'), count('option:checked'), count(':checked'), names('input:checked'), \
         count(':disabled'), count(':enabled'), names('input:disabled'), names('input:enabled'), \
         names(':disabled:not(input)'), count('button:enabled'), count('a:link'), count(':link'), \
         count('form :not(:enabled):not(:disabled)'), doc.find('input').filter(':disabled').size(), \
         doc.find('input').is(':checked'), doc.find('[name=lg]').closest(':enabled').size()"
    ));
    assert_eq!(
        out,
        concat!(
            r#"[2,1,3,"a,input",9,15,"b,fi,l2","a,c,input,input,input,lg","#,
            r#""button,select,fieldset,optgroup,textarea,option",1,1,3,4,3,true,1]"#
        )
    );
}

#[test]
fn html_lang_is_k6_s_and_browser_states_match_nothing() {
    let out = result(
        r#"const doc = parseHTML(`<form><input name="c" required><a href="/x">l</a><p lang="en">p</p><p lang="en-US">q</p>
<p lang="EN">r</p><p lang="english">s</p><div lang="en"><span>in</span><b lang="fr">fr</b></div><i lang="en-us">x</i></form>`);
const count = (s) => doc.find(s).size();
const bad = (s) => { try { doc.find(s); return 'ok'; } catch (e) { return e.name; } };
export const result = [
  count('p:lang(en)'), count('p:LANG( en )'), count('span:lang(en)'), count('b:lang(en)'), count('b:lang(fr)'),
  count('i:lang(en-US)'), count('p:lang(en-US)'), count('p:not(:lang(en))'),
  count('input:required'), count('input:optional'), count('input:read-only'), count('input:read-write'),
  count('a:any-link'), count('a:visited'), count('a:hover'), count(':focus'), count(':target'),
  doc.find('input').is(':required'), doc.find('input').not(':required').size(),
  count('p:has(+ a)'), count('[title=":checked"]'),
  bad(':lang()'), bad(':lang(*)'), bad('p[[['), bad(':contains("x")'),
];"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"[2,2,1,1,1,1,0,2,"#,
            r#"0,0,0,0,0,0,0,0,0,false,1,0,0,"#,
            // k6 matches nothing with a selector it cannot read; here it is a SyntaxError.
            r#""SyntaxError","SyntaxError","SyntaxError","SyntaxError"]"#
        )
    );
}

#[test]
fn html_index_follows_goquery() {
    let out = result(
        r#"const doc = parseHTML('<ul><li>One</li><li class="s">Two</li><li>Three</li></ul><ol><li class="s">Four</li></ol><div><span>a</span><span>b</span></div>');
const li = doc.find('li');
const spans = doc.find('span');
export const result = [
  li.index('.s'), doc.find('li.s').index('li'), li.eq(2).index('li'), doc.find('ol li').index('li'),
  doc.find('ol li').index('.s'), doc.find('nope').index('li'), li.index(':checked'),
  li.index(doc.find('.s')), li.index(doc.find('ol li')), li.index(doc.find('nope')), li.eq(1).index(li),
  spans.index(spans.get(1)), spans.index(li.get(0)),
  li.index(), doc.find('ol li').index(), doc.find('nope').index(),
  li.index(5), li.index(null), li.index(undefined),
];"#,
    );
    assert_eq!(out, "[-1,1,2,3,1,-1,-1,1,3,-1,-1,1,-1,0,0,-1,-1,-1,-1]");
}

#[test]
fn html_is_written_back_as_go_writes_it() {
    let out = result(
        r##"const d = parseHTML(`<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd"><html><head>
<title>T &amp; "q"</title><style>a > b { x: '&amp;' }</style><script>if (a < b && c > "d") {}</script></head><body>
<div id="d" title='a "b" &amp; &lt;c&gt; &#39; &nbsp; é'>x &lt; y &gt; z &amp; "q" 'a' é&nbsp;\r\n<!-- c&d -> e --><!-->--><!--a-->b--><br><hr><wbr><img alt="&quot;"><input disabled><keygen><source><embed><area><param><track><meta><link></div>
<pre>

p</pre><textarea>

t&lt;</textarea><noscript><b>&amp;</b></noscript><xmp><i>&amp;</i></xmp>
<svg viewBox="0 0 1 1"><use xlink:href="#a" xml:lang="en" xmlns:xlink="http://www.w3.org/1999/xlink"/><foreignObject><p>f</p></foreignObject><style>s&amp;</style></svg>
<select><option>a &amp; b</option><option value="v">c</option></select><plaintext><b>after`);
const c = d.find('#d').contents();
export const result = [
  d.html(), d.find('body').html(), d.find('head').html(),
  d.find('option').first().val(), d.find('select').val(), d.find('textarea').val(),
  c.size(), c.eq(0).html(), d.find('#d').get(0).innerHTML() === d.find('#d').html(),
];"##,
    );
    let body = concat!(
        "\n<div id=\"d\" title=\"a &#34;b&#34; &amp; &lt;c&gt; &#39; \u{a0} é\">",
        "x &lt; y &gt; z &amp; &#34;q&#34; &#39;a&#39; é\u{a0}\n<!-- c&amp;d -&gt; e -->",
        "<!---->--&gt;<!--a-->b--&gt;<br/><hr/><wbr/><img alt=\"&#34;\"/><input disabled=\"\"/>",
        "<keygen/><source/><embed/><area/><param/><track/><meta/><link/></div>\n",
        "<pre>\n\np</pre><textarea>\n\nt&lt;</textarea><noscript><b>&amp;</b></noscript>",
        "<xmp><i>&amp;</i></xmp>\n<svg viewBox=\"0 0 1 1\"><use xlink:href=\"#a\" xml:lang=\"en\" ",
        "xmlns:xlink=\"http://www.w3.org/1999/xlink\"></use><foreignObject><p>f</p></foreignObject>",
        "<style>s&amp;</style></svg>\n<select><option>a &amp; b</option><option value=\"v\">c</option>",
        "</select><plaintext><b>after"
    );
    let head = concat!(
        "\n<title>T &amp; &#34;q&#34;</title><style>a > b { x: '&amp;' }</style>",
        "<script>if (a < b && c > \"d\") {}</script>"
    );
    let doctype = concat!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\" ",
        "\"http://www.w3.org/TR/html4/strict.dtd\">"
    );
    let expected = serde_like(&[
        &format!("{doctype}<html><head>{head}</head><body>{body}"),
        body,
        head,
        "a &amp; b",
        "",
        "\nt&lt;",
    ]);
    assert_eq!(out, format!("[{expected},19,\"\",true]"));
}

#[test]
fn html_template_content_is_the_template_s_children() {
    let out = result(
        r#"const d = parseHTML('<div><template id="t"><p>tp</p><span>ts <b>b</b></span></template></div>');
const t = d.find('template');
export const result = [
  d.find('template p').size(), d.find('#t > span').size(), t.children().size(), t.contents().size(),
  t.html(), t.text(), t.find('*').size(), d.find('b').closest('template').size(), d.find('b').parents().size(),
  d.find('div').html(), d.find('p').size(), d.find('span').index('template *'),
];"#,
    );
    assert_eq!(
        out,
        concat!(
            r#"[1,1,2,2,"<p>tp</p><span>ts <b>b</b></span>","tpts b",3,1,5,"#,
            r#""<template id=\"t\"><p>tp</p><span>ts <b>b</b></span></template>",1,1]"#
        )
    );
}

/// The strings as a JSON array's items, as `JSON.stringify` writes them.
fn serde_like(items: &[&str]) -> String {
    let quote = |s: &str| {
        let mut out = String::from('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(",")
}
