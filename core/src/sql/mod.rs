//! SQL helpers of the core: detecting SQL typed as the question ([`detect`]), the
//! validation step before execution ([`validate`]), and dialect-specific snippets
//! ([`dialect`]).

pub(crate) mod detect;
pub(crate) mod dialect;
pub(crate) mod validate;

pub(crate) use detect::is_sql;
pub(crate) use validate::validate;
