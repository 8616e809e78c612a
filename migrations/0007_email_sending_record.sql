-- An email is the one effect Fulcrum cannot read back before repeating it. So each send is
-- recorded, durably, as 'sending' before the message goes to the mail server, and the row
-- becomes 'sent' or 'failed' with the server's answer. A later attempt that finds a
-- 'sending' row with no answer does not know whether the message went: it does not send
-- again on its own but marks the row 'unknown' and fails visibly, and an admin's Retry
-- sends it again. `send_key` names the message (kind, invitation or job, recipient); at
-- most one message per key is being sent or has been sent.
ALTER TABLE emails DROP CONSTRAINT emails_status_check;
ALTER TABLE emails ADD CONSTRAINT emails_status_check
    CHECK (status IN ('sending', 'sent', 'failed', 'unknown'));
ALTER TABLE emails ADD COLUMN send_key text;

-- Messages already sent keep counting as sent (the first of any repeats).
UPDATE emails e SET send_key = e.kind || ':' || e.invitation_id || ':' || e.to_address
FROM (SELECT DISTINCT ON (invitation_id, kind, to_address) id FROM emails
      WHERE status = 'sent' AND invitation_id IS NOT NULL
      ORDER BY invitation_id, kind, to_address, created_at) first
WHERE e.id = first.id;

CREATE UNIQUE INDEX emails_send_key ON emails (send_key) WHERE status IN ('sending', 'sent');
