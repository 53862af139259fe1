//! The host side of `stampede:script/modules`: a script's files, handed to the engine
//! component that runs it (JavaScript).
//!
//! Every VU of a test loads the same script, so each file is read from disk once per test and
//! then served from memory. The paths read are the script's module graph as the engine's
//! loader resolved it: what a cached build of the script depends on, and nothing else (a
//! summary file written next to the script is not part of it).
//!
//! A remote module (`https://…`) is fetched once per test, as k6 fetches it ([`crate::fetch`]).
//!
//! A module is also served as code ([`ScriptFiles::source`]): TypeScript made JavaScript
//! ([`typescript`]), and with the source map that leads its places back to the files the user
//! wrote ([`source_map`]), which the engine asks about when it reports an error.

pub mod source_map;
pub mod typescript;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime::component::{HasData, Linker};

use crate::bindings::js::stampede::script::modules;

/// The largest file a script may import, in bytes: a module past it is surely a mistake, and
/// every VU keeps its own copy of what it compiles.
pub const MAX_FILE: u64 = 64 << 20;

/// The most the shared arrays of a test (k6/data) may hold, in bytes of JSON: they live as long
/// as the test, and a script that makes arrays under new names must not exhaust the host.
pub const MAX_SHARED: usize = 1 << 30;

/// k6/data's arrays by name: each element's JSON text.
type SharedArrays = BTreeMap<String, Arc<[String]>>;

/// One file as read: its contents, or why it could not be read.
type Read = Result<Arc<[u8]>, String>;

/// A module as the engine compiles it.
#[derive(Debug)]
pub struct Source {
    /// The JavaScript.
    pub code: Arc<str>,
    /// Where its places came from, when it has a source map.
    map: Option<source_map::Map>,
}

/// One module as made code, or why it could not be.
type Made = Result<Arc<Source>, String>;

/// The files of one script, shared by the VUs of a test.
#[derive(Debug)]
pub struct ScriptFiles {
    main: PathBuf,
    read: Mutex<BTreeMap<PathBuf, Read>>,
    /// k6/data's shared arrays by name (their elements as JSON texts, one copy per test), and
    /// the bytes they hold.
    shared: Mutex<(SharedArrays, usize)>,
    /// The modules made code so far.
    sources: Mutex<BTreeMap<PathBuf, Made>>,
    /// Remote modules are no longer fetched (the test has started).
    remote_closed: std::sync::atomic::AtomicBool,
}

