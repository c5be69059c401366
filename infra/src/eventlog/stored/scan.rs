//! One strict pass over a record's JSON: the verifier's fast way reads a commit's fields and
//! checks every byte of it in a single scan, where a serde parse plus a second check of each
//! payload read the payloads twice.
//!
//! It accepts a *subset* of what `serde_json` decodes into a
//! [`CommitRecord`](crate::eventlog::codec::CommitRecord): whatever it says yes to also
//! decodes, and anything it is unsure of it refuses, so the caller judges that record the
//! slow way (decoded). It refuses
//! - keys with escapes (serde matches keys after unescaping; we do not bother),
//! - `\u` escapes of surrogates (serde_json refuses a lone one; pairs are rare: the writer
//!   stores non-ASCII text as UTF-8),
//! - numbers with an exponent or more than [`MAX_DIGITS`] integer digits (serde_json refuses
//!   those out of `f64`'s range),
//! - nesting deeper than [`MAX_DEPTH`] (serde_json stops at 128 levels),
//!
//! and, as serde_json does, raw control characters in strings, unknown escapes, leading
//! zeros, and anything after the value but whitespace. Text is `&str`, so UTF-8 is checked
//! before the scan.

/// Integer digits of a number the scan accepts.
pub const MAX_DIGITS: usize = 300;
/// Levels of nesting the scan accepts below where it starts reading a value.
pub const MAX_DEPTH: usize = 100;

/// A cursor over JSON text. Every method consumes one token (and the whitespace before it)
/// or returns `None`, after which the scan is abandoned — except [`Self::fixed`] and
/// [`Self::null`], which consume nothing but whitespace when the token is not theirs, so
/// another method can read it.
pub struct Scan<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    pub fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Only whitespace is left.
    pub fn end(mut self) -> Option<()> {
        self.peek().is_none().then_some(())
    }

    /// A string: its text as stored, quotes included, and whether it holds escapes.
    pub fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let bytes = self.bytes();
        let start = self.pos - 1;
        let mut escaped = false;
        let mut at = self.pos;
        loop {
            at = plain_run_end(bytes, at);
            match *bytes.get(at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    at += 1;
                    match *bytes.get(at)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => at += 1,
                        b'u' => {
                            let hex = std::str::from_utf8(bytes.get(at + 1..at + 5)?).ok()?;
                            let unit = u16::from_str_radix(hex, 16).ok()?;
                            if hex.starts_with('+') || (0xD800..=0xDFFF).contains(&unit) {
                                return None;
                            }
                            at += 5;
                        }
                        _ => return None,
                    }
                }
                0..0x20 => return None,
                _ => at += 1,
            }
        }
        self.pos = at + 1;
        Some((&self.text[start..self.pos], escaped))
    }

    /// The next `len` bytes after whitespace, consumed when `fits` accepts them (only the
    /// whitespace is consumed otherwise). For tokens of a known shape, such as a quoted id, checked in one
    /// go instead of byte by byte; `fits` must accept only JSON the general methods accept.
    pub fn fixed(&mut self, len: usize, fits: impl FnOnce(&[u8]) -> bool) -> Option<&'a str> {
        self.skip_ws();
        let token = self.text.get(self.pos..self.pos + len)?;
        fits(token.as_bytes()).then(|| {
            self.pos += len;
            token
        })
    }

    /// `null`, consumed; false (only whitespace consumed) when the next token is something else.
    pub fn null(&mut self) -> bool {
        let null = self.peek() == Some(b'n') && self.text[self.pos..].starts_with("null");
        if null {
            self.pos += 4;
        }
        null
    }

    /// An unsigned integer as serde reads a `u64`: digits, no sign, fraction or exponent.
    pub fn u64(&mut self) -> Option<u64> {
        self.skip_ws();
        let digits = self.digits()?;
        if let Some(b'.' | b'e' | b'E') = self.bytes().get(self.pos) {
            return None;
        }
        digits.parse().ok()
    }

    /// `0` or a run of digits without a leading zero.
    fn digits(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let bytes = self.bytes();
        let mut at = start;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let run = &self.text[start..at];
        if run.is_empty() || (run.len() > 1 && run.starts_with('0')) || run.len() > MAX_DIGITS {
            return None;
        }
        self.pos = at;
        Some(run)
    }

    fn number(&mut self) -> Option<()> {
        if self.bytes().get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        self.digits()?;
        if self.bytes().get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let start = self.pos;
            while self.bytes().get(self.pos).is_some_and(u8::is_ascii_digit) {
                self.pos += 1;
            }
            if self.pos == start {
                return None;
            }
        }
        match self.bytes().get(self.pos) {
            Some(b'e' | b'E') => None,
            _ => Some(()),
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.text[self.pos..].starts_with(word).then(|| self.pos += word.len())
    }

    /// Any value, checked to the end: its text as stored.
    pub fn value(&mut self) -> Option<&'a str> {
        self.skip_ws();
        let start = self.pos;
        self.nested(MAX_DEPTH)?;
        Some(&self.text[start..self.pos])
    }

    fn nested(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                let below = depth.checked_sub(1).filter(|d| *d > 0)?;
                self.object(|scan, _| scan.nested(below))
            }
            b'[' => {
                let below = depth.checked_sub(1).filter(|d| *d > 0)?;
                self.array(|scan| scan.nested(below))
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            _ => self.number(),
        }
    }

    /// An object: `field` reads each member's value, given its key (keys with escapes are
    /// refused).
    pub fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            self.eat(b':')?;
            field(self, &key[1..key.len() - 1])?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array: `item` reads each element.
    pub fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

