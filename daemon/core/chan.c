/*
 * chan: the channels loader (see chan.h). As in svc.c, libyaml's document
 * API turns the file into a node graph, we walk it section by section, and
 * what we keep is copied into an arena owned by the config, so a failed load
 * frees the arena and the document and needs no other unwinding. The node
 * helpers repeat svc.c's (which keeps them static): the loaders must agree
 * on what counts as an empty value, a duplicate key and an error line.
 *
 * Sections are read in dependency order (webhooks, email, commands, then
 * people, then boards), so a reference to something undeclared is reported
 * at the line that makes it, whatever order the file uses.
 */
#include "chan.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* Longest name, address, URL or argument accepted: these go into headers and logs. */
#define CHAN__MAX_TEXT 1000
/* Longest command timeout (seconds): a notice must not hold a lease for hours. */
#define CHAN__MAX_TIMEOUT_S 120

/* One arena allocation; the data follows the header, aligned for anything. */
typedef struct chan__block {
    struct chan__block *next;
    max_align_t data[];
} chan__block;

/* What chan_config.arena points to: every allocation behind the config. */
typedef struct chan__arena {
    chan__block *blocks; /* newest first */
} chan__arena;

/* The state of one load. */
typedef struct chan__ctx {
    const char *file;    /* name used in messages */
    const char *text;    /* the input, for locating reader errors */
    size_t len;          /* its length */
    yaml_document_t doc; /* the parsed document; deleted by the caller */
    chan_config *cfg;    /* being filled */
    chan__arena *arena;  /* cfg->arena */
    char *err;           /* CHAN_ERR_LEN bytes */
} chan__ctx;

/* ---- Arena ------------------------------------------------------------- */

/* Zeroed memory owned by the settings being loaded. */
static void *chan__alloc(chan__ctx *c, size_t n)
{
    chan__block *b = xcalloc(1, sizeof(chan__block) + n);
    b->next = c->arena->blocks;
    c->arena->blocks = b;
    return b->data;
}

static char *chan__strdup(chan__ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *p = chan__alloc(c, n + 1);
    memcpy(p, s, n);
    return p;
}

