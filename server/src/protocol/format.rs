//! Number formatting that matches Redis's C formatting byte for byte.

/// `%.17g`, as Redis 7.0 prints doubles (scores, INCRBYFLOAT on hashes goes elsewhere), with
/// `inf`/`-inf`/`nan` spelled as Redis spells them.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    format_g(d, 17)
}

/// C's `%.{precision}g`: the shorter of fixed and exponent notation for `precision` significant
/// digits, trailing zeros removed.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let p = precision.max(1);
    // Rust's exponent formatting is correctly rounded, as glibc's printf is.
    let sci = format!("{:.*e}", p - 1, d);
    let (mantissa, exp) = sci.split_once('e').expect("exponent formatting");
    let exp: i32 = exp.parse().expect("exponent digits");
    if exp < -4 || exp >= p as i32 {
        let mantissa = strip_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_fraction_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

fn strip_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf_g17() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(100.0), "100");
        assert_eq!(format_double(1e17), "1e+17");
        assert_eq!(format_double(1.5e-5), "1.5e-05");
        assert_eq!(format_double(1.3e-5), "1.2999999999999999e-05");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(-2.0), "-2");
        assert_eq!(
            format_double(123456789012345678.0),
            "1.2345678901234568e+17"
        );
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
    }
}
