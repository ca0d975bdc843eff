//! Problems found in a pipeline file, each with its place (file:line:column) and a hint, and
//! their rendering for people, in the style of compilers.

use std::ops::Range;

use serde::Serialize;

/// A problem at a span of the pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub hint: Option<String>,
    /// Byte range in the file.
    pub span: Range<usize>,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            hint: None,
            span,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
}

/// A diagnostic placed in its file, as reports print it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let offset = (0..=offset)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        1 + before.matches('\n').count(),
        1 + before[line_start..].chars().count(),
    )
}

impl Diagnostic {
    pub fn locate(&self, file: &str, text: &str) -> Located {
        let (line, column) = line_column(text, self.span.start);
        Located {
            file: file.to_owned(),
            line,
            column,
            message: self.message.clone(),
            hint: self.hint.clone(),
        }
    }

    /// The diagnostic with the lines it points at, as cargo shows its own (annotate-snippets:
    /// tabs and wide characters line up), in colour when `colour`:
    ///
    /// ```text
    /// error: unknown stage kind `validte`
    ///  --> pipelines/nightly.toml:8:8
    ///   |
    /// 8 | kind = "validte"
    ///   |        ^^^^^^^^^
    ///   |
    ///   = help: did you mean `validate`?
    /// ```
    pub fn render(&self, file: &str, text: &str, colour: bool) -> String {
        use annotate_snippets::{Level, Renderer, Snippet};
        let boundary = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let span = boundary(self.span.start)..boundary(self.span.end.max(self.span.start));
        // Tabs are shown as four spaces, and the span moved with them, so carets line up.
        let shift = |at: usize| at + 3 * text[..at].matches('\t').count();
        let span = shift(span.start)..shift(span.end);
        let text = text.replace('\t', "    ");
        let mut message = Level::Error.title(&self.message).snippet(
            Snippet::source(&text)
                .origin(file)
                .fold(true)
                .annotation(Level::Error.span(span)),
        );
        if let Some(hint) = &self.hint {
            message = message.footer(Level::Help.title(hint));
        }
        let renderer = if colour {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        format!("{}\n", renderer.render(message))
    }
}

/// `did you mean `x`?` for the known word closest to `word`, if one is close.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let text = "a = 1\nkind = \"validte\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 13), (2, 8));
    }

    #[test]
    fn rendering_points_at_the_span() {
        let text = "description = \"x\"\nkind = \"validte\"\n";
        let d = Diagnostic::new(25..34, "unknown stage kind `validte`")
            .hint("did you mean `validate`?");
        let shown = d.render("p.toml", text, false);
        assert!(shown.contains("--> p.toml:2:8"), "{shown}");
        assert!(shown.contains("2 | kind = \"validte\""), "{shown}");
        assert!(shown.contains("  |        ^^^^^^^^^"), "{shown}");
        assert!(
            shown.contains("= help: did you mean `validate`?"),
            "{shown}"
        );
        assert!(!shown.contains('\x1b'), "plain without colour");
        assert!(
            d.render("p.toml", text, true).contains('\x1b'),
            "styled with colour"
        );
    }

    #[test]
    fn tabs_and_wide_characters_line_up() {
        let text = "description = \"写真\"\n\tkind = \"validte\"\n";
        let start = text.find("\"validte").unwrap();
        let d = Diagnostic::new(start..start + 9, "unknown stage kind `validte`");
        let shown = d.render("p.toml", text, false);
        let lines: Vec<&str> = shown.lines().collect();
        let source = lines.iter().find(|l| l.contains("kind =")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        let quote = source.find('"').unwrap();
        assert_eq!(carets.find('^').unwrap(), quote, "{shown}");

        // Wide characters take two columns on a terminal; the carets count them so.
        let text = "写真 = \"validte\"\n";
        let start = text.find('"').unwrap();
        let shown = Diagnostic::new(start..start + 9, "x").render("p.toml", text, false);
        let lines: Vec<&str> = shown.lines().collect();
        let source = lines.iter().find(|l| l.contains("写真")).unwrap();
        let carets = lines.iter().find(|l| l.contains('^')).unwrap();
        let width_before_quote = source[..source.find('"').unwrap()]
            .chars()
            .map(|c| if c == '写' || c == '真' { 2 } else { 1 })
            .sum::<usize>();
        assert_eq!(carets.find('^').unwrap(), width_before_quote, "{shown}");
    }

    #[test]
    fn suggestions_need_a_close_word() {
        assert_eq!(
            did_you_mean("validte", ["validate", "convert", "stats"]).as_deref(),
            Some("did you mean `validate`?")
        );
        assert_eq!(did_you_mean("xyz", ["validate", "convert"]), None);
    }
}
