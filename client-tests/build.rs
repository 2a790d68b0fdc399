//! Generates one `#[test]` per `differential/*.txt` case file, so that the files run in parallel
//! and a family's file can be run alone (`cargo test -p client-tests --test differential strings`).

use std::fmt::Write;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("differential");
    // The directory's mtime changes when a case file is added, removed or renamed.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".txt"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::new();
    for file in &files {
        let stem = file.trim_end_matches(".txt");
        let mut name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            name.insert(0, '_');
        }
        writeln!(
            code,
            "#[test]\nfn r#{name}() {{\n    run_case_file({file:?});\n}}"
        )
        .expect("write to a String");
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("differential_cases.rs");
    std::fs::write(out, code).expect("write the generated tests");
}
