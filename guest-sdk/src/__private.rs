//! Support for the [`script!`](crate::script) macro. Not a public API.

use std::any::Any;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use wit_bindgen;
pub use wit_bindgen::rt as wit_bindgen_rt;

use crate::Options;

/// The options of a script that declares none.
pub fn no_options() -> Options {
    Options::new()
}

/// The setup of a script that declares none: its data is `()`.
pub fn no_setup() -> crate::Result<()> {
    Ok(())
}

/// The teardown of a script that declares none.
pub fn no_teardown() {}

/// Serializes the script's options for the host.
pub fn options_json(options: fn() -> Options) -> String {
    options().to_json()
}

/// What an entry point may return.
pub trait IntoOutcome {
    /// The error message, if the entry point failed.
    fn into_outcome(self) -> Result<(), String>;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: Into<anyhow::Error>> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), String> {
        self.map_err(|e| format!("{:#}", e.into()))
    }
}

/// A setup function producing data of type `D`.
pub trait Setup<D> {
    /// Runs setup.
    fn run(&self) -> Result<D, String>;
}

impl<F, D, E> Setup<D> for F
where
    F: Fn() -> Result<D, E>,
    E: Into<anyhow::Error>,
{
    fn run(&self) -> Result<D, String> {
        self().map_err(|e| format!("{:#}", e.into()))
    }
}

/// An entry point taking the setup data (`fn(&D)`) or not (`fn()`). `M` tells the two apart.
pub trait Entry<D, M> {
    /// Runs the entry point.
    fn call(&self, data: &D) -> Result<(), String>;
}

/// Marks an entry point without parameters.
pub struct NoData<R>(std::marker::PhantomData<R>);
/// Marks an entry point taking the setup data.
pub struct WithData<R>(std::marker::PhantomData<R>);

impl<F, D, R> Entry<D, NoData<R>> for F
where
    F: Fn() -> R,
    R: IntoOutcome,
{
    fn call(&self, _: &D) -> Result<(), String> {
        self().into_outcome()
    }
}

impl<F, D, R> Entry<D, WithData<R>> for F
where
    F: Fn(&D) -> R,
    R: IntoOutcome,
{
    fn call(&self, data: &D) -> Result<(), String> {
        self(data).into_outcome()
    }
}

/// Runs setup and encodes its data for the host.
pub fn run_setup<S, D>(setup: &S) -> Result<Vec<u8>, String>
where
    S: Setup<D>,
    D: Serialize,
{
    let data = setup.run()?;
    serde_json::to_vec(&data).map_err(|e| format!("setup data could not be encoded as JSON: {e}"))
}

/// Runs an entry point with the setup data `data` (teardown's), decoded once per VU. `setup`
/// only names the data type.
pub fn run_entry<S, D, F, M>(_setup: &S, entry: &F, data: &[u8]) -> Result<(), String>
where
    S: Setup<D>,
    D: DeserializeOwned + Send + Sync + 'static,
    F: Entry<D, M>,
{
    entry.call(setup_data::<D>(|| data.to_vec())?)
}

/// Runs an entry point for an iteration: the setup data is asked of the host
/// (`context.setup-data`) the first time, then kept decoded.
pub fn run_iteration<S, D, F, M>(_setup: &S, entry: &F) -> Result<(), String>
where
    S: Setup<D>,
    D: DeserializeOwned + Send + Sync + 'static,
    F: Entry<D, M>,
{
    entry.call(setup_data::<D>(
        crate::bindings::stampede::script::context::setup_data,
    )?)
}

/// The error of an iteration whose entry point index is not one of `entry-points`'.
pub fn no_entry(entry: u32) -> Result<(), String> {
    Err(format!("the script has no entry point number {entry}"))
}

/// The setup data, decoded on first use from what `bytes` gives. A VU is one instance, so one
/// cell serves it.
fn setup_data<D: DeserializeOwned + Send + Sync + 'static>(
    bytes: impl FnOnce() -> Vec<u8>,
) -> Result<&'static D, String> {
    static DATA: OnceLock<Box<dyn Any + Send + Sync>> = OnceLock::new();
    if let Some(data) = DATA.get() {
        return data
            .downcast_ref::<D>()
            .ok_or_else(|| "setup data has an unexpected type".to_string());
    }
    let bytes = bytes();
    let decoded: D = if bytes.is_empty() {
        serde_json::from_slice(b"null")
    } else {
        serde_json::from_slice(&bytes)
    }
    .map_err(|e| format!("setup data could not be decoded: {e}"))?;
    let data = DATA.get_or_init(|| Box::new(decoded));
    Ok(data
        .downcast_ref::<D>()
        .expect("setup data type is fixed by the script"))
}

/// Applies a check's predicate; gives the closure its parameter type.
pub fn apply<T: ?Sized, F: FnOnce(&T) -> bool>(value: &T, predicate: F) -> bool {
    predicate(value)
}
