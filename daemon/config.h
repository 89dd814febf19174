/*
 * config: sendflowd's settings, from one declarative table. Each setting can
 * be given on the command line (--name VALUE) or in a YAML file given with
 * --config (name: value, dashes or underscores); the command line wins. The
 * table also drives --help, and a test checks that the README documents every
 * key.
 */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include <stdbool.h>

#include "util.h"

typedef struct sf_config {
    char *database;           /* libpq conninfo (or $SENDFLOW_DATABASE); NULL = PG* environment */
    char *socket;             /* Unix socket path */
    char *listen;             /* "HOST:PORT" for TCP, or NULL */
    char *http;               /* "HOST:PORT" for HTTP (http.h), or NULL */
    char *access;             /* --access YAML file (users: {UNIX_USER: ROLE}), or NULL */
    char *socket_group;       /* group owning the Unix socket, or NULL */
    char *tls_cert;           /* PEM certificate chain for --listen, or NULL */
    char *tls_key;            /* PEM private key of tls_cert, or NULL */
    char *workflows;          /* workflow definitions directory */
    char *schema;             /* migrations directory */
    char *clock;              /* "real" or "simulated:YYYY-MM-DDTHH:MM" */
    char *log_level;          /* debug, info, warn, error */
    char *log_format;         /* plain, journal or auto (log.h) */
    int pool;                 /* PostgreSQL connections for requests */
    int work_pool;            /* PostgreSQL connections for firing and delivery */
    int max_clients;          /* connected clients before new ones are refused */
    int max_clients_per_peer; /* connections one peer (uid, TCP address) may hold (bounds.h) */
    int idle_timeout;         /* s without a byte or a request in flight before a close; 0: never */
    int max_attributes;       /* attributes one request may carry */
    int max_attribute_length; /* bytes in one attribute value */
    char *case_attributes;    /* case attribute keys allowed besides the configuration's, "a,b" */
    int delivery_retry_ms;    /* outbox: first retry after this long, doubling each time */
    int delivery_max_attempts; /* outbox: attempts before a notice is parked as failed */
    int delivery_lease_s;      /* outbox: a claimed notice is retried after this long */
    int retention_days;        /* purge cases ended more than this many days ago; 0: never */
    bool help;                 /* --help was given */
    bool version;              /* --version was given */
    bool check_config;         /* --check-config: validate everything, start nothing */
} sf_config;

/*
 * Fill cfg from defaults, then the --config file if any, then argv, then
 * (when none gave a database) $SENDFLOW_DATABASE. 0 on success; -1 with a one-line reason in err.
 * Free with config_free.
 */
int config_load(sf_config *cfg, int argc, char **argv, char *err, size_t errlen) SF_MUSTCHECK;
/* Free the strings config_load allocated. */
void config_free(sf_config *cfg);
/* Write the usage text (every option with its default) to out. */
void config_usage(sb *out);

#endif
