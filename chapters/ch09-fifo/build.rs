//! Compiles the C peers of the interop test (ch09-pipe's tests/c/, ours): see compile.rs there.
include!("../ch09-pipe/tests/c/compile.rs");

fn main() {
    compile_c_peers(std::path::Path::new("../ch09-pipe/tests/c"), &["udpechocli", "udpserv_echo"]);
}
