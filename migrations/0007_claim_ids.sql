-- A pull worker names each claim with a random id and sends the same id again when it retries a claim whose
-- reply it never got; the repeated claim then answers with the job the first one leased, instead of leasing a
-- second job while the first waits for its lease to expire (and loses an attempt).
ALTER TABLE jobs ADD COLUMN claim_id TEXT;
CREATE INDEX jobs_by_claim_id ON jobs (claim_id) WHERE claim_id IS NOT NULL;
