-- The claim hands out work round-robin across organizations (Lever accounts), so one
-- tenant's backlog never stands in front of another's jobs. It walks the organizations
-- that have queued work (a skip scan: one index probe per organization, however long each
-- backlog is), counts what each already has running, and takes the oldest due jobs of
-- each in turn; jobs of no organization have their own index.
CREATE INDEX jobs_org_ready ON jobs (org_id, run_at, id) WHERE state = 'queued' AND org_id IS NOT NULL;
CREATE INDEX jobs_unowned_ready ON jobs (run_at, id) WHERE state = 'queued' AND org_id IS NULL;
CREATE INDEX jobs_org_running ON jobs (org_id) WHERE state = 'running';
