//! The architecture, held: no module imports one that imports it back, directly or through
//! others, at any level of `src/` (top-level modules among themselves, a module's children
//! among themselves), and every top-level module imports only from its own layer or the ones
//! below it, as the README's code map lists them. A loop that comes back fails here, named,
//! with the lines that make it.
//!
//! The imports are read from the source text: `use` declarations (braces expanded) and
//! `crate::`/`super::`/`self::` paths written inline, outside comments and `#[cfg(test)]`
//! modules (a test may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below the crate: `["web", "pages", "log"]`.
type ModPath = Vec<String>;

/// One reference from a module to another, with where it was seen.
struct Edge {
    to: ModPath,
    seen: String,
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    crate::support::shared();
    let graph = Graph::read(&src());
    let loops = graph.loops();
    assert!(
        loops.is_empty(),
        "import loops in src/ (each module imports the next, the last the first):\n{}",
        loops.join("\n")
    );
}

#[test]
fn every_top_level_module_imports_only_its_own_layer_or_those_below() {
    crate::support::shared();
    let graph = Graph::read(&src());
    let layers = readme_layers();
    let top: BTreeSet<&str> = graph
        .modules
        .keys()
        .filter_map(|m| m.first().map(String::as_str))
        .collect();
    let listed: BTreeSet<&str> = layers.keys().map(String::as_str).collect();
    let unlisted: Vec<_> = top.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "top-level modules missing from the README's layer table: {unlisted:?}"
    );
    let gone: Vec<_> = listed.difference(&top).collect();
    assert!(
        gone.is_empty(),
        "the README's layer table lists modules src/ does not have: {gone:?}"
    );
    let mut upward = Vec::new();
    for (from, edges) in &graph.edges {
        for e in edges {
            let (a, b) = (&from[0], &e.to[0]);
            if a != b && layers[b] > layers[a] {
                upward.push(format!(
                    "{a} (layer {}) imports {b} (layer {}): {}",
                    layers[a], layers[b], e.seen
                ));
            }
        }
    }
    assert!(upward.is_empty(), "imports upward:\n{}", upward.join("\n"));
}

/// The checker itself catches a loop: a module tree written here with one back-import.
#[test]
fn a_deliberate_back_import_is_caught() {
    crate::support::shared();
    let dir = crate::support::scratch();
    let write = |rel: &str, text: &str| {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("lib.rs", "pub mod journal;\npub mod web;\n");
    write(
        "journal.rs",
        "//! The floor.\nuse crate::web::{pages::{Page, self}};\n",
    );
    write("web/mod.rs", "mod pages;\nuse crate::journal::Journal;\n");
    write(
        "web/pages.rs",
        "use super::super::journal;\n#[cfg(test)]\nmod tests { use crate::web; }\n",
    );
    let loops = Graph::read(dir.path()).loops();
    assert_eq!(loops.len(), 1, "{loops:?}");
    assert!(loops[0].contains("journal -> web"), "{}", loops[0]);
    assert!(loops[0].contains("crate::web::pages::Page"), "{}", loops[0]);
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The README's layer table: rows `| N | `a` `b` … | … |`, bottom layer first.
fn readme_layers() -> BTreeMap<String, usize> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut layers = BTreeMap::new();
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(n), Some(names)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else {
            continue;
        };
        for name in names.split('`').skip(1).step_by(2) {
            assert!(
                layers.insert(name.to_string(), n).is_none(),
                "{name} is listed twice in the README's layer table"
            );
        }
    }
    assert!(!layers.is_empty(), "README.md has no layer table");
    layers
}

struct Graph {
    modules: BTreeMap<ModPath, PathBuf>,
    /// Edges between siblings: each reference lifted to the level where the two modules
    /// part (`web::pages::log` using `web::view` is an edge `web::pages -> web::view`).
    edges: BTreeMap<ModPath, Vec<Edge>>,
}

impl Graph {
    fn read(root: &Path) -> Graph {
        let mut modules = BTreeMap::new();
        collect(root, root, &mut modules);
        let mut edges: BTreeMap<ModPath, Vec<Edge>> = BTreeMap::new();
        for (m, file) in &modules {
            let text = std::fs::read_to_string(file).unwrap();
            for (target, written) in references(m, &strip(&text)) {
                let Some(to) = longest_module(&modules, &target) else {
                    continue;
                };
                let common = m.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == m.len() || common == to.len() {
                    continue; // a module and its own ancestor or descendant
                }
                let (a, b) = (m[..=common].to_vec(), to[..=common].to_vec());
                let seen = format!("{} uses {written}", m.join("::"));
                let list = edges.entry(a).or_default();
                if !list.iter().any(|e| e.to == b) {
                    list.push(Edge { to: b, seen });
                }
            }
        }
        Graph { modules, edges }
    }

