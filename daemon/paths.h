/*
 * paths: where sendflowd and the CLI look for their files when no option
 * names them. A source tree (or scripts/up) has ./workflows, ./schema and
 * ./var; an installed daemon (meson install, the Debian package) runs with
 * the working directory / and finds the local copy of the workflows under
 * the system configuration directory (/etc/sendflow/workflows), the
 * shipped defaults under the data directory (/usr/share/sendflow/...) and
 * its socket under /run/sendflow (systemd's RuntimeDirectory). The first
 * candidate that exists wins; when none does, the source-tree one (so the
 * error names the documented default).
 */
#ifndef SF_PATHS_H
#define SF_PATHS_H

/* The workflow definitions directory: ./workflows, SYSCONFDIR/sendflow/workflows,
 * DATADIR/sendflow/workflows. Static string. */
const char *paths_workflows(void);
/* The migrations directory: ./schema, DATADIR/sendflow/schema. Static string. */
const char *paths_schema(void);
/*
 * The daemon's socket: $RUNTIME_DIRECTORY/sendflowd.sock under systemd (the
 * unit's RuntimeDirectory=sendflow; its working directory / has a ./var that
 * is not ours), else ./var/sendflowd.sock when ./var is a directory, else
 * /run/sendflow/sendflowd.sock when /run/sendflow is one. Static string.
 */
const char *paths_socket(void);
/*
 * The CLI's: ./var/sendflowd.sock when that socket exists, else
 * /run/sendflow/sendflowd.sock when it does, else ./var/sendflowd.sock. Static string.
 */
const char *paths_client_socket(void);
/* The installed locations, for --help and the man pages (static strings). */
const char *paths_installed_workflows(void); /* SYSCONFDIR/sendflow/workflows */
const char *paths_default_workflows(void);   /* DATADIR/sendflow/workflows */
const char *paths_installed_schema(void);    /* DATADIR/sendflow/schema */
const char *paths_installed_socket(void);    /* /run/sendflow/sendflowd.sock */

#endif
