//! The prose of the README and `docs/` kept true: every relative link and anchor resolves,
//! every benchmark figure quoted is in the section of `docs/BENCHMARKS.md` it links to, and
//! every `make` target named exists. The reference tables are checked in
//! [`super::docs_tables`], and what needs a running service (metrics, API examples) in
//! [`super::docs_served`].

use super::markdown::{
    anchors, code_blocks, code_spans, github_anchor, headings, links, prose, section, section_by_anchor,
    shell_commands, shell_words, table_rows,
};
use super::repo_file;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const BENCHMARKS: &str = "docs/BENCHMARKS.md";

/// The README and every document of `docs/`, by path from the repository's root.
pub fn documents() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut paths = vec!["README.md".to_string()];
    let mut in_docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    in_docs.sort();
    paths.extend(in_docs);
    paths.into_iter().map(|path| (path.clone(), repo_file(&path))).collect()
}

/// The first code span of a table cell, or the cell as written (`–` for none).
pub fn span_or_text(cell: &str) -> String {
    code_spans(cell).into_iter().next().unwrap_or_else(|| cell.to_string())
}

#[test]
fn every_relative_link_in_the_readme_and_docs_points_at_a_file_and_heading_that_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for (path, text) in documents() {
        for link in links(&text) {
            let target = link.target.as_str();
            if ["http://", "https://", "mailto:"].iter().any(|s| target.starts_with(s)) {
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let resolved = if file.is_empty() {
                root.join(&path)
            } else {
                root.join(&path).parent().unwrap().join(file)
            };
            if !resolved.exists() {
                broken.push(format!(
                    "{path}: [{}]({target}): no file {}",
                    link.text,
                    resolved.display()
                ));
            } else if !anchor.is_empty() {
                let heads = std::fs::read_to_string(&resolved)
                    .map(|t| anchors(&t))
                    .unwrap_or_default();
                if !heads.contains(anchor) {
                    broken.push(format!(
                        "{path}: [{}]({target}): no heading with the anchor #{anchor}",
                        link.text
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_benchmark_figure_the_readme_and_docs_quote_is_in_the_section_of_benchmarks_md_it_links_to() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let benchmarks = repo_file(BENCHMARKS);
    let mut quoted = BTreeMap::<String, usize>::new();
    let mut wrong = Vec::new();
    for (path, text) in documents().into_iter().filter(|(path, _)| path != BENCHMARKS) {
        for link in links(&text) {
            let (file, anchor) = link.target.split_once('#').unwrap_or((&link.target, ""));
            let to_benchmarks =
                !file.is_empty() && root.join(&path).parent().unwrap().join(file) == root.join(BENCHMARKS);
            let figure = link.text.strip_prefix('`').and_then(|t| t.strip_suffix('`'));
            let (true, Some(figure)) = (to_benchmarks, figure.filter(|f| !f.contains('`'))) else {
                continue;
            };
            *quoted.entry(path.clone()).or_default() += 1;
            match section_by_anchor(&benchmarks, anchor) {
                _ if anchor.is_empty() => wrong.push(format!("{path}: {figure:?} links to no section")),
                None => wrong.push(format!("{path}: {figure:?}: {BENCHMARKS} has no section #{anchor}")),
                Some(section) if !section.contains(figure) => wrong.push(format!(
                    "{path}: {figure:?} is not in the section #{anchor} of {BENCHMARKS}"
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "quoted figures that the last `make bench` did not write (quote the new ones):\n{}",
        wrong.join("\n")
    );
    assert!(
        quoted.contains_key("README.md"),
        "the README quotes no figure: {quoted:?}"
    );
}

/// The targets the `Makefile` defines.
fn make_targets() -> BTreeSet<String> {
    repo_file("Makefile")
        .lines()
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_make_target_the_readme_and_docs_name_is_a_target_of_the_makefile() {
    let targets = make_targets();
    let mut unknown = BTreeSet::new();
    for (path, text) in documents() {
        let spans = code_spans(&prose(&text));
        let lines = code_blocks(&text)
            .into_iter()
            .flat_map(|block| shell_commands(&block.text));
        for command in spans.into_iter().chain(lines) {
            let words = shell_words(&command);
            if let [make, target, ..] = words.as_slice() {
                if make == "make" && !target.starts_with('-') && !targets.contains(target) {
                    unknown.insert(format!("{path}: make {target}"));
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "not targets of the Makefile ({targets:?}):\n{unknown:?}"
    );
}

#[test]
fn github_anchors_drop_punctuation_and_number_repeated_headings() {
    assert_eq!(github_anchor(" AlarmDigestIntakeStalled"), "alarmdigestintakestalled");
    assert_eq!(
        github_anchor("What `make test` checks, here!"),
        "what-make-test-checks-here"
    );
    let found = anchors("# A b\n```\n# not a heading\n```\n## A b\n");
    assert_eq!(found, ["a-b".to_string(), "a-b-1".to_string()].into());
    let titles: Vec<String> = headings("# Top\n## `load`\n").into_iter().map(|(_, _, a)| a).collect();
    assert_eq!(titles, ["top", "load"]);
}

#[test]
fn sections_end_at_the_next_heading_of_their_level_and_keep_their_subsections() {
    let doc = "# A\nintro\n## B\nb text\n### B1\nb1 text\n```\n## not a heading\n```\n## C\nc text\n";
    let b = section(doc, "B").unwrap();
    assert!(
        b.contains("b text") && b.contains("b1 text") && b.contains("## not a heading"),
        "{b}"
    );
    assert!(!b.contains("c text"), "{b}");
    assert_eq!(section_by_anchor(doc, "c").unwrap().trim(), "c text");
    assert!(section(doc, "D").is_none());
}

#[test]
fn tables_links_and_shell_words_read_as_github_and_the_shell_do() {
    let doc = "| a | b |\n|---|---|\n| `x` | – |\n| y | z |\n\nnot a table\n";
    assert_eq!(table_rows(doc), [["`x`", "–"], ["y", "z"]]);
    let linked = "see [`FULL 20.2%, NORMAL 21.0%`](BENCHMARKS.md#targets) and\n\
                  [a\nwrapped link](docs/A.md)\n```\n[in](code.md)\n```\n";
    let found: Vec<(String, String)> = links(linked).into_iter().map(|l| (l.text, l.target)).collect();
    assert_eq!(
        found,
        [
            (
                "`FULL 20.2%, NORMAL 21.0%`".to_string(),
                "BENCHMARKS.md#targets".to_string()
            ),
            ("a\nwrapped link".to_string(), "docs/A.md".to_string()),
        ]
    );
    assert_eq!(
        shell_words(r#"nats pub S '{"a":"b c"}' "d e" f\ g   # a comment"#),
        ["nats", "pub", "S", r#"{"a":"b c"}"#, "d e", "f g"]
    );
    assert_eq!(
        shell_commands("curl a \\\n  -d b\n# note\n\nmake run\n"),
        ["curl a    -d b", "make run"]
    );
}
