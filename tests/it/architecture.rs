//! The module rules of ARCHITECTURE.md hold in the code: every
//! `crate::module` a module names (outside its tests) is in its "may use"
//! column of the code map, and modules import each other in no circle.
//! The table is read from ARCHITECTURE.md itself, so the document and the
//! code cannot drift apart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the modules its "may use" cell names (words that are modules;
/// crates and notes in the cell are ignored).
fn may_use(modules: &BTreeSet<String>) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let map = doc
        .split("\n## ")
        .find(|s| s.starts_with("Code map"))
        .expect("ARCHITECTURE.md has a \"## Code map\" section");
    let mut table = BTreeMap::new();
    for line in map.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let name = cells[0].trim_matches('`').trim_end_matches('/').to_string();
        let allowed = cells
            .last()
            .unwrap()
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| modules.contains(*w))
            .map(str::to_string)
            .collect();
        table.insert(name, allowed);
    }
    table
}

/// Module → the modules its code names as `crate::name` (its own files,
/// test modules left out).
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = match text.find("#[cfg(test)]\nmod ") {
                Some(i) => &text[..i],
                None => &text[..],
            };
            let names = found.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name != module && !name.is_empty() {
                    names.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn every_module_uses_only_what_architecture_md_allows() {
    let uses = uses();
    let modules: BTreeSet<String> = uses.keys().cloned().collect();
    let table = may_use(&modules);
    let mut broken = Vec::new();
    for (module, names) in &uses {
        let Some(allowed) = table.get(module) else {
            broken.push(format!("{module}: no row in ARCHITECTURE.md's code map"));
            continue;
        };
        for name in names.difference(allowed) {
            broken.push(format!("{module} uses {name}, not in its \"may use\""));
        }
    }
    for documented in table.keys().filter(|m| !modules.contains(*m)) {
        broken.push(format!("{documented}: in the code map, not in src/"));
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn modules_import_each_other_in_no_circle() {
    let uses = uses();
    // Depth-first search; a module met again while on the path closes a circle.
    fn visit(
        m: &str,
        uses: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in uses.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, uses, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in uses.keys() {
        let circle = visit(m, &uses, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "import circle: {}",
            circle.unwrap().join(" → ")
        );
    }
}
