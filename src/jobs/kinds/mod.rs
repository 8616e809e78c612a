//! One module per job kind.

pub mod close;
pub mod delivery;
pub mod email;
pub mod error_note;
pub mod keepalive;
pub mod lever_setup;
pub mod noop;
pub mod sync;
