-- API keys: each bound to one tenant and one role. Only a sha256 of the key is kept;
-- the plaintext is shown once, when the key is created.

CREATE TABLE aos_api_keys (
  key_id     text PRIMARY KEY,
  key_hash   text NOT NULL,
  tenant_id  text NOT NULL,
  role       text NOT NULL,
  label      text,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz,
  CONSTRAINT aos_api_keys_key_hash_key UNIQUE (key_hash),
  CONSTRAINT aos_api_keys_role_check
    CHECK (role IN ('admin', 'operator', 'auditor', 'viewer', 'system')),
  CONSTRAINT aos_api_keys_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX aos_api_keys_tenant_idx ON aos_api_keys (tenant_id, created_at);
CREATE INDEX aos_api_keys_active_system_idx ON aos_api_keys (key_id)
  WHERE role = 'system' AND revoked_at IS NULL;
