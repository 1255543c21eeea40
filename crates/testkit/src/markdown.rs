//! Just enough Markdown for the checks that keep the documents true: sections by heading,
//! fenced code blocks, table rows, code spans, links, GitHub's heading anchors, and the
//! words of a shell command. Shared: the operations checks read the documents with it, and
//! the e2e suite reads the README with it.

use std::collections::BTreeSet;

/// A fenced code block: its info string (`sh`, `text`, or empty) and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The word after the opening fence.
    pub info: String,
    /// The text between the fences.
    pub text: String,
}

/// A link or an image: its text (code spans kept as written) and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What is between the brackets.
    pub text: String,
    /// What is between the parentheses.
    pub target: String,
}

/// Whether `line` opens or closes a fenced code block.
fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// The level and title of a heading line outside code (`## Title` is level 2).
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let rest = &line[level..];
    (level > 0 && (rest.starts_with(' ') || rest.is_empty())).then(|| (level, rest.trim()))
}

/// Each line with whether it is inside a fenced code block (the fences count as inside).
fn lines_with_fences(markdown: &str) -> Vec<(&str, bool)> {
    let mut fenced = false;
    markdown
        .lines()
        .map(|line| {
            if is_fence(line) {
                fenced = !fenced;
                (line, true)
            } else {
                (line, fenced)
            }
        })
        .collect()
}

/// The section under the first heading whose title is `title` (as written, code spans
/// included), up to the next heading of the same or a higher level; `None` if there is
/// no such heading.
pub fn section(markdown: &str, title: &str) -> Option<String> {
    let mut found: Option<usize> = None;
    let mut body = Vec::new();
    for (line, fenced) in lines_with_fences(markdown) {
        let this = heading(line).filter(|_| !fenced);
        match (found, this) {
            (None, Some((level, t))) if t == title => found = Some(level),
            (Some(level), Some((l, _))) if l <= level => break,
            (Some(_), _) => body.push(line),
            _ => {}
        }
    }
    found.map(|_| body.join("\n"))
}

/// The section whose heading has GitHub's anchor `anchor`, as [`section`] cuts it.
pub fn section_by_anchor(markdown: &str, anchor: &str) -> Option<String> {
    let title = headings(markdown)
        .into_iter()
        .find(|(_, _, a)| a == anchor)
        .map(|(_, t, _)| t)?;
    section(markdown, &title)
}

/// Every heading outside code: its level, its title and its anchor (a repeated anchor
/// suffixed `-1`, `-2`..., as GitHub does).
pub fn headings(markdown: &str) -> Vec<(usize, String, String)> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for (line, fenced) in lines_with_fences(markdown) {
        let Some((level, title)) = heading(line).filter(|_| !fenced) else {
            continue;
        };
        let anchor = github_anchor(title);
        let unique = (0..)
            .map(|n| {
                if n == 0 {
                    anchor.clone()
                } else {
                    format!("{anchor}-{n}")
                }
            })
            .find(|a| !seen.contains(a))
            .unwrap();
        seen.insert(unique.clone());
        found.push((level, title.to_string(), unique));
    }
    found
}

/// GitHub's anchor of a Markdown heading: lower case, punctuation other than `-` and `_`
/// dropped, each space a `-`.
pub fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of every heading outside fenced code.
pub fn anchors(markdown: &str) -> BTreeSet<String> {
    headings(markdown).into_iter().map(|(_, _, anchor)| anchor).collect()
}

/// The fenced code blocks, in order.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for line in markdown.lines() {
        if is_fence(line) {
            match open.take() {
                Some(block) => blocks.push(block),
                None => {
                    open = Some(CodeBlock {
                        info: line.trim_start().trim_start_matches('`').trim().to_string(),
                        text: String::new(),
                    })
                }
            }
        } else if let Some(block) = open.as_mut() {
            block.text.push_str(line);
            block.text.push('\n');
        }
    }
    blocks
}

/// The text outside fenced code blocks (each fenced line left empty, so lines keep their
/// numbers).
pub fn prose(markdown: &str) -> String {
    lines_with_fences(markdown)
        .into_iter()
        .map(|(line, fenced)| if fenced { "" } else { line })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cells of every table body row outside code, trimmed (the header row and the
/// `|---|` row are left out).
pub fn table_rows(markdown: &str) -> Vec<Vec<String>> {
    enum At {
        Outside,
        Header,
        Body,
    }
    let mut rows = Vec::new();
    let mut at = At::Outside;
    for line in prose(markdown).lines() {
        let row = line.trim();
        if !row.starts_with('|') {
            at = At::Outside;
            continue;
        }
        let separator = row.trim_matches(['|', '-', ':', ' ']).is_empty();
        at = match at {
            At::Outside => At::Header,
            At::Header if separator => At::Body,
            At::Header => At::Header,
            At::Body => {
                let inner = row.trim_start_matches('|').trim_end_matches('|');
                rows.push(inner.split('|').map(|cell| cell.trim().to_string()).collect());
                At::Body
            }
        };
    }
    rows
}

/// The code spans of `text`, in order, without their backticks.
pub fn code_spans(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, span)| span.to_string())
        .collect()
}

/// Every link and image outside fenced code: `[text](target)` and `![alt](target)`.
pub fn links(markdown: &str) -> Vec<Link> {
    let text = prose(markdown);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("](") {
        let close = from + at;
        from = close + 2;
        let Some(open) = matching_open_bracket(&text[..close]) else {
            continue;
        };
        let Some(end) = text[close + 2..].find(')') else {
            continue;
        };
        let target = text[close + 2..close + 2 + end].trim();
        found.push(Link {
            text: text[open + 1..close].to_string(),
            target: target.split_whitespace().next().unwrap_or("").to_string(),
        });
    }
    found
}

/// Where the `[` that the end of `before` closes is, brackets nested.
fn matching_open_bracket(before: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in before.char_indices().rev() {
        match c {
            ']' => depth += 1,
            '[' if depth == 0 => return Some(i),
            '[' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The words of one shell command line as the shell splits them: single and double
/// quotes, backslash escapes, and a `#` that starts a word begins a comment.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|c| *c != '\''));
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '#' if word.is_none() => break,
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The commands of a shell block: lines joined where they end in a backslash, blank
/// lines and comment lines left out.
pub fn shell_commands(block: &str) -> Vec<String> {
    let joined = block.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}
