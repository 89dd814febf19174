/* config: the settings table, the YAML config file and the command line (see config.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "paths.h"
#include "sf_config.h"

typedef enum cfg_type {
    CFG_STR,
    CFG_INT,
} cfg_type;

/* One setting: name (as on the command line), type, where it goes, default, help. */
typedef struct cfg_option {
    const char *name;
    cfg_type type;
    size_t offset;
    const char *def; /* NULL: unset */
    int min, max;    /* CFG_INT bounds */
    const char *help;
} cfg_option;

#define OPT_STR(n, field, d, h)                                                                    \
    {                                                                                              \
        n, CFG_STR, offsetof(sf_config, field), d, 0, 0, h                                         \
    }
#define OPT_INT(n, field, d, lo, hi, h)                                                            \
    {                                                                                              \
        n, CFG_INT, offsetof(sf_config, field), d, lo, hi, h                                       \
    }

static const cfg_option options[] = {
    OPT_STR("database", database, NULL,
            "libpq connection string or URI (default: $SENDFLOW_DATABASE, else libpq's PG* "
            "environment: PGSERVICE, PGPASSFILE...)"),
    /* The paths' defaults depend on what exists (paths.h): a source tree, or an installed daemon.
     */
    OPT_STR("socket", socket, NULL,
            "Unix socket to listen on [default: $RUNTIME_DIRECTORY/sendflowd.sock under systemd, "
            "else ./var/sendflowd.sock when ./var exists, else /run/sendflow/sendflowd.sock when "
            "/run/sendflow does]"),
    OPT_STR("listen", listen, NULL,
            "also listen on TCP HOST:PORT (TLS with --tls-cert and --tls-key; clients by token)"),
    OPT_STR("http", http, NULL,
            "also serve HTTP on HOST:PORT (health, metrics, calendar feeds, dashboard): plain "
            "on a loopback address only, else TLS with --tls-cert and --tls-key"),
    OPT_STR("tls-cert", tls_cert, NULL, "PEM certificate (chain) served on --listen and --http"),
    OPT_STR("tls-key", tls_key, NULL, "PEM private key of --tls-cert"),
    OPT_STR("access", access, NULL,
            "YAML file of users: {UNIX_USER: ROLE}; without it only the daemon's own user "
            "(and root) is admitted, as admin"),
    OPT_STR("socket-group", socket_group, NULL,
            "group owning the Unix socket (mode 0660), for the users of --access"),
    OPT_STR("workflows", workflows, NULL,
            "directory of workflow definitions (*.yaml) [default: the first that exists of "
            "./workflows, " SF_SYSCONFDIR "/sendflow/workflows, " SF_DATADIR
            "/sendflow/workflows]"),
    OPT_STR("schema", schema, NULL,
            "directory of SQL migrations [default: ./schema if it exists, else " SF_DATADIR
            "/sendflow/schema]"),
    OPT_STR("clock", clock, "real", "real, or simulated:YYYY-MM-DDTHH:MM (Europe/London)"),
    OPT_STR("log-level", log_level, "info", "debug, info, warn or error"),
    /* journald reads a line's priority from a <N> prefix and stamps the time itself. */
    OPT_STR("log-format", log_format, "auto",
            "plain (timestamped lines), journal (<N> syslog priority prefixes, no timestamp: "
            "journald adds its own), or auto: journal when stderr is journald's stream "
            "($JOURNAL_STREAM), else plain"),
    OPT_INT("pool", pool, "4", 1, 64, "PostgreSQL connections for requests"),
    /* Escalations fired thousands at a time and the outbox's records must not queue in front
     * of requests (nor they behind a burst of notices): the scheduler and the delivery worker
     * have connections of their own. */
    OPT_INT("work-pool", work_pool, "2", 1, 16,
            "PostgreSQL connections of the escalation scheduler and the outbox worker"),
    OPT_INT("max-clients", max_clients, "1024", 2, 100000, "connected clients at most"),
    /* Bounded clients (bounds.h): one peer never holds every slot, an idle one lets go. */
    OPT_INT("max-clients-per-peer", max_clients_per_peer, "64", 1, 50000,
            "connections one client (Unix uid, TCP address) may hold; the last this many of "
            "--max-clients are kept for clients holding none (at most half of --max-clients)"),
    OPT_INT("idle-timeout", idle_timeout, "300", 0, 86400,
            "close a connection that sent nothing for this many s with no request in flight "
            "(a watch stream is never idle); 0: never"),
    OPT_INT("max-attributes", max_attributes, "32", 1, 1000,
            "attributes one case_open, start or event may carry"),
    OPT_INT("max-attribute-length", max_attribute_length, "256", 1, 65536,
            "bytes in one attribute value"),
    OPT_STR("case-attributes", case_attributes, "officer,team",
            "case attribute keys allowed besides those escalations.yaml and service.yaml read "
            "(comma-separated)"),
    /* The outbox worker (delivery.c). The lease must outlast the longest transfer (a command
     * may run 120 s), or a slow delivery would be claimed again while it runs. */
    OPT_INT("delivery-retry-ms", delivery_retry_ms, "5000", 10, 3600000,
            "outbox: first retry after this many ms, doubling each attempt (capped at 1 hour); "
            "also how often idle daemons look for due notices"),
    OPT_INT("delivery-max-attempts", delivery_max_attempts, "8", 1, 100,
            "outbox: attempts before a notice is parked as failed"),
    OPT_INT("delivery-lease-s", delivery_lease_s, "300", 180, 86400,
            "outbox: a notice claimed by a daemon that vanished is retried after this many s"),
    /* Off unless set: how long to keep a child's record is the authority's own retention
     * schedule (README, "Data we hold"), and a purge cannot be undone. */
    OPT_INT("retention", retention_days, "0", 0, 36500,
            "purge, daily, the personal data of cases whose processes all ended more than "
            "DAYS days ago (0: never)"),
};
#define NOPTIONS (sizeof options / sizeof options[0])

