-- Audit trail: one row per state change or attempted state change (docs/api.md, "Conventions").
CREATE TABLE audit_log (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         TEXT    NOT NULL,             -- ISO 8601 UTC time of the attempt
  actor      TEXT    NOT NULL,             -- who acted: "chatgpt", "operator", "admin", "stripe", "payment", "user:<id>"
  action     TEXT    NOT NULL,             -- what: "dispatch", "comment", "label", "trigger", "grant", "revoke", "webhook"
  target     TEXT    NOT NULL,             -- on what: "owner/repo#12", "user:<id>", "owner/repo"
  outcome    TEXT    NOT NULL,             -- "ok", "dry_run", or "refused:<code>" / "failed:<code>"
  dry_run    INTEGER NOT NULL DEFAULT 0,   -- 1 when nothing was sent on purpose
  request_id TEXT                          -- the X-Request-Id of the request that caused it
);
CREATE INDEX audit_log_newest ON audit_log (id DESC);
