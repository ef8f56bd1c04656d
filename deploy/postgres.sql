-- The role the xfjy app signs in as on PostgreSQL: it owns nothing.
--
-- The schema belongs to the role that runs `xfjy init-db` (the migrations). The app role may read
-- every table and write the working tables, but on the ledger (entry), the public history
-- (chain_link) and the audit log it may only INSERT: no UPDATE, DELETE or TRUNCATE, and since it
-- owns none of the tables it cannot ALTER, DROP or DISABLE their triggers, nor create objects.
--
-- Run as the schema's owner, after `xfjy init-db` and again after every upgrade (new tables get
-- their grants only from this script):
--
--   DATABASE_URL=postgresql://xfjy_owner@HOST/xfjy xfjy init-db
--   psql "postgresql://xfjy_owner@HOST/xfjy" -v ON_ERROR_STOP=1 \
--        -v app_role=xfjy_app -v app_password='…' -v schema=public -f deploy/postgres.sql
--   DATABASE_URL=postgresql://xfjy_app:…@HOST/xfjy xfjy serve      # and the nightly `xfjy publish`
--
-- The password is only set when the role is created; change it later with ALTER ROLE.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L',
              :'app_role', :'app_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_role') \gexec

REVOKE CREATE ON SCHEMA :"schema" FROM PUBLIC;
REVOKE ALL ON SCHEMA :"schema" FROM :"app_role";
GRANT USAGE ON SCHEMA :"schema" TO :"app_role";

REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO :"app_role";
REVOKE UPDATE, DELETE ON :"schema".entry, :"schema".chain_link, :"schema".audit_log FROM :"app_role";
REVOKE INSERT, UPDATE, DELETE ON :"schema".migratehistory FROM :"app_role";

REVOKE ALL ON ALL SEQUENCES IN SCHEMA :"schema" FROM :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO :"app_role";
