//! The Dead letters page: the latest refused input, newest first, with the subject it came
//! on, why it was refused, when, and its payload shown as text (cut short for display, its
//! full size stated; binary shown as hex).

use super::layout::{page, ErrorPage};
use super::session::Access;
use crate::params::dead_letters::parse;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Extension;
use domain::dead_letter::DeadLetter;
use maud::{html, Markup};

/// The most payload characters shown per letter.
pub const SHOWN_CHARS: usize = 2000;
/// The most payload bytes shown per binary letter (as hex).
pub const SHOWN_BYTES: usize = 256;

/// What is shown of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The text shown: the payload's start, control characters (but line breaks and tabs)
    /// replaced by U+FFFD; for binary, hex bytes.
    pub text: String,
    /// Whether the payload is not UTF-8.
    pub binary: bool,
    /// Whether `text` shows only the start of the payload.
    pub truncated: bool,
}

/// The displayable start of `letter`'s payload.
pub fn shown(letter: &DeadLetter) -> Shown {
    match letter.text() {
        Some(text) => {
            let mut chars = text.chars();
            let start: String = chars
                .by_ref()
                .take(SHOWN_CHARS)
                .map(|c| {
                    if c.is_control() && c != '\n' && c != '\t' {
                        '\u{FFFD}'
                    } else {
                        c
                    }
                })
                .collect();
            Shown {
                text: start,
                binary: false,
                truncated: chars.next().is_some(),
            }
        }
        None => Shown {
            text: letter
                .payload
                .iter()
                .take(SHOWN_BYTES)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
            binary: true,
            truncated: letter.payload.len() > SHOWN_BYTES,
        },
    }
}

fn letter(l: &DeadLetter) -> Markup {
    let shown = shown(l);
    let size = l.payload.len();
    html! {
        article.letter data-sequence=(l.sequence) {
            dl.facts {
                dt { "Sequence" } dd.sequence { (l.sequence) }
                dt { "Dead-lettered at" } dd { time { (l.dead_lettered_at.to_rfc3339()) } }
                dt { "Subject" } dd.subject { (l.subject.as_deref().unwrap_or("(not recorded)")) }
                dt { "Reason" } dd.reason { (l.reason.as_deref().unwrap_or("(not recorded)")) }
                dt { "Payload" } dd.size {
                    (size) " bytes"
                    @if shown.binary { ", not UTF-8: shown as hex" }
                    @if shown.truncated { ", only the start shown" }
                }
            }
            pre.payload { (shown.text) }
        }
    }
}

/// `GET /dead-letters`: a page of the latest dead letters, `before` a sequence for older ones.
pub async fn listing(
    State(state): State<AppState>,
    Extension(access): Extension<Access>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, ErrorPage> {
    let fail = access.failing();
    let (before, limit) = parse(raw.as_deref()).map_err(fail)?;
    let page_of = state
        .dead_letters
        .latest(before, limit)
        .await
        .map_err(|e| fail(e.into()))?;
    let older = page_of.older.map(|b| {
        let mut q = vec![("before", b.to_string())];
        if limit != usecases::dead_letters::DEFAULT_PAGE {
            q.push(("limit", limit.to_string()));
        }
        format!("/dead-letters?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    });
    let body = html! {
        h1 { "Dead letters" }
        p { "Input refused for good, newest first, with why. Payloads are shown as text, cut at "
            (SHOWN_CHARS) " characters." }
        @if page_of.letters.is_empty() {
            p.empty { "No dead letters" @if before.is_some() { " older than these" } "." }
        }
        div.letters {
            @for l in &page_of.letters { (letter(l)) }
        }
        nav.paging aria-label="Pages" {
            @if before.is_some() { a href="/dead-letters" { "Newest" } }
            @if let Some(older) = older { a rel="next" href=(older) { "Older" } }
        }
    };
    Ok(page("Dead letters", &access, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::EventTime;

    fn with(payload: &[u8]) -> DeadLetter {
        DeadLetter {
            sequence: 1,
            subject: None,
            reason: None,
            dead_lettered_at: EventTime::from_nanos(0),
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn a_long_payload_is_cut_and_says_so() {
        let long = "é".repeat(SHOWN_CHARS + 1);
        let s = shown(&with(long.as_bytes()));
        assert_eq!(
            (s.text.chars().count(), s.truncated, s.binary),
            (SHOWN_CHARS, true, false)
        );
        assert!(!shown(&with(b"{}")).truncated);
    }

    #[test]
    fn binary_is_shown_as_hex_and_control_characters_are_replaced() {
        let s = shown(&with(&[0xff, 0x00, 0x41]));
        assert_eq!((s.text.as_str(), s.binary), ("ff 00 41", true));
        assert_eq!(shown(&with(b"a\x1bb\nc")).text, "a\u{FFFD}b\nc");
    }

    #[test]
    fn a_hostile_payload_is_escaped_text_on_the_page() {
        let mut l = with(b"<script>alert(1)</script>\"'");
        l.reason = Some("<b>bad</b>".into());
        let html = letter(&l).into_string();
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;'"), "{html}");
    }
}
