//! Time is stored as UTC milliseconds since the Unix epoch (one integer type that both
//! databases compare and index alike) and shown in China Standard Time (UTC+8, no DST).

use time::{macros::format_description, OffsetDateTime, UtcOffset};

pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn china_offset() -> UtcOffset {
    UtcOffset::from_whole_seconds(CHINA_OFFSET_SECONDS).expect("valid offset")
}

pub fn to_china(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .to_offset(china_offset())
}

/// "2026-11-28 23:41" in Beijing time.
pub fn format_china(ms: i64) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]");
    to_china(ms).format(&fmt).unwrap_or_default()
}

/// RFC 3339 with the +08:00 offset, for APIs.
pub fn rfc3339_china(ms: i64) -> String {
    to_china(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_beijing_time() {
        // 2026-01-01T00:00:00Z is 08:00 in Beijing.
        let ms = 1_767_225_600_000;
        assert_eq!(format_china(ms), "2026-01-01 08:00");
        assert_eq!(rfc3339_china(ms), "2026-01-01T08:00:00+08:00");
    }
}
