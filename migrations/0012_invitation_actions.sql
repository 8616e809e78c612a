-- What admins do to an invitation after it went out (send it again, extend its deadline,
-- cancel it) and why an invitation was cancelled.

-- Why it was cancelled: the mail server refused the invite for good ('email_refused'), an
-- admin cancelled it ('admin'), or the candidate was hired, archived, or deleted or
-- anonymized in Lever ('hired', 'archived', 'removed'). Lever shows a cancel only for the
-- admin's, the hire and the archive: a refused email has its own error note, and nothing is
-- written about a candidate deleted in Lever.
ALTER TABLE invitations
    ADD COLUMN cancel_reason text
        CHECK (cancel_reason IN ('email_refused', 'admin', 'hired', 'archived', 'removed')),
    -- Who cancelled it (an admin, an API key) or the archive reason, for the note and report.
    ADD COLUMN cancel_detail text,
    ADD COLUMN cancelled_at timestamptz,
    -- How many times the invite was sent again and the deadline extended: each one is its
    -- own note in Lever, whose unique key carries the count.
    ADD COLUMN resends integer NOT NULL DEFAULT 0,
    ADD COLUMN extensions integer NOT NULL DEFAULT 0,
    -- How many times an expired invitation reopened: the result of each round is its own
    -- write in Lever (the first round's keeps the key it always had).
    ADD COLUMN reopens integer NOT NULL DEFAULT 0;

-- Until now an invitation was cancelled only when its email was refused.
UPDATE invitations SET cancel_reason = 'email_refused', cancelled_at = updated_at WHERE status = 'cancelled';

ALTER TABLE invitations
    ADD CONSTRAINT invitations_cancel_reason CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL));
