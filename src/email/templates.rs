//! Email texts.
