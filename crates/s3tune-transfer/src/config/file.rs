//! Configuration files: the knobs and timeouts as TOML or JSON, read with the place of
//! any mistake — line, column and field — so that a user is sent to it.

use super::TransferConfig;

/// What is wrong with a configuration file, and where: the line and column when the
/// parser or the field's place in the text tells, and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{reason}", position(*.line, *.column), .field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct FileError {
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// The knob (or setting) at fault.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        (Some(l), None) => format!("line {l}: "),
        _ => String::new(),
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

impl FileError {
    fn new(text: &str, offset: Option<usize>, field: Option<String>, reason: String) -> Self {
        let offset = offset.or_else(|| field.as_deref().and_then(|f| key_offset(text, f)));
        let (line, column) = offset.map(|o| line_col(text, o)).unzip();
        Self {
            line,
            column,
            field,
            reason,
        }
    }

    fn checked(text: &str, c: TransferConfig) -> Result<TransferConfig, Self> {
        c.validate().map_err(|e| {
            Self::new(
                text,
                None,
                Some(e.knob.to_owned()),
                format!("{} is out of range: {}", e.value, e.limit),
            )
        })?;
        Ok(c)
    }
}

/// The field a deserializer's path names (`.` is the whole document).
fn field_of(path: &serde_path_to_error::Path) -> Option<String> {
    let p = path.to_string();
    (p != "." && !p.is_empty()).then_some(p)
}

impl TransferConfig {
    /// A configuration written as TOML (`max_concurrency = 32`, `multipart_chunksize =
    /// "16MiB"`, `read_timeout = "10s"`), checked; knobs left out keep boto3's defaults.
    pub fn from_toml(text: &str) -> Result<Self, FileError> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            FileError::new(
                text,
                e.span().map(|s| s.start),
                None,
                e.message().to_owned(),
            )
        })?;
        let c: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = field_of(e.path());
            let inner = e.inner();
            FileError::new(
                text,
                inner.span().map(|s| s.start),
                field,
                inner.message().to_owned(),
            )
        })?;
        FileError::checked(text, c)
    }

    /// The same, written as JSON.
    pub fn from_json(text: &str) -> Result<Self, FileError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let c: Self = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = field_of(e.path());
            let inner = e.inner();
            let reason = inner.to_string();
            // serde_json ends its message with the position, which goes in front instead.
            let reason = reason
                .rsplit_once(" at line ")
                .map_or(reason.as_str(), |(r, _)| r)
                .to_owned();
            FileError {
                line: (inner.line() > 0).then_some(inner.line()),
                column: (inner.line() > 0).then_some(inner.column().max(1)),
                field,
                reason,
            }
        })?;
        FileError::checked(text, c)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn file_errors_say_where_and_which_field() {
        let e = TransferConfig::from_toml("max_concurrency = 4\nmultipart_chunksize = -5\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(23)), "{e}");
        assert_eq!(e.field.as_deref(), Some("multipart_chunksize"));
        assert!(e.to_string().contains("negative"), "{e}");
        let e = TransferConfig::from_toml("max_concurrency = 4\n\nmax_io_queue = 0\n").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.field.as_deref()),
            (Some(3), Some(1), Some("max_io_queue")),
            "{e}"
        );
        let e = TransferConfig::from_toml("max_concurrency = [").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        let e = TransferConfig::from_toml("read_timeout = \"soon\"").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("read_timeout"), "{e}");
        let e = TransferConfig::from_json("{\n  \"max_concurrency\": \"many\"\n}").unwrap_err();
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(2), Some("max_concurrency")),
            "{e}"
        );
        assert!(!e.to_string().contains(" at line "), "{e}");
        let c = TransferConfig::from_toml("read_timeout = \"10s\"\nconnect_timeout = 2").unwrap();
        assert_eq!(
            (c.read_timeout, c.connect_timeout),
            (Duration::from_secs(10), Duration::from_secs(2))
        );
    }
}
