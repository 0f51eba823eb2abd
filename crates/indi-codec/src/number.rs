//! INDI numbers: the printf subset of `numberFormat`, libindi's sexagesimal `%<w>.<f>m`,
//! sexagesimal parsing (`getfloat`) and the plain-decimal wire form.

use std::fmt;

/// Why a number text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError {
    /// The offending text.
    pub text: String,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unable to parse number value {:?}", self.text)
    }
}

impl std::error::Error for NumberError {}

/// Parses an INDI number: integer, real, or sexagesimal with `:`, `;` or space separators
/// (`"-10:30:18"`, `"-10 30.3"`, `"-10.505"` are all -10.505). Unspecified components are 0.
pub fn getfloat(text: &str) -> Result<f64, NumberError> {
    let error = || NumberError { text: text.to_owned() };
    let trimmed = text.trim();
    let (negative, rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
    };
    if rest.is_empty() {
        return Err(error());
    }
    let pieces: Vec<&str> = if rest.contains([':', ';']) { rest.split([':', ';']).map(str::trim).collect() } else { rest.split_whitespace().collect() };
    if pieces.len() > 3 {
        return Err(error());
    }
    let mut total = 0.0;
    for (piece, scale) in pieces.iter().zip([1.0, 60.0, 3600.0]) {
        if piece.is_empty() {
            continue;
        }
        // A sign is only meaningful at the front of the whole value.
        if piece.starts_with(['-', '+']) || piece.contains(char::is_whitespace) {
            return Err(error());
        }
        total += piece.parse::<f64>().map_err(|_| error())? / scale;
    }
    Ok(if negative { -total } else { total })
}

/// The wire form of a number: shortest decimal that reads back to the same `f64`, never in
/// exponent notation (libindi clients read values with `strtod`, which accepts this form).
pub fn wire_number(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{value}")
    }
}

/// Formats `value` with an INDI number format, as libindi's `numberFormat` does.
///
/// `%<w>.<f>m` is sexagesimal; otherwise the format's single printf conversion (`f`, `e`, `g`,
/// `d`, with flags, width and precision) is applied and the literal text around it kept.
/// A format that is neither (glibc would print `errno` text for `%m`) gives [`wire_number`].
pub fn format_number(format: &str, value: f64) -> String {
    if let Some((width, fraction)) = sexagesimal_format(format) {
        return format_sexagesimal(value, width, fraction);
    }
    match split_printf(format) {
        Some((prefix, spec, suffix)) => format!("{prefix}{}{suffix}", spec.render(value)),
        None => wire_number(value),
    }
}

/// Reads an optionally signed decimal integer at the front of `text`, like `sscanf("%d")`.
fn leading_int(text: &str) -> Option<(i64, &str)> {
    let text = text.trim_start();
    let sign_len = usize::from(text.starts_with(['-', '+']));
    let digits = text[sign_len..].bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let end = sign_len + digits;
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// libindi's test: `sscanf(format, "%%%d.%d%c", &w, &f, &m) == 3 && m == 'm'`.
fn sexagesimal_format(format: &str) -> Option<(i64, i64)> {
    let rest = format.trim_start().strip_prefix('%')?;
    let (width, rest) = leading_int(rest)?;
    let rest = rest.strip_prefix('.')?;
    let (fraction, rest) = leading_int(rest)?;
    rest.starts_with('m').then_some((width, fraction))
}

/// Pads like printf's `%*s`: a negative width left-justifies.
fn pad(text: &str, width: i64) -> String {
    let w = width.unsigned_abs() as usize;
    if width < 0 {
        format!("{text:<w$}")
    } else {
        format!("{text:>w$}")
    }
}

/// libindi `fs_sexa(out, value, width - fraction, fracbase)`: rounds the total to the smallest
/// unit first, so carries propagate (`10.999999` → `11:00:00`, never `10:59:60`).
fn format_sexagesimal(value: f64, width: i64, fraction: i64) -> String {
    if !value.is_finite() {
        return pad(&wire_number(value), width);
    }
    let base: u64 = match fraction {
        9 => 360_000,
        8 => 36_000,
        6 => 3_600,
        5 => 600,
        _ => 60,
    };
    let whole_width = width - fraction;
    let negative = value < 0.0;
    // Saturating float-to-int conversion stands in for C's undefined overflow.
    let n = (value.abs() * base as f64 + 0.5) as u64;
    let (degrees, rest) = (n / base, n % base);
    let mut out = if negative && degrees == 0 {
        pad("", whole_width - 2) + "-0"
    } else {
        let d = if negative { format!("-{degrees}") } else { degrees.to_string() };
        pad(&d, whole_width)
    };
    let per_minute = base / 60;
    let (minutes, seconds) = (rest / per_minute, rest % per_minute);
    out += &match base {
        60 => format!(":{minutes:02}"),
        600 => format!(":{:02}.{}", rest / 10, rest % 10),
        3_600 => format!(":{minutes:02}:{seconds:02}"),
        36_000 => format!(":{minutes:02}:{:02}.{}", seconds / 10, seconds % 10),
        _ => format!(":{minutes:02}:{:02}.{:02}", seconds / 100, seconds % 100),
    };
    out
}

/// One printf conversion specification.
#[derive(Debug, Default, Clone, PartialEq)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

/// Splits a format into literal prefix, the single conversion, literal suffix (`%%` → `%`).
fn split_printf(format: &str) -> Option<(String, Spec, String)> {
    let mut prefix = String::new();
    let mut chars = format.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            prefix.push(c);
            continue;
        }
        if format[i + 1..].starts_with('%') {
            chars.next();
            prefix.push('%');
            continue;
        }
        let (spec, used) = parse_spec(&format[i + 1..])?;
        let suffix = format[i + 1 + used..].replace("%%", "%");
        return Some((prefix, spec, suffix));
    }
    None
}

