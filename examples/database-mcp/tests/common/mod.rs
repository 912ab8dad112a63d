//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use talk2tables_database_mcp::sample;

/// A fixed "today" so tests do not depend on the calendar.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 15).expect("valid date")
}

/// A fresh sample database in `dir`.
pub async fn sample_db(dir: &Path) -> PathBuf {
    let path = dir.join("sample.db");
    sample::create(&path, today()).await.expect("sample created");
    path
}
