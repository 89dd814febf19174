/*
 * chan: who can be told, and how, loaded from workflows/channels.yaml and
 * validated. The escalation policy and the board reports name people and
 * boards; this file says what those names mean: a person's title and their
 * ways of being told (an e-mail address, a webhook, a local command), the
 * members of each board, and how each channel is reached (a webhook's URL
 * and the environment variable holding its signing secret, the SMTP relay
 * and sender address, a command's argv).
 *
 * Pure: no I/O (the caller reads the file: daemon/load.h). Validation is strict because a typo
 * silently ignored would be a manager silently not told: every unknown key,
 * a person naming a webhook or command that is not declared, an e-mail
 * address with no email: section to send it, a board naming an unknown
 * person, is an error "[file:line] problem".
 *
 * Ownership: a chan_config owns every string and array reachable from it;
 * free it with chan_free. Nothing changes after loading, so any number of
 * readers may share it.
 */
#ifndef SF_CHAN_H
#define SF_CHAN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Room for one loader error message: "[file:line] problem". */
#define CHAN_ERR_LEN 512
/* The only version of the file format so far ("channels: 1"). */
#define CHAN_VERSION 1
/* A command that runs longer than this (seconds) is killed, unless it sets timeout_s. */
#define CHAN_COMMAND_TIMEOUT_S 30

/* One person ("people:"): every pointer but name and title may be NULL. */
typedef struct chan_person {
    const char *name;    /* the key: "mk" */
    const char *title;   /* "team manager north" */
    const char *email;   /* an address "local@domain", or NULL */
    const char *webhook; /* the name of a declared webhook, or NULL */
    const char *command; /* the name of a declared command, or NULL */
    int line;            /* line of the person's key in the file */
} chan_person;

/* One board ("boards:"): the people who receive its pack. */
typedef struct chan_board_def {
    const char *name;           /* "operations" */
    const char *const *members; /* person names, in file order; each is declared */
    size_t nmembers;            /* at least one */
    int line;
} chan_board_def;

/* One webhook ("webhooks:"). */
typedef struct chan_webhook {
    const char *name;       /* "ops-board" */
    const char *url;        /* http:// or https:// */
    const char *secret_env; /* the environment variable holding the HMAC secret */
    int line;
} chan_webhook;

/* One local command ("commands:"). */
typedef struct chan_command {
    const char *name;  /* "pager" */
    const char **argv; /* argc entries and a NULL; argv[0] is an absolute path */
    size_t argc;       /* at least 1 */
    int timeout_s;     /* killed after this long: timeout_s, or CHAN_COMMAND_TIMEOUT_S */
    int line;
} chan_command;

typedef struct chan_config {
    int version;               /* "channels:" (CHAN_VERSION); 0 for the empty config */
    const char *file;          /* path loaded, or "(none)" for the empty config */
    const chan_person *people; /* in file order; NULL when npeople is 0 */
    size_t npeople;
    const chan_board_def *boards; /* in file order */
    size_t nboards;
    const chan_webhook *webhooks; /* in file order */
    size_t nwebhooks;
    const char *smtp;             /* "email: smtp:", smtp:// or smtps:// URL; NULL without email: */
    const char *email_from;       /* "email: from:", the sender's address; NULL without email: */
    const chan_command *commands; /* in file order */
    size_t ncommands;
    void *arena; /* private: the memory behind every pointer above */
} chan_config;

/*
 * Load and validate channels from len bytes of YAML text; name (the file's path) stands for the
 * file in messages and in (*out)->file. On success *out is a new config (free with chan_free) and
 * 0 is returned; on failure -1, *out is NULL and err holds "[name:line] problem".
 */
int chan_load_string(const char *name, const char *yaml, size_t len, chan_config **out,
                     char err[CHAN_ERR_LEN]) SF_MUSTCHECK;
/* An empty config (no people, boards or channels); free with chan_free. */
chan_config *chan_empty(void);
/* Free a config and everything it owns; NULL is fine. */
void chan_free(chan_config *c);

/* The person called name, or NULL; borrowed from c. */
const chan_person *chan_find_person(const chan_config *c, const char *name);
/* The webhook called name, or NULL; borrowed from c. */
const chan_webhook *chan_find_webhook(const chan_config *c, const char *name);
/* The command called name, or NULL; borrowed from c. */
const chan_command *chan_find_command(const chan_config *c, const char *name);
/* The members of a board ("operations", "strategic"), borrowed; *n gets how many (0 and NULL
 * for an unknown board). */
const char *const *chan_board(const chan_config *c, const char *board, size_t *n);
/* Whether s is an e-mail address the loader accepts (local@domain, printable ASCII, no
 * spaces or header punctuation): also for addresses read from elsewhere (the outbox). */
bool chan_email_ok(const char *s);

#endif
