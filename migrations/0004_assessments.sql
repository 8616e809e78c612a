-- Assessments, the invitations they produce, the invite email template, and the record of
-- every non-idempotent write made to Lever (so a retry never writes twice).

CREATE TABLE assessments (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id             uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    name               text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    -- Names are unique per organization whatever their case and spacing.
    name_key           text GENERATED ALWAYS AS (lower(regexp_replace(btrim(name), '\s+', ' ', 'g'))) STORED,
    -- The Codejudge-style tag, e.g. FC-81519: assigned, never edited.
    code               text NOT NULL UNIQUE,
    pass_mark          integer NOT NULL CHECK (pass_mark BETWEEN 0 AND 100),
    time_limit_minutes integer NOT NULL CHECK (time_limit_minutes BETWEEN 1 AND 1440),
    expires_after_days integer NOT NULL DEFAULT 7 CHECK (expires_after_days BETWEEN 1 AND 365),
    active             boolean NOT NULL DEFAULT true,
    instructions       text NOT NULL DEFAULT '',
    -- [{"prompt", "choices": [...], "answer": index}] for the built-in runner.
    questions          jsonb NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX assessments_name_key ON assessments (org_id, name_key);
CREATE TRIGGER assessments_updated_at BEFORE UPDATE ON assessments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE invitations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id            uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    assessment_id     uuid NOT NULL REFERENCES assessments ON DELETE CASCADE,
    opportunity_id    text NOT NULL,
    posting_id        text,
    candidate_name    text NOT NULL DEFAULT '',
    candidate_email   text NOT NULL,
    -- The candidate's link token: hashed for lookup, encrypted so reminders can repeat it.
    token_hash        text NOT NULL UNIQUE,
    token_sealed      text NOT NULL,
    status            text NOT NULL DEFAULT 'invited'
                      CHECK (status IN ('invited', 'started', 'completed', 'expired', 'cancelled')),
    deadline          timestamptz NOT NULL,
    -- The Lever user feedback is written as (who moved the candidate, else the posting
    -- owner, else whoever connected Lever).
    perform_as        text,
    -- The stage entry this invitation answers (ms since the epoch, from stageChanges), to
    -- tell a duplicate event for the same move from a genuine second invitation.
    stage_entered_at  bigint,
    delivery_id       bigint,
    email_sent_at     timestamptz,
    email_error       text,
    reminder_sent_at  timestamptz,
    started_at        timestamptz,
    completed_at      timestamptz,
    score             integer CHECK (score BETWEEN 0 AND 100),
    passed            boolean,
    failure_reason    text,
    -- A report URL given by an external grading engine.
    external_report_url text,
    -- {"question index": chosen index} from the built-in runner.
    answers           jsonb,
    -- The lifecycle step last written to Lever (tags), so sync jobs know what is left.
    lever_synced      text NOT NULL DEFAULT 'none',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
-- One live invitation per candidate and assessment.
CREATE UNIQUE INDEX invitations_live ON invitations (org_id, opportunity_id, assessment_id)
    WHERE status IN ('invited', 'started');
CREATE INDEX invitations_org_created ON invitations (org_id, created_at DESC);
CREATE INDEX invitations_opportunity ON invitations (org_id, opportunity_id);
CREATE TRIGGER invitations_updated_at BEFORE UPDATE ON invitations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE email_templates (
    org_id       uuid PRIMARY KEY REFERENCES organizations ON DELETE CASCADE,
    subject      text NOT NULL,
    body         text NOT NULL,
    logo_url     text,
    accent_color text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER email_templates_updated_at BEFORE UPDATE ON email_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Emails Fulcrum sent or tried to send, for the app to show.
CREATE TABLE emails (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    invitation_id uuid REFERENCES invitations ON DELETE CASCADE,
    kind          text NOT NULL,
    to_address    text NOT NULL,
    subject       text NOT NULL,
    status        text NOT NULL CHECK (status IN ('sent', 'failed')),
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX emails_invitation ON emails (invitation_id);
CREATE INDEX emails_org_created ON emails (org_id, created_at DESC);

-- Notes and feedback forms are not idempotent in Lever. Each is recorded here before it is
-- sent ('sending') and after Lever confirms it ('done'). A retry that finds 'sending' does
-- not know whether Lever applied it, so it reads back from Lever, looking for the write's
-- marker, before writing again.
CREATE TABLE lever_writes (
    key            text PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    opportunity_id text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('note', 'feedback')),
    marker         text NOT NULL,
    state          text NOT NULL CHECK (state IN ('sending', 'done')),
    lever_id       text,
    attempts       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER lever_writes_updated_at BEFORE UPDATE ON lever_writes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The status tags Fulcrum believes an opportunity carries (read when it fetched the
-- opportunity, updated as it writes), so a sync adds and removes only what changed.
CREATE TABLE lever_opportunities (
    org_id         uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    opportunity_id text NOT NULL,
    status_tags    text[] NOT NULL DEFAULT '{}',
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, opportunity_id)
);
