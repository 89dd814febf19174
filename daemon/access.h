/*
 * access: who a client is and what its role lets it do.
 *
 * A Unix-socket client is identified by its peer uid (SO_PEERCRED), mapped
 * to a role by the --access YAML file (users: {UNIX_USER: ROLE}). The
 * daemon's own user (and root) is always admin; without --access it is the
 * only one admitted. A TCP client (over TLS) is identified by the token
 * each of its requests carries (tokens.h): who is the token's name, via
 * "token:NAME".
 */
#ifndef SF_ACCESS_H
#define SF_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

/* The roles of design.md's table; a bit each in a role mask. */
typedef enum access_role {
    ACCESS_NONE = 0, /* not identified: every request is refused as unauthenticated */
    ACCESS_ADMIN,
    ACCESS_MANAGER,
    ACCESS_CASEWORKER,
    ACCESS_INTEGRATION,
    ACCESS_AUDITOR,
    ACCESS_FEED, /* a calendar feed's token: due for its officer or team only (tokens.h) */
} access_role;

#define ACCESS_BIT(r) (1u << (r))

/* Longest --events list of an integration token, commas included. */
#define ACCESS_EVENTS_LEN 512

/* One connection's identity (Unix: fixed when it connects; TCP: set by each request's token). */
typedef struct access_ident {
    access_role role;
    char who[64]; /* the user name ("uid:N" when it has none), or the token's name */
    char via[72]; /* "unix:USER", "token:NAME", or "tcp" (not identified) */
    bool limited; /* an integration token given --events: only those event types */
    char events[ACCESS_EVENTS_LEN]; /* when limited: the types, comma-separated */
    bool needs_token;               /* a TCP client: each request must bring its token */
    bool feed_url;                  /* a calendar URL's request: only a feed token may serve */
    char feed_officer[65];          /* a feed token: the officer whose calendar it reads, or "" */
    char feed_team[65];             /* a feed token: the team whose calendar it reads, or "" */
} access_ident;

typedef struct access_map access_map;

/*
 * Load path (NULL: no file, only the daemon's own user and root, as admin).
 * 0 and a new map, or -1 with a reason in err ([file:line] first).
 */
int access_load(access_map **out, const char *path, char *err, size_t errlen) SF_MUSTCHECK;
void access_free(access_map *m);
/* How many users the file named (for the startup log). */
size_t access_users(const access_map *m);
/* Fill id for a Unix client of uid: role ACCESS_NONE if m does not know it. */
void access_identify_uid(const access_map *m, uid_t uid, access_ident *id);
/* The role called name ("admin", ...), or ACCESS_NONE. */
access_role access_role_lookup(const char *name);
/* May id post an event of type (false: an integration token whose --events lacks it)? */
bool access_event_allowed(const access_ident *id, const char *type);
/* The role's name ("admin", ...); "none" for ACCESS_NONE. */
const char *access_role_name(access_role r);

#endif
