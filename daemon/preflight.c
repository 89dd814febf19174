/* preflight: sendflowd --check-config (see preflight.h). */
#include "preflight.h"

#include <grp.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "delivery.h"
#include "esc.h"
#include "migrate.h"
#include "tls.h"

/* The conninfo's syntax, as libpq would read it (no connection is made). 0, or -1 and err. */
static int preflight__conninfo(const char *conninfo, char *err, size_t errlen)
{
    if (!conninfo)
        return 0; /* libpq's PG* environment: read at connect time */
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    /* The conninfo itself may hold a password: name the problem, not the string. */
    snprintf(err, errlen, "invalid --database: %s", perr ? perr : "out of memory");
    err[strcspn(err, "\n")] = '\0';
    PQfreemem(perr);
    return -1;
}

/* Everything main has not checked yet, in the order a start meets it. 0, or -1 and err. */
static int preflight__check(sf_daemon *d, int *migrations, int *functions, char *err, size_t errlen)
{
    if (preflight__conninfo(d->cfg.database, err, errlen) != 0)
        return -1;
    if (migrate_check(d->cfg.schema, migrations, functions, err, errlen) != 0)
        return -1;
    char **secrets;
    if (delivery_secrets(d->chan, &secrets, err, errlen) != 0)
        return -1;
    for (size_t i = 0; d->chan && i < d->chan->nwebhooks; i++)
        free(secrets[i]);
    free(secrets);
    access_map *access;
    if (access_load(&access, d->cfg.access, err, errlen) != 0)
        return -1;
    access_free(access);
    if (d->cfg.listen) {
        tls_server *tls;
        if (tls_server_new(&tls, d->cfg.tls_cert, d->cfg.tls_key, err, errlen) != 0)
            return -1;
        tls_server_free(tls);
    }
    if (d->cfg.socket_group && !getgrnam(d->cfg.socket_group)) {
        snprintf(err, errlen, "--socket-group %s: no such group", d->cfg.socket_group);
        return -1;
    }
    return 0;
}

int preflight_run(sf_daemon *d)
{
    char err[1024];
    int migrations = 0, functions = 0;
    if (preflight__check(d, &migrations, &functions, err, sizeof err) != 0) {
        sb msg = {0};
        sb_add_redacted(&msg, err);
        fprintf(stderr, "sendflowd: %s\n", sb_str(&msg));
        sb_free(&msg);
        return 1;
    }
    printf("sendflowd: configuration OK: %zu workflows in %s, calendar %s, %zu escalation "
           "levels, %d migrations and %d function files in %s, socket %s%s%s\n",
           d->workflows->n, d->cfg.workflows, hol_version(d->cal), d->esc ? d->esc->nlevels : 0,
           migrations, functions, d->cfg.schema, d->cfg.socket, d->cfg.listen ? ", TCP " : "",
           d->cfg.listen ? d->cfg.listen : "");
    fflush(stdout);
    return 0;
}
