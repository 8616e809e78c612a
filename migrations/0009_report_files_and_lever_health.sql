-- The report PDF attached to an opportunity goes through the same exactly-once record as
-- notes and feedback: its marker is the file's deterministic name.
ALTER TABLE lever_writes DROP CONSTRAINT lever_writes_kind_check;
ALTER TABLE lever_writes ADD CONSTRAINT lever_writes_kind_check CHECK (kind IN ('note', 'feedback', 'file'));

-- The last integration health check of each organization: the health page and API answer
-- from it while it is fresh (so they read Lever at most once a minute), and every page's
-- banner reads it without calling Lever.
CREATE TABLE lever_health (
    org_id     uuid PRIMARY KEY REFERENCES organizations ON DELETE CASCADE,
    checked_at timestamptz NOT NULL,
    checks     jsonb NOT NULL,
    has_error  boolean NOT NULL
);
