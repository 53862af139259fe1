//! The host side of `stampede:script/execution`: what `k6/execution` shows of the test beyond
//! the `context` interface (JavaScript).

use wasmtime::component::{HasData, Linker};

use crate::bindings::js::stampede::script::execution;

/// The VU's side of `execution`, implemented by the runtime.
pub trait ExecutionHooks: Send {
    /// The test's state as JSON (see `execution.state` in `wit/js.wit`).
    fn state(&self) -> String;
    /// The merged options as JSON.
    fn options(&self) -> String;
    /// The tags on the VU's samples now.
    fn tags(&self) -> Vec<(String, String)>;
    /// Sets a tag of the VU's own.
    fn set_tag(&mut self, name: &str, value: &str) -> Result<(), String>;
    /// Removes a tag of the VU's own.
    fn delete_tag(&mut self, name: &str);
    /// The variables `__ENV` holds: the test's and, unless `test_only`, the scenario's over
    /// them.
    fn env_vars(&self, test_only: bool) -> Vec<(String, String)>;
}

/// Implemented by the store's data of VUs that may run an engine component.
pub trait ExecutionView: Send {
    /// The VU's hooks.
    fn execution(&mut self) -> &mut dyn ExecutionHooks;
}

struct ExecutionApi;

impl HasData for ExecutionApi {
    type Data<'a> = ExecutionHost<'a>;
}

struct ExecutionHost<'a>(&'a mut dyn ExecutionHooks);

impl execution::Host for ExecutionHost<'_> {
    fn state(&mut self) -> wasmtime::Result<String> {
        Ok(self.0.state())
    }

    fn options(&mut self) -> wasmtime::Result<String> {
        Ok(self.0.options())
    }

    fn tags(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.0.tags())
    }

    fn set_tag(&mut self, name: String, value: String) -> wasmtime::Result<Result<(), String>> {
        Ok(self.0.set_tag(&name, &value))
    }

    fn delete_tag(&mut self, name: String) -> wasmtime::Result<()> {
        self.0.delete_tag(&name);
        Ok(())
    }

    fn env_vars(&mut self, test_only: bool) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self.0.env_vars(test_only))
    }
}

/// Adds `stampede:script/execution` to `linker`.
pub fn add_to_linker<T: ExecutionView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    execution::add_to_linker::<T, ExecutionApi>(linker, |t| ExecutionHost(t.execution()))
}
