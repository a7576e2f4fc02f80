//! Placeholder replaced by the unbake benchmark.
fn main() {}
