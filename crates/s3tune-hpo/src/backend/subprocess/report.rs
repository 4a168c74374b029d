//! What a trial reports: `[tune-metric]: {json}` lines on its stdout, as Syne Tune's
//! `Reporter` prints them (Python's JSON, bare `NaN` and `Infinity` included).

use std::borrow::Cow;

/// What starts a report line on a trial's stdout (Syne Tune's `Reporter` prints it,
/// followed by a space and a JSON object).
pub const REPORT_PREFIX: &str = "[tune-metric]:";

/// What the program has reported so far.
#[derive(Debug, Default)]
pub(super) struct Reports {
    /// `[tune-metric]` lines seen.
    pub(super) lines: usize,
    /// Of those, lines with the metric.
    pub(super) count: usize,
    /// Every key reported, Syne Tune's `st_` ones aside (for the reason when the metric
    /// never came).
    pub(super) keys: std::collections::BTreeSet<String>,
}

impl Reports {
    /// Reads stdout line `number`: `Ok(Some(value))` when it is a report with `metric`,
    /// `Ok(None)` when it is not a report or lacks the metric, `Err` when it is broken.
    pub(super) fn read(
        &mut self,
        text: &str,
        number: usize,
        metric: &str,
    ) -> Result<Option<f64>, String> {
        let Some(json) = text.trim_start().strip_prefix(REPORT_PREFIX) else {
            return Ok(None);
        };
        self.lines += 1;
        let map = parse_report(json).map_err(|e| format!("malformed report line {number}: {e}"))?;
        self.keys
            .extend(map.keys().filter(|k| !k.starts_with("st_")).cloned());
        let Some(value) = map.get(metric) else {
            return Ok(None);
        };
        let value = number_of(value)
            .ok_or_else(|| format!("report line {number}: `{metric}` is {value}, not a number"))?;
        self.count += 1;
        Ok(Some(value))
    }
}

/// Parses what follows the report prefix: a JSON object, as Python's `json.dumps`
/// writes it — which may hold bare `NaN`, `Infinity` and `-Infinity`.
fn parse_report(json: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(&python_json(json.trim())) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("expected a JSON object, got {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Stand-ins for Python's non-finite numbers: strings no report has any business
/// holding (they begin with a NUL character).
const NAN: &str = "\u{0}NaN";
const INF: &str = "\u{0}Infinity";
const NEG_INF: &str = "\u{0}-Infinity";

/// `json` with every bare `NaN`, `Infinity` and `-Infinity` outside strings replaced by
/// a stand-in string, which strict JSON parsers accept.
fn python_json(json: &str) -> Cow<'_, str> {
    if !json.contains("NaN") && !json.contains("Infinity") {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else {
            let swapped = [("-Infinity", NEG_INF), ("Infinity", INF), ("NaN", NAN)]
                .into_iter()
                .find(|(word, _)| rest.starts_with(word));
            if let Some((word, stand_in)) = swapped {
                out.push_str(&serde_json::Value::from(stand_in).to_string());
                rest = &rest[word.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// A reported value as a number: JSON numbers, and Python's non-finite ones.
fn number_of(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) if s == NAN => Some(f64::NAN),
        serde_json::Value::String(s) if s == INF => Some(f64::INFINITY),
        serde_json::Value::String(s) if s == NEG_INF => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_non_finite_numbers_are_read_and_strings_left_alone() {
        let map =
            parse_report(r#" {"a": NaN, "b": Infinity, "c": -Infinity, "d": "NaN \" Infinity"} "#)
                .unwrap();
        assert!(number_of(&map["a"]).unwrap().is_nan());
        assert_eq!(number_of(&map["b"]), Some(f64::INFINITY));
        assert_eq!(number_of(&map["c"]), Some(f64::NEG_INFINITY));
        assert_eq!(map["d"], serde_json::json!("NaN \" Infinity"));
        assert_eq!(number_of(&map["d"]), None);
        assert!(parse_report("[1, 2]").unwrap_err().contains("JSON object"));
        assert!(parse_report("{oops").is_err());
    }

    #[test]
    fn report_lines_are_counted_and_keys_remembered() {
        let mut r = Reports::default();
        assert_eq!(r.read("epoch 1 done\n", 1, "loss"), Ok(None));
        assert_eq!(
            r.read(
                "[tune-metric]: {\"acc\": 0.5, \"st_worker_iter\": 0}\n",
                2,
                "loss"
            ),
            Ok(None)
        );
        assert_eq!(
            r.read("[tune-metric]: {\"loss\": 2}\n", 3, "loss"),
            Ok(Some(2.0))
        );
        let err = r.read("[tune-metric]: {\"loss\": \"x\"}", 4, "loss");
        assert_eq!(
            err,
            Err("report line 4: `loss` is \"x\", not a number".to_owned())
        );
        assert_eq!((r.lines, r.count), (3, 1));
        assert_eq!(r.keys.iter().collect::<Vec<_>>(), ["acc", "loss"]);
    }
}
