-- The Slurm executor asks every few seconds which tasks that claimed a job have no recorded end
-- (`slurm_task` events without a `slurm_task_ended`): without this index that query reads every event.
CREATE INDEX events_by_type ON events (type, seq);
