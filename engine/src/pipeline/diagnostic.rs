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

    /// The diagnostic with the line it points at, for a terminal:
    ///
    /// ```text
    /// error: unknown stage kind `validte`
    ///   --> pipelines/nightly.toml:8:8
    ///    |
    ///  8 | kind = "validte"
    ///    |        ^^^^^^^^^
    ///    = hint: did you mean `validate`?
    /// ```
    pub fn render(&self, file: &str, text: &str) -> String {
        let (line, column) = line_column(text, self.span.start);
        let source_line = text.lines().nth(line - 1).unwrap_or("");
        let width = line.to_string().len();
        let pad = " ".repeat(width);
        let span_chars = text
            .get(self.span.clone())
            .map_or(1, |s| s.lines().next().unwrap_or("").chars().count().max(1));
        let mut out = format!(
            "error: {}\n{pad}--> {file}:{line}:{column}\n{pad} |\n{line} | {source_line}\n{pad} | {}{}\n",
            self.message,
            " ".repeat(column - 1),
            "^".repeat(span_chars),
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{pad} = hint: {hint}\n"));
        }
        out
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
        let shown = d.render("p.toml", text);
        assert!(shown.contains("--> p.toml:2:8"), "{shown}");
        assert!(shown.contains("2 | kind = \"validte\""), "{shown}");
        assert!(shown.contains("  |        ^^^^^^^^^"), "{shown}");
        assert!(
            shown.contains("= hint: did you mean `validate`?"),
            "{shown}"
        );
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
