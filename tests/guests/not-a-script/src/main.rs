//! A WebAssembly component of the wrong world (a wasi:cli command), which stampede must refuse.
fn main() {
    println!("hello");
}
