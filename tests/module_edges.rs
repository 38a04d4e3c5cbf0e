//! The dependency rules of `src/lib.rs`, checked: every `crate::` path in each top-level module
//! of `src/` must name a module that the rules allow that module to use.
//!
//! Method: read every `.rs` file under `src/<module>` (or `src/<module>.rs`), collect the first
//! segment of each `crate::` path, including the members of a grouped `use crate::{..}`, and
//! compare with [`ALLOWED`]. Comments are skipped, so a doc comment may name any module. A new
//! top-level module must be added to the table: an unknown module fails the test too.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// Pure leaves that every module may use.
const LEAVES: &[&str] = &["number", "backoff"];

/// Each top-level module and the crate modules it may use (besides itself and [`LEAVES`]). Keep
/// in step with the "Dependency rules" of `src/lib.rs`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("number", &[]),
    ("backoff", &[]),
    ("net", &[]),
    ("http", &["net"]),
    ("redis", &["net"]),
    ("payment", &[]),
    ("logger", &[]),
    ("runtime", &[]),
    ("store", &["redis", "payment"]),
    ("api", &["http", "net", "redis", "store", "payment"]),
    ("worker", &["http", "net", "redis", "store", "payment"]),
    ("processor_sim", &["http", "net", "payment"]),
    ("config", &["http", "net", "logger", "worker", "processor_sim"]),
];

/// The `.rs` files of a module: `src/<name>.rs`, or everything under `src/<name>/`.
fn module_files(src: &Path, name: &str) -> Vec<PathBuf> {
    let file = src.join(format!("{name}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut files = Vec::new();
    let mut pending = vec![src.join(name)];
    while let Some(directory) = pending.pop() {
        for entry in
            fs::read_dir(&directory).unwrap_or_else(|error| panic!("{directory:?}: {error}"))
        {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// The text of `source` without `//` comments (line and doc comments).
fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segments of the groups in `{a::x, b::{y, z}, c}`: `a`, `b`, `c`. `text` starts
/// just after the opening brace.
fn group_heads(text: &str, heads: &mut BTreeSet<String>) {
    let mut depth = 0usize;
    let mut at_item_start = true;
    let mut word = String::new();
    for character in text.chars() {
        match character {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_item_start = true,
            character if at_item_start && depth == 0 => {
                if character.is_alphanumeric() || character == '_' {
                    word.push(character);
                } else if !word.is_empty() {
                    heads.insert(std::mem::take(&mut word));
                    at_item_start = false;
                }
            }
            _ => {}
        }
    }
    if !word.is_empty() {
        heads.insert(word);
    }
}

/// Every crate module `source` refers to through a `crate::` path.
fn crate_references(source: &str) -> BTreeSet<String> {
    let source = without_comments(source);
    let mut heads = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            group_heads(group, &mut heads);
        } else {
            let head: String =
                rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            heads.insert(head);
        }
    }
    heads
}

#[test]
fn group_heads_reads_nested_groups() {
    let references = crate_references(
        "use crate::{\n    http::{client::Origin, tls::TlsConfig},\n    net::Endpoint,\n    \
         payment,\n};\nlet x = crate::store::Store::new(); // crate::api in a comment\n",
    );
    let expected: BTreeSet<String> =
        ["http", "net", "payment", "store"].into_iter().map(String::from).collect();
    assert_eq!(references, expected);
}

#[test]
fn every_module_uses_only_what_the_rules_allow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known: Vec<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
    known.sort_unstable();
    let mut found = Vec::new();
    for entry in fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "bin" || name == "main" {
            continue;
        }
        found.push(name);
    }
    found.sort_unstable();
    assert_eq!(found, known, "every top-level module of src/ has a row in ALLOWED");
    let mut broken = Vec::new();
    for (module, allowed) in ALLOWED {
        for file in module_files(&src, module) {
            let source = fs::read_to_string(&file).unwrap();
            for used in crate_references(&source) {
                let leaf = LEAVES.contains(&used.as_str()) && !LEAVES.contains(module);
                if used != *module && !leaf && !allowed.contains(&used.as_str()) {
                    broken.push(format!("{}: {module} uses crate::{used}", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "edges outside the rules of src/lib.rs:\n{}", broken.join("\n"));
}
