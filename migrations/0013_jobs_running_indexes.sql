-- A worker records finished, failed and retried jobs by id (`id = ANY(...)
-- AND state = 'running'`). The two partial indexes over running jobs matched that
-- condition too, and with the queue's generic plans and statistics taken while few jobs
-- ran, PostgreSQL sometimes scanned a whole running index for each batch instead of
-- probing the primary key: a drain of 100,000 no-op jobs then ran at 2,000–20,000 a second
-- instead of 40,000. Each index now also names a column those statements never test, so
-- they can only use the primary key. The claim's count of an organization's running jobs
-- (`org_id = ...`) and the reaper (`lease_until < ...`) imply the new conditions; renewing
-- leases by lease and counting all running jobs say `lease_until IS NOT NULL` outright.
DROP INDEX jobs_org_running;
CREATE INDEX jobs_org_running ON jobs (org_id) WHERE state = 'running' AND org_id IS NOT NULL;
DROP INDEX jobs_leases;
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running' AND lease_until IS NOT NULL;
