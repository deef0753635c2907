//! The quote guard: what a plain scalar means to the readers that matter, and how to write a string so
//! that none of them mistakes it for something else.
//!
//! Kubernetes, kubectl and ArgoCD read YAML 1.1 (go-yaml v2 through sigs.k8s.io/yaml): `yes`, `on`, `y`,
//! `0755`, `012`, `1_000`, `12:30` are not strings there. kpt and many tools read YAML 1.2, where `1e3`,
//! `0o17` and `.inf` are numbers. A new string is written plain only when it is a string to both.

use super::node::Style;

/// Plain words that YAML 1.1 reads as booleans.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Plain words that read as null (both versions).
const NULL_WORDS: &[&str] = &["", "~", "null", "Null", "NULL"];

/// The number grammars, matched by hand (a regex would cost more to compile than a small run spends quoting).
/// Each function is one regular expression, written above it; the tests hold the expressions and compare.
mod number {
    /// `(?x)^(?: [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    ///   | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+ | [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    ///   | \.[0-9][0-9_]*(?:[eE][-+][0-9]+)? | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    ///   | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN) )$`
    ///
    /// What a YAML 1.1 reader (PyYAML's resolver, the reference go-yaml v2 follows) reads as int or float.
    pub fn yaml11(s: &str) -> bool {
        let (signed, u) = unsigned(s.as_bytes());
        whole(u.strip_prefix(b"0b").and_then(|r| skip1(r, |c| matches!(c, b'0' | b'1' | b'_'))))
            || whole(u.strip_prefix(b"0").and_then(|r| skip1(r, octal)))
            || u == b"0"
            || whole(decimal_from_1(u))
            || whole(hex(u))
            || whole(decimal_from_1(u).and_then(sexagesimal))
            || whole(decimal(u).and_then(|r| r.strip_prefix(b".")).map(|r| exponent(skip(r, digit), true)))
            || (!signed && whole(u.strip_prefix(b".").and_then(decimal).map(|r| exponent(r, true))))
            || whole(decimal(u).and_then(sexagesimal).and_then(|r| r.strip_prefix(b".")).map(|r| skip(r, digit)))
            || matches!(u, b".inf" | b".Inf" | b".INF")
            || (!signed && matches!(u, b".nan" | b".NaN" | b".NAN"))
    }

    /// `(?x)^(?: [-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    ///   | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)? | [-+]?(?:[0-9][0-9_]*)?\.[0-9_.]*(?:[eE][-+]?[0-9]+)?
    ///   | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+ | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN) )$`
    ///
    /// YAML 1.1 int/float/sexagesimal and YAML 1.2 core schema numbers (`0o17`, `1e3`) in one: text that
    /// some reader takes for a number.
    pub fn any_reader(s: &str) -> bool {
        let (signed, u) = unsigned(s.as_bytes());
        whole(u.strip_prefix(b"0b").and_then(|r| skip1(r, |c| matches!(c, b'0' | b'1' | b'_'))))
            || whole(u.strip_prefix(b"0").map(|r| r.strip_prefix(b"o").unwrap_or(r)).and_then(|r| skip1(r, octal)))
            || u == b"0"
            || whole(decimal_from_1(u))
            || whole(hex(u))
            || whole(decimal_from_1(u).and_then(sexagesimal).map(fraction))
            || whole(
                decimal(u).unwrap_or(u).strip_prefix(b".").map(|r| exponent(skip(r, |c| digit(c) || c == b'.'), false)),
            )
            || whole(decimal(u).map(fraction).and_then(|r| exponent_of(r, false)))
            || matches!(u, b".inf" | b".Inf" | b".INF")
            || (!signed && matches!(u, b".nan" | b".NaN" | b".NAN"))
    }

    /// `(?:\.[0-9_]*)?`
    fn fraction(b: &[u8]) -> &[u8] {
        b.strip_prefix(b".").map_or(b, |r| skip(r, digit))
    }

    /// The text after an optional sign, and whether there was one.
    fn unsigned(b: &[u8]) -> (bool, &[u8]) {
        match b {
            [b'-' | b'+', rest @ ..] => (true, rest),
            _ => (false, b),
        }
    }

