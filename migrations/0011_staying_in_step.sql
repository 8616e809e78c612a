-- Staying in step with Lever when webhooks are lost, late or switched off.

-- Every entry of an opportunity into a trigger stage that Fulcrum handled, whoever noticed
-- it first: a webhook, a Rerun, the sweep or an admin's "Invite them". A later report of the
-- same entry finds its row and changes nothing. `entered_at` is Lever's time of the move
-- (ms since the epoch, from stageChanges; 0 when Lever gave none).
CREATE TABLE stage_entries (
    org_id         uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    opportunity_id text NOT NULL,
    stage_id       text NOT NULL,
    entered_at     bigint NOT NULL,
    -- The delivery (webhook or found) that handled it.
    delivery_id    bigint NOT NULL,
    handled_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, opportunity_id, stage_id, entered_at)
);
CREATE INDEX stage_entries_handled_at ON stage_entries (handled_at);

-- Where a delivery came from: Lever's webhook, or found by Fulcrum itself ('sweep': a move
-- no webhook reported in time; 'waiting': a candidate an admin chose to invite with
-- "Invite them").
ALTER TABLE deliveries ADD COLUMN source text NOT NULL DEFAULT 'webhook'
    CHECK (source IN ('webhook', 'sweep', 'waiting'));

-- Signature tokens of the events that keep invitations in step (encrypted, like the others).
ALTER TABLE lever_settings ADD COLUMN hired_token text;
ALTER TABLE lever_settings ADD COLUMN archive_change_token text;
ALTER TABLE lever_settings ADD COLUMN deleted_token text;

-- The sweep of each connected organization. Moves into a trigger stage from `since` on are
-- the sweep's to heal; earlier ones are "waiting" candidates that only an admin's click
-- invites. `covered_until` is how far Lever's `updatedAt` has been read.
CREATE TABLE lever_sweeps (
    org_id             uuid PRIMARY KEY REFERENCES organizations ON DELETE CASCADE,
    since              timestamptz NOT NULL,
    next_at            timestamptz NOT NULL,
    covered_until      timestamptz,
    last_started_at    timestamptz,
    last_finished_at   timestamptz,
    -- Moves the last sweep found that no webhook had reported.
    last_found         integer NOT NULL DEFAULT 0,
    last_error         text,
    -- Candidates in trigger stages before `since` without an invitation, when last counted.
    waiting            integer,
    waiting_counted_at timestamptz,
    waiting_error      text
);
CREATE INDEX lever_sweeps_next ON lever_sweeps (next_at);

-- Archive reasons of each account (id → hired or not), read once.
ALTER TABLE lever_accounts ADD COLUMN archive_reasons jsonb;

-- Candidates deleted or anonymized in Lever: their name, email and answers are gone from
-- Fulcrum's tables, and nothing more is written to the opportunity.
CREATE TABLE erased_opportunities (
    org_id         uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    opportunity_id text NOT NULL,
    erased_at      timestamptz NOT NULL DEFAULT now(),
    why            text NOT NULL,
    PRIMARY KEY (org_id, opportunity_id)
);
ALTER TABLE invitations ADD COLUMN erased_at timestamptz;

-- Organizations connected before sweeps existed are swept from now on; moves before now are
-- their waiting candidates (counted when an admin opens the Lever page).
INSERT INTO lever_sweeps (org_id, since, next_at, covered_until)
SELECT org_id, now(), now(), now() FROM lever_connections
ON CONFLICT (org_id) DO NOTHING;
