-- Whether a Slurm task's claim has its end (a `slurm_task_ended` event on the same job) is asked for every
-- claim on every pass; with only events_by_type, SQLite answers each by reading every end of every job.
CREATE INDEX events_by_job_and_type ON events (job_id, type);