    fn whole(rest: Option<&[u8]>) -> bool {
        rest.is_some_and(<[u8]>::is_empty)
    }

    /// `[0-9_]`
    fn digit(c: u8) -> bool {
        c.is_ascii_digit() || c == b'_'
    }

    /// `[0-7_]`
    fn octal(c: u8) -> bool {
        matches!(c, b'0'..=b'7' | b'_')
    }

    /// Skips the bytes `ok` accepts.
    fn skip(b: &[u8], ok: impl Fn(u8) -> bool) -> &[u8] {
        let n = b.iter().take_while(|&&c| ok(c)).count();
        &b[n..]
    }

    /// Skips one or more bytes `ok` accepts.
    fn skip1(b: &[u8], ok: impl Fn(u8) -> bool) -> Option<&[u8]> {
        let rest = skip(b, ok);
        (rest.len() < b.len()).then_some(rest)
    }

    /// `[0-9][0-9_]*`
    fn decimal(b: &[u8]) -> Option<&[u8]> {
        b.first().filter(|c| c.is_ascii_digit()).map(|_| skip(&b[1..], digit))
    }

    /// `[1-9][0-9_]*`
    fn decimal_from_1(b: &[u8]) -> Option<&[u8]> {
        b.first().filter(|c| matches!(c, b'1'..=b'9')).map(|_| skip(&b[1..], digit))
    }

    /// `0x[0-9a-fA-F_]+`
    fn hex(b: &[u8]) -> Option<&[u8]> {
        b.strip_prefix(b"0x").and_then(|r| skip1(r, |c| c.is_ascii_hexdigit() || c == b'_'))
    }

    /// `(?::[0-5]?[0-9])+`. Only `:`, `.` or the end may follow a group, never a digit, so taking two digits
    /// when they fit is what the regex's backtracking would settle on.
    fn sexagesimal(b: &[u8]) -> Option<&[u8]> {
        let mut rest = b;
        while let Some(after) = rest.strip_prefix(b":") {
            rest = match after {
                [b'0'..=b'5', b'0'..=b'9', ..] => &after[2..],
                [b'0'..=b'9', ..] => &after[1..],
                _ => break,
            };
        }
        (rest.len() < b.len() && !rest.starts_with(b":")).then_some(rest)
    }

    /// `(?:[eE][-+][0-9]+)?` (`sign`: the sign is required) or `(?:[eE][-+]?[0-9]+)?`.
    fn exponent(b: &[u8], sign: bool) -> &[u8] {
        exponent_of(b, sign).unwrap_or(b)
    }

    /// `[eE][-+][0-9]+` or `[eE][-+]?[0-9]+`.
    fn exponent_of(b: &[u8], sign: bool) -> Option<&[u8]> {
        let r = b.strip_prefix(b"e").or_else(|| b.strip_prefix(b"E"))?;
        let r = match r {
            [b'-' | b'+', rest @ ..] => rest,
            _ if sign => return None,
            _ => r,
        };
        skip1(r, |c| c.is_ascii_digit())
    }
}

/// `^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:$|[Tt ]|\s)`: a YAML 1.1 date, alone or before a time. Checked by hand:
/// as a regex (Unicode `\s`) it cost more to compile than the rest of a small run's quoting.
fn timestamp_like(s: &str) -> bool {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let month = digits(rest);
    if !(1..=2).contains(&month) || rest.as_bytes().get(month) != Some(&b'-') {
        return false;
    }
    let rest = &rest[month + 1..];
    let day = digits(rest);
    (1..=2).contains(&day) && rest[day..].chars().next().is_none_or(|c| matches!(c, 'T' | 't') || c.is_whitespace())
}

/// False when `s` cannot match any number pattern above, by the characters each kind of number is made of:
/// `0x` and hex digits; `.inf` and `.nan`; otherwise a digit or a dot first, then digits and `_ . : + - e E`
/// (and the `b`/`o` of `0b`/`0o`). Most text (names, paths, images, `-Dkey=value` options, `2160h`, hex
/// digests) is ruled out here without running the regexes.
fn may_be_number(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    }
    if unsigned.strip_prefix('.').is_some_and(|word| word.starts_with(['i', 'I', 'n', 'N'])) {
        return true;
    }
    unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':' | b'+' | b'-' | b'e' | b'E' | b'b' | b'o'))
}

