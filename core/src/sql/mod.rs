//! SQL helpers of the core: detecting SQL typed as the question ([`detect`]), the
//! validation step before execution ([`validate`]), and dialect-specific snippets
//! ([`dialect`]).

// The pipeline (written separately) is the caller of these crate-internal entry points.
#![cfg_attr(not(test), allow(dead_code, unused_imports))]

pub(crate) mod detect;
pub(crate) mod dialect;
pub(crate) mod validate;
