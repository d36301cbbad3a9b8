//! Strict CSV reading for the CLI: every problem is reported with the line it is on, in
//! Chinese and English, instead of being skipped or guessed around.

use std::path::Path;

use crate::error::TextError;

/// One data row: the file line it starts on, and the values of the requested columns
/// (required ones first, then optional ones, which are `None` when the column is absent).
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub line: u64,
    pub values: Vec<Option<String>>,
}

impl CsvRow {
    /// Value of a required column (always present).
    pub fn get(&self, index: usize) -> &str {
        self.values[index].as_deref().unwrap_or("")
    }
}

/// Reads a CSV file with a header, returning the `required` columns (which must exist and
/// be non-empty on every row) followed by the `optional` columns. Column order in the file
/// does not matter and other columns are ignored.
pub fn read_rows(
    path: &Path,
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<CsvRow>, TextError> {
    let bytes = std::fs::read(path).map_err(|e| TextError::io(path, e))?;
    parse_rows(&bytes, required, optional)
}

/// Same as [`read_rows`] on bytes already in memory.
pub fn parse_rows(
    bytes: &[u8],
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<CsvRow>, TextError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader.byte_headers().map_err(|e| csv_error(e, 1))?.clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| {
            std::str::from_utf8(h)
                .map(|s| s.trim().to_string())
                .map_err(|_| TextError::NotUtf8 { line: 1 })
        })
        .collect::<Result<_, _>>()?;
    let find = |column: &str| names.iter().position(|n| n.eq_ignore_ascii_case(column));
    let mut positions = Vec::new();
    for column in required {
        let position = find(column).ok_or_else(|| TextError::MissingColumn {
            column: column.to_string(),
            found: names.join(","),
        })?;
        positions.push(Some(position));
    }
    positions.extend(optional.iter().map(|c| find(c)));

    let mut rows = Vec::new();
    // Start offsets of records, to check that each record's quotes pair up.
    let mut spans: Vec<(u64, usize)> = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line_hint = spans.last().map_or(2, |&(line, _)| line + 1);
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(e, line_hint)),
        }
        let position = record
            .position()
            .expect("records read from a reader have a position");
        let line = position.line();
        spans.push((line, position.byte() as usize));
        let mut values = Vec::with_capacity(positions.len());
        for (n, position) in positions.iter().enumerate() {
            let Some(position) = *position else {
                values.push(None);
                continue;
            };
            let raw = record.get(position).unwrap_or_default();
            let value = std::str::from_utf8(raw).map_err(|_| TextError::NotUtf8 { line })?;
            if n < required.len() && value.trim().is_empty() {
                return Err(TextError::EmptyField {
                    line,
                    column: required[n].to_string(),
                });
            }
            values.push(Some(value.to_string()));
        }
        rows.push(CsvRow { line, values });
    }
    check_quotes(bytes, &spans)?;
    if rows.is_empty() {
        return Err(TextError::NoRows);
    }
    Ok(rows)
}

/// A well-formed record has an even number of quote characters: each quoted field opens and
/// closes, and an escaped quote is doubled. An odd count means a quote was left open (the
/// CSV parser then silently swallows the following lines) or stands inside an unquoted field.
fn check_quotes(bytes: &[u8], spans: &[(u64, usize)]) -> Result<(), TextError> {
    for (i, &(line, start)) in spans.iter().enumerate() {
        let end = spans.get(i + 1).map_or(bytes.len(), |&(_, next)| next);
        let quotes = bytes[start.min(end)..end]
            .iter()
            .filter(|&&b| b == b'"')
            .count();
        if quotes % 2 == 1 {
            return Err(TextError::BrokenQuoting { line });
        }
    }
    Ok(())
}

fn csv_error(error: csv::Error, line_hint: u64) -> TextError {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => TextError::FieldCount {
            line: pos.as_ref().map_or(line_hint, |p| p.line()),
            expected: *expected_len as usize,
            found: *len as usize,
        },
        csv::ErrorKind::Utf8 { pos, .. } => TextError::NotUtf8 {
            line: pos.as_ref().map_or(line_hint, |p| p.line()),
        },
        _ => TextError::Csv {
            line: line_hint,
            detail: error.to_string(),
        },
    }
}

/// Reads a user dictionary: one word per line; blank lines and lines starting with '#' are
/// skipped; anything after the first whitespace (a jieba-style frequency or tag) is ignored.
pub fn read_user_words(path: &Path) -> Result<Vec<String>, TextError> {
    let bytes = std::fs::read(path).map_err(|e| TextError::io(path, e))?;
    let mut words = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line =
            std::str::from_utf8(line).map_err(|_| TextError::NotUtf8 { line: n as u64 + 1 })?;
        let line = line.trim().trim_start_matches('\u{FEFF}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(word) = line.split_whitespace().next() {
            words.push(word.to_string());
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Result<Vec<CsvRow>, TextError> {
        parse_rows(text, &["id", "text"], &["title"])
    }

    #[test]
    fn reads_columns_in_any_order_with_optional_ones() {
        let rows = parse("text,extra,id\n\"路灯坏了, 请修\",x,1\n积水,y,2\n".as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get(0), "1");
        assert_eq!(rows[0].get(1), "路灯坏了, 请修");
        assert_eq!(rows[0].values[2], None);
        assert_eq!(rows[1].line, 3);
    }

    #[test]
    fn errors_name_the_line_in_both_languages() {
        let missing = parse(b"id,body\n1,x\n").unwrap_err().to_string();
        assert!(
            missing.contains("缺少 text 列") && missing.contains("no column text"),
            "{missing}"
        );

        let empty = parse("id,text\n1,路灯\n2,  \n".as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(empty, "第 3 行：text 列为空 / line 3: column text is empty");

        let fields = parse("id,text\n1,路灯\n2,积水,多余\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            fields.starts_with("第 3 行") && fields.contains("line 3"),
            "{fields}"
        );

        let quoting = parse("id,text\n1,路灯\n2,\"积水没人管\n3,噪音\n".as_bytes())
            .unwrap_err()
            .to_string();
        assert!(quoting.starts_with("第 3 行：引号不配对"), "{quoting}");

        let bytes = b"id,text\n1,ok\n2,\xFF\xFE\n";
        let utf8 = parse(bytes).unwrap_err().to_string();
        assert!(
            utf8.starts_with("第 3 行") && utf8.contains("UTF-8"),
            "{utf8}"
        );

        assert!(matches!(parse(b"id,text\n"), Err(TextError::NoRows)));
    }
}