fn parse_spec(text: &str) -> Option<(Spec, usize)> {
    let bytes = text.as_bytes();
    let mut spec = Spec::default();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' => spec.left = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            b'0' => spec.zero = true,
            _ => break,
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        text[start..*i].parse::<usize>().unwrap_or(0).min(1000)
    };
    spec.width = digits(&mut i);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        spec.precision = Some(digits(&mut i));
    }
    while matches!(bytes.get(i), Some(b'l' | b'L' | b'h' | b'q')) {
        i += 1;
    }
    let conversion = *bytes.get(i)? as char;
    if !"fFeEgGdi".contains(conversion) {
        return None;
    }
    spec.conversion = conversion;
    Some((spec, i + 1))
}

/// `1.5e3` (Rust) → `1.5e+03` (C).
fn c_exponent(rust: &str, upper: bool) -> String {
    let (mantissa, exponent) = rust.split_once('e').unwrap_or((rust, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let sign = if exponent < 0 { '-' } else { '+' };
    let e = if upper { 'E' } else { 'e' };
    format!("{mantissa}{e}{sign}{:02}", exponent.unsigned_abs())
}

fn strip_fraction_zeros(text: &str) -> String {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let mantissa = if mantissa.contains('.') { mantissa.trim_end_matches('0').trim_end_matches('.') } else { mantissa };
    format!("{mantissa}{exponent}")
}

impl Spec {
    /// The digits of |value| for this conversion (no sign, no padding).
    fn body(&self, magnitude: f64) -> String {
        let upper = self.conversion.is_ascii_uppercase();
        match self.conversion.to_ascii_lowercase() {
            'f' => format!("{magnitude:.*}", self.precision.unwrap_or(6)),
            'e' => c_exponent(&format!("{magnitude:.*e}", self.precision.unwrap_or(6)), upper),
            'g' => {
                let p = self.precision.unwrap_or(6).max(1);
                let exponent: i64 = if magnitude == 0.0 {
                    0
                } else {
                    let sci = format!("{magnitude:.*e}", p - 1);
                    sci.split_once('e').and_then(|(_, e)| e.parse().ok()).unwrap_or(0)
                };
                let text = if (p as i64) > exponent && exponent >= -4 {
                    format!("{magnitude:.*}", (p as i64 - 1 - exponent) as usize)
                } else {
                    c_exponent(&format!("{magnitude:.*e}", p - 1), upper)
                };
                if self.alt {
                    text
                } else {
                    strip_fraction_zeros(&text)
                }
            }
            _ => format!("{}", magnitude.trunc() as u64),
        }
    }

    fn render(&self, value: f64) -> String {
        let integer = matches!(self.conversion, 'd' | 'i');
        let negative = if integer { value.trunc() < 0.0 } else { value.is_sign_negative() && !value.is_nan() };
        let body = if value.is_finite() {
            self.body(value.abs())
        } else {
            let word = if value.is_nan() { "nan" } else { "inf" };
            if self.conversion.is_ascii_uppercase() {
                word.to_ascii_uppercase()
            } else {
                word.to_owned()
            }
        };
        let sign = if negative {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let len = sign.len() + body.len();
        if len >= self.width {
            return format!("{sign}{body}");
        }
        let fill = self.width - len;
        if self.left {
            format!("{sign}{body}{}", " ".repeat(fill))
        } else if self.zero && value.is_finite() {
            format!("{sign}{}{body}", "0".repeat(fill))
        } else {
            format!("{}{sign}{body}", " ".repeat(fill))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `samples/numberformat_probe.txt` measured from libindi, except the two
    /// cases where libindi has undefined or errno-dependent output (`%d` of a double, `%m`).
    #[test]
    fn matches_libindi_probe() {
        let cases: &[(&str, f64, &str)] = &[
            ("%010.6m", 12.5, "  12:30:00"),
            ("%010.6m", -0.5, "  -0:30:00"),
            ("%9.6m", 0.017222222222222222, "  0:01:02"),
            ("%7.3m", -123.75, "-123:45"),
            ("%10.9m", 12.3456789, "12:20:44.44"),
            ("%9.8m", 12.3456789, "12:20:44.4"),
            ("%8.5m", 12.3456789, " 12:20.7"),
            ("%6.3m", 12.3456789, " 12:21"),
            ("%6.4m", 12.99999, "13:00"),
            ("%12.9m", -0.0001, " -0:00:00.36"),
            ("%9.6m", 359.99999, "360:00:00"),
            ("%11.8m", 23.999999, " 24:00:00.0"),
            ("%g", 1e-07, "1e-07"),
            ("%.f", 1000.0, "1000"),
            ("%5.2f", 0.01, " 0.01"),
            ("%4.0f", 1280.0, "1280"),
            ("%.3e", 12345.678, "1.235e+04"),
        ];
        for (format, value, expected) in cases {
            assert_eq!(&format_number(format, *value), expected, "{format} of {value}");
        }
    }

    #[test]
    fn issue_examples() {
        assert_eq!(format_number("%9.6m", 12.5), " 12:30:00");
        assert_eq!(format_number("%9.6m", 10.999999), " 11:00:00");
        assert_eq!(format_number("%010.6m", -0.5), "  -0:30:00");
        assert_eq!(getfloat("-10 30.3").unwrap(), -10.505);
    }

    #[test]
    fn printf_g_and_flags() {
        assert_eq!(format_number("%g", 0.0001), "0.0001");
        assert_eq!(format_number("%g", 123456.0), "123456");
        assert_eq!(format_number("%g", 1234567.0), "1.23457e+06");
        assert_eq!(format_number("%g", 100.0), "100");
        assert_eq!(format_number("%G", 1e-10), "1E-10");
        assert_eq!(format_number("%#g", 1.0), "1.00000");
        assert_eq!(format_number("%+.2f", 2.345), "+2.35");
        assert_eq!(format_number("%-6.1f|", 2.25), "2.2   |");
        assert_eq!(format_number("%06.1f", -2.5), "-002.5");
        assert_eq!(format_number("%d", 3.7), "3");
        assert_eq!(format_number("%d", -3.7), "-3");
        assert_eq!(format_number("T=%.1f C", 21.04), "T=21.0 C");
        assert_eq!(format_number("%5.1f%%", 50.0), " 50.0%");
        assert_eq!(format_number("%f", f64::NAN), "nan");
        assert_eq!(format_number("%m", 5.5), "5.5");
    }

    #[test]
    fn getfloat_forms() {
        for (text, value) in [
            ("-10:30:18", -10.505),
            ("-10.505", -10.505),
            ("10;30;18", 10.505),
            ("10:30", 10.5),
            ("-0:30", -0.5),
            (" 12 : 30 ", 12.5),
            ("10 30 36", 10.51),
            ("1:", 1.0),
            (":30", 0.5),
            ("1e3", 1000.0),
            ("+5:30", 5.5),
            ("12:30:00.5", 12.5 + 0.5 / 3600.0),
        ] {
            let got = getfloat(text).unwrap();
            assert!((got - value).abs() < 1e-12, "{text}: {got} != {value}");
        }
        assert!(getfloat("inf").unwrap().is_infinite());
        for bad in ["", "-", "abc", "0x10", "1:2:3:4", "10:-30", "1 : 2 3", "12h30m"] {
            assert!(getfloat(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn wire_numbers_are_plain_shortest_decimals() {
        assert_eq!(wire_number(18.0), "18");
        assert_eq!(wire_number(19.599999999999994), "19.599999999999994");
        assert_eq!(wire_number(1e21), "1000000000000000000000");
        assert_eq!(wire_number(1e-7), "0.0000001");
        assert_eq!(wire_number(f64::NEG_INFINITY), "-inf");
        for v in [0.1, 1.0 / 3.0, -2.5e-300, 6.02214076e23] {
            assert_eq!(wire_number(v).parse::<f64>().unwrap(), v);
        }
    }
}
