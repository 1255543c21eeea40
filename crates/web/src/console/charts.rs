//! Bar charts drawn on the server as inline SVG (no script, no library): bars of height
//! proportional to their counts, axis labels in text, a title for assistive technology and
//! the numbers in a table beside the picture.

use maud::{html, Markup};

/// Width of the drawing, in its own units; the page scales it to the space it has.
const WIDTH: f64 = 640.0;
/// Height of the drawing.
const HEIGHT: f64 = 260.0;
/// Room left of the plot for the count axis, below it for the bar labels and axis label.
const LEFT: f64 = 52.0;
const BOTTOM: f64 = 58.0;
const TOP: f64 = 18.0;
const RIGHT: f64 = 8.0;
/// The plot's height: what the tallest bar reaches.
pub const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;

/// One bar: what it counts and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// Under the bar, and in the table.
    pub label: String,
    /// Its height, relative to the tallest.
    pub count: u64,
}

/// What a chart shows.
pub struct Chart<'a> {
    /// Unique on the page; the ids of the title and table derive from it.
    pub id: &'a str,
    /// What the chart shows, as its title and accessible name.
    pub title: &'a str,
    /// The horizontal axis in words.
    pub x_axis: &'a str,
    /// The vertical axis in words.
    pub y_axis: &'a str,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// Every how many bars a label is written under the axis (1: every bar).
    pub label_every: usize,
}

/// One decimal, enough for a drawing.
fn n(value: f64) -> String {
    format!("{value:.1}")
}

/// The height of a bar of `count` when the tallest is `max`.
fn height(count: u64, max: u64) -> f64 {
    if max == 0 {
        0.0
    } else {
        count as f64 * PLOT_HEIGHT / max as f64
    }
}

/// The chart as a figure: the SVG, then its numbers in a `<details>` table.
pub fn bar_chart(chart: &Chart) -> Markup {
    let max = chart.bars.iter().map(|b| b.count).max().unwrap_or(0);
    let total: u64 = chart.bars.iter().map(|b| b.count).sum();
    let slots = chart.bars.len().max(1) as f64;
    let slot = (WIDTH - LEFT - RIGHT) / slots;
    let base = HEIGHT - BOTTOM;
    let every = chart.label_every.max(1);
    let title_id = format!("{}-title", chart.id);
    let bars = match chart.bars.len() {
        1 => "1 bar".to_string(),
        n => format!("{n} bars"),
    };
    let summary = format!("{bars}, {total} in all, the tallest {max}");
    html! {
        figure.chart id=(chart.id) {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-labelledby=(title_id)
                aria-label=(chart.title) xmlns="http://www.w3.org/2000/svg" {
                title id=(title_id) { (chart.title) }
                desc { (summary) }
                line.axis x1=(n(LEFT)) y1=(n(TOP)) x2=(n(LEFT)) y2=(n(base)) {}
                line.axis x1=(n(LEFT)) y1=(n(base)) x2=(n(WIDTH - RIGHT)) y2=(n(base)) {}
                text.tick x=(n(LEFT - 6.0)) y=(n(base)) text-anchor="end" dominant-baseline="middle" { "0" }
                text.tick x=(n(LEFT - 6.0)) y=(n(TOP)) text-anchor="end" dominant-baseline="middle" { (max) }
                @for (i, bar) in chart.bars.iter().enumerate() {
                    @let h = height(bar.count, max);
                    @let x = LEFT + slot * i as f64;
                    @let middle = x + slot / 2.0;
                    rect.bar x=(n(x + slot * 0.1)) y=(n(base - h)) width=(n(slot * 0.8)) height=(n(h))
                        data-count=(bar.count) {
                        title { (bar.label) ": " (bar.count) }
                    }
                    @if bar.count > 0 && chart.bars.len() <= 12 {
                        text.count x=(n(middle)) y=(n(base - h - 4.0)) text-anchor="middle" { (bar.count) }
                    }
                    @if i % every == 0 {
                        text.tick x=(n(middle)) y=(n(base + 16.0)) text-anchor="middle" { (bar.label) }
                    }
                }
                text.axis-label x=(n(LEFT + (WIDTH - LEFT - RIGHT) / 2.0)) y=(n(HEIGHT - 8.0)) text-anchor="middle" {
                    (chart.x_axis)
                }
                text.axis-label transform={ "translate(14 " (n(TOP + PLOT_HEIGHT / 2.0)) ") rotate(-90)" }
                    text-anchor="middle" { (chart.y_axis) }
            }
            figcaption { (chart.title) ": " (summary) "." }
            details {
                summary { "The numbers" }
                table.numbers {
                    thead { tr { th scope="col" { (chart.x_axis) } th scope="col" { (chart.y_axis) } } }
                    tbody {
                        @for bar in &chart.bars {
                            tr { td { (bar.label) } td { (bar.count) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(title: &str, counts: &[(&str, u64)]) -> String {
        bar_chart(&Chart {
            id: "c",
            title,
            x_axis: "time",
            y_axis: "episodes",
            bars: counts
                .iter()
                .map(|&(label, count)| Bar {
                    label: label.into(),
                    count,
                })
                .collect(),
            label_every: 1,
        })
        .into_string()
    }

    /// The `height` of each `rect`, in order.
    fn heights(svg: &str) -> Vec<f64> {
        svg.split("<rect")
            .skip(1)
            .map(|r| {
                let h = r.split(" height=\"").nth(1).unwrap();
                h[..h.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_are_as_tall_as_their_counts_relative_to_the_tallest() {
        let svg = chart("t", &[("a", 1), ("b", 2), ("c", 4), ("d", 0)]);
        let h = heights(&svg);
        assert_eq!(
            h,
            [PLOT_HEIGHT / 4.0, PLOT_HEIGHT / 2.0, PLOT_HEIGHT, 0.0].map(|v| n(v).parse::<f64>().unwrap())
        );
        assert!(svg.contains("<title id=\"c-title\">t</title>"), "{svg}");
        assert!(svg.contains("role=\"img\""));
    }

    #[test]
    fn a_chart_of_nothing_draws_flat_bars_without_dividing_by_zero() {
        let svg = chart("empty", &[("a", 0), ("b", 0)]);
        assert_eq!(heights(&svg), [0.0, 0.0]);
    }

    #[test]
    fn titles_and_labels_are_escaped_text() {
        let svg = chart("<script>alert(1)</script>", &[("\"><b>", 1)]);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("aria-label=\"&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert!(svg.contains("&quot;&gt;&lt;b&gt;"));
    }
}
