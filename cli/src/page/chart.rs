//! Charts as inline SVG, drawn here so the page needs no script and no library: horizontal bars
//! for counts by name, columns for fixed-bucket histograms. Colours come from the page's style
//! sheet (classes, `currentColor`), so the dark theme and print apply to the charts too. Every
//! chart is followed by its numbers as a table, for readers and for screen readers.

use std::fmt::Write;

use super::{escape, group_digits, shorten};

/// Width of every chart's drawing, in SVG units: about its width on a screen, so its text is
/// drawn near the page's size.
const WIDTH: u32 = 360;
/// Bars drawn at most; the rest are summed into one bar, named with their number.
pub const MAX_BARS: usize = 30;
/// The longest name a chart shows in full (in its tooltip and table); longer ones are cut.
const MAX_NAME: usize = 200;

/// Counts by name, largest first, the tail past [`MAX_BARS`] summed into one entry.
pub fn largest_first(entries: &[(String, u64)]) -> Vec<(String, u64)> {
    let mut sorted: Vec<(String, u64)> = entries.to_vec();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if sorted.len() > MAX_BARS {
        let rest = sorted.split_off(MAX_BARS - 1);
        let sum = rest.iter().map(|(_, n)| n).sum();
        sorted.push((format!("({} others)", group_digits(rest.len() as u64)), sum));
    }
    sorted
}

/// Horizontal bars, one per entry, in the order given, with a caption and a data table.
/// `unit` formats a count for display (`12,345` or `1.2 MB`).
pub fn bars(caption: &str, entries: &[(String, u64)], unit: fn(u64) -> String) -> String {
    if entries.is_empty() {
        return nothing_to_draw(caption);
    }
    let mut out = String::new();
    let max = entries.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (label_width, value_width, row) = (150u32, 64u32, 20u32);
    let bar_room = WIDTH - label_width - value_width;
    let height = row * entries.len() as u32 + 8;
    let _ = write!(
        out,
        "<figure class=\"chart\"><figcaption>{caption}</figcaption>\
         <svg class=\"bars\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{caption}\">",
        caption = caption_text(caption)
    );
    for (i, (name, n)) in entries.iter().enumerate() {
        let y = 4 + row * i as u32;
        let length = ((*n as f64 / max as f64) * bar_room as f64).round() as u32;
        let _ = write!(
            out,
            "<g><title>{name}: {value}</title>\
             <text class=\"label\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{short}</text>\
             <rect class=\"bar\" x=\"{label_width}\" y=\"{ry}\" width=\"{length}\" height=\"{h}\"/>\
             <text class=\"value\" x=\"{vx}\" y=\"{ty}\">{value}</text></g>",
            name = escape(&shorten(name, MAX_NAME)),
            short = escape(&shorten(name, 19)),
            value = escape(&unit(*n)),
            lx = label_width - 8,
            ty = y + 14,
            ry = y + 3,
            h = row - 6,
            vx = label_width + length + 6,
        );
    }
    out.push_str("</svg>");
    out.push_str(&table(entries, unit));
    out.push_str("</figure>");
    out
}

/// Columns, one per bucket in the order given (the buckets' own order), with a caption and a
/// data table.
pub fn columns(caption: &str, buckets: &[(String, u64)]) -> String {
    if buckets.iter().all(|(_, n)| *n == 0) {
        return nothing_to_draw(caption);
    }
    let mut out = String::new();
    let max = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let (top, plot, bottom) = (16u32, 120u32, 24u32);
    // Past a dozen buckets, every other one is labelled so the labels do not run together.
    let label_every = if buckets.len() > 12 { 2 } else { 1 };
    let height = top + plot + bottom;
    // Room at both ends for the outer buckets' labels.
    let margin = 14u32;
    let step = (WIDTH - 2 * margin) / buckets.len().max(1) as u32;
    let _ = write!(
        out,
        "<figure class=\"chart\"><figcaption>{caption}</figcaption>\
         <svg class=\"columns\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{caption}\">\
         <line class=\"axis\" x1=\"0\" y1=\"{base}\" x2=\"{WIDTH}\" y2=\"{base}\"/>",
        caption = caption_text(caption),
        base = top + plot,
    );
    for (i, (name, n)) in buckets.iter().enumerate() {
        let x = margin + step * i as u32;
        let h = ((*n as f64 / max as f64) * plot as f64).round() as u32;
        let _ = write!(
            out,
            "<g><title>{name}: {value}</title>\
             <rect class=\"bar\" x=\"{rx}\" y=\"{ry}\" width=\"{w}\" height=\"{h}\"/>\
             <text class=\"label\" x=\"{cx}\" y=\"{ly}\" text-anchor=\"middle\">{short}</text></g>",
            name = escape(&shorten(name, MAX_NAME)),
            short = if i % label_every == 0 {
                escape(&shorten(name, 6))
            } else {
                String::new()
            },
            value = group_digits(*n),
            rx = x + 1,
            ry = top + plot - h,
            w = step.saturating_sub(2).max(1),
            cx = x + step / 2,
            ly = top + plot + 14,
        );
        if *n > 0 {
            let _ = write!(
                out,
                "<text class=\"value\" x=\"{cx}\" y=\"{vy}\" text-anchor=\"middle\">{value}</text>",
                cx = x + step / 2,
                vy = top + plot - h - 4,
                value = compact(*n),
            );
        }
    }
    out.push_str("</svg>");
    out.push_str(&table(buckets, group_digits));
    out.push_str("</figure>");
    out
}

/// A chart's caption as the page shows it: cut to [`MAX_NAME`] characters, escaped.
fn caption_text(caption: &str) -> String {
    escape(&shorten(caption, MAX_NAME))
}

/// The figure of a chart with nothing to draw: its caption and "None.".
fn nothing_to_draw(caption: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{}</figcaption><p class=\"none\">None.</p></figure>",
        caption_text(caption)
    )
}

/// A count in at most four characters, for the top of a narrow column (`12k`, `3.4M`).
fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{}k", n / 1000),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// The chart's numbers as a table, folded away under the chart.
fn table(entries: &[(String, u64)], unit: fn(u64) -> String) -> String {
    let mut out =
        String::from("<details class=\"numbers\"><summary>Numbers</summary><table><tbody>");
    for (name, n) in entries {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(&shorten(name, MAX_NAME)),
            escape(&unit(*n))
        );
    }
    out.push_str("</tbody></table></details>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_past_the_bar_limit_is_one_bar() {
        let entries: Vec<(String, u64)> = (0..40).map(|i| (format!("k{i:02}"), i)).collect();
        let shown = largest_first(&entries);
        assert_eq!(shown.len(), MAX_BARS);
        assert_eq!(shown[0], ("k39".into(), 39));
        let rest: u64 = (0..=10).sum();
        assert_eq!(shown[MAX_BARS - 1], ("(11 others)".into(), rest));
    }

    #[test]
    fn names_are_escaped_in_the_drawing_and_the_table() {
        let svg = bars("a <b>", &[("<script>".into(), 3)], |n: u64| n.to_string());
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("<figcaption>a &lt;b&gt;</figcaption>"));
    }

    #[test]
    fn an_empty_histogram_says_none() {
        assert!(columns("c", &[("0".into(), 0)]).contains("None."));
        assert!(columns("c", &[("0".into(), 2)]).contains("<rect"));
    }
}
