//! Compiles the small C helper that does INCRBYFLOAT's arithmetic in `long double`, the type
//! Redis computes it in, so that results and their text match Redis digit for digit.

fn main() {
    println!("cargo:rerun-if-changed=src/commands/long_double.c");
    cc::Build::new()
        .file("src/commands/long_double.c")
        .warnings(true)
        .compile("understudy_long_double");
}
