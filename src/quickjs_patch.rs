// The engine's QuickJS with immortal snapshot objects. Included by `build.rs`, which calls
// [`prepare_quickjs`] before it builds guest-sdk/js-engine.
//
// Every VU starts from a copy-on-write image of the engine's memory. QuickJS counts references
// in a header before each object, so a VU that merely uses a built-in (a prototype, a shape,
// an atom, a module's function) writes to that header, and the kernel copies the 4 KiB page
// around it into the VU: 30 of the 38 pages an idle VU owned were such pages, most differing
// from the snapshot in one word. The change below makes the objects of the snapshot immortal
// for the VUs: their counts are neither raised nor lowered (a count read from one says
// "shared", so QuickJS copies rather than changes a shared shape or string in place, and never
// frees it), and the cycle collector no longer visits them (they are roots, like the stack).
//
// The change is made at build time to the rquickjs-sys sources cargo downloads (the same
// version the engine's Cargo.lock names), into guest-sdk/js-engine/patched/rquickjs-sys
// (ignored by git); the engine's Cargo.toml takes that copy through `[patch.crates-io]`.
// Natively (the engine's unit tests) nothing is sealed and QuickJS behaves as released.

/// The rquickjs-sys version the engine builds on (its Cargo.lock must name the same).
const RQUICKJS_SYS: &str = "0.14.0";

/// Text that replaces QuickJS's definition of `JS_REF_COUNT`: every reference count QuickJS
/// reads or writes goes through that macro.
const REF_COUNT_SLOT: &str = r#"/* stampede: the blocks below js_immortal_limit are the snapshot's (JS_SealHeap). Their reference
   counts are not theirs to change: a write would copy the page into the VU. Their count reads
   as a large number (so a shape or string of theirs is shared, never changed in place or
   freed) and writes to it go to a scratch word. */
uintptr_t js_immortal_limit;
static int js_immortal_rc;
static inline int *js_rc_slot(const void *p)
{
    if (unlikely((uintptr_t)p < js_immortal_limit)) {
        js_immortal_rc = 1 << 28;
        return &js_immortal_rc;
    }
    return &js_rc(p)->ref_count;
}
#define JS_REF_COUNT(p) (*js_rc_slot(p))
/* The snapshot's modules, moved off the context's list by JS_SealHeap: a module a VU loads is
   then appended to a list of its own, and no link of the snapshot's last module is written.
   Looking a module up walks both lists. */
static struct list_head js_immortal_modules = { &js_immortal_modules, &js_immortal_modules };
#define js_for_each_loaded_module(el, ctx) \
    for (struct list_head *js_modules_ = &(ctx)->loaded_modules; js_modules_ != NULL; \
         js_modules_ = js_modules_ == &(ctx)->loaded_modules ? &js_immortal_modules : NULL) \
        list_for_each(el, js_modules_)
/* The count of a block that only its owner holds (an unhashed shape): an immortal one's is 1. */
#define JS_REF_COUNT_UNSHARED(p) \
    ((uintptr_t)(p) < js_immortal_limit ? 1 : JS_REF_COUNT(p))
"#;

/// Appended to quickjs.c: the call that seals the snapshot.
const SEAL: &str = r#"
/* stampede: makes every GC object allocated so far immortal (see js_rc_slot). `limit` is an
   address no earlier block reaches and no later block starts below. The collector's list is
   handed to a list of its own, never walked again: the objects stay roots of the ones made
   later, and a later unlink of one of them writes only into that list. The context's modules
   move to js_immortal_modules, where lookups still find them. Call it once, with no
   collection under way. */
static struct list_head js_immortal_list;

/* Moves every entry of the list `from` to the empty list `to`, leaving `from` empty. */
static void js_list_move_all(struct list_head *to, struct list_head *from)
{
    init_list_head(to);
    if (from->next != from) {
        to->next = from->next;
        to->next->prev = to;
        to->prev = from->prev;
        to->prev->next = to;
        init_list_head(from);
    }
}

void JS_SealHeap(JSRuntime *rt, uintptr_t limit)
{
    js_list_move_all(&js_immortal_list, &rt->gc_obj_list);
    /* With one context (the engine's), its modules so far go to js_immortal_modules. */
    if (rt->context_list.next != &rt->context_list
        && rt->context_list.next->next == &rt->context_list) {
        JSContext *ctx = list_entry(rt->context_list.next, JSContext, link);
        js_list_move_all(&js_immortal_modules, &ctx->loaded_modules);
    }
    js_immortal_limit = limit;
}
"#;

