//! The quote guard: what a plain scalar means to the readers that matter, and how to write a string so
//! that none of them mistakes it for something else.
//!
//! Kubernetes, kubectl and ArgoCD read YAML 1.1 (go-yaml v2 through sigs.k8s.io/yaml): `yes`, `on`, `y`,
//! `0755`, `012`, `1_000`, `12:30` are not strings there. kpt and many tools read YAML 1.2, where `1e3`,
//! `0o17` and `.inf` are numbers. A new string is written plain only when it is a string to both.

use super::node::Style;
use regex::Regex;
use std::sync::LazyLock;

/// Plain words that YAML 1.1 reads as booleans.
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on",
    "On", "ON", "off", "Off", "OFF",
];

/// Plain words that read as null (both versions).
const NULL_WORDS: &[&str] = &["", "~", "null", "Null", "NULL"];

// YAML 1.1 int/float/timestamp (yaml.org/type) and YAML 1.2 core schema numbers, in one place.
static NUMBER_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^(?:
            [-+]?0b[0-1_]+                                   # 1.1 binary
          | [-+]?0o?[0-7_]+                                  # 1.1 octal 0755, 1.2 octal 0o755
          | [-+]?(?:0|[1-9][0-9_]*)                          # decimal
          | [-+]?0x[0-9a-fA-F_]+                             # hex
          | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)? # 1.1 sexagesimal int and float
          | [-+]?(?:[0-9][0-9_]*)?\.[0-9_.]*(?:[eE][-+]?[0-9]+)?   # 1.1 float (and 1.2 with dot)
          | [-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+   # 1.2 float without dot: 1e3
          | [-+]?\.(?:inf|Inf|INF)
          | \.(?:nan|NaN|NAN)
        )$",
    )
    .expect("static regex")
});

// What a YAML 1.1 reader (PyYAML's resolver, the reference go-yaml v2 follows) reads as int or float.
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
    .expect("static regex")
});

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

/// False when `s` cannot match any number pattern above: every one is a digit or a dot after an optional
/// sign, and is made of digits, hex digits, `_ . : + -` and the letters of `0x`, `0o`, `inf` and `nan`. Most
/// text (names, paths, images, `-Dkey=value` options, `2160h`) is ruled out here without running the regexes.
fn may_be_number(s: &str) -> bool {
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned.bytes().all(|b| {
            b.is_ascii_hexdigit()
                || matches!(b, b'_' | b'.' | b':' | b'+' | b'-' | b'x' | b'o' | b'i' | b'n' | b'I' | b'N')
        })
}

/// The longest word in [`YAML11_BOOLS`] and [`NULL_WORDS`]: longer text is none of them.
const LONGEST_WORD: usize = 5;

/// True for `~`, `null`, `Null`, `NULL` and the empty plain scalar.
pub fn is_null_word(s: &str) -> bool {
    s.len() <= LONGEST_WORD && NULL_WORDS.contains(&s)
}

/// True when a plain scalar with this text is a string to a YAML 1.1 reader (Kubernetes).
pub fn plain_is_string(s: &str) -> bool {
    !(is_null_word(s)
        || (s.len() <= LONGEST_WORD && YAML11_BOOLS.contains(&s))
        || (may_be_number(s) && YAML11_NUMBER.is_match(s))
        || timestamp_like(s)
        || s == "<<"
        || s == "=")
}

/// True when writing `s` plain could make some reader see something other than the string `s`:
/// a bool, null, number, timestamp, merge key, or different text because of YAML syntax.
pub fn needs_quotes(s: &str) -> bool {
    !plain_is_string(s) || (may_be_number(s) && NUMBER_LIKE.is_match(s)) || breaks_plain_syntax(s)
}

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
    let mut ascii = true;
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            // `: ` and ` #` (or with a tab) end a plain scalar.
            b':' if bytes.get(i + 1).is_some_and(|&next| blank(next)) => return true,
            b' ' | b'\t' if bytes.get(i + 1) == Some(&b'#') => return true,
            b'\t' => {}
            // Line breaks and the other ASCII controls (see needs_escape).
            0x00..=0x1f | 0x7f => return true,
            0x80.. => ascii = false,
            _ => {}
        }
    }
    !ascii && s.chars().any(needs_escape)
}

/// Characters that must be escaped in a double-quoted scalar and cannot stand in plain or block text:
/// controls (except tab), and the characters YAML 1.1 treats as line breaks or byte-order marks.
pub fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
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
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
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
    out.push('"');
    out
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
    if may_be_number(s) && YAML11_NUMBER.is_match(s) {
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
        let alphabet: Vec<char> = "09-+.:_xobeEinfaNIhT D".chars().collect();
        let mut cases: Vec<String> = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> =
                cases.iter().flat_map(|c| alphabet.iter().map(move |a| format!("{c}{a}"))).collect();
            cases.extend(longer);
        }
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
        let alphabet = ['a', ' ', '\t', ':', '#', '-', '.', '?', '\n', 'é', '\u{85}'];
        let mut strings = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> =
                strings.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            for s in &longer {
                assert_eq!(breaks_plain_syntax(s), breaks_plain_syntax_by_rules(s), "{s:?}");
            }
            strings = longer;
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
