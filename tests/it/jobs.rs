//! The job engine: leases and dead workers, retries, unique keys, scheduling, shutdown
//! (`engine`), and the Lever side of it: exactly-once notes under faults across processes,
//! the per-account rate limit, pausing on revoked access, fairness between organizations
//! (`lever`). Test job kinds and what they report live in `kinds`.

mod engine;
mod kinds;
mod lever;
