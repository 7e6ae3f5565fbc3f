//! Placeholder: this chapter is being written.
fn main() {}
