//! The boundary: the only place that knows both LSP types and ours.

pub mod ext;
pub mod framing;
pub mod from_proto;
pub mod message;
pub mod panic_guard;
pub mod to_proto;
pub mod transport;