/// Where the run of plain string bytes from `at` ends, read eight at a time: the place of the
/// first quote, backslash or control character, or where fewer than eight bytes are left
/// (those go byte by byte).
fn plain_run_end(bytes: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // A byte of `x` is zero ⇔ its high bit is set in `(x - ONES) & !x`, below 0x20 likewise;
    // a borrow only flags bytes above a flagged one, so the lowest flag is exact.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    while let Some(chunk) = bytes.get(at..at + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
        let x = u64::from_le_bytes(chunk);
        let special = (zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | (x.wrapping_sub(ONES * 0x20) & !x))
            & HIGH;
        if special != 0 {
            return at + special.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<&str> {
        let mut scan = Scan::new(text);
        let value = scan.value()?;
        scan.end().map(|()| value)
    }

    /// The scan's promise: what it accepts, serde_json decodes.
    #[test]
    fn every_value_the_scan_accepts_serde_json_decodes() {
        let cases = [
            r#"{"a":[1,-2,3.25,0,-0.5,true,false,null],"b":{"c":"한글 \" \\ \/ \b \f \n \r \t \u00e9"}}"#,
            " [ 1 , { } , [ ] , \"\" ] ",
            "1e5",
            "1E-2",
            "01",
            "-",
            "1.",
            ".5",
            "+1",
            "\"\\uD800\"",
            "\"\\uDC00\\u0041\"",
            "\"\\u+123\"",
            "\"\\x\"",
            "\"a\u{1}b\"",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"\\u0061\":1}",
            "[1 2]",
            "\"unterminated",
        ];
        let mut accepted = 0;
        for case in cases {
            if let Some(raw) = value(case) {
                accepted += 1;
                assert!(serde_json::from_str::<serde_json::Value>(case).is_ok(), "{case}");
                assert_eq!(raw, case.trim(), "the whole value is returned as stored");
            }
        }
        assert_eq!(accepted, 2, "only the first two are plain enough for the fast way");
    }

    /// Every special byte is found wherever it sits in an eight-byte chunk.
    #[test]
    fn a_quote_backslash_or_control_character_is_found_at_any_place_in_a_chunk() {
        for at in 0..20 {
            for (special, accepted) in [("\"", false), ("\\n", true), ("\u{1f}", false), ("é", true)] {
                let mut inner = "a".repeat(20);
                inner.replace_range(at..=at, special);
                let text = format!("\"{inner}\"");
                let scanned = value(&text);
                assert_eq!(scanned.is_some(), accepted, "{special:?} at {at}");
                if accepted {
                    assert!(serde_json::from_str::<String>(&text).is_ok());
                }
            }
        }
    }

    #[test]
    fn nesting_is_refused_before_serde_json_would_refuse_it() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(value(&deep(MAX_DEPTH - 1)).is_some());
        assert!(value(&deep(MAX_DEPTH)).is_none());
        assert!(serde_json::from_str::<serde_json::Value>(&deep(MAX_DEPTH + 3)).is_ok());
    }

    #[test]
    fn unsigned_integers_are_read_as_serde_reads_a_u64() {
        let read = |text: &str| Scan::new(text).u64();
        assert_eq!(read("0"), Some(0));
        assert_eq!(read(" 18446744073709551615"), Some(u64::MAX));
        for refused in ["18446744073709551616", "-1", "1.0", "1e3", "01", ""] {
            assert_eq!(read(refused), None, "{refused}");
        }
    }
}
