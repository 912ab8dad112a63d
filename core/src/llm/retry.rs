//! When to try an LLM request again: exponential backoff with jitter, and the
//! `Retry-After` header (delay in seconds or an HTTP date).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

/// The wait before try number `next_try` (2 for the first retry):
/// `start · 2^(next_try − 2)`, capped at `cap`, then scaled by a random factor in
/// `[0.5, 1.0]` ("equal jitter") so that clients failing together do not retry together.
pub(crate) fn backoff(next_try: u32, start: Duration, cap: Duration) -> Duration {
    let exponent = next_try.saturating_sub(2).min(30);
    let full = start.saturating_mul(1u32 << exponent).min(cap);
    full.mul_f64(0.5 + 0.5 * unit_random())
}

/// A random number in `[0, 1)` from the standard library's randomly keyed hasher
/// (good enough for jitter; no extra dependency).
fn unit_random() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The delay a `Retry-After` header value asks for: either whole (or fractional)
/// seconds (`"1"`, `"2.5"`) or an HTTP date (`"Wed, 21 Oct 2015 07:28:00 GMT"`,
/// measured from `now`; a date in the past means no wait). `None` when the value is
/// neither.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let date = SystemTime::from(date.with_timezone(&chrono::Utc));
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let start = Duration::from_secs(1);
        let cap = Duration::from_secs(30);
        for _ in 0..50 {
            let first = backoff(2, start, cap);
            assert!(first >= Duration::from_millis(500) && first <= start, "{first:?}");
            let second = backoff(3, start, cap);
            assert!(second >= Duration::from_secs(1) && second <= Duration::from_secs(2), "{second:?}");
            let late = backoff(20, start, cap);
            assert!(late >= Duration::from_secs(15) && late <= cap, "{late:?}");
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 07:27:50 GMT
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 2.5 ", now), Some(Duration::from_millis(2500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