impl ScriptFiles {
    /// The files of the script whose entry module is `main` (an absolute path).
    pub fn new(main: impl Into<PathBuf>) -> Self {
        Self {
            main: main.into(),
            read: Mutex::new(BTreeMap::new()),
            shared: Mutex::new((BTreeMap::new(), 0)),
            sources: Mutex::new(BTreeMap::new()),
            remote_closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// From now on, a remote module that was not fetched yet is refused: the script's first
    /// load (its options) fetched every one its imports name, and a fetch during the test
    /// (an `import()` in an iteration) would hold a VU's thread, its other VUs and the test's
    /// end for up to a minute.
    pub fn close_remote(&self) {
        self.remote_closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The files of a script whose entry module is `code`, named `main` (a script read from
    /// stdin: its imports resolve against `main`'s folder).
    pub fn with_main_code(main: impl Into<PathBuf>, code: Vec<u8>) -> Self {
        let files = Self::new(main);
        let code: Arc<[u8]> = code.into();
        files
            .read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(files.main.clone(), Ok(code));
        files
    }

    /// The entry module.
    pub fn main(&self) -> &Path {
        &self.main
    }

    /// The contents of `path`, read from disk on first use.
    pub fn read(&self, path: &Path) -> Read {
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = read.get(path) {
            return found.clone();
        }
        let closed = self
            .remote_closed
            .load(std::sync::atomic::Ordering::Relaxed);
        let result = match remote(path) {
            Some(url) if closed => Err(format!(
                "{url} was not fetched when the test started: remote modules are fetched as the \
                 script first loads (its static imports, and `import()` in the init context), \
                 not while it runs"
            )),
            Some(url) => fetch_module(url),
            None => read_file(path),
        };
        read.insert(path.to_owned(), result.clone());
        result
    }

    /// The module at `path` as code, made on first use; the warning about it (a source map
    /// that cannot be used) comes with that first use only.
    pub fn source(&self, path: &Path) -> (Made, Option<String>) {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = sources.get(path) {
            return (found.clone(), None);
        }
        let (made, warning) = match self.make_source(path) {
            Ok((source, warning)) => (Ok(Arc::new(source)), warning),
            Err(e) => (Err(e), None),
        };
        sources.insert(path.to_owned(), made.clone());
        (made, warning)
    }

    /// Where `line:column` (1-based) of the module `path` as compiled came from, when the
    /// module has a source map that says.
    pub fn original(&self, path: &Path, line: u32, column: u32) -> Option<(String, u32, u32)> {
        let sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source = sources.get(path)?.as_ref().ok()?;
        source.map.as_ref()?.original(line, column)
    }

    /// Reads the module at `path` and makes it code.
    fn make_source(&self, path: &Path) -> Result<(Source, Option<String>), String> {
        let bytes = self.read(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| format!("{} is not UTF-8 text: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("/"));
        if typescript::is_typescript(path) {
            let stripped = typescript::strip(path, text.to_owned())?;
            let map = stripped
                .map
                .and_then(|m| source_map::Map::parse(m.as_bytes(), dir, Some(path.into())).ok());
            let source = Source {
                code: stripped.code.into(),
                map,
            };
            return Ok((source, None));
        }
        let (map, warning) = match source_map::url(text) {
            None => (None, None),
            Some(url) => match self.load_map(url, path, dir) {
                Ok(map) => (Some(map), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "cannot use the source map of {} ({e}): errors name places in it as it is",
                        path.display()
                    )),
                ),
            },
        };
        let source = Source {
            code: text.into(),
            map,
        };
        Ok((source, warning))
    }

    /// The source map at `url` of the module `module` (a `data:` URL, or a file relative to
    /// `dir`; for a remote module, a URL of https resolved against the module's).
    fn load_map(&self, url: &str, module: &Path, dir: &Path) -> Result<source_map::Map, String> {
        if let Some(bytes) = source_map::data(url) {
            return source_map::Map::parse(&bytes?, dir, None);
        }
        if let Some(base) = remote(module) {
            let map = url::Url::parse(base)
                .and_then(|b| b.join(url))
                .map_err(|e| format!("'{url}' is not a URL: {e}"))?;
            if map.scheme() != "https" {
                return Err(format!(
                    "'{map}': a remote module's map is fetched over https only"
                ));
            }
            let at = PathBuf::from(map.as_str());
            let bytes = self.read(&at)?;
            let map_dir = at.parent().unwrap_or(dir);
            return source_map::Map::parse(&bytes, map_dir, None);
        }
        let file = url.strip_prefix("file://").unwrap_or(url);
        if file.contains("://") {
            return Err(format!("'{url}' is not a file"));
        }
        let file = dir.join(file);
        let bytes = self.read(&file)?;
        source_map::Map::parse(&bytes, file.parent().unwrap_or(dir), None)
    }

    /// The shared array `name`, if a VU made it.
    pub fn shared(&self, name: &str) -> Option<Arc<[String]>> {
        let shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.0.get(name).cloned()
    }

    /// Keeps `items` as the shared array `name` unless it exists; the array kept, or an error
    /// when the test's arrays would hold more than [`MAX_SHARED`] bytes.
    pub fn share(&self, name: String, items: Vec<String>) -> Result<Arc<[String]>, String> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        let (arrays, bytes) = &mut *shared;
        if let Some(kept) = arrays.get(&name) {
            return Ok(kept.clone());
        }
        let size: usize = items.iter().map(String::len).sum();
        if bytes.saturating_add(size) > MAX_SHARED {
            return Err(format!(
                "SharedArray '{name}' ({} MiB of JSON) would take the test's shared arrays past {} MiB",
                size >> 20,
                MAX_SHARED >> 20
            ));
        }
        *bytes += size;
        let kept: Arc<[String]> = items.into();
        arrays.insert(name, kept.clone());
        Ok(kept)
    }

    /// Every path the engine asked for so far (read or not), in order, with its contents.
    pub fn graph(&self) -> Vec<(PathBuf, Read)> {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        read.iter().map(|(p, r)| (p.clone(), r.clone())).collect()
    }
}

/// The URL a module name is, when it is a remote module's (`https://…`: the engine resolves
/// only those, as k6 does).
fn remote(path: &Path) -> Option<&str> {
    path.to_str().filter(|p| p.starts_with("https://"))
}

/// Fetches a remote module, bounded as a file is.
fn fetch_module(url: &str) -> Read {
    crate::fetch::get_module(url, MAX_FILE)
        .map(Into::into)
        .map_err(|e| format!("cannot fetch {url}: {e}"))
}

/// Reads one module file, refusing what is not a regular file or is too large.
fn read_file(path: &Path) -> Read {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("no such file: {}", path.display()),
        _ => format!("cannot read {}: {e}", path.display()),
    })?;
    if !meta.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{} is {} MiB: larger than the {} MiB a module may be",
            path.display(),
            meta.len() >> 20,
            MAX_FILE >> 20
        ));
    }
    // Read no more than the bound, whatever the size said: some files (under /proc) report 0
    // and hold far more, and a script's `open()` may name any path.
    use std::io::Read as _;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than the {} MiB a file may be",
            path.display(),
            MAX_FILE >> 20
        ));
    }
    Ok(bytes.into())
}

