//! stampede's JavaScript engine: QuickJS (through rquickjs) in a component of the
//! `stampede:script/js-engine` world, which runs a k6-style script as a VU.
//!
//! The engine is built once per stampede version. The user's script is not compiled into it:
//! the host hands the script's files over as data (`modules.read`), the engine's loader
//! resolves their imports (relative files through the host, `k6/*` and `stampede/*` from the
//! engine itself), and each VU evaluates the script once, as k6's init context does.
//!
//! - [`vm`]: the JavaScript runtime of this VU, the script's loading and the calls into it.
//! - [`loader`]: module names and where each module's code comes from.
//! - `commonjs`: CommonJS files (`module.exports`, `require`) seen as ES modules.
//! - [`modules`]: the built-in modules, one file each (see `README.md` for adding one).
//! - `positions`: places in an error's stack led back to the user's files (source maps).
//! - `heap`: the heap as the snapshot leaves it (no free chunk, so that a VU allocates in pages
//!   of its own).

mod bindings {
    wit_bindgen::generate!({
        path: "../../host-api/wit",
        world: "js-engine",
        generate_all,
    });
}

mod commonjs;
mod event_loop;
mod heap;
pub mod loader;
pub mod modules;
mod positions;
mod summary;
pub mod vm;

/// The world's exports, forwarded to the VM.
struct Engine;

impl bindings::Guest for Engine {
    fn options() -> String {
        vm::options()
    }

    fn entry_points() -> Vec<String> {
        vm::entry_points()
    }

    fn setup() -> Result<Vec<u8>, String> {
        vm::setup()
    }

    fn iteration(entry: u32) -> Result<(), String> {
        vm::iteration(entry)
    }

    fn teardown(data: Vec<u8>) -> Result<(), String> {
        vm::teardown(&data)
    }

    fn handle_summary(data: String) -> bindings::SummaryOutcome {
        summary::handle_summary(&data)
    }

    fn wizer_initialize() {
        vm::preinitialize();
        heap::seal();
        let top = heap::plug_holes();
        vm::make_immortal(top);
    }
}

bindings::export!(Engine with_types_in bindings);

/// The host's imports, for the modules that call them.
pub(crate) use bindings::stampede::script as host;
