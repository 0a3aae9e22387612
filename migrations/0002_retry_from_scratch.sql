-- A job retried with resume = "scratch": its curves, gates and checkpoint rows are gone, and the next
-- worker deletes the old checkpoint files and clears this flag before training from step 0.
ALTER TABLE jobs ADD COLUMN start_fresh INTEGER NOT NULL DEFAULT 0 CHECK (start_fresh IN (0, 1));
