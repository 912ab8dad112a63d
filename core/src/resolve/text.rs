//! Word-level text helpers shared by the context indexes, the resolvers and the offline
//! generator: tokenising a question, normalising words (lowercase, plural → singular),
//! and splitting identifiers (`order_items` → `order item`).

/// One word (or number, or comparison symbol) of a question.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    /// The text as written.
    pub raw: String,
    /// Lowercase, singular form (`Categories` → `category`); numbers unchanged.
    pub norm: String,
    /// Byte offset of the first character in the question.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
}

impl Token {
    /// The number this token spells (`4.5`, `10`), if it is one.
    pub(crate) fn number(&self) -> Option<f64> {
        if self.raw.chars().next().is_some_and(|c| c.is_ascii_digit()) { self.raw.parse().ok() } else { None }
    }

    /// Whether the token is a comparison symbol (`<`, `<=`, `>`, `>=`, `=`, `!=`, `<>`).
    pub(crate) fn is_symbol(&self) -> bool {
        self.raw.chars().all(|c| matches!(c, '<' | '>' | '=' | '!'))
    }
}

/// Splits a question into tokens: runs of letters/digits (underscores split words,
/// apostrophes are dropped, a `.` between digits stays inside a number, a `-` between
/// digits stays inside a date) and runs of comparison symbols.
pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if c.is_alphanumeric() {
            let mut j = i;
            let mut raw = String::new();
            while j < chars.len() {
                let (_, ch) = chars[j];
                let prev_digit = j > i && chars[j - 1].1.is_ascii_digit();
                let next_digit = chars.get(j + 1).is_some_and(|(_, n)| n.is_ascii_digit());
                let in_number = (ch == '.' || ch == '-')
                    && prev_digit
                    && next_digit
                    && raw.chars().all(|r| r.is_ascii_digit() || r == '.' || r == '-');
                if ch.is_alphanumeric() || in_number {
                    raw.push(ch);
                } else if ch == '\'' && j > i && chars.get(j + 1).is_some_and(|(_, n)| n.is_alphabetic()) {
                    // what's → whats
                } else {
                    break;
                }
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
            out.push(Token { norm: normalize_word(&raw), raw, start, end });
            i = j;
        } else if matches!(c, '<' | '>' | '=' | '!') {
            let mut j = i;
            while j < chars.len() && matches!(chars[j].1, '<' | '>' | '=' | '!') {
                j += 1;
            }
            let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
            let raw = text[start..end].to_string();
            out.push(Token { norm: raw.clone(), raw, start, end });
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Lowercase singular form of one word (`Cities` → `city`, `sales` → `sale`,
/// `status` → `status`). Digits are left as they are.
pub(crate) fn normalize_word(word: &str) -> String {
    singular(&word.to_lowercase())
}

/// A rule-based English singular: `-ies` → `-y`, `-sses/-xes/-ches/-shes` drop `es`,
/// words ending in `ss`, `us`, `is` kept, otherwise a final `s` is dropped. Words of
/// three letters or fewer are kept.
pub(crate) fn singular(w: &str) -> String {
    if w.chars().count() <= 3 || !w.chars().all(|c| c.is_alphabetic()) {
        return w.to_string();
    }
    if let Some(stem) = w.strip_suffix("ies") {
        return format!("{stem}y");
    }
    for suffix in ["sses", "xes", "ches", "shes"] {
        if w.ends_with(suffix) {
            return w[..w.len() - 2].to_string();
        }
    }
    if w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return w.to_string();
    }
    w.strip_suffix('s').unwrap_or(w).to_string()
}

/// Normalised words of an identifier or phrase: `order_items` → `["order", "item"]`,
/// `magic wand pro` → `["magic", "wand", "pro"]`, `citationNum` stays one word.
pub(crate) fn words(name: &str) -> Vec<String> {
    tokenize(&name.replace('_', " ")).into_iter().filter(|t| !t.is_symbol()).map(|t| t.norm).collect()
}

/// Snake-case alias for a phrase (`average order value` → `average_order_value`),
/// safe as an unquoted SQL identifier.
pub(crate) fn snake(phrase: &str) -> String {
    let joined = tokenize(&phrase.replace('_', " "))
        .into_iter()
        .filter(|t| !t.is_symbol())
        .map(|t| t.raw.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if joined.is_empty() || joined.starts_with(|c: char| c.is_ascii_digit()) { format!("v_{joined}") } else { joined }
}

/// Words that never name a table, column or value on their own.
pub(crate) fn is_stop_word(norm: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "for",
        "to",
        "from",
        "by",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "there",
        "what",
        "whats",
        "which",
        "who",
        "whom",
        "how",
        "many",
        "much",
        "me",
        "show",
        "give",
        "list",
        "tell",
        "find",
        "get",
        "display",
        "all",
        "each",
        "every",
        "per",
        "do",
        "doe",
        "does",
        "did",
        "have",
        "ha",
        "has",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "i",
        "we",
        "you",
        "my",
        "our",
        "your",
        "please",
        "can",
        "could",
        "would",
        "should",
        "some",
        "any",
        "number",
        "count",
        "total",
        "sum",
        "average",
        "avg",
        "mean",
        "top",
        "best",
        "worst",
        "bottom",
        "most",
        "least",
        "highest",
        "lowest",
        "max",
        "maximum",
        "min",
        "minimum",
        "largest",
        "smallest",
        "biggest",
        "cheapest",
        "expensive",
        "than",
        "more",
        "less",
        "fewer",
        "over",
        "under",
        "above",
        "below",
        "between",
        "equal",
        "equals",
        "greater",
        "lower",
        "higher",
        "exceeding",
        "only",
        "where",
        "whose",
        "their",
        "they",
        "them",
        "serve",
        "serving",
        "sold",
        "made",
        "about",
        "across",
        "into",
        "as",
        "not",
        "no",
        "yes",
        "also",
        "just",
        "now",
        "then",
        "so",
        "up",
        "out",
        "if",
        "when",
        "value",
        "amount",
        "record",
        "row",
        "entry",
        "data",
        "info",
        "information",
        "detail",
        "overall",
        "across",
        "based",
        "along",
        "name",
        "s",
    ];
    STOP.contains(&norm)
}

/// Whether two normalised words match loosely: equal, or one a prefix of the other with
/// at least three letters in common (`num` ~ `number`, `rate` ~ `rated`).
pub(crate) fn word_matches(question_word: &str, name_word: &str) -> bool {
    if question_word == name_word {
        return true;
    }
    let (short, long) =
        if question_word.len() <= name_word.len() { (question_word, name_word) } else { (name_word, question_word) };
    short.len() >= 3 && long.starts_with(short) && short.chars().all(|c| c.is_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_singulars() {
        let t = tokenize("What's the avg price>=4.5 of Categories in 2025-01-01, order_items?");
        let norms: Vec<_> = t.iter().map(|t| t.norm.as_str()).collect();
        assert_eq!(
            norms,
            ["what", "the", "avg", "price", ">=", "4.5", "of", "category", "in", "2025-01-01", "order", "item"]
        );
        assert_eq!(singular("status"), "status");
        assert_eq!(singular("sales"), "sale");
        assert_eq!(singular("cities"), "city");
        assert_eq!(singular("addresses"), "address");
        assert_eq!(words("citation_num"), ["citation", "num"]);
        assert_eq!(snake("Average order value"), "average_order_value");
        assert!(word_matches("number", "num"));
        assert!(!word_matches("price", "pr"));
    }
}
