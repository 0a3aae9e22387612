-- 0001: sweeps, jobs and everything the trainer reports about them.
-- Times are integer Unix seconds unless named wall_time. Invariants are CHECKs, so a bug in the
-- store shows up as a constraint error instead of a job in an impossible state.

-- One row per process start; jobs record the instance that leased them so that startup can
-- rescue every lease held by a previous (dead) instance.
CREATE TABLE instances (
    id         TEXT PRIMARY KEY CHECK (id LIKE 'ins\_%' ESCAPE '\'),
    pid        INTEGER NOT NULL,
    started_at INTEGER NOT NULL
);

-- A sweep stores the user's intent (state); its status and counts are derived from its jobs
-- (view sweep_overview), so job state is never stored twice.
CREATE TABLE sweeps (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE CHECK (id LIKE 'swp\_%' ESCAPE '\'),
    name            TEXT NOT NULL,
    spec            TEXT NOT NULL CHECK (json_valid(spec)),
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'cancelled')),
    max_concurrency INTEGER CHECK (max_concurrency IS NULL OR max_concurrency > 0),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX sweeps_newest ON sweeps (created_at, seq);

CREATE TABLE jobs (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE CHECK (id LIKE 'job\_%' ESCAPE '\'),
    sweep_id             TEXT REFERENCES sweeps (id),
    cell_key             TEXT NOT NULL,
    spec                 TEXT NOT NULL CHECK (json_valid(spec)),
    task                 TEXT NOT NULL,
    k                    TEXT NOT NULL CHECK (k = 'all' OR (k GLOB '[1-9]*' AND k NOT GLOB '*[^0-9]*')),
    seed                 INTEGER NOT NULL,
    method               TEXT NOT NULL,
    variant              TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled')),
    -- attempt counts claims and never decreases (it names the run in metric rows); claims that do
    -- not count against max_attempts (graceful requeues, runs before a retry) are attempt_offset.
    attempt              INTEGER NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    attempt_offset       INTEGER NOT NULL DEFAULT 0 CHECK (attempt_offset BETWEEN 0 AND attempt),
    max_attempts         INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    lease_owner          TEXT,
    lease_token          TEXT UNIQUE,
    lease_expires_at     INTEGER,
    instance_id          TEXT REFERENCES instances (id),
    created_at           INTEGER NOT NULL,
    started_at           INTEGER,
    finished_at          INTEGER,
    progress_step        INTEGER,
    progress_total_steps INTEGER,
    progress_epoch       REAL,
    progress_eta_seconds INTEGER,
    best_metric_name     TEXT,
    best_metric_value    REAL,
    result               TEXT CHECK (result IS NULL OR json_valid(result)),
    error_code           TEXT,
    error_message        TEXT,
    best_checkpoint_id   TEXT,
    UNIQUE (sweep_id, cell_key),
    -- A job holds a lease exactly while a worker owns it.
    CHECK ((status IN ('running', 'cancelling')) =
           (lease_owner IS NOT NULL AND lease_token IS NOT NULL AND lease_expires_at IS NOT NULL
            AND instance_id IS NOT NULL)),
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL)),
    CHECK ((status = 'failed') = (error_code IS NOT NULL)),
    CHECK (result IS NULL OR status = 'succeeded'),
    CHECK ((best_metric_name IS NULL) = (best_metric_value IS NULL))
);
-- Claim order (FIFO across sweeps), and per sweep: counts and the claim order of a limited sweep.
CREATE INDEX jobs_queue ON jobs (status, created_at, seq);
CREATE INDEX jobs_by_sweep ON jobs (sweep_id, status, created_at, seq);
CREATE INDEX jobs_newest ON jobs (created_at, seq);
CREATE INDEX jobs_lease_expiry ON jobs (lease_expires_at) WHERE lease_token IS NOT NULL;

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE CHECK (id LIKE 'evt\_%' ESCAPE '\'),
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    level      TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    type       TEXT NOT NULL,
    message    TEXT NOT NULL,
    data       TEXT CHECK (data IS NULL OR json_valid(data)),
    created_at INTEGER NOT NULL
);
CREATE INDEX events_by_job ON events (job_id, seq);

-- One value per (job, name, step): a step re-run after a crash overwrites its row (UPSERT), and
-- attempt records which run wrote it.
CREATE TABLE metrics (
    job_id    TEXT NOT NULL REFERENCES jobs (id),
    name      TEXT NOT NULL,
    step      INTEGER NOT NULL CHECK (step >= 0),
    attempt   INTEGER NOT NULL,
    epoch     REAL,
    value     REAL NOT NULL,
    wall_time REAL NOT NULL,
    PRIMARY KEY (job_id, step, name)
) WITHOUT ROWID;

CREATE TABLE gates (
    job_id    TEXT NOT NULL REFERENCES jobs (id),
    step      INTEGER NOT NULL CHECK (step >= 0),
    layer     INTEGER NOT NULL CHECK (layer >= 0),
    submodule TEXT NOT NULL CHECK (submodule IN ('A', 'P', 'Lq', 'Lv')),
    attempt   INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (job_id, step, layer, submodule)
) WITHOUT ROWID;

-- A row is written only after its file was renamed into place, so a listed checkpoint is whole.
CREATE TABLE checkpoints (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE CHECK (id LIKE 'ckpt\_%' ESCAPE '\'),
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    name       TEXT NOT NULL,
    step       INTEGER NOT NULL CHECK (step >= 0),
    path       TEXT NOT NULL,
    bytes      INTEGER NOT NULL CHECK (bytes >= 0),
    sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
    metrics    TEXT CHECK (metrics IS NULL OR json_valid(metrics)),
    created_at INTEGER NOT NULL,
    UNIQUE (job_id, name)
);

-- Idempotency-Key records. A row without a response is an in-flight marker.
CREATE TABLE idempotency_keys (
    key             TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    body_sha256     TEXT NOT NULL,
    instance_id     TEXT NOT NULL REFERENCES instances (id),
    response_status INTEGER,
    response_body   BLOB,
    created_at      INTEGER NOT NULL,
    CHECK ((response_status IS NULL) = (response_body IS NULL))
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Sweep status and counts, derived on read. 'cancelling' = cancel requested while jobs still run.
CREATE VIEW sweep_overview AS
SELECT c.*,
       c.queued + c.running + c.cancelling + c.succeeded + c.failed + c.cancelled AS total,
       CASE
           WHEN c.state = 'cancelled' AND c.queued + c.running + c.cancelling > 0 THEN 'cancelling'
           WHEN c.state = 'cancelled' THEN 'cancelled'
           WHEN c.queued + c.running + c.cancelling = 0 THEN 'completed'
           ELSE c.state
       END AS status
FROM (SELECT s.*,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'queued') AS queued,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'running') AS running,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'cancelling') AS cancelling,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'succeeded') AS succeeded,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'failed') AS failed,
             (SELECT count(*) FROM jobs j WHERE j.sweep_id = s.id AND j.status = 'cancelled') AS cancelled
      FROM sweeps s) c;
