-- Counters behind the limits on sign-ins, sign-ups and API use (src/throttle.rs): one row
-- per thing counted (such as "sign-ins to this account from this client address"), counted
-- in a fixed window that starts with the first count. Counting is one upsert, so
-- concurrent requests are counted one after another under the row's lock.
CREATE TABLE throttles (
    key         text PRIMARY KEY,
    count       integer NOT NULL,
    window_ends timestamptz NOT NULL
);
CREATE INDEX throttles_window_ends ON throttles (window_ends);

-- Replaced by throttles: failed sign-ins were counted by inserting a row after the check,
-- which let concurrent attempts all pass the check.
DROP TABLE login_failures;
