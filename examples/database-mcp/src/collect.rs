//! Gathers streamed rows into a [`QueryOutput`] under the row, cell and byte caps.

use serde_json::Value;
use talk2tables_common::QueryOutput;

use crate::DbOptions;

/// What the reader should do after offering a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Keep reading.
    More,
    /// A cap was reached: stop reading (the output is already marked truncated).
    Stop,
}

/// Accumulates rows; call [`RowCollector::push`] per row and [`RowCollector::finish`]
/// when the stream ends naturally.
pub(crate) struct RowCollector {
    out: QueryOutput,
    max_rows: usize,
    max_result_bytes: usize,
    bytes: usize,
}

impl RowCollector {
    pub(crate) fn new(columns: Vec<String>, options: &DbOptions) -> Self {
        RowCollector {
            out: QueryOutput { columns, ..QueryOutput::default() },
            max_rows: options.max_rows,
            max_result_bytes: options.max_result_bytes,
            bytes: 0,
        }
    }

    /// Offers one row. The row past `max_rows`, or one that would push the JSON size over
    /// `max_result_bytes`, is dropped and marks the output truncated.
    pub(crate) fn push(&mut self, row: Vec<Value>) -> Next {
        if self.out.rows.len() >= self.max_rows {
            self.out.truncated = true;
            return Next::Stop;
        }
        let size = serde_json::to_vec(&row).map(|v| v.len() + 1).unwrap_or(0);
        if self.bytes + size > self.max_result_bytes {
            self.out.truncated = true;
            return Next::Stop;
        }
        self.bytes += size;
        self.out.rows.push(row);
        Next::More
    }

    /// The output; `total_rows` is known only when no cap stopped the reading.
    pub(crate) fn finish(mut self) -> QueryOutput {
        self.out.row_count = self.out.rows.len();
        if !self.out.truncated {
            self.out.total_rows = Some(self.out.rows.len() as u64);
        }
        self.out
    }
}

/// `text` cut to at most `max` bytes at a character boundary, with `…` appended when cut.
pub(crate) fn cap_text(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text[..end].to_string();
    cut.push('…');
    cut
}

/// A blob as lowercase hex (two characters per byte), cut so the text stays within
/// `max` bytes (with `…` appended when cut).
pub(crate) fn blob_to_hex(bytes: &[u8], max: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let keep = bytes.len().min(max / 2);
    let mut s = String::with_capacity(keep * 2 + 3);
    for b in &bytes[..keep] {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    if keep < bytes.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(max_rows: usize, max_result_bytes: usize) -> DbOptions {
        DbOptions { max_rows, max_result_bytes, ..DbOptions::default() }
    }

    #[test]
    fn row_cap_sets_truncated_and_unknown_total() {
        let mut c = RowCollector::new(vec!["a".into()], &opts(2, 1 << 20));
        assert_eq!(c.push(vec![json!(1)]), Next::More);
        assert_eq!(c.push(vec![json!(2)]), Next::More);
        assert_eq!(c.push(vec![json!(3)]), Next::Stop);
        let out = c.finish();
        assert_eq!((out.row_count, out.truncated, out.total_rows), (2, true, None));
    }

    #[test]
    fn natural_end_counts_total() {
        let mut c = RowCollector::new(vec!["a".into()], &opts(5, 1 << 20));
        c.push(vec![json!("x")]);
        let out = c.finish();
        assert_eq!((out.row_count, out.truncated, out.total_rows), (1, false, Some(1)));
    }

    #[test]
    fn byte_cap_stops_reading() {
        let mut c = RowCollector::new(vec!["a".into()], &opts(100, 20));
        assert_eq!(c.push(vec![json!("0123456789")]), Next::More); // 15 bytes
        assert_eq!(c.push(vec![json!("0123456789")]), Next::Stop);
        let out = c.finish();
        assert_eq!((out.row_count, out.truncated, out.total_rows), (1, true, None));
    }

    #[test]
    fn text_and_blob_caps() {
        assert_eq!(cap_text("héllo".into(), 2), "h…");
        assert_eq!(cap_text("abc".into(), 3), "abc");
        assert_eq!(blob_to_hex(&[0x00, 0xff, 0x10], 100), "00ff10");
        assert_eq!(blob_to_hex(&[0x00, 0xff, 0x10], 4), "00ff…");
    }
}