/// Appended to quickjs.c: the conversion rquickjs uses for every string that leaves the engine
/// for Rust (which takes UTF-8 only). QuickJS's own keeps an unpaired surrogate (half an emoji
/// cut by `slice`) as three bytes that are not UTF-8, and rquickjs then fails ("Conversion from
/// string failed"): the string could not be logged, encoded, hashed or sent. Here each becomes
/// U+FFFD, as Go's conversion gives it in k6 — three bytes for three, in the copy QuickJS made
/// (a string of 8-bit characters, returned as it is, holds no surrogate). QuickJS's own uses of
/// the conversion (regular expressions, `eval`) keep its behaviour.
const UTF8_OUT: &str = r#"
/* stampede: JS_ToCStringLen2 with each unpaired surrogate replaced by U+FFFD (see
   src/quickjs_patch.rs). An encoded surrogate is ED A0..BF xx; a pair was joined already. */
const char *JS_ToCStringLenUTF8(JSContext *ctx, size_t *plen, JSValueConst val)
{
    size_t len = 0;
    char *s = (char *)JS_ToCStringLen2(ctx, &len, val, false);
    /* A string of 8-bit characters (most: URLs, names, headers) holds no surrogate. */
    bool narrow = JS_VALUE_GET_TAG(val) == JS_TAG_STRING
        && !JS_VALUE_GET_STRING(val)->is_wide_char;
    if (s && !narrow) {
        char *p = s, *end = s + len;
        while (end - p >= 3 && (p = memchr(p, 0xED, end - p - 2)) != NULL) {
            if (((uint8_t)p[1] & 0xE0) == 0xA0) {
                p[0] = (char)0xEF;
                p[1] = (char)0xBF;
                p[2] = (char)0xBD;
                p += 3;
            } else {
                p++;
            }
        }
    }
    if (s && plen)
        *plen = len;
    return s;
}
"#;

/// The edits to rquickjs-sys's `src/inlines/common.rs`: its `JS_ToCString` and
/// `JS_ToCStringLen`, which rquickjs converts every string with, call `JS_ToCStringLenUTF8`.
fn rquickjs_edits() -> Vec<(&'static str, usize, String)> {
    vec![
        (
            "JS_ToCStringLen2(ctx, ptr::null_mut(), val, (false).into())",
            1,
            "JS_ToCStringLenUTF8(ctx, ptr::null_mut(), val)".to_string(),
        ),
        (
            "JS_ToCStringLen2(ctx, plen as _, val, (false).into())",
            1,
            "JS_ToCStringLenUTF8(ctx, plen, val)".to_string(),
        ),
        (
            "pub const JS_NULL: JSValue",
            1,
            "extern \"C\" {\n    /// stampede's: see src/quickjs_patch.rs.\n    pub fn JS_ToCStringLenUTF8(\n        ctx: *mut JSContext,\n        plen: *mut usize,\n        val: JSValue,\n    ) -> *const c_char;\n}\n\npub const JS_NULL: JSValue".to_string(),
        ),
    ]
}

/// The edits to quickjs.c: (text to find, how many times it must be there, its replacement).
fn quickjs_edits() -> Vec<(&'static str, usize, String)> {
    vec![
        // QuickJS's debug dumps (on wherever assertions are) link every string into one list
        // of the runtime: each new string wrote into the last one, a snapshot string for the
        // first a VU makes, and each string freed into its neighbours. Assertions stay on.
        ("#ifndef NDEBUG\n#define ENABLE_DUMPS\n#endif\n", 1, String::new()),
        (
            "#define JS_REF_COUNT(p) (js_rc(p)->ref_count)\n",
            1,
            REF_COUNT_SLOT.to_string(),
        ),
        (
            "JS_REF_COUNT(sh) = JS_REF_COUNT(old_sh);",
            2,
            "JS_REF_COUNT(sh) = JS_REF_COUNT_UNSHARED(old_sh);".to_string(),
        ),
        (
            "list_for_each(el, &ctx->loaded_modules) {\n        m = list_entry(el, JSModuleDef, link);\n        if (m->module_name == name)",
            2,
            "js_for_each_loaded_module(el, ctx) {\n        m = list_entry(el, JSModuleDef, link);\n        if (m->module_name == name)".to_string(),
        ),
        (
            "assert(JS_REF_COUNT(p->shape) == 1);",
            1,
            "assert(JS_REF_COUNT_UNSHARED(p->shape) == 1);".to_string(),
        ),
    ]
}

