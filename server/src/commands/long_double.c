/* INCRBYFLOAT arithmetic in C `long double`, the type Redis uses for it: on x86-64 that is the
 * 80-bit extended format, which Rust has no type for. Parsing follows Redis's rules for a float
 * argument, and the result is printed the way Redis prints it for humans ("%.17Lf" with the
 * trailing zeros and a lone "-0" tidied away), so replies match digit for digit. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis refuses float arguments this long or longer, and sizes its output buffer the same. */
#define LD_MAX_CHARS (5 * 1024)

/* Returns 1 and stores the value when `s` is a float Redis accepts, else 0. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[LD_MAX_CHARS];
    char *end;
    long double value;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    value = strtold(buf, &end);
    /* Checking where parsing stopped against the length also refuses an embedded NUL. */
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE &&
         (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    *out = value;
    return 1;
}

/* Writes `value` as Redis does for humans; returns the length, or 0 when `cap` is too small. */
static size_t format_ld(long double value, char *out, size_t cap) {
    int n = snprintf(out, cap, "%.17Lf", value);
    size_t len;

    if (n < 0 || (size_t)n + 1 > cap) return 0;
    len = (size_t)n;
    if (memchr(out, '.', len) != NULL) {
        while (len > 0 && out[len - 1] == '0') len--;
        if (len > 0 && out[len - 1] == '.') len--;
    }
    if (len == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        len = 1;
    }
    return len;
}

/* Adds `incr` to `value` (a missing key's value is passed as NULL and counts as 0).
 * Returns the length of the result written to `out`, -1 when either is not a valid float,
 * -2 when the sum is NaN or infinite, -3 when `out` is too small. */
long understudy_ld_incr(const char *value, size_t value_len, const char *incr, size_t incr_len,
                        char *out, size_t out_cap) {
    long double a = 0, b, sum;
    size_t len;

    if (value != NULL && !parse_ld(value, value_len, &a)) return -1;
    if (!parse_ld(incr, incr_len, &b)) return -1;
    sum = a + b;
    if (isnan(sum) || isinf(sum)) return -2;
    len = format_ld(sum, out, out_cap);
    if (len == 0) return -3;
    return (long)len;
}
