//! A small RFC 4180 record reader for corporate-identifier files, with line numbers for
//! error messages.
//!
//! Accepted beyond the RFC, because admins' files have them: a UTF-8 byte order mark,
//! LF or lone CR line ends as well as CRLF, blank (or whitespace-only) lines, and comment
//! lines whose first non-blank character is `#`. Quoted fields may contain commas, doubled
//! quotes and line breaks; what a field may hold is for the caller to judge.
//!
//! Fields are returned exactly as written (no trimming): whitespace is part of a field,
//! as RFC 4180 says, and the caller decides whether it is acceptable.
//!
//! Work is linear in the input. Fields past `max_fields` are counted but not kept, so a
//! pathological line cannot make us build a huge field list; such a record is reported as
//! [`CsvError::TooManyFields`] and reading goes on with the next record.

/// One record and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

/// A malformed file. Reading stops at the first one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the quoted field opened on this line is never closed")]
    UnterminatedQuote { line: usize },
    #[error(
        "a quote (\") inside an unquoted field; quote the whole field and double the quote (\"\") \
         inside it"
    )]
    QuoteInUnquotedField { line: usize },
    #[error("text after a closing quote; a quoted field must end at a comma or the end of the line")]
    TextAfterClosingQuote { line: usize },
    /// The record is skipped; reading goes on with the next one.
    #[error("{found} columns; at most {max} are allowed")]
    TooManyFields { line: usize, max: usize, found: usize },
}

impl CsvError {
    /// The 1-based line the problem is on.
    pub fn line(&self) -> usize {
        match self {
            CsvError::UnterminatedQuote { line }
            | CsvError::QuoteInUnquotedField { line }
            | CsvError::TextAfterClosingQuote { line }
            | CsvError::TooManyFields { line, .. } => *line,
        }
    }
}

/// The records of `input`, read lazily; blank and comment lines are skipped.
pub fn records(input: &str, max_fields: usize) -> Records<'_> {
    let rest = input.strip_prefix('\u{feff}').unwrap_or(input);
    Records { rest, line: 1, max_fields, failed: false }
}

