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
        // A string leaving the engine as UTF-8 (rquickjs's conversion to Rust, which refuses
        // anything else) has each unpaired surrogate replaced by U+FFFD, as Go's conversion
        // does in k6: `'a😀'.slice(0, 2)` may be logged, hashed or sent. QuickJS kept them,
        // encoded alone, which is not UTF-8.
        (
            UNPAIRED_SURROGATES_KEPT,
            1,
            UNPAIRED_SURROGATES_REPLACED.to_string(),
        ),
    ]
}

/// How `JS_ToCStringLen2` encodes a UTF-16 unit that is not ASCII.
const UNPAIRED_SURROGATES_KEPT: &str = r#"                if (is_hi_surrogate(c)) {
                    if (pos < len && !cesu8) {
                        c1 = src[pos];
                        if (is_lo_surrogate(c1)) {
                            pos++;
                            c = from_surrogate(c, c1);
                        } else {
                            /* Keep unmatched surrogate code points */
                            /* c = 0xfffd; */ /* error */
                        }
                    } else {
                        /* Keep unmatched surrogate code points */
                        /* c = 0xfffd; */ /* error */
                    }
                }
                q += utf8_encode(q, c);"#;

/// The same, with an unpaired surrogate (high or low) replaced unless CESU-8 is asked for.
const UNPAIRED_SURROGATES_REPLACED: &str = r#"                if (is_hi_surrogate(c) && pos < len && !cesu8
                    && is_lo_surrogate(src[pos])) {
                    c1 = src[pos++];
                    c = from_surrogate(c, c1);
                } else if (!cesu8 && (is_hi_surrogate(c) || is_lo_surrogate(c))) {
                    /* stampede: unpaired, so not UTF-8 (see src/quickjs_patch.rs) */
                    c = 0xfffd;
                }
                q += utf8_encode(q, c);"#;

/// Makes guest-sdk/js-engine/patched/rquickjs-sys: rquickjs-sys's sources with the change
/// above. Does nothing when it is there from this same change. Errors say what failed.
fn prepare_quickjs(root: &Path, out_dir: &Path) -> Result<(), String> {
    let dest = root.join("guest-sdk/js-engine/patched/rquickjs-sys");
    let stamp = dest.join(".stampede-patch");
    let want = format!("rquickjs-sys {RQUICKJS_SYS}\n{:?}{SEAL}", quickjs_edits());
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
        return Ok(());
    }
    let source = rquickjs_sys_source(out_dir)?;
    // Made beside it and renamed into place, so that a build running at the same time never
    // sees half a copy.
    let tmp = dest.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_dir(&source, &tmp)?;
    let c = tmp.join("quickjs/quickjs.c");
    let mut text =
        std::fs::read_to_string(&c).map_err(|e| format!("reading {}: {e}", c.display()))?;
    for (find, count, replace) in quickjs_edits() {
        let found = text.matches(find).count();
        if found != count {
            return Err(format!(
                "{}: `{}` is there {found} times, not {count}: the change for immortal \
                 snapshot objects (src/quickjs_patch.rs) must follow this rquickjs-sys",
                c.display(),
                find.trim_end()
            ));
        }
        text = text.replace(find, &replace);
    }
    text.push_str(SEAL);
    std::fs::write(&c, text).map_err(|e| format!("writing {}: {e}", c.display()))?;
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
