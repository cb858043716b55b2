//! mamori binary.
fn main() {}