    /// Every loop, as the modules in it with one line that makes each step.
    fn loops(&self) -> Vec<String> {
        let nodes: BTreeSet<&ModPath> = self
            .edges
            .iter()
            .flat_map(|(a, es)| std::iter::once(a).chain(es.iter().map(|e| &e.to)))
            .collect();
        let mut out = Vec::new();
        for component in strongly_connected(&nodes, &self.edges) {
            if component.len() < 2 {
                continue;
            }
            let mut text = format!(
                "loop: {}",
                component
                    .iter()
                    .map(|m| m.join("::"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for a in &component {
                for e in self.edges.get(*a).into_iter().flatten() {
                    if component.contains(&&e.to) {
                        text +=
                            &format!("\n    {} -> {}: {}", a.join("::"), e.to.join("::"), e.seen);
                    }
                }
            }
            out.push(text);
        }
        out
    }
}

/// Every `.rs` file below `dir` as a module path (`mod.rs` and `lib.rs` name their folder;
/// `main.rs` and `bin/` are binaries, not modules).
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<ModPath, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path.strip_prefix(root).unwrap();
        if path.is_dir() {
            if rel != Path::new("bin") {
                collect(root, &path, out);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || rel == Path::new("main.rs") {
            continue;
        }
        let mut m: ModPath = rel
            .with_extension("")
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
            m.pop();
        }
        out.insert(m, path);
    }
}

/// The text without comments (line comments, doc comments) and without `#[cfg(test)]`
/// modules.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let code = line.split("//").next().unwrap_or("");
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("mod "))
        {
            // A test module runs to the end of its braces.
            let mut depth = 0i32;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
                opened |= l.contains('{');
                if opened && depth <= 0 {
                    break;
                }
            }
            continue;
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The absolute module paths `m` refers to, each with how it was written.
fn references(m: &ModPath, code: &str) -> Vec<(ModPath, String)> {
    let mut written: Vec<Vec<String>> = Vec::new();
    for decl in use_declarations(code) {
        expand(&[], &decl, &mut written);
    }
    // Paths written inline: `crate::a::b`, `super::x`.
    let bytes = code.as_bytes();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = code[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let path: String = code[at..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            written.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    written
        .into_iter()
        .filter_map(|p| absolute(m, &p).map(|a| (a, p.join("::"))))
        .collect()
}

/// The bodies of `use …;` declarations (`pub`, `pub(crate)` … included).
fn use_declarations(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let before = &rest[..i];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let lead = before[line_start..].trim();
        let is_decl = lead.is_empty() || lead.starts_with("pub");
        let after = &rest[i + 4..];
        if is_decl {
            if let Some(end) = after.find(';') {
                out.push(after[..end].to_string());
                rest = &after[end..];
                continue;
            }
        }
        rest = after;
    }
    out
}

/// Expands `a::{b, c::{d, e as f}}` into full paths.
fn expand(prefix: &[String], body: &str, out: &mut Vec<Vec<String>>) {
    let mut depth = 0;
    let mut part = String::new();
    let mut parts = Vec::new();
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(c);
    }
    parts.push(part);
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        if let Some(open) = p.find('{') {
            let head = p[..open].trim_end_matches(':').trim();
            let inner = &p[open + 1..p.rfind('}').unwrap_or(p.len())];
            let mut next = prefix.to_vec();
            next.extend(head.split("::").filter(|s| !s.is_empty()).map(String::from));
            expand(&next, inner, out);
        } else {
            let name = p.split(" as ").next().unwrap_or(p).trim();
            let mut full = prefix.to_vec();
            full.extend(name.split("::").filter(|s| !s.is_empty()).map(String::from));
            out.push(full);
        }
    }
}

/// A written path from inside `m` as a path from the crate's root; None for other crates.
fn absolute(m: &ModPath, written: &[String]) -> Option<ModPath> {
    let first = written.first()?;
    Some(match first.as_str() {
        "crate" => written[1..].to_vec(),
        "self" => m.iter().chain(&written[1..]).cloned().collect(),
        "super" => {
            let ups = written.iter().take_while(|s| *s == "super").count();
            let base = m.len().checked_sub(ups)?;
            m[..base].iter().chain(&written[ups..]).cloned().collect()
        }
        _ => return None,
    })
}

/// The longest prefix of `path` that is a module.
fn longest_module(modules: &BTreeMap<ModPath, PathBuf>, path: &[String]) -> Option<ModPath> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|p| modules.contains_key(p))
}

/// Tarjan's strongly connected components, each sorted.
fn strongly_connected<'a>(
    nodes: &BTreeSet<&'a ModPath>,
    edges: &'a BTreeMap<ModPath, Vec<Edge>>,
) -> Vec<Vec<&'a ModPath>> {
    struct State<'a> {
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        out: Vec<Vec<&'a ModPath>>,
    }
    fn visit<'a>(v: &'a ModPath, edges: &'a BTreeMap<ModPath, Vec<Edge>>, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for e in edges.get(v).into_iter().flatten() {
            let w = &e.to;
            if !s.index.contains_key(w) {
                visit(w, edges, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort();
            s.out.push(component);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(*v) {
            visit(v, edges, &mut s);
        }
    }
    s.out
}

/// Every integration test takes its turn on the machine first (`support::alone` or
/// `support::shared`), before it reads the clock: one without a turn would run beside a test
/// that measures real time (regression: two tests whose signature spanned two lines had none,
/// and three real-time tests failed beside them).
#[test]
fn every_test_takes_its_turn_first() {
    crate::support::shared();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, _) in text.match_indices("#[test]\n") {
            // The body's first statement, after the attributes and the signature.
            // The body opens at the first `{` ending a line after `fn`, whether the signature
            // ends `) {` or, too long for one line, `)` then `{` on the next (a test of that
            // shape once slipped through without its turn).
            let rest = &text[i..];
            let Some(body) = rest
                .find("fn ")
                .and_then(|f| rest[f..].find("{\n").map(|o| f + o + 2))
            else {
                continue;
            };
            let name = rest[..body]
                .split("fn ")
                .nth(1)
                .and_then(|s| s.split('(').next())
                .unwrap_or("?");
            let first = rest[body..].lines().next().unwrap_or("").trim();
            if ![
                "crate::support::alone();",
                "crate::support::light();",
                "crate::support::shared();",
            ]
            .contains(&first)
            {
                missing.push(format!("{}: {name}", path.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "tests that do not take their turn first:\n{}",
        missing.join("\n")
    );
}
