//! ActivityPub: what goes on the wire, kept apart from stored rows and domain types.
//!
//! Laid out as activitypub_federation's examples are. The modules are layered: each uses
//! only those before it in [`LAYERS`], from the wire objects up to the background tasks.

/// The activities, one file per activity or family: what we send and what we take in.
pub mod activities;
/// Domain blocks added at run time, and what a block forgets.
pub mod blocks;
/// The delivery workers that send the queue.
pub mod delivery;
/// Talking to other servers: the checked HTTP client, the federation service, senders'
/// keys, WebFinger, refresh and discovery.
pub mod fetch;
/// The inbox: a POST checked, then handed to its activity's handler.
pub mod inbox;
/// The wire objects, one file each, written from stored records and read back.
pub mod objects;
/// HTTP Signatures: checking those of requests, and signing ours.
pub mod signatures;
/// The background tasks started with the server.
pub mod tasks;

/// The modules above from the bottom up: each uses only those before it in this list
/// (`layers_hold` checks it, and that no two files use each other even indirectly).
pub const LAYERS: &[&str] = &[
    "objects",
    "signatures",
    "fetch",
    "delivery",
    "activities",
    "blocks",
    "inbox",
    "tasks",
];

#[cfg(test)]
mod layers {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Every file of `src/federation` by its module path (`fetch::client`; `` for mod.rs).
    fn files() -> BTreeMap<String, String> {
        fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_dir() {
                    let mut inner = prefix.to_vec();
                    inner.push(name);
                    walk(&path, &inner, out);
                } else if let Some(stem) = name.strip_suffix(".rs") {
                    let mut module = prefix.to_vec();
                    if stem != "mod" {
                        module.push(stem.to_owned());
                    }
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    out.insert(module.join("::"), text);
                }
            }
        }
        let mut out = BTreeMap::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/federation");
        walk(&root, &[], &mut out);
        out
    }

    fn ident(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_'
    }

    /// The paths starting at `text` (`a::b`, `a::{b, c::{d, e}}`), each as its segments.
    fn paths(text: &str) -> (Vec<Vec<String>>, usize) {
        let mut segments = Vec::new();
        let mut i = 0;
        let bytes: Vec<char> = text.chars().collect();
        loop {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            if i > start {
                segments.push(bytes[start..i].iter().collect::<String>());
            }
            if bytes.get(i) == Some(&':') && bytes.get(i + 1) == Some(&':') {
                i += 2;
                if bytes.get(i) == Some(&'{') {
                    i += 1;
                    let mut all = Vec::new();
                    loop {
                        while bytes.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                            i += 1;
                        }
                        if bytes.get(i).is_none_or(|c| *c == '}') {
                            return (all, i + 1);
                        }
                        let rest: String = bytes[i..].iter().collect();
                        let (inner, used) = paths(&rest);
                        for path in inner {
                            let mut full = segments.clone();
                            full.extend(path);
                            all.push(full);
                        }
                        i += used.max(1);
                    }
                }
                continue;
            }
            return (vec![segments], i);
        }
    }

    /// The files a file uses through `crate::federation::…` and `super::…` paths.
    fn uses(module: &str, text: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let (body, tests) = code
            .split_once("#[cfg(test)]\nmod tests")
            .unwrap_or((code.as_str(), ""));
        let own: Vec<String> = module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut found = BTreeSet::new();
        for (part, mut at) in [(body, own.clone()), (tests, own.clone())] {
            // In a file's tests, `super` is the file itself.
            if std::ptr::eq(part, tests) {
                at.push("tests".into());
            }
            let chars: Vec<(usize, char)> = part.char_indices().collect();
            for (n, &(index, _)) in chars.iter().enumerate() {
                let rest = &part[index..];
                let before = n.checked_sub(1).map(|p| chars[p].1);
                if before.is_some_and(ident) || before == Some(':') {
                    continue;
                }
                if !(rest.starts_with("crate::federation::") || rest.starts_with("super::")) {
                    continue;
                }
                for path in paths(rest).0 {
                    let (mut current, mut segs) =
                        if path.first().map(String::as_str) == Some("crate") {
                            (Vec::new(), path[2..].to_vec())
                        } else {
                            (at.clone(), path.clone())
                        };
                    while segs.first().map(String::as_str) == Some("super") {
                        current.pop();
                        segs.remove(0);
                    }
                    let target = (0..=segs.len())
                        .map(|k| {
                            let mut candidate = current.clone();
                            candidate.extend(segs[..k].iter().cloned());
                            candidate.join("::")
                        })
                        .rfind(|c| known.contains_key(c));
                    if let Some(target) = target.filter(|t| t != module) {
                        found.insert(target);
                    }
                }
            }
        }
        found
    }

    fn top(module: &str) -> &str {
        module.split("::").next().unwrap_or_default()
    }

    #[test]
    fn paths_are_read_with_their_groups_and_supers() {
        let known = files();
        let text = "use super::{group, json::{first_id, all_ids}};\n\
                    use crate::federation::fetch::client::Client;\n\
                    // super::event is only mentioned\n\
                    fn f() { super::super::inbox::handle(); }\n\
                    #[cfg(test)]\nmod tests {\n    use super::*;\n}\n";
        let found: Vec<String> = uses("objects::html", text, &known).into_iter().collect();
        assert_eq!(
            found,
            ["fetch::client", "inbox", "objects::group", "objects::json"]
        );
    }

    #[test]
    fn layers_hold() {
        let files = files();
        assert!(files.len() > 20, "the federation files were not found");
        // This file only declares the modules (and holds this test's own examples).
        let edges: BTreeMap<&str, BTreeSet<String>> = files
            .iter()
            .filter(|(module, _)| !module.is_empty())
            .map(|(module, text)| (module.as_str(), uses(module, text, &files)))
            .collect();
        // Each top-level module uses only those below it.
        let rank = |m: &str| super::LAYERS.iter().position(|l| *l == top(m));
        for (from, targets) in &edges {
            for to in targets {
                if top(from) == top(to) || to.is_empty() {
                    continue;
                }
                let (Some(a), Some(b)) = (rank(from), rank(to)) else {
                    panic!("`{from}` or `{to}` is in no layer of LAYERS");
                };
                assert!(b < a, "`{from}` uses `{to}`, a module of a higher layer");
            }
        }
        // No circle between files.
        fn visit<'a>(
            node: &'a str,
            edges: &'a BTreeMap<&str, BTreeSet<String>>,
            state: &mut BTreeMap<&'a str, bool>,
            stack: &mut Vec<&'a str>,
        ) {
            state.insert(node, false);
            stack.push(node);
            for next in edges.get(node).into_iter().flatten() {
                match state.get(next.as_str()) {
                    Some(false) => panic!("a circle: {} -> {next}", stack.join(" -> ")),
                    Some(true) => {}
                    None => visit(next, edges, state, stack),
                }
            }
            stack.pop();
            state.insert(node, true);
        }
        let mut state = BTreeMap::new();
        for node in edges.keys() {
            if !state.contains_key(node) {
                visit(node, &edges, &mut state, &mut Vec::new());
            }
        }
        let count: usize = edges.values().map(BTreeSet::len).sum();
        assert!(
            count > 50,
            "only {count} uses found: the reading of paths is broken"
        );
    }
}