/// The longest word in [`YAML11_BOOLS`] and [`NULL_WORDS`]: longer text is none of them.
const LONGEST_WORD: usize = 5;

/// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
pub fn is_null_word(s: &str) -> bool {
    s.len() <= LONGEST_WORD && NULL_WORDS.contains(&s)
}

/// True when a plain scalar with this text is a string to a YAML 1.1 reader (Kubernetes).
pub fn plain_is_string(s: &str) -> bool {
    // Most text is a word longer than any null or bool word that starts with a letter, so it can be no
    // number or timestamp either (this is asked of every scalar a lookup reads).
    (s.len() > LONGEST_WORD && s.as_bytes()[0].is_ascii_alphabetic()) || resolves_to_string(s)
}

/// [`plain_is_string`] by the rules alone.
fn resolves_to_string(s: &str) -> bool {
    !(is_null_word(s)
        || (s.len() <= LONGEST_WORD && YAML11_BOOLS.contains(&s))
        || (may_be_number(s) && number::yaml11(s))
        || timestamp_like(s)
        || s == "<<"
        || s == "=")
}

/// True when writing `s` plain could make some reader see something other than the string `s`:
/// a bool, null, number, timestamp, merge key, or different text because of YAML syntax.
pub fn needs_quotes(s: &str) -> bool {
    !plain_is_string(s) || (may_be_number(s) && number::any_reader(s)) || breaks_plain_syntax(s)
}

/// The bytes [`breaks_plain_syntax`] looks at inside the text: `:`, blanks, controls and non-ASCII.
static MAY_BREAK_PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b >= 0x7f || b == b':' as usize || b == b' ' as usize;
        b += 1;
    }
    table
};

/// True when `s` cannot be written as a plain scalar in block context and read back as the same text:
/// it starts with an indicator, has leading or trailing blanks, contains `: ` or ` #`, starts like a
/// document marker, or holds characters that need escapes. (Meaning is not considered here.)
pub fn breaks_plain_syntax(s: &str) -> bool {
    // One pass over the bytes: the emitter asks this of every plain scalar it writes.
    let bytes = s.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return true };
    let blank = |c: u8| c == b' ' || c == b'\t';
    let indicator_start = match first {
        b'-' | b'?' | b':' => bytes.get(1).is_none_or(|&c| blank(c)),
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
        | b'`' => true,
        _ => false,
    };
    if indicator_start || blank(first) || blank(last) || last == b':' || s.starts_with("---") || s.starts_with("...") {
        return true;
    }
    // Jump from one byte that may matter to the next; most bytes are letters, digits and punctuation.
    let mut ascii = true;
    let mut rest = bytes;
    while let Some(at) = next_may_break(rest) {
        let next = rest.get(at + 1).copied();
        match rest[at] {
            // `: ` and ` #` (or with a tab) end a plain scalar.
            b':' if next.is_some_and(blank) => return true,
            b' ' | b'\t' if next == Some(b'#') => return true,
            b':' | b' ' | b'\t' => {}
            // Line breaks and the other ASCII controls (see needs_escape).
            0x00..=0x1f | 0x7f => return true,
            _ => ascii = false,
        }
        rest = &rest[at + 1..];
    }
    !ascii && s.chars().any(needs_escape)
}

/// The offset of the first byte of `bytes` that [`MAY_BREAK_PLAIN`] marks. Eight bytes at a time while
/// none of them can be one (below 0x21, above 0x7e, or `:`), then byte by byte: new strings (annotation
/// records, env lists) run to hundreds of bytes with nothing in them that matters.
fn next_may_break(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        // Each term is nonzero exactly when some byte is below 0x21, above 0x7e, or a colon.
        let low = x.wrapping_sub(ONES * 0x21) & !x & HIGHS;
        let high = (x.wrapping_add(ONES) | x) & HIGHS;
        let colon = x ^ (ONES * u64::from(b':'));
        let colon = colon.wrapping_sub(ONES) & !colon & HIGHS;
        if low | high | colon != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&c| MAY_BREAK_PLAIN[usize::from(c)]).map(|p| at + p)
}

