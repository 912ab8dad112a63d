//! SQL dialects Talk 2 Tables can target.

use serde::{Deserialize, Serialize};

/// The SQL dialect of a database. Serialised as `"sqlite"`, `"postgresql"` or `"mysql"`
/// (the `dialect` field of the schema resource and of `ChatResponse.data.metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// SQLite 3.
    #[default]
    Sqlite,
    /// PostgreSQL (12 or later).
    #[serde(alias = "postgres")]
    Postgresql,
    /// MySQL 8 / MariaDB 10.
    #[serde(alias = "mariadb")]
    Mysql,
}

impl Dialect {
    /// The name as serialised (`"sqlite"`, `"postgresql"`, `"mysql"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgresql => "postgresql",
            Dialect::Mysql => "mysql",
        }
    }

    /// The dialect of a database URL or path: `postgres://`/`postgresql://` → PostgreSQL,
    /// `mysql://`/`mariadb://` → MySQL, anything else (a file path, `sqlite:`) → SQLite.
    pub fn from_url(url: &str) -> Dialect {
        let lower = url.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Dialect::Postgresql
        } else if lower.starts_with("mysql://") || lower.starts_with("mariadb://") {
            Dialect::Mysql
        } else {
            Dialect::Sqlite
        }
    }

    /// The matching sqlparser dialect, used to parse statements for this database.
    pub fn parser_dialect(self) -> Box<dyn sqlparser::dialect::Dialect + Send + Sync> {
        match self {
            Dialect::Sqlite => Box::new(sqlparser::dialect::SQLiteDialect {}),
            Dialect::Postgresql => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
            Dialect::Mysql => Box::new(sqlparser::dialect::MySqlDialect {}),
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_from_url() {
        assert_eq!(Dialect::from_url("postgres://u@h/db"), Dialect::Postgresql);
        assert_eq!(Dialect::from_url("postgresql://u@h/db"), Dialect::Postgresql);
        assert_eq!(Dialect::from_url("mysql://u@h/db"), Dialect::Mysql);
        assert_eq!(Dialect::from_url("./sample.db"), Dialect::Sqlite);
        assert_eq!(Dialect::from_url("sqlite:///tmp/x.db"), Dialect::Sqlite);
    }

    #[test]
    fn dialect_json_names() {
        assert_eq!(serde_json::to_string(&Dialect::Postgresql).unwrap(), "\"postgresql\"");
        let d: Dialect = serde_json::from_str("\"postgres\"").unwrap();
        assert_eq!(d, Dialect::Postgresql);
    }
}
