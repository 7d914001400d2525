BEGIN;
SELECT 'CREATE ROLE olympus_monitoring' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'olympus_monitoring') \gexec
ALTER ROLE olympus_monitoring WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
GRANT pg_monitor TO olympus_monitoring;
COMMIT;
