/*
 * migrate: apply the numbered SQL files of schema/ that the database has not
 * seen, at start, before the daemon serves anything (so a blocking libpq
 * connection is fine here). Each file runs in its own transaction and is
 * recorded in schema_migrations; an advisory lock makes daemons starting
 * together on one database apply each migration exactly once.
 */
#ifndef SF_MIGRATE_H
#define SF_MIGRATE_H

#include <stddef.h>

#include "util.h"

/*
 * Apply pending migrations from dir (files named NNN_name.sql, in number
 * order), then every function file of dir/functions (NN_name.sql, in name
 * order, CREATE OR REPLACE: the functions' current bodies), all under one
 * advisory lock. 0 and *applied set to how many migrations were applied, or -1
 * with a one-line reason in err.
 */
int migrate_apply(const char *conninfo, const char *dir, int *applied, char *err,
                  size_t errlen) SF_MUSTCHECK;

/*
 * The highest migration number in dir (what a database this daemon serves
 * must have applied: /readyz), or -1 with a reason in err. Reads the
 * directory: call at start, not from the loop.
 */
int migrate_latest(const char *dir, char *err, size_t errlen);
/*
 * Check dir without a database: its migrations (at least one, no number twice)
 * and its function files are there and readable. 0 with *migrations and *functions
 * set to their counts, or -1 with a one-line reason in err.
 */
int migrate_check(const char *dir, int *migrations, int *functions, char *err,
                  size_t errlen) SF_MUSTCHECK;

#endif