/// Makes `edits` to the file at `path` (each text must be there as many times as it says) and
/// appends `tail` to it.
fn edit(path: &Path, edits: Vec<(&str, usize, String)>, tail: &[&str]) -> Result<(), String> {
    let mut text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    for (find, count, replace) in edits {
        let found = text.matches(find).count();
        if found != count {
            return Err(format!(
                "{}: `{}` is there {found} times, not {count}: the changes to QuickJS \
                 (src/quickjs_patch.rs) must follow this rquickjs-sys",
                path.display(),
                find.trim_end()
            ));
        }
        text = text.replace(find, &replace);
    }
    text.extend(tail.iter().copied());
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// Makes guest-sdk/js-engine/patched/rquickjs-sys: rquickjs-sys's sources with the change
/// above. Does nothing when it is there from this same change. Errors say what failed.
fn prepare_quickjs(root: &Path, out_dir: &Path) -> Result<(), String> {
    let dest = root.join("guest-sdk/js-engine/patched/rquickjs-sys");
    let stamp = dest.join(".stampede-patch");
    let want = format!(
        "rquickjs-sys {RQUICKJS_SYS}\n{:?}{SEAL}{UTF8_OUT}{:?}",
        quickjs_edits(),
        rquickjs_edits()
    );
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    let source = rquickjs_sys_source(out_dir)?;
    // Made beside it and renamed into place, so that a build running at the same time never
    // sees half a copy.
    let tmp = dest.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&source, &tmp)?;
    edit(&tmp.join("quickjs/quickjs.c"), quickjs_edits(), &[SEAL, UTF8_OUT])?;
    edit(&tmp.join("src/inlines/common.rs"), rquickjs_edits(), &[])?;
    std::fs::write(tmp.join(".stampede-patch"), &want)
        .map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    if dest.exists() {
        std::fs::remove_dir_all(&dest)
            .map_err(|e| format!("removing {}: {e}", dest.display()))?;
    }
    match std::fs::rename(&tmp, &dest) {
        Ok(()) => Ok(()),
        // Another build put the same copy there first.
        Err(_) if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => Err(format!("renaming {} to {}: {e}", tmp.display(), dest.display())),
    }
}

/// Where cargo keeps rquickjs-sys's sources (downloading them if it must): asked of
/// `cargo metadata` for a project that depends on that version alone.
fn rquickjs_sys_source(out_dir: &Path) -> Result<PathBuf, String> {
    let probe = out_dir.join("rquickjs-sys-source");
    std::fs::create_dir_all(&probe).map_err(|e| format!("{}: {e}", probe.display()))?;
    std::fs::write(
        probe.join("Cargo.toml"),
        format!(
            "[package]\nname = \"stampede-quickjs-source\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
             [lib]\npath = \"lib.rs\"\n[dependencies]\n\
             rquickjs-sys = {{ version = \"={RQUICKJS_SYS}\", default-features = false }}\n\
             [workspace]\n"
        ),
    )
    .map_err(|e| format!("{}: {e}", probe.display()))?;
    std::fs::write(probe.join("lib.rs"), "").map_err(|e| format!("{}: {e}", probe.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // From what cargo has already downloaded first; from crates.io when that is not enough.
    let mut failed = String::new();
    let mut answer = None;
    for offline in [true, false] {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&probe)
            .args(["metadata", "--format-version", "1"]);
        if offline {
            cmd.arg("--offline");
        }
        clear_outer_cargo(&mut cmd, &[]);
        let out = cmd
            .output()
            .map_err(|e| format!("running cargo metadata: {e}"))?;
        if out.status.success() {
            answer = Some(out.stdout);
            break;
        }
        failed = String::from_utf8_lossy(&out.stderr).trim().to_string();
    }
    let Some(stdout) = answer else {
        return Err(format!(
            "cargo metadata for rquickjs-sys {RQUICKJS_SYS} failed: {failed}"
        ));
    };
    let json = String::from_utf8_lossy(&stdout);
    let tail = format!("rquickjs-sys-{RQUICKJS_SYS}/Cargo.toml\"");
    let end = json
        .find(&tail)
        .ok_or_else(|| format!("cargo metadata names no rquickjs-sys {RQUICKJS_SYS}"))?;
    let start = json[..end]
        .rfind('"')
        .ok_or("cargo metadata's answer is not JSON")?;
    let manifest = &json[start + 1..end + tail.len() - 1];
    Ok(Path::new(manifest).parent().unwrap().to_path_buf())
}

/// Copies the directory `from` to `to`, files and folders.
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)
                .map_err(|e| format!("copying {}: {e}", path.display()))?;
        }
    }
    Ok(())
}
