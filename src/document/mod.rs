//! Open documents and LSP positions.
//!
//! This module owns the text of every document the client has open
//! ([`DocumentStore`], kept in sync through `didOpen` / `didChange` /
//! `didClose`) and the conversion between LSP positions and indices into
//! that text in each negotiated [`PositionEncoding`] (UTF-8, UTF-16 or
//! UTF-32). Lines break only at `\n`, `\r\n` and `\r`, as LSP defines.
//!
//! Work that outlives a version of the text (an edit run's selection, a
//! review finding) follows its range through the changes with
//! [`follow`].
//!
//! It depends on no LSP crate: [`Position`], [`Range`] and [`TextChange`]
//! are its own small types, which the protocol layer converts to and from.

pub mod encoding;
pub mod follow;
pub mod store;

pub use encoding::{
    Position, PositionEncoding, PositionError, Range, char_index, char_index_lenient, char_range,
    lines_range, position,
};
pub use follow::{AppliedChange, Followed, RangeFollower, follow_lines};
pub use store::{Document, DocumentError, DocumentSnapshot, DocumentStore, TextChange};
