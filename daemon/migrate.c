/* migrate: schema migrations at start (see migrate.h). */
#include "migrate.h"

#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "log.h"

/* Any constant works: it only has to be the same in every sendflowd. */
#define MIGRATE_LOCK_KEY "7305118201"

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * File names "NNN_something.sql" in dir, sorted; caller frees each and the
 * array. numbered: each number is a migration's version, so two files with one
 * number are refused.
 */
static int list_sql(const char *dir, bool numbered, char ***out, size_t *n, char *err,
                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "cannot open schema directory %s: %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
            continue;
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        names = xrealloc(names, (count + 1) * sizeof *names);
        names[count++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (count) /* qsort's pointer must not be NULL, even for no elements */
        qsort(names, count, sizeof *names, name_cmp);
    /* The number is the version recorded in schema_migrations: two files with one
     * number would leave the second unapplied for ever. */
    for (size_t i = 1; numbered && i < count; i++) {
        if (atoi(names[i]) == atoi(names[i - 1])) {
            snprintf(err, errlen, "%s/%s and %s/%s have the same migration number", dir,
                     names[i - 1], dir, names[i]);
            for (size_t k = 0; k < count; k++)
                free(names[k]);
            free(names);
            return -1;
        }
    }
    *out = names;
    *n = count;
    return 0;
}

/* The SQL of the file at path (load_read_file: a read error is one too; caller frees), or
 * NULL with the reason in err. */
static char *read_file(const char *path, char *err, size_t errlen)
{
    char *text;
    size_t len;
    char why[LOAD_ERR_LEN];
    if (load_read_file(path, &text, &len, NULL, why) != 0) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    return text;
}

static int exec_ok(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        char *msg = xstrdup(PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(err, errlen, "%s: %s", what, msg);
        free(msg);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/*
 * The functions' current bodies (dir/functions/NN_name.sql, CREATE OR REPLACE),
 * applied after the migrations at every start, in one transaction: a reader
 * finds each function's body in one file, and a new daemon brings its own.
 */
static int apply_functions(PGconn *pg, const char *dir, char *err, size_t errlen)
{
    char fdir[4096];
    snprintf(fdir, sizeof fdir, "%s/functions", dir);
    char **names = NULL;
    size_t n = 0;
    if (list_sql(fdir, false, &names, &n, err, errlen) != 0)
        return -1;
    int bad = exec_ok(pg, "BEGIN", "applying functions", err, errlen);
    for (size_t i = 0; i < n && !bad; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", fdir, names[i]);
        char *sql = read_file(path, err, errlen);
        if (!sql) {
            bad = 1;
            break;
        }
        bad = exec_ok(pg, sql, path, err, errlen);
        free(sql);
    }
    if (!bad)
        bad = exec_ok(pg, "COMMIT", "applying functions", err, errlen);
    else
        PQclear(PQexec(pg, "ROLLBACK"));
    if (!bad)
        log_info("migrate: %zu function file%s applied from %s", n, n == 1 ? "" : "s", fdir);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return bad ? -1 : 0;
}

int migrate_apply(const char *conninfo, const char *dir, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    char **names = NULL;
    size_t n = 0;
    if (list_sql(dir, true, &names, &n, err, errlen) != 0)
        return -1;
    if (n == 0) {
        snprintf(err, errlen, "no migrations (NNN_name.sql) in %s", dir);
        free(names);
        return -1;
    }
    int rc = -1;
    PGconn *pg = PQconnectdb(conninfo ? conninfo : "");
    if (PQstatus(pg) != CONNECTION_OK) {
        char *msg = xstrdup(PQerrorMessage(pg));
        msg[strcspn(msg, "\n")] = '\0';
        snprintf(err, errlen, "cannot connect to the database: %s", msg);
        free(msg);
        goto out;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the migration lock",
                err, errlen) != 0)
        goto out;
    if (exec_ok(pg,
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                "creating schema_migrations", err, errlen) != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int version = atoi(names[i]);
        char vbuf[16];
        snprintf(vbuf, sizeof vbuf, "%d", version);
        const char *params[2] = {vbuf, names[i]};
        PGresult *r = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE version = $1", 1,
                                   NULL, params, NULL, NULL, 0);
        int done = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
        int failed = PQresultStatus(r) != PGRES_TUPLES_OK;
        PQclear(r);
        if (failed) {
            snprintf(err, errlen, "reading schema_migrations: %s", PQerrorMessage(pg));
            goto out;
        }
        if (done)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *sql = read_file(path, err, errlen);
        if (!sql)
            goto out;
        char what[4200];
        snprintf(what, sizeof what, "migration %s", path);
        int bad = exec_ok(pg, "BEGIN", what, err, errlen) || exec_ok(pg, sql, what, err, errlen);
        free(sql);
        if (!bad) {
            r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2,
                             NULL, params, NULL, NULL, 0);
            bad = PQresultStatus(r) != PGRES_COMMAND_OK;
            if (bad)
                snprintf(err, errlen, "%s: recording it: %s", what, PQerrorMessage(pg));
            PQclear(r);
        }
        if (bad || exec_ok(pg, "COMMIT", what, err, errlen) != 0) {
            PQclear(PQexec(pg, "ROLLBACK"));
            goto out;
        }
        log_info("migrate: applied %s", names[i]);
        (*applied)++;
    }
    if (apply_functions(pg, dir, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    if (PQstatus(pg) == CONNECTION_OK)
        PQclear(PQexec(pg, "SELECT pg_advisory_unlock_all()"));
    PQfinish(pg);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Every file in dir of names (dir/name): readable, or -1 naming the first that is not. */
static int migrate__readable(const char *dir, char **names, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        char *sql = read_file(path, err, errlen);
        free(path);
        if (!sql)
            return -1;
        free(sql);
    }
    return 0;
}

static void migrate__free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int migrate_check(const char *dir, int *migrations, int *functions, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    if (list_sql(dir, true, &names, &n, err, errlen) != 0)
        return -1;
    int rc = -1;
    if (n == 0)
        snprintf(err, errlen, "no migrations (NNN_name.sql) in %s", dir);
    else
        rc = migrate__readable(dir, names, n, err, errlen);
    migrate__free_names(names, n);
    *migrations = (int)n;
    if (rc != 0)
        return -1;
    char *fdir = xasprintf("%s/functions", dir);
    names = NULL;
    n = 0;
    rc = list_sql(fdir, false, &names, &n, err, errlen);
    if (rc == 0)
        rc = migrate__readable(fdir, names, n, err, errlen);
    migrate__free_names(names, n);
    free(fdir);
    *functions = (int)n;
    return rc;
}

int migrate_latest(const char *dir, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    if (list_sql(dir, true, &names, &n, err, errlen) != 0)
        return -1;
    int latest = n ? atoi(names[n - 1]) : 0;
    migrate__free_names(names, n);
    return latest;
}
