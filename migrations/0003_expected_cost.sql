-- Workers claim the longest expected jobs of a sweep first, so a sweep does not end with one long job
-- running alone. expected_cost is the service's estimate at enqueue (training plus evaluation work);
-- jobs of one sweep share created_at, so within a sweep the queue order becomes longest first.
ALTER TABLE jobs ADD COLUMN expected_cost REAL NOT NULL DEFAULT 0 CHECK (expected_cost >= 0);
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (status, created_at, expected_cost DESC, seq);
DROP INDEX jobs_by_sweep;
CREATE INDEX jobs_by_sweep ON jobs (sweep_id, status, created_at, expected_cost DESC, seq);
