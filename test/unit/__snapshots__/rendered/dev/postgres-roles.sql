SELECT 'CREATE ROLE ciam_kratos' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ciam_kratos') \gexec
ALTER ROLE ciam_kratos WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
ALTER DATABASE ciam_kratos OWNER TO ciam_kratos;
REVOKE ALL ON DATABASE ciam_kratos FROM PUBLIC;
\connect ciam_kratos
ALTER SCHEMA public OWNER TO ciam_kratos;
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'ciam_kratos'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, 'ciam_kratos');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> 'ciam_kratos'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, 'ciam_kratos');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'ciam_kratos'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, 'ciam_kratos');
  END LOOP;
END $$;
\connect postgres
SELECT 'CREATE ROLE ciam_hydra' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ciam_hydra') \gexec
ALTER ROLE ciam_hydra WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
ALTER DATABASE ciam_hydra OWNER TO ciam_hydra;
REVOKE ALL ON DATABASE ciam_hydra FROM PUBLIC;
\connect ciam_hydra
ALTER SCHEMA public OWNER TO ciam_hydra;
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'ciam_hydra'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, 'ciam_hydra');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> 'ciam_hydra'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, 'ciam_hydra');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'ciam_hydra'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, 'ciam_hydra');
  END LOOP;
END $$;
\connect postgres
SELECT 'CREATE ROLE iam_kratos' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'iam_kratos') \gexec
ALTER ROLE iam_kratos WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
ALTER DATABASE iam_kratos OWNER TO iam_kratos;
REVOKE ALL ON DATABASE iam_kratos FROM PUBLIC;
\connect iam_kratos
ALTER SCHEMA public OWNER TO iam_kratos;
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'iam_kratos'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, 'iam_kratos');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> 'iam_kratos'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, 'iam_kratos');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'iam_kratos'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, 'iam_kratos');
  END LOOP;
END $$;
\connect postgres
SELECT 'CREATE ROLE iam_hydra' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'iam_hydra') \gexec
ALTER ROLE iam_hydra WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
ALTER DATABASE iam_hydra OWNER TO iam_hydra;
REVOKE ALL ON DATABASE iam_hydra FROM PUBLIC;
\connect iam_hydra
ALTER SCHEMA public OWNER TO iam_hydra;
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'iam_hydra'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, 'iam_hydra');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> 'iam_hydra'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, 'iam_hydra');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'iam_hydra'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, 'iam_hydra');
  END LOOP;
END $$;
\connect postgres
SELECT 'CREATE ROLE olympus_apps' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'olympus_apps') \gexec
ALTER ROLE olympus_apps WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
ALTER DATABASE olympus OWNER TO olympus_apps;
REVOKE ALL ON DATABASE olympus FROM PUBLIC;
\connect olympus
ALTER SCHEMA public OWNER TO olympus_apps;
DO $$
DECLARE item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name,
      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> 'olympus_apps'::regrole
      -- A table's own sequences (serial, identity) follow the table.
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
  LOOP
    EXECUTE format('ALTER %s %s OWNER TO %I', item.kind, item.name, 'olympus_apps');
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND t.typowner <> 'olympus_apps'::regrole
  LOOP
    EXECUTE format('ALTER TYPE %s OWNER TO %I', item.name, 'olympus_apps');
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = 'public' AND p.proowner <> 'olympus_apps'::regrole
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER ROUTINE %s OWNER TO %I', item.name, 'olympus_apps');
  END LOOP;
END $$;
\connect postgres
SELECT 'CREATE ROLE olympus_monitoring' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'olympus_monitoring') \gexec
ALTER ROLE olympus_monitoring WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD 'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr';
GRANT pg_monitor TO olympus_monitoring;
