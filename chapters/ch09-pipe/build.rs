//! Compiles the C peers of the interop tests (tests/c/, ours): see tests/c/compile.rs.
include!("tests/c/compile.rs");

fn main() {
    compile_c_peers(std::path::Path::new("tests/c"), &["udpechocli", "udpserv_echo"]);
}
