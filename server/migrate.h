/* Schema migrations: sql_dir holds NNN_name.sql files applied in version order, each once, each in its own
 * transaction, recorded with its SHA-256 in schema_migrations. A pg_advisory_lock keeps two console nodes
 * from migrating at the same time. */
#pragma once
#include <libpq-fe.h>
#include <stddef.h>

/* Brings the database up to the newest file. Refuses (-EBADMSG, err naming the file) when an applied file's
 * checksum differs from the one recorded, and (-EPROTO) when the database has a version no file matches.
 * Returns 0, or a negative errno with a message in err. `applied` (may be NULL) gets the number of files
 * applied now and `version` (may be NULL) the schema version afterwards. */
int migrate_run_ex(PGconn *db, const char *sql_dir, int *applied, int *version, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int migrate_run(PGconn *db, const char *sql_dir, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The compile-time default SQL directory (OTW_SQL_DIR). */
const char *migrate_default_sql_dir(void);