static const cfg_option *find_option(const char *name)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *a = options[i].name, *b = name;
        /* log-level and log_level are the same key. */
        while (*a && *b && (*a == *b || (*a == '-' && *b == '_')))
            a++, b++;
        if (!*a && !*b)
            return &options[i];
    }
    return NULL;
}

static int set_option(sf_config *cfg, const cfg_option *o, const char *value, const char *where,
                      char *err, size_t errlen)
{
    char *field = (char *)cfg + o->offset;
    if (o->type == CFG_STR) {
        char **slot = (char **)(void *)field;
        free(*slot);
        *slot = xstrdup(value);
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max) {
        snprintf(err, errlen, "%s: %s must be an integer from %d to %d, not \"%s\"", where, o->name,
                 o->min, o->max, value);
        return -1;
    }
    *(int *)(void *)field = (int)v;
    return 0;
}

/* A flat YAML mapping of settings. */
static int load_file(sf_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = -1;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "[%s:%zu] %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "invalid YAML");
        goto out_parser;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = 0; /* an empty file sets nothing */
        goto out_doc;
    }
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "[%s:%zu] expected a mapping of settings", path,
                 root->start_mark.line + 1);
        goto out_doc;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "[%s:%zu]", path, k->start_mark.line + 1);
        if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
            snprintf(err, errlen, "%s settings must be scalar key: value pairs", where);
            goto out_doc;
        }
        const char *key = (const char *)k->data.scalar.value;
        const cfg_option *o = find_option(key);
        if (!o || strcmp(key, "config") == 0) {
            snprintf(err, errlen, "%s unknown setting \"%s\"", where, key);
            goto out_doc;
        }
        if (set_option(cfg, o, (const char *)v->data.scalar.value, where, err, errlen) != 0)
            goto out_doc;
    }
    rc = 0;
out_doc:
    yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

int config_load(sf_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].def && set_option(cfg, &options[i], options[i].def, "default", err, errlen))
            return -1;
    }
    /* The config file first, wherever --config appears, so the command line wins. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            if (load_file(cfg, argv[i + 1], err, errlen) != 0)
                return -1;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            if (load_file(cfg, argv[i] + 9, err, errlen) != 0)
                return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            cfg->version = true;
            continue;
        }
        if (strcmp(arg, "--check-config") == 0) {
            cfg->check_config = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        char namebuf[64];
        const char *value;
        if (eq) {
            snprintf(namebuf, sizeof namebuf, "%.*s", (int)(eq - name), name);
            value = eq + 1;
        } else {
            snprintf(namebuf, sizeof namebuf, "%s", name);
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option --%s needs a value", namebuf);
                return -1;
            }
            value = argv[++i];
        }
        if (strcmp(namebuf, "config") == 0)
            continue;
        const cfg_option *o = find_option(namebuf);
        if (!o) {
            snprintf(err, errlen, "unknown option --%s (see --help)", namebuf);
            return -1;
        }
        if (set_option(cfg, o, value, "command line", err, errlen) != 0)
            return -1;
    }
    /*
     * The conninfo may hold a password: SENDFLOW_DATABASE keeps it off the
     * command line (which any local user sees in ps). --database and the
     * config file win; without any of them libpq's own environment applies
     * (PGHOST..., PGSERVICE with pg_service.conf, PGPASSFILE).
     */
    if (!cfg->workflows)
        cfg->workflows = xstrdup(paths_workflows());
    if (!cfg->schema)
        cfg->schema = xstrdup(paths_schema());
    if (!cfg->socket)
        cfg->socket = xstrdup(paths_socket());
    const char *env = getenv("SENDFLOW_DATABASE");
    if (!cfg->database && env && *env)
        cfg->database = xstrdup(env);

    /* TCP carries tokens: never in clear text. */
    if (cfg->listen && !cfg->help && !cfg->version && (!cfg->tls_cert || !cfg->tls_key)) {
        snprintf(err, errlen,
                 "--listen %s needs --tls-cert FILE and --tls-key FILE: TCP clients are served "
                 "over TLS only (they send tokens)",
                 cfg->listen);
        return -1;
    }
    return 0;
}

void config_free(sf_config *cfg)
{
    for (size_t i = 0; i < NOPTIONS; i++) {
        if (options[i].type == CFG_STR) {
            char **slot = (char **)(void *)((char *)cfg + options[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

void config_usage(sb *out)
{
    sb_add(out, "usage: sendflowd [--config FILE] [OPTIONS]\n\n"
                "sendflowd " SF_VERSION
                " holds the statutory clocks of an SEN team's processes.\n\nOptions "
                "(also settable in the --config YAML file as name: value):\n");
    for (size_t i = 0; i < NOPTIONS; i++) {
        sb_addf(out, "  --%-21s %s", options[i].name, options[i].help);
        if (options[i].def)
            sb_addf(out, " [default: %s]", options[i].def);
        sb_add(out, "\n");
    }
    sb_add(out, "  --config FILE  YAML file of the settings above\n"
                "  --check-config  load and check the settings and every definition file, print "
                "one line saying so and exit (0: valid), touching neither the database nor the "
                "socket\n"
                "  --help, --version\n");
}
