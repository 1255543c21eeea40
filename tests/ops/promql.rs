//! Finds the metric names a PromQL expression reads, well enough for dashboard queries.

use std::collections::BTreeSet;

/// Words that are PromQL syntax, not metric names, when not followed by `(`; aggregation
/// operators are here because a `by (...)` clause may come between them and their `(`.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];

/// Modifiers followed by a parenthesised list of label names.
const LABEL_LIST_MODIFIERS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The metric names `expr` selects: identifiers outside label matchers (`{...}`), range
/// and subquery brackets (`[...]`), strings and label lists, that are not function or
/// aggregation names and not keywords.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, i),
            '{' => i = skip_until(&chars, i, '}'),
            '[' => i = skip_until(&chars, i, ']'),
            '#' => i = skip_until(&chars, i, '\n'),
            c if c.is_ascii_digit() || c == '.' => {
                // A number, including exponents like 1e-9 and durations like 5m.
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next].is_whitespace() {
                    next += 1;
                }
                let called = chars.get(next) == Some(&'(');
                let lower = word.to_ascii_lowercase();
                if LABEL_LIST_MODIFIERS.contains(&lower.as_str()) && called {
                    i = skip_until(&chars, next, ')');
                } else if !called && !KEYWORDS.contains(&lower.as_str()) {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The index after the string that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        if chars[i] == '\\' && quote != '`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The index after the first `close` at or after `start`, skipping strings on the way.
fn skip_until(chars: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() && chars[i] != close {
        if matches!(chars[i], '"' | '\'' | '`') {
            i = skip_string(chars, i);
        } else {
            i += 1;
        }
    }
    i + 1
}

#[test]
fn metric_names_skip_functions_matchers_ranges_and_label_lists() {
    let expr = r#"histogram_quantile(0.95, sum by (le, operation) (rate(alarm_digest_store_operation_seconds_bucket{job="x",operation=~"a|b"}[$__rate_interval])))"#;
    assert_eq!(
        metric_names(expr).into_iter().collect::<Vec<_>>(),
        ["alarm_digest_store_operation_seconds_bucket"]
    );
}

#[test]
fn metric_names_of_binary_expressions_include_both_sides() {
    let expr =
        r#"sum(rate(a_total{status=~"5.."}[5m])) / on (job) group_left (version) b_info or vector(0) > bool 1e-9"#;
    assert_eq!(
        metric_names(expr).into_iter().collect::<Vec<_>>(),
        ["a_total", "b_info"]
    );
}
