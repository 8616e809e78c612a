-- Lever: connections (OAuth tokens, encrypted), webhook settings, the per-account request
-- budget, cached stages/postings, and the delivery log.

CREATE TABLE lever_connections (
    org_id            uuid PRIMARY KEY REFERENCES organizations ON DELETE CASCADE,
    -- One Lever account belongs to at most one organization.
    account_id        text NOT NULL UNIQUE,
    status            text NOT NULL CHECK (status IN ('connected', 'needs_reconnect')),
    -- AES-256-GCM ciphertexts (see crypto.rs); never the tokens in clear.
    access_token      text NOT NULL,
    refresh_token     text NOT NULL,
    access_expires_at timestamptz NOT NULL,
    scopes            text NOT NULL,
    -- The Lever user who approved, and the Fulcrum admin who clicked Connect.
    lever_user_id     text,
    connected_by      uuid REFERENCES users ON DELETE SET NULL,
    -- Refresh tokens die a year after authorization or after 90 days unused.
    authorized_at     timestamptz NOT NULL,
    last_refreshed_at timestamptz NOT NULL,
    expiry_warned_at  timestamptz,
    problem           text,
    problem_since     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER lever_connections_updated_at BEFORE UPDATE ON lever_connections
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- OAuth `state` values handed out by Connect: single use, bound to the admin's session.
CREATE TABLE oauth_states (
    state_hash   text PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users ON DELETE CASCADE,
    session_hash text NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE TABLE lever_settings (
    org_id                    uuid PRIMARY KEY REFERENCES organizations ON DELETE CASCADE,
    -- Webhook signature tokens, encrypted; NULL until an admin pastes or creates them.
    application_created_token text,
    stage_change_token        text,
    verified_at               timestamptz,
    -- Empty: stages whose name starts with the brand word trigger.
    trigger_stage_ids         text[] NOT NULL DEFAULT '{}',
    -- Webhooks Fulcrum registered in Lever: [{"id", "event"}], removed on disconnect.
    created_webhooks          jsonb NOT NULL DEFAULT '[]',
    updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER lever_settings_updated_at BEFORE UPDATE ON lever_settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Fulcrum's request budget per Lever account, shared by every process: each request
-- reserves the next free slot (see lever/ratelimit.rs).
CREATE TABLE lever_rate (
    account_id text PRIMARY KEY,
    next_slot  timestamptz NOT NULL
);

-- What Fulcrum keeps per Lever account, independent of which organization holds it.
CREATE TABLE lever_accounts (
    account_id        text PRIMARY KEY,
    stages            jsonb,
    stages_fetched_at timestamptz,
    -- Fulcrum's feedback template in this account: {"id", "fields": {role: field id}}.
    feedback_template jsonb
);

CREATE TABLE lever_postings (
    account_id text NOT NULL,
    posting_id text NOT NULL,
    posting    jsonb NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, posting_id)
);

CREATE TABLE deliveries (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    -- Lever's per-delivery `token`: a retry or Rerun repeats it.
    token          text,
    event          text,
    opportunity_id text,
    triggered_at   timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    outcome        text NOT NULL CHECK (outcome IN ('accepted', 'test', 'rejected')),
    -- Why a delivery was rejected.
    reason         text,
    -- What an accepted delivery led to, filled in by the job that handles it.
    result         text,
    duplicates     integer NOT NULL DEFAULT 0,
    data           jsonb
);
CREATE UNIQUE INDEX deliveries_token ON deliveries (org_id, token) WHERE outcome <> 'rejected';
CREATE INDEX deliveries_recent ON deliveries (org_id, received_at DESC);
CREATE INDEX deliveries_received_at ON deliveries (received_at);