static void chan__arena_free(chan__arena *a)
{
    if (!a)
        return;
    chan__block *b = a->blocks;
    while (b) {
        chan__block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* ---- Errors ------------------------------------------------------------ */

static void chan__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
    SF_PRINTF(4, 0);
static void chan__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
{
    int n = snprintf(err, CHAN_ERR_LEN, "[%s:%d] ", file, line);
    if (n < 0 || n >= CHAN_ERR_LEN)
        return;
    vsnprintf(err + n, CHAN_ERR_LEN - (size_t)n, fmt, ap);
}

static int chan__err_line(char *err, const char *file, int line, const char *fmt, ...)
    SF_PRINTF(4, 5);
static int chan__err_line(char *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chan__verr(err, file, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* The 1-based line of a node; 1 when there is none (libyaml returns NULL for a bad id). */
static int chan__line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Report a problem at node n; always returns -1 so callers can "return chan__err(...)". */
static int chan__err(chan__ctx *c, const yaml_node_t *n, const char *fmt, ...) SF_PRINTF(3, 4);
static int chan__err(chan__ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chan__verr(c->err, c->file, chan__line(n), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Node helpers ------------------------------------------------------ */

static yaml_node_t *chan__node(chan__ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static const char *chan__s(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain empty value ("key:" with nothing after it, or "~"/"null"). */
static bool chan__is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = chan__s(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *chan__kind(const yaml_node_t *n)
{
    if (chan__is_null(n))
        return "an empty value";
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a string";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_NO_NODE:
        break;
    }
    return "nothing";
}

static size_t chan__map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static yaml_node_t *chan__pair_key(chan__ctx *c, const yaml_node_t *n, size_t i)
{
    return chan__node(c, n->data.mapping.pairs.start[i].key);
}

static yaml_node_t *chan__pair_value(chan__ctx *c, const yaml_node_t *n, size_t i)
{
    return chan__node(c, n->data.mapping.pairs.start[i].value);
}

static int chan__want_map(chan__ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return chan__err(c, n, "%s: expected a mapping, got %s", what, chan__kind(n));
    return 0;
}

/* The value of key in mapping m, or NULL. Keys were checked to be unique scalars. */
static yaml_node_t *chan__get(chan__ctx *c, const yaml_node_t *m, const char *key)
{
    for (size_t i = 0; i < chan__map_len(m); i++) {
        yaml_node_t *k = chan__pair_key(c, m, i);
        if (k->type == YAML_SCALAR_NODE && !strcmp(chan__s(k), key))
            return chan__pair_value(c, m, i);
    }
    return NULL;
}

/* "a, b, c" into buf (truncated to size), for "expected one of" messages. */
static void chan__join(char *buf, size_t size, const char *const *items, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", items[i]);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/*
 * Every key of mapping m must be a string, appear once, and (when allowed is
 * not NULL) be one of allowed. Checked before anything is read from m, so a
 * misspelt key is reported as such rather than as a missing one.
 */
static int chan__check_keys(chan__ctx *c, const yaml_node_t *m, const char *what,
                            const char *const *allowed)
{
    for (size_t i = 0; i < chan__map_len(m); i++) {
        yaml_node_t *k = chan__pair_key(c, m, i);
        if (k->type != YAML_SCALAR_NODE)
            return chan__err(c, k, "%s: a key must be a string, got %s", what, chan__kind(k));
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *prev = chan__pair_key(c, m, j);
            if (!strcmp(chan__s(prev), chan__s(k)))
                return chan__err(c, k, "%s: duplicate key \"%s\" (first at line %d)", what,
                                 chan__s(k), chan__line(prev));
        }
        if (!allowed)
            continue;
        size_t n = 0;
        bool known = false;
        for (; allowed[n]; n++)
            if (!strcmp(allowed[n], chan__s(k)))
                known = true;
        if (!known) {
            char list[256];
            chan__join(list, sizeof list, allowed, n);
            return chan__err(c, k, "%s: unknown key \"%s\" (expected one of: %s)", what, chan__s(k),
                             list);
        }
    }
    return 0;
}

/*
 * Every value we keep ends up in a header, an argv or a log line: refuse
 * control characters (a newline in a subject would be a header injection)
 * and anything absurdly long.
 */
static int chan__text_check(chan__ctx *c, const yaml_node_t *v, const char *what, const char *key)
{
    const unsigned char *p = (const unsigned char *)chan__s(v);
    if (strlen((const char *)p) > CHAN__MAX_TEXT)
        return chan__err(c, v, "%s: \"%s\": longer than %d characters", what, key, CHAN__MAX_TEXT);
    for (; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return chan__err(c, v, "%s: \"%s\": control characters are not allowed", what, key);
    return 0;
}

/* A non-empty string value for key; *out is arena-owned, NULL when absent and not required. */
static int chan__get_str(chan__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                         bool required, const char **out)
{
    yaml_node_t *v = chan__get(c, m, key);
    *out = NULL;
    if (!v) {
        if (required)
            return chan__err(c, m, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return chan__err(c, v, "%s: \"%s\": expected a string, got %s", what, key, chan__kind(v));
    if (!*chan__s(v) || chan__is_null(v))
        return chan__err(c, v, "%s: \"%s\": must not be empty", what, key);
    if (chan__text_check(c, v, what, key) < 0)
        return -1;
    *out = chan__strdup(c, chan__s(v));
    return 0;
}

/* [a-z][a-z0-9_-]*, at most 64 characters: names of people, boards, webhooks and commands. */
static bool chan__name_ok(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z') || strlen(s) > 64)
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* ---- Values ------------------------------------------------------------ */

bool chan_email_ok(const char *s)
{
    if (!s)
        return false;
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    if (!at || at == s || !at[1] || strchr(at + 1, '@') || n > 254)
        return false;
    /* Printable ASCII without what would break out of "<addr>" or a header. */
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
            return false;
    }
    /* The domain: at least one dot-separated label, no empty label. */
    const char *d = at + 1;
    if (*d == '.' || d[strlen(d) - 1] == '.' || strstr(d, ".."))
        return false;
    return true;
}

/* An e-mail address for key (optional); *out arena-owned or NULL. */
static int chan__get_email(chan__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                           bool required, const char **out)
{
    if (chan__get_str(c, m, key, what, required, out) < 0)
        return -1;
    if (*out && !chan_email_ok(*out))
        return chan__err(c, chan__get(c, m, key),
                         "%s: \"%s\": \"%s\" is not an e-mail address (expected local@domain, "
                         "printable ASCII, no spaces)",
                         what, key, *out);
    return 0;
}

/* Whether s starts with one of the schemes in the NULL-terminated list. */
static bool chan__has_scheme(const char *s, const char *const *schemes)
{
    for (; *schemes; schemes++)
        if (!strncmp(s, *schemes, strlen(*schemes)) && s[strlen(*schemes)])
            return true;
    return false;
}

/* A URL with one of schemes and something after it, no spaces. */
static int chan__get_url(chan__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                         const char *const *schemes, const char *expect, const char **out)
{
    if (chan__get_str(c, m, key, what, true, out) < 0)
        return -1;
    if (!chan__has_scheme(*out, schemes) || strchr(*out, ' '))
        return chan__err(c, chan__get(c, m, key), "%s: \"%s\": \"%s\" is not %s", what, key, *out,
                         expect);
    return 0;
}

/* The name of a section's entry (a mapping key), checked. */
static int chan__entry_name(chan__ctx *c, const yaml_node_t *k, const char *section)
{
    if (!chan__name_ok(chan__s(k)))
        return chan__err(c, k,
                         "\"%s\": invalid name \"%s\" (expected [a-z][a-z0-9_-]*, at most 64 "
                         "characters)",
                         section, chan__s(k));
    return 0;
}

/*
 * A section: a mapping of named entries, or absent/empty for none. *entries
 * gets the mapping (NULL when there is none). A section written as an empty
 * value is allowed: "webhooks:" with nothing under it declares none.
 */
static int chan__section(chan__ctx *c, const yaml_node_t *top, const char *section,
                         yaml_node_t **entries)
{
    yaml_node_t *v = chan__get(c, top, section);
    *entries = NULL;
    if (!v || chan__is_null(v))
        return 0;
    char what[64];
    snprintf(what, sizeof what, "\"%s\"", section);
    if (chan__want_map(c, v, what) < 0 || chan__check_keys(c, v, what, NULL) < 0)
        return -1;
    for (size_t i = 0; i < chan__map_len(v); i++)
        if (chan__entry_name(c, chan__pair_key(c, v, i), section) < 0)
            return -1;
    *entries = v;
    return 0;
}

/* ---- Sections ---------------------------------------------------------- */

static int chan__parse_webhooks(chan__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"url", "secret_env", NULL};
    static const char *const schemes[] = {"http://", "https://", NULL};
    yaml_node_t *m;
    if (chan__section(c, top, "webhooks", &m) < 0)
        return -1;
    if (!m)
        return 0;
    size_t n = chan__map_len(m);
    chan_webhook *ws = chan__alloc(c, n * sizeof *ws);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = chan__pair_key(c, m, i), *v = chan__pair_value(c, m, i);
        char what[120];
        snprintf(what, sizeof what, "webhook \"%s\"", chan__s(k));
        ws[i].name = chan__strdup(c, chan__s(k));
        ws[i].line = chan__line(k);
        if (chan__want_map(c, v, what) < 0 || chan__check_keys(c, v, what, keys) < 0 ||
            chan__get_url(c, v, "url", what, schemes, "an http:// or https:// URL", &ws[i].url) <
                0 ||
            chan__get_str(c, v, "secret_env", what, true, &ws[i].secret_env) < 0)
            return -1;
        const char *e = ws[i].secret_env;
        bool ok = (*e >= 'A' && *e <= 'Z') || *e == '_';
        for (const char *p = e; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok)
            return chan__err(c, chan__get(c, v, "secret_env"),
                             "%s: \"secret_env\": \"%s\" is not an environment variable name "
                             "(expected [A-Z_][A-Z0-9_]*): the secret itself never goes in this "
                             "file",
                             what, e);
    }
    c->cfg->webhooks = ws;
    c->cfg->nwebhooks = n;
    return 0;
}

static int chan__parse_email(chan__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"smtp", "from", NULL};
    static const char *const schemes[] = {"smtp://", "smtps://", NULL};
    static const char what[] = "\"email\"";
    yaml_node_t *v = chan__get(c, top, "email");
    if (!v || chan__is_null(v))
        return 0;
    if (chan__want_map(c, v, what) < 0 || chan__check_keys(c, v, what, keys) < 0 ||
        chan__get_url(c, v, "smtp", what, schemes, "an smtp:// or smtps:// URL", &c->cfg->smtp) <
            0 ||
        chan__get_email(c, v, "from", what, true, &c->cfg->email_from) < 0)
        return -1;
    return 0;
}

static int chan__parse_commands(chan__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"argv", "timeout_s", NULL};
    yaml_node_t *m;
    if (chan__section(c, top, "commands", &m) < 0)
        return -1;
    if (!m)
        return 0;
    size_t n = chan__map_len(m);
    chan_command *cs = chan__alloc(c, n * sizeof *cs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = chan__pair_key(c, m, i), *v = chan__pair_value(c, m, i);
        char what[120];
        snprintf(what, sizeof what, "command \"%s\"", chan__s(k));
        cs[i].name = chan__strdup(c, chan__s(k));
        cs[i].line = chan__line(k);
        cs[i].timeout_s = CHAN_COMMAND_TIMEOUT_S;
        if (chan__want_map(c, v, what) < 0 || chan__check_keys(c, v, what, keys) < 0)
            return -1;
        yaml_node_t *a = chan__get(c, v, "argv");
        if (!a)
            return chan__err(c, k, "%s: missing \"argv\"", what);
        if (a->type != YAML_SEQUENCE_NODE)
            return chan__err(c, a,
                             "%s: \"argv\": expected a list (the program and its "
                             "arguments), got %s",
                             what, chan__kind(a));
        size_t argc = (size_t)(a->data.sequence.items.top - a->data.sequence.items.start);
        if (argc == 0)
            return chan__err(c, a, "%s: \"argv\": must name the program", what);
        const char **argv = chan__alloc(c, (argc + 1) * sizeof *argv);
        for (size_t j = 0; j < argc; j++) {
            yaml_node_t *item = chan__node(c, a->data.sequence.items.start[j]);
            if (item->type != YAML_SCALAR_NODE || chan__is_null(item))
                return chan__err(c, item, "%s: \"argv\": item %zu: expected a string, got %s", what,
                                 j + 1, chan__kind(item));
            if (chan__text_check(c, item, what, "argv") < 0)
                return -1;
            argv[j] = chan__strdup(c, chan__s(item));
        }
        /* No search path: the daemon runs exactly the program the file names. */
        if (argv[0][0] != '/')
            return chan__err(c, chan__node(c, a->data.sequence.items.start[0]),
                             "%s: \"argv\": the program \"%s\" must be an absolute path", what,
                             argv[0]);
        cs[i].argv = argv;
        cs[i].argc = argc;
        yaml_node_t *t = chan__get(c, v, "timeout_s");
        if (t) {
            const char *s = t->type == YAML_SCALAR_NODE ? chan__s(t) : "";
            size_t len = strlen(s);
            if (len == 0 || len > 3 || strspn(s, "0123456789") != len || s[0] == '0' ||
                atoi(s) > CHAN__MAX_TIMEOUT_S)
                return chan__err(c, t, "%s: \"timeout_s\": expected whole seconds from 1 to %d",
                                 what, CHAN__MAX_TIMEOUT_S);
            cs[i].timeout_s = atoi(s);
        }
    }
    c->cfg->commands = cs;
    c->cfg->ncommands = n;
    return 0;
}

static int chan__parse_people(chan__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"title", "email", "webhook", "command", NULL};
    yaml_node_t *m;
    if (chan__section(c, top, "people", &m) < 0)
        return -1;
    if (!m)
        return 0;
    size_t n = chan__map_len(m);
    chan_person *ps = chan__alloc(c, n * sizeof *ps);
    /* Lookups below need the ones declared so far. */
    c->cfg->people = ps;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = chan__pair_key(c, m, i), *v = chan__pair_value(c, m, i);
        char what[120];
        snprintf(what, sizeof what, "person \"%s\"", chan__s(k));
        chan_person *p = &ps[i];
        p->name = chan__strdup(c, chan__s(k));
        p->line = chan__line(k);
        if (chan__want_map(c, v, what) < 0 || chan__check_keys(c, v, what, keys) < 0 ||
            chan__get_str(c, v, "title", what, true, &p->title) < 0 ||
            chan__get_email(c, v, "email", what, false, &p->email) < 0 ||
            chan__get_str(c, v, "webhook", what, false, &p->webhook) < 0 ||
            chan__get_str(c, v, "command", what, false, &p->command) < 0)
            return -1;
        if (p->email && !c->cfg->smtp)
            return chan__err(c, chan__get(c, v, "email"),
                             "%s: has an e-mail address but the file has no \"email:\" section "
                             "(smtp, from) to send it with",
                             what);
        if (p->webhook && !chan_find_webhook(c->cfg, p->webhook))
            return chan__err(c, chan__get(c, v, "webhook"),
                             "%s: \"webhook\": no webhook \"%s\" is declared under \"webhooks:\"",
                             what, p->webhook);
        if (p->command && !chan_find_command(c->cfg, p->command))
            return chan__err(c, chan__get(c, v, "command"),
                             "%s: \"command\": no command \"%s\" is declared under \"commands:\"",
                             what, p->command);
        if (!p->email && !p->webhook && !p->command)
            return chan__err(c, k,
                             "%s: no \"email\", \"webhook\" or \"command\": there would be no way "
                             "to tell them",
                             what);
        c->cfg->npeople = i + 1;
    }
    return 0;
}

static int chan__parse_boards(chan__ctx *c, const yaml_node_t *top)
{
    yaml_node_t *m;
    if (chan__section(c, top, "boards", &m) < 0)
        return -1;
    if (!m)
        return 0;
    size_t n = chan__map_len(m);
    chan_board_def *bs = chan__alloc(c, n * sizeof *bs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = chan__pair_key(c, m, i), *v = chan__pair_value(c, m, i);
        char what[120];
        snprintf(what, sizeof what, "board \"%s\"", chan__s(k));
        bs[i].name = chan__strdup(c, chan__s(k));
        bs[i].line = chan__line(k);
        if (v->type != YAML_SEQUENCE_NODE)
            return chan__err(c, chan__is_null(v) ? k : v, "%s: expected a list of people, got %s",
                             what, chan__kind(v));
        size_t nm = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (nm == 0)
            return chan__err(c, v, "%s: names nobody: its pack would go to no one", what);
        const char **members = chan__alloc(c, nm * sizeof *members);
        for (size_t j = 0; j < nm; j++) {
            yaml_node_t *item = chan__node(c, v->data.sequence.items.start[j]);
            if (item->type != YAML_SCALAR_NODE || chan__is_null(item))
                return chan__err(c, item, "%s: item %zu: expected a person's name, got %s", what,
                                 j + 1, chan__kind(item));
            const char *name = chan__s(item);
            if (!chan_find_person(c->cfg, name))
                return chan__err(c, item, "%s: no person \"%s\" is declared under \"people:\"",
                                 what, name);
            for (size_t q = 0; q < j; q++)
                if (!strcmp(members[q], name))
                    return chan__err(c, item, "%s: \"%s\" is listed twice", what, name);
            members[j] = chan_find_person(c->cfg, name)->name;
        }
        bs[i].members = members;
        bs[i].nmembers = nm;
    }
    c->cfg->boards = bs;
    c->cfg->nboards = n;
    return 0;
}

/* ---- Top level --------------------------------------------------------- */

static int chan__parse_top(chan__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"channels", "people",   "boards", "webhooks",
                                       "email",    "commands", NULL};
    if (top->type != YAML_MAPPING_NODE)
        return chan__err(c, top, "expected a mapping at the top level, got %s", chan__kind(top));
    if (chan__check_keys(c, top, "top level", keys) < 0)
        return -1;
    yaml_node_t *v = chan__get(c, top, "channels");
    if (!v)
        return chan__err(c, top, "top level: missing \"channels: %d\" (the file format's version)",
                         CHAN_VERSION);
    if (v->type != YAML_SCALAR_NODE || strcmp(chan__s(v), "1") != 0)
        return chan__err(c, v,
                         "\"channels\": expected the format version %d, got %s%s%s (this "
                         "sendflowd reads version %d)",
                         CHAN_VERSION, v->type == YAML_SCALAR_NODE ? "\"" : "",
                         v->type == YAML_SCALAR_NODE ? chan__s(v) : chan__kind(v),
                         v->type == YAML_SCALAR_NODE ? "\"" : "", CHAN_VERSION);
    c->cfg->version = CHAN_VERSION;
    if (chan__parse_webhooks(c, top) < 0 || chan__parse_email(c, top) < 0 ||
        chan__parse_commands(c, top) < 0 || chan__parse_people(c, top) < 0 ||
        chan__parse_boards(c, top) < 0)
        return -1;
    return 0;
}

/* 1-based line of byte offset off in the input (reader errors carry only an offset). */
static int chan__line_of_offset(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static int chan__yaml_error(chan__ctx *c, const yaml_parser_t *p)
{
    int line = p->error == YAML_READER_ERROR
                   ? chan__line_of_offset(c->text, c->len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        return chan__err_line(c->err, c->file, line, "YAML syntax error: %s %s started at line %d",
                              problem, p->context, (int)p->context_mark.line + 1);
    return chan__err_line(c->err, c->file, line, "YAML syntax error: %s", problem);
}

/* ---- Loading ----------------------------------------------------------- */

chan_config *chan_empty(void)
{
    chan_config *c = xcalloc(1, sizeof *c);
    c->file = "(none)";
    return c;
}

int chan_load_string(const char *name, const char *yaml, size_t len, chan_config **out,
                     char err[CHAN_ERR_LEN])
{
    chan__ctx c = {.file = name, .text = yaml, .len = len, .err = err};
    yaml_parser_t parser;
    *out = NULL;
    err[0] = '\0';
    if (!yaml_parser_initialize(&parser))
        return chan__err_line(err, name, 1, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        chan__yaml_error(&c, &parser);
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        rc = chan__err_line(err, name, 1,
                            "empty document: expected \"channels: %d\" and the "
                            "people, boards and channels",
                            CHAN_VERSION);
    } else {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = chan__yaml_error(&c, &parser);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra)
                rc = chan__err(&c, extra, "a second YAML document: one set of channels per file");
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);

    if (rc == 0) {
        c.cfg = xcalloc(1, sizeof *c.cfg);
        c.arena = xcalloc(1, sizeof *c.arena);
        c.cfg->arena = c.arena;
        c.cfg->file = chan__strdup(&c, name);
        rc = chan__parse_top(&c, root);
        if (rc < 0)
            chan_free(c.cfg);
        else
            *out = c.cfg;
    }
    yaml_document_delete(&c.doc);
    return rc;
}

/* chan_load_file, and chan_load_optional when optional: a missing file gives the empty config
 * and 1. */
static int chan__load_file(const char *path, chan_config **out, char err[CHAN_ERR_LEN],
                           bool optional)
{
    *out = NULL;
    err[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f && optional && errno == ENOENT) {
        *out = chan_empty();
        return 1;
    }
    if (!f)
        return chan__err_line(err, path, 1, "cannot open: %s", strerror(errno));
    sb buf = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_addn(&buf, chunk, n);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        sb_free(&buf);
        return chan__err_line(err, path, 1, "cannot read: %s", strerror(saved));
    }
    int rc = chan_load_string(path, sb_str(&buf), buf.len, out, err);
    sb_free(&buf);
    return rc;
}

int chan_load_file(const char *path, chan_config **out, char err[CHAN_ERR_LEN])
{
    return chan__load_file(path, out, err, false);
}

int chan_load_optional(const char *path, chan_config **out, char err[CHAN_ERR_LEN])
{
    return chan__load_file(path, out, err, true);
}

void chan_free(chan_config *c)
{
    if (!c)
        return;
    chan__arena_free(c->arena);
    free(c);
}

/* ---- Lookups ----------------------------------------------------------- */

const chan_person *chan_find_person(const chan_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->npeople; i++)
        if (!strcmp(c->people[i].name, name))
            return &c->people[i];
    return NULL;
}

const chan_webhook *chan_find_webhook(const chan_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->nwebhooks; i++)
        if (!strcmp(c->webhooks[i].name, name))
            return &c->webhooks[i];
    return NULL;
}

const chan_command *chan_find_command(const chan_config *c, const char *name)
{
    for (size_t i = 0; name && i < c->ncommands; i++)
        if (!strcmp(c->commands[i].name, name))
            return &c->commands[i];
    return NULL;
}

const char *const *chan_board(const chan_config *c, const char *board, size_t *n)
{
    for (size_t i = 0; board && i < c->nboards; i++)
        if (!strcmp(c->boards[i].name, board)) {
            *n = c->boards[i].nmembers;
            return c->boards[i].members;
        }
    *n = 0;
    return NULL;
}
