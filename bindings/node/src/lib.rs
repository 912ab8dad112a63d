//! # talk2tables-node
//!
//! The native half of the npm package in `/node`: a napi-rs addon over the
//! [`talk2tables`] core. The public JavaScript API is the hand-written wrapper
//! `node/lib/index.js`; this module's exports (see the generated `node/native.d.ts`) are
//! private to it.
//!
//! - Every method that does I/O is an `async fn`: it runs on napi's tokio runtime (one per
//!   process, created lazily by napi) and settles a Promise, so Node's event loop is never
//!   blocked. The core never creates a runtime of its own.
//! - Requests and responses cross the boundary as JSON values with the snake_case names
//!   of DESIGN.md §3, exactly as the HTTP API sends them.
//! - Errors carry their DESIGN.md §4 code as a `[CODE] ` message prefix ([`error`]);
//!   panics are caught and reported as `[INTERNAL] …`.

mod engine;
mod error;
mod functions;
mod stream;

pub use engine::NativeEngine;
pub use functions::{ErrorCodeInfo, error_codes, failure_envelope, version};
pub use stream::NativeChatStream;