/// Iterator over the records of a CSV text. Ends after the first error other than
/// [`CsvError::TooManyFields`].
#[derive(Debug)]
pub struct Records<'a> {
    rest: &'a str,
    /// Line number of the start of `rest`.
    line: usize,
    max_fields: usize,
    failed: bool,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.skip_blank_and_comment_lines();
        if self.rest.is_empty() {
            return None;
        }
        let line = self.line;
        match read_record(self.rest, line, self.max_fields) {
            Ok(read) => {
                self.rest = read.rest;
                self.line = read.next_line;
                if read.found > self.max_fields {
                    Some(Err(CsvError::TooManyFields { line, max: self.max_fields, found: read.found }))
                } else {
                    Some(Ok(Record { line, fields: read.fields }))
                }
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

impl Records<'_> {
    fn skip_blank_and_comment_lines(&mut self) {
        while !self.rest.is_empty() {
            let (text, after) = split_first_line(self.rest);
            let content = text.trim_start();
            if !content.is_empty() && !content.starts_with('#') {
                return;
            }
            self.rest = after;
            self.line += 1;
        }
    }
}

/// The first physical line of `s` (without its terminator) and what follows the terminator.
fn split_first_line(s: &str) -> (&str, &str) {
    match s.find(['\r', '\n']) {
        None => (s, ""),
        Some(end) => {
            let after = &s[end..];
            let after = after.strip_prefix("\r\n").or_else(|| after.get(1..)).unwrap_or("");
            (&s[..end], after)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    AfterClosingQuote,
}

/// One record as read: its first `max_fields` fields, how many it had, the input after
/// its line terminator and the line number there.
struct ReadRecord<'a> {
    fields: Vec<String>,
    found: usize,
    rest: &'a str,
    next_line: usize,
}

/// Read one record from the start of `input` (which starts on line `line`).
fn read_record(input: &str, mut line: usize, max_fields: usize) -> Result<ReadRecord<'_>, CsvError> {
    let mut fields = Fields { kept: Vec::new(), found: 0, max: max_fields };
    let mut field = String::new();
    let mut state = State::FieldStart;
    let mut quote_line = line;
    let mut chars = input.char_indices().peekable();

    while let Some((i, c)) = chars.next() {
        let line_break = c == '\n' || c == '\r';
        match state {
            State::Quoted => match c {
                '"' if chars.next_if(|&(_, n)| n == '"').is_some() => field.push('"'),
                '"' => state = State::AfterClosingQuote,
                '\r' => {
                    field.push('\r');
                    if chars.next_if(|&(_, n)| n == '\n').is_some() {
                        field.push('\n');
                    }
                    line += 1;
                }
                '\n' => {
                    field.push('\n');
                    line += 1;
                }
                _ => field.push(c),
            },
            _ if c == ',' => {
                fields.push(&mut field);
                state = State::FieldStart;
            }
            _ if line_break => {
                fields.push(&mut field);
                let mut end = i + 1;
                if c == '\r' && chars.next_if(|&(_, n)| n == '\n').is_some() {
                    end += 1;
                }
                return Ok(fields.into_record(&input[end..], line + 1));
            }
            State::FieldStart if c == '"' => {
                state = State::Quoted;
                quote_line = line;
            }
            State::FieldStart | State::Unquoted if c == '"' => {
                return Err(CsvError::QuoteInUnquotedField { line });
            }
            State::FieldStart | State::Unquoted => {
                field.push(c);
                state = State::Unquoted;
            }
            State::AfterClosingQuote => return Err(CsvError::TextAfterClosingQuote { line }),
        }
    }

    if state == State::Quoted {
        return Err(CsvError::UnterminatedQuote { line: quote_line });
    }
    fields.push(&mut field);
    Ok(fields.into_record("", line))
}

/// The fields of a record being read: the first `max` kept, all counted.
struct Fields {
    kept: Vec<String>,
    found: usize,
    max: usize,
}

impl Fields {
    fn push(&mut self, field: &mut String) {
        self.found += 1;
        if self.kept.len() < self.max {
            self.kept.push(std::mem::take(field));
        } else {
            field.clear();
        }
    }

    fn into_record(self, rest: &str, next_line: usize) -> ReadRecord<'_> {
        ReadRecord { fields: self.kept, found: self.found, rest, next_line }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of `input` as (line, fields), or the first error.
    fn read(input: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
        records(input, 4).map(|r| r.map(|r| (r.line, r.fields))).collect()
    }

    fn owned(expected: &[(usize, Vec<&str>)]) -> Vec<(usize, Vec<String>)> {
        expected.iter().map(|(l, f)| (*l, f.iter().map(|s| (*s).to_owned()).collect())).collect()
    }

    #[test]
    fn reads_records_with_their_lines() {
        // (name, input, expected (line, fields) records)
        type Case<'a> = (&'a str, &'a str, Vec<(usize, Vec<&'a str>)>);
        let cases: &[Case<'_>] = &[
            ("empty", "", vec![]),
            ("one line no newline", "a,b,c", vec![(1, vec!["a", "b", "c"])]),
            ("lf", "a,b,c\nd,e,f\n", vec![(1, vec!["a", "b", "c"]), (2, vec!["d", "e", "f"])]),
            ("crlf", "a,b,c\r\nd,e,f\r\n", vec![(1, vec!["a", "b", "c"]), (2, vec!["d", "e", "f"])]),
            ("lone cr", "a,b,c\rd,e,f", vec![(1, vec!["a", "b", "c"]), (2, vec!["d", "e", "f"])]),
            ("bom", "\u{feff}a,b,c", vec![(1, vec!["a", "b", "c"])]),
            (
                "blank and comment lines",
                "\n  \r\n# comment, with \"quotes\n  # indented comment\na,b,c\n\n",
                vec![(5, vec!["a", "b", "c"])],
            ),
            ("empty fields", "a,,c,", vec![(1, vec!["a", "", "c", ""])]),
            ("spaces kept", " a , b,c ", vec![(1, vec![" a ", " b", "c "])]),
            ("quoted", "\"a\",\"b c\",\"\"", vec![(1, vec!["a", "b c", ""])]),
            ("doubled quotes", "\"say \"\"hi\"\"\",b,c", vec![(1, vec!["say \"hi\"", "b", "c"])]),
            ("comma in quotes", "\"a,b\",c,d", vec![(1, vec!["a,b", "c", "d"])]),
            (
                "line break in quotes moves the line count",
                "\"a\r\nb\",c,d\ne,f,g",
                vec![(1, vec!["a\r\nb", "c", "d"]), (3, vec!["e", "f", "g"])],
            ),
            ("hash inside a record is data", "a,#b,c", vec![(1, vec!["a", "#b", "c"])]),
            ("quoted hash line is data", "\"#a\",b,c", vec![(1, vec!["#a", "b", "c"])]),
        ];
        for (name, input, expected) in cases {
            assert_eq!(read(input), Ok(owned(expected)), "{name}");
        }
    }

    #[test]
    fn errors_name_their_line() {
        let cases: &[(&str, &str, CsvError)] = &[
            ("unterminated", "a,b,c\nd,\"e,f\n\n", CsvError::UnterminatedQuote { line: 2 }),
            ("quote inside unquoted", "a,b,c\n\nab\"c,d,e", CsvError::QuoteInUnquotedField { line: 3 }),
            ("space before quote", "a, \"b\",c", CsvError::QuoteInUnquotedField { line: 1 }),
            ("text after quote", "a,b,c\n\"d\"x,e,f", CsvError::TextAfterClosingQuote { line: 2 }),
            (
                "text after quote on a later line of a multi-line field",
                "\"a\nb\" ,c,d",
                CsvError::TextAfterClosingQuote { line: 2 },
            ),
            ("five fields", "a,b,c\na,b,c,d,e", CsvError::TooManyFields { line: 2, max: 4, found: 5 }),
        ];
        for (name, input, expected) in cases {
            assert_eq!(read(input), Err(expected.clone()), "{name}");
            assert!(expected.line() >= 1);
        }
    }

    #[test]
    fn stops_after_the_first_error() {
        let mut it = records("\"a\"x\nb,c,d", 4);
        assert!(matches!(it.next(), Some(Err(CsvError::TextAfterClosingQuote { line: 1 }))));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn too_many_fields_skips_the_record_and_goes_on() {
        let got: Vec<_> = records("a,b,c,d,e,\"f,g\"\nh,i,j", 4).collect();
        assert_eq!(
            got,
            [
                Err(CsvError::TooManyFields { line: 1, max: 4, found: 6 }),
                Ok(Record { line: 2, fields: vec!["h".into(), "i".into(), "j".into()] }),
            ]
        );
    }

    #[test]
    fn a_huge_line_keeps_only_max_fields() {
        let line = ",".repeat(1_000_000);
        assert_eq!(read(&line), Err(CsvError::TooManyFields { line: 1, max: 4, found: 1_000_001 }));
    }
}
