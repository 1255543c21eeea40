//! Finds the selectors a PromQL expression reads (metric names and label matchers), well
//! enough for dashboard queries and alert rules.

use std::collections::BTreeSet;

/// One vector selector: a metric name and its label matchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// The matchers between its braces, in order.
    pub matchers: Vec<Matcher>,
}

/// One label matcher of a selector: `label op "value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The label name.
    pub label: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: String,
    /// The value, unquoted.
    pub value: String,
}

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

/// The metric names `expr` selects.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|s| s.metric).collect()
}

/// The selectors of `expr`: identifiers outside label matchers (`{...}`), range and
/// subquery brackets (`[...]`), strings and label lists, that are not function or
/// aggregation names and not keywords, each with the matchers that follow it.
pub fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
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
                    let mut selector = Selector {
                        metric: word,
                        matchers: Vec::new(),
                    };
                    if chars.get(next) == Some(&'{') {
                        (selector.matchers, i) = matchers(&chars, next);
                    }
                    found.push(selector);
                }
            }
            _ => i += 1,
        }
    }
    found
}

/// The matchers of the braces that open at `open`, and the index after the closing brace.
fn matchers(chars: &[char], open: usize) -> (Vec<Matcher>, usize) {
    let mut found = Vec::new();
    let mut i = open + 1;
    let skip = |i: &mut usize, what: fn(char) -> bool| {
        while *i < chars.len() && what(chars[*i]) {
            *i += 1;
        }
    };
    loop {
        skip(&mut i, |c| c.is_whitespace() || c == ',');
        if i >= chars.len() || chars[i] == '}' {
            return (found, i + 1);
        }
        let start = i;
        skip(&mut i, |c| c.is_ascii_alphanumeric() || c == '_');
        let label: String = chars[start..i].iter().collect();
        skip(&mut i, char::is_whitespace);
        let start = i;
        skip(&mut i, |c| matches!(c, '=' | '!' | '~'));
        let op: String = chars[start..i].iter().collect();
        skip(&mut i, char::is_whitespace);
        if label.is_empty() || op.is_empty() || !matches!(chars.get(i), Some('"' | '\'' | '`')) {
            // Not a matcher this reader knows: leave the rest of the braces alone.
            return (found, skip_until(chars, open, '}'));
        }
        let end = skip_string(chars, i);
        let value = unquote(&chars[i + 1..end - 1]);
        found.push(Matcher { label, op, value });
        i = end;
    }
}

/// A string literal's content with its escapes (`\"`, `\\`) resolved.
fn unquote(content: &[char]) -> String {
    let mut value = String::new();
    let mut escaped = false;
    for &c in content {
        if escaped || c != '\\' {
            value.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    value
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

#[test]
fn selectors_carry_their_matchers_unquoted() {
    let expr = r#"sum(rate(a_total{job=~"$job", outcome="dead_lettered",route!="/a\"b"}[5m])) unless on (job) up == 0"#;
    let found = selectors(expr);
    let matcher = |label: &str, op: &str, value: &str| Matcher {
        label: label.into(),
        op: op.into(),
        value: value.into(),
    };
    assert_eq!(
        found,
        [
            Selector {
                metric: "a_total".into(),
                matchers: vec![
                    matcher("job", "=~", "$job"),
                    matcher("outcome", "=", "dead_lettered"),
                    matcher("route", "!=", "/a\"b"),
                ],
            },
            Selector {
                metric: "up".into(),
                matchers: vec![],
            },
        ]
    );
}
