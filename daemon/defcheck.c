/*
 * defcheck: running processes against new definitions (see defcheck.h).
 */
#include "defcheck.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

/* What running processes of older versions hold: kind, name, how many processes, one case. */
static const char check_sql[] =
    "WITH old AS (SELECT p.id, p.state, c.ref FROM processes p JOIN cases c ON c.id = p.case_id"
    "             WHERE p.workflow = $1 AND p.status = 'active' AND p.wf_version <> $2::integer)"
    " SELECT 'state', state, count(*), min(ref) FROM old GROUP BY state"
    " UNION ALL"
    " SELECT 'event', e.type, count(DISTINCT old.id), min(old.ref) FROM old"
    "   JOIN events e ON e.process_id = old.id"
    "  WHERE NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id) GROUP BY e.type"
    " UNION ALL"
    " SELECT 'deadline', d.name, count(DISTINCT old.id), min(old.ref) FROM old"
    "   JOIN deadlines d ON d.process_id = old.id WHERE d.resolution = 'open' GROUP BY d.name";

/* Whether the workflow has (or maps) a name of that kind. */
static bool known(const wf_workflow *wf, const char *kind, const char *name)
{
    if (!strcmp(kind, "state"))
        return wf_find_state(wf, name) || wf_find_rename(wf, WF_RENAME_STATE, name);
    if (!strcmp(kind, "event"))
        return wf_find_event(wf, name) || wf_find_rename(wf, WF_RENAME_EVENT, name);
    return wf_has_deadline_name(wf, name) || wf_find_rename(wf, WF_RENAME_DEADLINE, name);
}

int defcheck_run(const char *conninfo, const wf_set *set, char *err, size_t errlen)
{
    PGconn *pg = PQconnectdb(conninfo ? conninfo : "");
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot check running processes against the workflows: %s",
                 PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    sb problems = {0};
    int nproblems = 0, rc = 0;
    for (size_t i = 0; i < set->n && rc == 0; i++) {
        const wf_workflow *wf = set->items[i];
        char version[16];
        snprintf(version, sizeof version, "%d", wf->version);
        const char *params[2] = {wf->name, version};
        PGresult *res = PQexecParams(pg, check_sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "cannot check running processes of %s: %s", wf->name,
                     PQresultErrorMessage(res));
            rc = -1;
        }
        for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
            const char *kind = PQgetvalue(res, r, 0), *name = PQgetvalue(res, r, 1);
            if (known(wf, kind, name))
                continue;
            bool one = !strcmp(PQgetvalue(res, r, 2), "1");
            if (nproblems++ < 5)
                sb_addf(&problems,
                        "%s%s (version %d) has no %s \"%s\", which %s running process%s of an "
                        "earlier version %s (e.g. case %s); keep it, or say what it became under "
                        "\"migrate: {%ss: {%s: NEW_NAME%s}}\"",
                        problems.len ? "; " : "", wf->file, wf->version, kind, name,
                        PQgetvalue(res, r, 2), one ? "" : "es",
                        !strcmp(kind, "state")   ? (one ? "is in" : "are in")
                        : !strcmp(kind, "event") ? (one ? "has recorded" : "have recorded")
                                                 : (one ? "has open" : "have open"),
                        PQgetvalue(res, r, 3), kind, name,
                        !strcmp(kind, "deadline") ? " or drop" : "");
        }
        PQclear(res);
    }
    PQfinish(pg);
    if (rc == 0 && nproblems) {
        snprintf(err, errlen, "the workflow definitions would orphan running processes: %s%s",
                 sb_str(&problems), nproblems > 5 ? " (and more)" : "");
        rc = -1;
    }
    sb_free(&problems);
    return rc;
}
