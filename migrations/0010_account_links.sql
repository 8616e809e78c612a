-- Accounts a team runs by itself: a new admin's address is confirmed by a link, teammates
-- are invited by email and choose their own password, and a forgotten password is reset
-- by email.

-- When the user showed they read mail at their address. NULL: signed up, not confirmed
-- yet, and cannot sign in. Everyone who could sign in before this migration still can.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

-- An admin's invitation to join the team. One per address and organization: inviting
-- again replaces the link. Revoking deletes the row; accepting marks it.
CREATE TABLE team_invites (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name        text NOT NULL DEFAULT '',
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    invited_by  uuid REFERENCES users ON DELETE SET NULL,
    accepted_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX team_invites_org_email ON team_invites (org_id, lower(email));
CREATE TRIGGER team_invites_updated_at BEFORE UPDATE ON team_invites
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Single-use links emailed about an account: confirm an address, reset a password, join a
-- team. A link belongs to a user, or (to join a team) to an invite.
CREATE TABLE account_links (
    id           uuid PRIMARY KEY,
    purpose      text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'join_team')),
    user_id      uuid REFERENCES users ON DELETE CASCADE,
    invite_id    uuid REFERENCES team_invites ON DELETE CASCADE,
    -- SHA-256 of the secret in the link: a database leak does not hand out links.
    token_hash   text NOT NULL UNIQUE,
    -- The secret itself, encrypted under the secret key, kept only until its email has
    -- gone out (a retried send needs it; nothing after that does).
    token_sealed text,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    CHECK ((purpose = 'join_team') = (invite_id IS NOT NULL AND user_id IS NULL)),
    CHECK ((purpose = 'join_team') OR user_id IS NOT NULL)
);
CREATE INDEX account_links_user ON account_links (user_id, purpose) WHERE user_id IS NOT NULL;
CREATE INDEX account_links_invite ON account_links (invite_id) WHERE invite_id IS NOT NULL;
CREATE INDEX account_links_expires_at ON account_links (expires_at);

-- The last account email of each kind sent to an address (in lower case), so that
-- nobody can fill someone's inbox by asking again and again.
CREATE TABLE account_email_cooldowns (
    address text NOT NULL,
    purpose text NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (address, purpose)
);
CREATE INDEX account_email_cooldowns_sent_at ON account_email_cooldowns (sent_at);
