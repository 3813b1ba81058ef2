//! Small display helpers shared by pages.

/// An RFC 3339 UTC timestamp (`2026-11-21T05:30:00Z`) as `2026-11-21 05:30:00`.
pub fn utc_label(rfc3339: &str) -> String {
    rfc3339
        .replacen('T', " ", 1)
        .trim_end_matches('Z')
        .to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_utc_timestamp_reads_as_date_and_time() {
        assert_eq!(
            super::utc_label("2026-11-21T05:30:00Z"),
            "2026-11-21 05:30:00"
        );
    }
}
