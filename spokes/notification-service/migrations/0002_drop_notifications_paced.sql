-- Every provider call now takes its token from the send worker's limiter, whenever the notification was queued:
-- a job item's admission token (taken when a hub task queued it) no longer stands in for it, so a backlog
-- cannot reach the provider faster than its limit. The flag that marked such pre-paid rows goes.
ALTER TABLE notifications DROP COLUMN paced;
