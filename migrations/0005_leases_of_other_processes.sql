-- A pull worker's lease is held by a process elsewhere, not by the service instance that granted it:
-- a restart of the service must leave that job training and let only the lease's expiry rescue it.
-- Meaningful while the job is leased; every claim sets it.
ALTER TABLE jobs ADD COLUMN lease_in_this_process INTEGER NOT NULL DEFAULT 1 CHECK (lease_in_this_process IN (0, 1));
