-- Queued dispatches and the runs they started (docs/api.md, "Operator queue and run status").

-- One row per repository_dispatch the relay accepted from /trigger-hive or /chatgpt/dispatch (and their MCP
-- tools), from the moment it is accepted until its workflow run completes.
CREATE TABLE dispatches (
  request_id      TEXT PRIMARY KEY,                -- the X-Request-Id of the request that created it
  source          TEXT NOT NULL CHECK (source IN ('trigger', 'dispatch')), -- the front door; also its audit action
  subject         TEXT NOT NULL,                   -- the credential that created it: "relay-secret", "key:<id>", "kora"
  idempotency_key TEXT,                            -- the Idempotency-Key header, when sent
  fingerprint     TEXT NOT NULL,                   -- SHA-256 of the request: the same key with another request is refused
  action          TEXT NOT NULL,                   -- the trigger's action, or the connector's event type
  repository      TEXT NOT NULL,                   -- owner/repo the event goes to (the route chosen when it was accepted)
  event_type      TEXT NOT NULL,
  client_payload  TEXT,                            -- JSON of the event's client_payload; NULL once GitHub took it
  status          TEXT NOT NULL CHECK (status IN ('pending', 'queued', 'dispatched', 'running', 'completed', 'failed')),
  answered        TEXT CHECK (answered IN ('dispatched', 'queued')), -- the first answer, which a retry replays
  attempts        INTEGER NOT NULL DEFAULT 0,      -- calls to GitHub's dispatches endpoint so far
  run_attempt     INTEGER NOT NULL DEFAULT 0,      -- the workflow run attempt the status is about (re-runs count up)
  conclusion      TEXT,                            -- the completed run's conclusion (success, failure, cancelled, …)
  run_url         TEXT,                            -- the run's html_url
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (subject, idempotency_key)
);

-- GitHub deliveries already applied (X-GitHub-Delivery): a redelivered event changes nothing.
CREATE TABLE github_deliveries (
  delivery_id TEXT PRIMARY KEY,
  received_at TEXT NOT NULL
);