/// Characters that must be escaped in a double-quoted scalar and cannot stand in plain or block text:
/// controls (except tab), the non-characters U+FFFE and U+FFFF (not allowed raw in YAML), and the characters
/// YAML 1.1 treats as line breaks or byte-order marks.
pub fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// The style a new string is written in.
pub fn style_for_string(s: &str) -> Style {
    if s.contains('\n') && literal_block_can_hold(s) {
        Style::Literal
    } else if needs_quotes(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    }
}

/// A literal block keeps every character but controls, and needs some content besides line breaks.
pub fn literal_block_can_hold(s: &str) -> bool {
    !s.trim_end_matches('\n').is_empty()
        && !has_escape_besides_line_breaks(s)
        // A trailing space or tab before the end would be kept, but a leading one on the first line is
        // handled with an indentation indicator; lines of only spaces after the content are ambiguous.
        && !s.trim_end_matches('\n').ends_with([' ', '\t'])
}

/// True when `s` has a character other than `\n` that [`needs_escape`]. One pass over the bytes for ASCII
/// text (a literal block is checked when it is styled and again when it is written).
fn has_escape_besides_line_breaks(s: &str) -> bool {
    let ascii_control = |&b: &u8| (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f;
    if s.is_ascii() {
        s.as_bytes().iter().any(ascii_control)
    } else {
        s.chars().any(|c| c != '\n' && needs_escape(c))
    }
}

/// `s` as a double-quoted scalar.
pub fn double_quoted(s: &str) -> String {
    // Room for some escapes: JSON text in an annotation has a `\"` for every quote.
    let mut out = String::with_capacity(s.len() + s.len() / 4 + 2);
    out.push('"');
    let mut rest = s;
    loop {
        // Printable ASCII but `"` and `\` stands as it is: copied a run at a time.
        let run = rest.bytes().position(|b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\');
        let Some(run) = run else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..run]);
        rest = &rest[run..];
        let c = rest.chars().next().expect("a character at a char boundary");
        rest = &rest[c.len_utf8()..];
        push_double_quoted_char(&mut out, c);
    }
    out.push('"');
    out
}

/// Appends `c` as it stands in a double-quoted scalar: escaped when it must be.
fn push_double_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        '\u{85}' => out.push_str("\\N"),
        '\u{2028}' => out.push_str("\\L"),
        '\u{2029}' => out.push_str("\\P"),
        c if needs_escape(c) => {
            let code = c as u32;
            if code <= 0xff {
                out.push_str(&format!("\\x{code:02X}"));
            } else {
                out.push_str(&format!("\\u{code:04X}"));
            }
        }
        c => out.push(c),
    }
}

