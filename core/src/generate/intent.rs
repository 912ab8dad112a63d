//! The intermediate reading of a question, independent of SQL text: what is measured,
//! grouped, filtered, ordered and limited. The offline engine fills it from words; an LLM
//! prompt or a conversation follow-up can reuse or refine it.

use crate::resolve::DateRange;

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agg {
    Sum,
    Avg,
    Max,
    Min,
}

impl Agg {
    /// SQL function name.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Agg::Sum => "SUM",
            Agg::Avg => "AVG",
            Agg::Max => "MAX",
            Agg::Min => "MIN",
        }
    }

    /// Alias prefix (`total`, `average`, `max`, `min`).
    pub(crate) fn word(self) -> &'static str {
        match self {
            Agg::Sum => "total",
            Agg::Avg => "average",
            Agg::Max => "max",
            Agg::Min => "min",
        }
    }
}

/// What the query computes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Measure {
    /// Number of rows of `table` (distinct keys when joins multiply rows).
    Count { table: usize },
    /// An aggregate over one column.
    Column { agg: Agg, table: usize, column: String },
    /// A business-term expression (already aggregating, or wrapped in `agg`).
    Expr { sql: String, alias: String, tables: Vec<usize>, agg: Option<Agg> },
}

/// One GROUP BY key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GroupKey {
    /// A column as is.
    Column { table: usize, column: String },
    /// A table's rows: its key and label columns.
    Entity { table: usize },
    /// A date column bucketed per unit (column chosen by the builder when `None`).
    Bucket { unit: crate::sql::dialect::Unit, column: Option<(usize, String)> },
}

/// One WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
    /// `table.column = literal` (literal already rendered as SQL).
    Equals { table: usize, column: String, literal: String },
    /// `table.column <op> number`.
    Compare { table: usize, column: String, op: &'static str, value: String },
    /// `table.column BETWEEN low AND high`.
    Between { table: usize, column: String, low: String, high: String },
    /// A date range on a date column chosen by the builder (or an integer year column).
    Date(DateRange),
}

/// ORDER BY target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OrderKey {
    /// The measure's value.
    Measure,
    /// A column.
    Column { table: usize, column: String },
}

/// The reading of one question.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Intent {
    /// The FROM table (the fact table of the measure, or the table listed).
    pub base: usize,
    /// The computed value, if any (a plain listing has none).
    pub measure: Option<Measure>,
    /// GROUP BY keys.
    pub group_by: Vec<GroupKey>,
    /// WHERE conditions, ANDed.
    pub filters: Vec<Filter>,
    /// Extra columns shown by a listing (besides the label).
    pub select: Vec<(usize, String)>,
    /// ORDER BY key and whether descending.
    pub order: Option<(OrderKey, bool)>,
    /// Row limit the question asked for ("top 5").
    pub limit: Option<u64>,
}
