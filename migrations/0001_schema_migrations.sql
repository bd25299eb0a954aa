-- Migration history. The legacy runner created only version and applied_at; pgsplit adds its own
-- columns in place so a database made by that runner is adopted rather than rebuilt.
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS description TEXT;
ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT;
ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS execution_ms INTEGER;
ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS applied_by TEXT;
ALTER TABLE public.schema_migrations ADD COLUMN IF NOT EXISTS tool_version TEXT;
