//! What can be wrong with a space, or with a configuration for it — and where in a
//! description's text, so that a user is sent to the line.

/// A space that cannot be used, or a configuration that does not fit it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpaceError {
    /// The space has no parameter to tune.
    #[error("the search space is empty: give at least one parameter")]
    Empty,
    /// `low > high`.
    #[error("parameter `{0}`: low bound above high bound")]
    Inverted(String),
    /// A log scale with a bound ≤ 0.
    #[error("parameter `{0}`: a log scale needs bounds above 0")]
    NonPositiveLog(String),
    /// A bound that is NaN or infinite.
    #[error("parameter `{0}`: bounds must be finite numbers")]
    NonFinite(String),
    /// An empty list of choices.
    #[error("parameter `{0}`: the list of values is empty")]
    EmptyChoices(String),
    /// A malformed description.
    #[error("parameter `{name}`: {reason}")]
    Syntax {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A configuration without a value for a parameter, or with a value outside it.
    #[error("configuration: parameter `{name}` {reason}")]
    BadConfig {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The description as a whole is not a table of parameters (or not TOML/JSON).
    #[error("{0}")]
    Malformed(String),
    /// An error in a description's text, and where: line and column (1-based) of the
    /// parser's complaint, or of the parameter at fault.
    #[error("line {line}, column {column}: {error}")]
    At {
        /// The line.
        line: usize,
        /// The column.
        column: usize,
        /// What is wrong there.
        error: Box<SpaceError>,
    },
}

impl SpaceError {
    /// The parameter at fault, if one is.
    #[must_use]
    pub fn param(&self) -> Option<&str> {
        match self {
            SpaceError::Inverted(n)
            | SpaceError::NonPositiveLog(n)
            | SpaceError::NonFinite(n)
            | SpaceError::EmptyChoices(n)
            | SpaceError::Syntax { name: n, .. }
            | SpaceError::BadConfig { name: n, .. } => Some(n),
            SpaceError::At { error, .. } => error.param(),
            SpaceError::Empty | SpaceError::Malformed(_) => None,
        }
    }

    /// Where parameter `param` is set in a description's `text`: 1-based line and column.
    #[must_use]
    pub fn position_of(text: &str, param: &str) -> Option<(usize, usize)> {
        key_offset(text, param).map(|o| line_col(text, o))
    }

    /// This error placed at byte `offset` of `text`, or where its parameter is set.
    pub(super) fn placed(self, text: &str, offset: Option<usize>) -> Self {
        let offset = offset.or_else(|| self.param().and_then(|p| key_offset(text, p)));
        match offset {
            Some(o) => {
                let (line, column) = line_col(text, o);
                SpaceError::At {
                    line,
                    column,
                    error: Box::new(self),
                }
            }
            None => self,
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Where `key` is set in a TOML or JSON text: its `key =` or `"key":` (at a line's
/// start, or after `{` or `,`), or its `[key]` table header.
fn key_offset(text: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key).map(|i| i + from) {
        from = i + key.len();
        let quoted = text[..i].ends_with('"') && text[from..].starts_with('"');
        let (start, end) = if quoted { (i - 1, from + 1) } else { (i, from) };
        let before = text[..start].trim_end_matches([' ', '\t']);
        let after = text[end..].trim_start_matches([' ', '\t']);
        let header = before.ends_with('[') && after.starts_with(']');
        let opens = before.is_empty() || before.ends_with(['\n', '{', ',']);
        if header || (opens && after.starts_with(['=', ':'])) {
            return Some(if header { before.len() - 1 } else { start });
        }
    }
    None
}