/// Implemented by the store's data of VUs that may run an engine component.
pub trait ModulesView: Send {
    /// The script's files; `None` when the VU runs a plain component (it then gets errors).
    fn modules(&mut self) -> Option<&ScriptFiles>;
}

/// The [`HasData`] marker for `stampede:script/modules`.
struct ModulesApi;

impl HasData for ModulesApi {
    type Data<'a> = ModulesHost<'a>;
}

/// What the import sees: the script's files, if any.
struct ModulesHost<'a>(Option<&'a ScriptFiles>);

impl modules::Host for ModulesHost<'_> {
    fn main(&mut self) -> wasmtime::Result<String> {
        Ok(self
            .0
            .map(|f| f.main().display().to_string())
            .unwrap_or_default())
    }

    fn read(&mut self, path: String) -> wasmtime::Result<Result<Vec<u8>, String>> {
        Ok(match self.0 {
            Some(files) => files.read(Path::new(&path)).map(|b| b.to_vec()),
            None => Err("this script has no files to read".into()),
        })
    }

    fn source(&mut self, path: String) -> wasmtime::Result<Result<modules::ModuleSource, String>> {
        let Some(files) = self.0 else {
            return Ok(Err("this script has no files to read".into()));
        };
        let (made, warning) = files.source(Path::new(&path));
        Ok(made.map(|s| modules::ModuleSource {
            code: s.code.to_string(),
            warning,
        }))
    }

    fn original(
        &mut self,
        path: String,
        line: u32,
        column: u32,
    ) -> wasmtime::Result<Option<modules::Position>> {
        Ok(self
            .0
            .and_then(|f| f.original(Path::new(&path), line, column))
            .map(|(path, line, column)| modules::Position { path, line, column }))
    }

    fn shared_length(&mut self, name: String) -> wasmtime::Result<Option<u32>> {
        Ok(self
            .0
            .and_then(|f| f.shared(&name))
            .map(|a| u32::try_from(a.len()).unwrap_or(u32::MAX)))
    }

    fn shared_make(
        &mut self,
        name: String,
        items: Vec<String>,
    ) -> wasmtime::Result<Result<u32, String>> {
        let len = match self.0 {
            Some(files) => files.share(name, items).map(|a| a.len()),
            None => Ok(items.len()),
        };
        Ok(len.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    fn shared_get(&mut self, name: String, index: u32) -> wasmtime::Result<Option<String>> {
        Ok(self
            .0
            .and_then(|f| f.shared(&name))
            .and_then(|a| a.get(index as usize).cloned()))
    }
}

/// Adds `stampede:script/modules` to `linker`.
pub fn add_to_linker<T: ModulesView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    modules::add_to_linker::<T, ModulesApi>(linker, |t| ModulesHost(t.modules()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_once_and_remembered_as_the_graph() {
        let dir = std::env::temp_dir().join(format!("stampede-modules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let main = dir.join("main.js");
        std::fs::write(&main, "export default function () {}").unwrap();
        let files = ScriptFiles::new(&main);
        assert_eq!(
            &*files.read(&main).unwrap(),
            b"export default function () {}"
        );
        // Changed on disk after the first read: the test keeps the version it started with.
        std::fs::write(&main, "changed").unwrap();
        assert_eq!(
            &*files.read(&main).unwrap(),
            b"export default function () {}"
        );
        let missing = files.read(&dir.join("nope.js")).unwrap_err();
        assert!(missing.contains("no such file"), "{missing}");
        let not_file = files.read(&dir).unwrap_err();
        assert!(not_file.contains("is not a file"), "{not_file}");
        let graph: Vec<_> = files
            .graph()
            .into_iter()
            .map(|(p, r)| (p, r.is_ok()))
            .collect();
        assert_eq!(
            graph,
            vec![
                (dir.clone(), false),
                (main.clone(), true),
                (dir.join("nope.js"), false)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_shared_array_is_kept_once_by_the_first_vu_that_makes_it() {
        let files = ScriptFiles::new("/s/main.js");
        assert!(files.shared("users").is_none());
        let first = files
            .share("users".into(), vec!["1".into(), "2".into()])
            .unwrap();
        let second = files.share("users".into(), vec!["3".into()]).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the first copy is kept");
        assert_eq!(&*files.shared("users").unwrap(), ["1", "2"]);
        // The bound counts every array of the test.
        let big = vec!["x".repeat(MAX_SHARED / 2)];
        assert!(files.share("a".into(), big.clone()).is_ok());
        let e = files.share("b".into(), big).unwrap_err();
        assert!(
            e.contains("SharedArray 'b'") && e.contains("1024 MiB"),
            "{e}"
        );
        assert!(files.shared("b").is_none());
    }
}
