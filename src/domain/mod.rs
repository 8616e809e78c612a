//! Pure logic, no I/O: what input is acceptable, which assessment a candidate gets, which
//! stages trigger, how a score becomes a rating. The most unit-tested code in Fulcrum.

pub mod assessment;
pub mod email;
pub mod invitation;
pub mod invite;
pub mod lifecycle;
pub mod problem;
pub mod resolution;
pub mod scoring;
pub(crate) mod text_enum;
pub(crate) use text_enum::text_enum;