/// `s` as a single-quoted scalar (only for text without line breaks).
pub fn single_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a plain scalar means to a YAML 1.1 reader, as JSON: the typed view used to read configuration.
pub fn resolve_plain_yaml11(s: &str) -> serde_json::Value {
    use serde_json::Value;
    if is_null_word(s) {
        return Value::Null;
    }
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if may_be_number(s) && number::yaml11(s) {
        if let Some(i) = parse_int(s) {
            return Value::from(i);
        }
        if let Ok(f) = s.replace('_', "").parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(s.to_owned())
}

fn parse_int(s: &str) -> Option<i64> {
    let clean = s.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let magnitude = if let Some(hex) = body.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = body.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if let Some(oct) = body.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(body, 8).ok()?
    } else {
        body.parse::<i64>().ok()?
    };
    Some(if neg { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;
    use std::sync::LazyLock;

    // The regular expressions the hand-written grammars in `number` implement.
    static YAML11_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?x)^(?:
                [-+]?0b[0-1_]+
              | [-+]?0[0-7_]+
              | [-+]?(?:0|[1-9][0-9_]*)
              | [-+]?0x[0-9a-fA-F_]+
              | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
              | [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
              | \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
              | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
              | [-+]?\.(?:inf|Inf|INF)
              | \.(?:nan|NaN|NAN)
            )$",
        )
        .unwrap()
    });

    static NUMBER_LIKE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?x)^(?:
                [-+]?0b[0-1_]+
              | [-+]?0o?[0-7_]+
              | [-+]?(?:0|[1-9][0-9_]*)
              | [-+]?0x[0-9a-fA-F_]+
              | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
              | [-+]?(?:[0-9][0-9_]*)?\.[0-9_.]*(?:[eE][-+]?[0-9]+)?
              | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+
              | [-+]?\.(?:inf|Inf|INF)
              | \.(?:nan|NaN|NAN)
            )$",
        )
        .unwrap()
    });

    /// Every string of up to `length` characters over `alphabet`.
    fn strings_over(alphabet: &str, length: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = all.clone();
        for _ in 0..length {
            last = last.iter().flat_map(|s| alphabet.chars().map(move |c| format!("{s}{c}"))).collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn the_number_grammars_match_exactly_what_their_expressions_match() {
        // One character of each class that matters to some alternative, every string up to 5 of them
        // (and longer ones that reach every alternative's optional parts).
        let mut cases = strings_over("01689_.:-+eExobI", 4);
        cases.extend(strings_over("05.:e-", 6));
        let longer = [
            "0b1_0",
            "0o17",
            "-0o17",
            "0x_1F",
            "+0xFFa",
            "0x",
            "1_000",
            "190:20:30",
            "190:20:30.15",
            "-1:60",
            "1:5:9",
            "1:59:7.",
            "6.8523015e+5",
            "685.230_15e+03",
            "1e3",
            "-1E-3",
            "1.e3",
            ".5e-3",
            "+.5",
            "..5",
            "1..",
            ".inf",
            "-.Inf",
            "+.INF",
            ".nan",
            "-.nan",
            ".NaN",
            ".NAN",
            ".Nan",
            "1:",
            ":1",
            "0:00",
            "0.5:1",
            "1_:2",
        ];
        cases.extend(longer.map(String::from));
        for case in &cases {
            assert_eq!(number::yaml11(case), YAML11_NUMBER.is_match(case), "yaml11 on {case:?}");
            assert_eq!(number::any_reader(case), NUMBER_LIKE.is_match(case), "any_reader on {case:?}");
        }
    }

    #[test]
    fn timestamps_are_checked_as_their_pattern_says() {
        let re = Regex::new(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:$|[Tt ]|\s)").unwrap();
        let mut strings = Vec::new();
        // Dates and near-dates, part by part, and what may follow them.
        for year in ["2001", "201", "20011", "200a", ""] {
            for month in ["1", "12", "123", ""] {
                for day in ["4", "14", "145", ""] {
                    for (sep1, sep2) in [("-", "-"), ("", "-"), ("-", ""), ("x", "-")] {
                        for tail in ["", "T", "t", " ", "\u{2003}", "\u{85}", "x", ":", "1", "-", "T10:00"] {
                            strings.push(format!("{year}{sep1}{month}{sep2}{day}{tail}"));
                        }
                    }
                }
            }
        }
        for s in &strings {
            assert_eq!(timestamp_like(s), re.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn longest_word_bounds_the_word_lists() {
        assert_eq!(YAML11_BOOLS.iter().chain(NULL_WORDS).map(|w| w.len()).max(), Some(LONGEST_WORD));
    }

    #[test]
    fn literal_blocks_refuse_controls_but_line_breaks() {
        for (s, ok) in [
            ("a\nb\n", true),
            ("a\tb\n", true),
            ("a\rb\n", false),
            ("a\u{7f}\n", false),
            ("é\u{85}\n", false),
            ("é\n", true),
        ] {
            assert_eq!(literal_block_can_hold(s), ok, "{s:?}");
        }
    }

    /// `double_quoted` a character at a time: the version that copies runs must agree.
    fn double_quoted_by_chars(s: &str) -> String {
        let mut out = String::from('"');
        s.chars().for_each(|c| push_double_quoted_char(&mut out, c));
        out.push('"');
        out
    }

    /// The scans that read eight bytes at a time find what matters at every offset of a word, and across
    /// the boundary of two.
    #[test]
    fn word_at_a_time_scans_agree_with_the_rules_at_every_offset() {
        let filler = "abcdefghijklmnopqrstuvwx";
        let specials = [
            ":", ": ", ":\t", " #", "\t#", " ", "\t", "\n", "\r", "\u{1f}", "!", "\u{7f}", "\u{80}", "é", "\u{85}",
            "\u{2028}", "\u{feff}", "\u{ffff}", "\"", "\\", "\0", "#", "~", "ÿ",
        ];
        for special in specials {
            for len in 0..=filler.len() {
                for at in 0..=len {
                    let s = format!("{}{special}{}", &filler[..at], &filler[at..len]);
                    assert_eq!(breaks_plain_syntax(&s), breaks_plain_syntax_by_rules(&s), "{s:?}");
                    assert_eq!(double_quoted(&s), double_quoted_by_chars(&s), "{s:?}");
                }
            }
        }
        for s in &strings_over("a :#\"\\\né\u{85}\u{7f}", 4) {
            assert_eq!(double_quoted(s), double_quoted_by_chars(s), "{s:?}");
        }
    }

    /// `breaks_plain_syntax` as a list of rules, one pass each: the single-pass version must agree.
    fn breaks_plain_syntax_by_rules(s: &str) -> bool {
        let Some(first) = s.chars().next() else { return true };
        let second = s.chars().nth(1);
        let indicator_start = match first {
            '-' | '?' | ':' => second.is_none_or(|c| c == ' ' || c == '\t'),
            ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => true,
            _ => false,
        };
        indicator_start
            || s.starts_with([' ', '\t'])
            || s.ends_with([' ', '\t', ':'])
            || [": ", ":\t", " #", "\t#"].iter().any(|p| s.contains(p))
            || s.starts_with("---")
            || s.starts_with("...")
            || s.contains('\n')
            || s.chars().any(needs_escape)
    }

    #[test]
    fn the_number_prefilter_never_rules_out_a_number() {
        // Every string of up to 3 characters over the characters numbers are made of (and some that they are
        // not), and longer cases.
        let mut cases = strings_over("09-+.:_xobeEinfaFANIchT D", 3);
        let longer =
            [".NaN", "-.inf", "+.Inf", "-0x1F", "0xFFa", "+0b101", "-0o17", "+1:30:00.5", "-1e3", "1_000.5e+3"];
        cases.extend(longer.map(String::from));
        for case in &cases {
            if !may_be_number(case) {
                let number = NUMBER_LIKE.is_match(case) || YAML11_NUMBER.is_match(case);
                assert!(!number, "{case:?} is ruled out but is a number");
            }
        }
        assert!(!may_be_number("-Djavax.net.ssl.trustStore=/x"));
        assert!(!may_be_number("2160h"));
        assert!(!may_be_number("2512bf615be6c522"), "a hex digest without 0x");
        assert!(!plain_is_string("2001-12-14 21:59:43.10 -5"), "timestamps are checked apart");
    }

    #[test]
    fn plain_syntax_check_agrees_with_its_rules() {
        let cases = [
            "",
            "a",
            "-",
            "- a",
            "-a",
            "?",
            ": x",
            ":x",
            "a:",
            "a: b",
            "a:\tb",
            "a:b",
            "a #b",
            "a#b",
            "a\t#b",
            " a",
            "a ",
            "\ta",
            "a\t",
            "---",
            "--",
            "...",
            "..",
            "a\nb",
            "a\rb",
            "bell\u{7}",
            "del\u{7f}",
            "n\u{85}l",
            "a\u{2028}",
            "caf\u{e9}",
            "\u{feff}x",
            "é: x",
            "-é",
            "x\u{a0}",
            "[x",
            "{x",
            "*x",
            "&x",
            "!x",
            "|",
            ">",
            "'x",
            "\"x",
            "%x",
            "@x",
            "`x",
            "#x",
            ",x",
            "]",
            "}",
            "http://x:8080/health",
            "-XX:Max=80.0",
        ];
        for s in cases {
            assert_eq!(breaks_plain_syntax(s), breaks_plain_syntax_by_rules(s), "{s:?}");
        }
        // Every string over a small alphabet of the characters that matter, up to four characters.
        for s in &strings_over("a \t:#-.?\né\u{85}", 4) {
            assert_eq!(breaks_plain_syntax(s), breaks_plain_syntax_by_rules(s), "{s:?}");
        }
    }

    #[test]
    fn yaml11_non_strings_need_quotes() {
        for s in [
            "yes",
            "on",
            "off",
            "y",
            "NO",
            "true",
            "~",
            "null",
            "",
            "0755",
            "012",
            "1e3",
            "1_000",
            "0x1F",
            "0o17",
            "1.10",
            ".inf",
            "-.Inf",
            ".nan",
            "12:30:00",
            "2001-12-14",
            "2001-12-14T21:59:43.10-05:00",
            "<<",
            "=",
            "12345678901234567890",
            "1.27.0", // a float under the YAML 1.1 spec's regex; quoting it is harmless
        ] {
            assert!(needs_quotes(s), "{s:?} must be quoted");
        }
        for s in ["yes", "on", "y", "~", "", "0755", "012", "1_000", "0x1F", "1.10", ".inf", "12:30:00", "2001-12-14"] {
            assert!(!plain_is_string(s), "{s:?} is not a string to YAML 1.1");
        }
        // Strings to YAML 1.1, numbers to YAML 1.2: read as strings, still quoted when written anew.
        for s in ["1e3", "0o17", "1.27.0"] {
            assert!(plain_is_string(s), "{s:?} is a string to YAML 1.1");
        }
    }

    /// The shortcut for long words that start with a letter gives what the rules give.
    #[test]
    fn plain_is_string_agrees_with_the_rules() {
        for s in &strings_over("yNo0.e_-:x", 6) {
            assert_eq!(plain_is_string(s), resolves_to_string(s), "{s:?}");
        }
        for s in ["Infinity", "nullable", "yesterday", "offline", "False1", "e12345", "x0x1F", "NaN.nan", "clouddriver"]
        {
            assert_eq!(plain_is_string(s), resolves_to_string(s), "{s:?}");
        }
    }

    #[test]
    fn syntax_that_would_change_text_needs_quotes() {
        for s in [
            "a: b",
            "a #b",
            " x",
            "x ",
            "- x",
            "-",
            "[x",
            "{x",
            "*x",
            "&x",
            "!x",
            "|",
            ">",
            "'x",
            "\"x",
            "%x",
            "@x",
            "`x",
            "x:",
            "---",
            "...x",
            "a\u{85}b",
            "bell\u{7}",
        ] {
            assert!(needs_quotes(s), "{s:?} must be quoted");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "clouddriver",
            "-Xmx1g",
            "-XX:MaxRAMPercentage=80.0",
            "us-docker.pkg.dev/x/clouddriver:5.74.3",
            "500m",
            "a,b",
            "http://x:8080/health",
            "key-store",
            "café",
            "a:b",
            "x#y",
        ] {
            assert!(!needs_quotes(s), "{s:?} should stay plain");
        }
    }

    #[test]
    fn double_quoting_escapes_what_yaml_needs() {
        assert_eq!(double_quoted("a\"b\\c\n\t\u{7}\u{2028}"), r#""a\"b\\c\n\t\x07\L""#);
    }

    #[test]
    fn plain_resolution_follows_yaml11() {
        use serde_json::json;
        assert_eq!(resolve_plain_yaml11("yes"), json!(true));
        assert_eq!(resolve_plain_yaml11("off"), json!(false));
        assert_eq!(resolve_plain_yaml11("0755"), json!(493));
        assert_eq!(resolve_plain_yaml11("0x1F"), json!(31));
        assert_eq!(resolve_plain_yaml11("1_000"), json!(1000));
        assert_eq!(resolve_plain_yaml11("1.5"), json!(1.5));
        assert_eq!(resolve_plain_yaml11("~"), json!(null));
        assert_eq!(resolve_plain_yaml11("1.27.0"), json!("1.27.0"));
    }
}
