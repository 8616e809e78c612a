-- A pause Lever asked for (429 or 503, honouring Retry-After) holds for every request of
-- the account, including those that reserved their slot in the budget before the pause
-- and are waiting for it: they check this after waiting, and reserve again if paused.
ALTER TABLE lever_rate ADD COLUMN paused_until timestamptz;
