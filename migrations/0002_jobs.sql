-- The job queue: typed work enqueued in the same transaction as the change that causes
-- it, claimed with SKIP LOCKED under a lease, retried with backoff, paused per
-- organization while its Lever connection needs reconnecting.

CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL,
    -- The organization whose Lever account the job talks to: the key for pausing and
    -- for sharing workers fairly between organizations. NULL for jobs that need neither.
    org_id       uuid REFERENCES organizations ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed')),
    -- The same logical work is never queued twice: a second enqueue with a key that is
    -- queued or running asks the existing job to run once more instead (`rerun`).
    unique_key   text,
    rerun        boolean NOT NULL DEFAULT false,
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL CHECK (max_attempts > 0),
    run_at       timestamptz NOT NULL,
    -- Set by each claim; a completion is accepted only with the lease it was claimed
    -- under, so a worker that lost its lease cannot overwrite the new owner's result.
    lease        uuid,
    lease_until  timestamptz,
    locked_by    text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);

CREATE INDEX jobs_ready ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('queued', 'running', 'paused');
CREATE INDEX jobs_paused ON jobs (org_id) WHERE state = 'paused';
CREATE INDEX jobs_failed ON jobs (org_id, finished_at) WHERE state = 'failed';
