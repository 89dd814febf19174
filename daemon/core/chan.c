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

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yml.h"

/* Longest name, address, URL or argument accepted: these go into headers and logs. */
#define CHAN__MAX_TEXT 1000
/* Longest command timeout (seconds): a notice must not hold a lease for hours. */
#define CHAN__MAX_TIMEOUT_S 120

/* The state of one load. */
typedef struct chan__ctx {
    yml_doc d;        /* the parsed document, its arena and the error buffer */
    chan_config *cfg; /* being filled */
} chan__ctx;

_Static_assert(CHAN_ERR_LEN == YML_ERR_LEN, "one error buffer size for every loader");

/* ---- Helpers ---------------------------------------------------------- */

/*
 * Every value we keep ends up in a header, an argv or a log line: refuse
 * control characters (a newline in a subject would be a header injection)
 * and anything absurdly long.
 */
static int chan__text_check(chan__ctx *c, const yaml_node_t *v, const char *what, const char *key)
{
    const unsigned char *p = (const unsigned char *)yml_s(v);
    if (strlen((const char *)p) > CHAN__MAX_TEXT)
        return yml_err(&c->d, v, "%s: \"%s\": longer than %d characters", what, key,
                       CHAN__MAX_TEXT);
    for (; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return yml_err(&c->d, v, "%s: \"%s\": control characters are not allowed", what, key);
    return 0;
}

/* A non-empty string value for key, checked as text; *out is arena-owned, NULL when absent and
 * not required. */
static int chan__get_str(chan__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                         bool required, const char **out)
{
    if (yml_get_str(&c->d, m, key, what, required, out) < 0)
        return -1;
    return *out ? chan__text_check(c, yml_get(&c->d, m, key), what, key) : 0;
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
        return yml_err(&c->d, yml_get(&c->d, m, key),
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
        return yml_err(&c->d, yml_get(&c->d, m, key), "%s: \"%s\": \"%s\" is not %s", what, key,
                       *out, expect);
    return 0;
}

/* The name of a section's entry (a mapping key), checked. */
static int chan__entry_name(chan__ctx *c, const yaml_node_t *k, const char *section)
{
    if (!chan__name_ok(yml_s(k)))
        return yml_err(&c->d, k,
                       "\"%s\": invalid name \"%s\" (expected [a-z][a-z0-9_-]*, at most 64 "
                       "characters)",
                       section, yml_s(k));
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
    yaml_node_t *v = yml_get(&c->d, top, section);
    *entries = NULL;
    if (!v || yml_is_null(v))
        return 0;
    char what[64];
    snprintf(what, sizeof what, "\"%s\"", section);
    if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, NULL) < 0)
        return -1;
    for (size_t i = 0; i < yml_map_len(v); i++)
        if (chan__entry_name(c, yml_key(&c->d, v, i), section) < 0)
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
    size_t n = yml_map_len(m);
    chan_webhook *ws = yml_alloc(&c->d, n * sizeof *ws);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, m, i), *v = yml_value(&c->d, m, i);
        char what[120];
        snprintf(what, sizeof what, "webhook \"%s\"", yml_s(k));
        ws[i].name = yml_strdup(&c->d, yml_s(k));
        ws[i].line = yml_line(k);
        if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0 ||
            chan__get_url(c, v, "url", what, schemes, "an http:// or https:// URL", &ws[i].url) <
                0 ||
            chan__get_str(c, v, "secret_env", what, true, &ws[i].secret_env) < 0)
            return -1;
        const char *e = ws[i].secret_env;
        bool ok = (*e >= 'A' && *e <= 'Z') || *e == '_';
        for (const char *p = e; ok && *p; p++)
            ok = (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok)
            return yml_err(&c->d, yml_get(&c->d, v, "secret_env"),
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
    yaml_node_t *v = yml_get(&c->d, top, "email");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0 ||
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
    size_t n = yml_map_len(m);
    chan_command *cs = yml_alloc(&c->d, n * sizeof *cs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, m, i), *v = yml_value(&c->d, m, i);
        char what[120];
        snprintf(what, sizeof what, "command \"%s\"", yml_s(k));
        cs[i].name = yml_strdup(&c->d, yml_s(k));
        cs[i].line = yml_line(k);
        cs[i].timeout_s = CHAN_COMMAND_TIMEOUT_S;
        if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0)
            return -1;
        yaml_node_t *a = yml_get(&c->d, v, "argv");
        if (!a)
            return yml_err(&c->d, k, "%s: missing \"argv\"", what);
        if (a->type != YAML_SEQUENCE_NODE)
            return yml_err(&c->d, a,
                           "%s: \"argv\": expected a list (the program and its "
                           "arguments), got %s",
                           what, yml_kind(a));
        size_t argc = yml_seq_len(a);
        if (argc == 0)
            return yml_err(&c->d, a, "%s: \"argv\": must name the program", what);
        const char **argv = yml_alloc(&c->d, (argc + 1) * sizeof *argv);
        for (size_t j = 0; j < argc; j++) {
            yaml_node_t *item = yml_item(&c->d, a, j);
            if (item->type != YAML_SCALAR_NODE || yml_is_null(item))
                return yml_err(&c->d, item, "%s: \"argv\": item %zu: expected a string, got %s",
                               what, j + 1, yml_kind(item));
            if (chan__text_check(c, item, what, "argv") < 0)
                return -1;
            argv[j] = yml_strdup(&c->d, yml_s(item));
        }
        /* No search path: the daemon runs exactly the program the file names. */
        if (argv[0][0] != '/')
            return yml_err(&c->d, yml_item(&c->d, a, 0),
                           "%s: \"argv\": the program \"%s\" must be an absolute path", what,
                           argv[0]);
        cs[i].argv = argv;
        cs[i].argc = argc;
        yaml_node_t *t = yml_get(&c->d, v, "timeout_s");
        if (t) {
            const char *s = t->type == YAML_SCALAR_NODE ? yml_s(t) : "";
            size_t len = strlen(s);
            if (len == 0 || len > 3 || strspn(s, "0123456789") != len || s[0] == '0' ||
                atoi(s) > CHAN__MAX_TIMEOUT_S)
                return yml_err(&c->d, t, "%s: \"timeout_s\": expected whole seconds from 1 to %d",
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
    size_t n = yml_map_len(m);
    chan_person *ps = yml_alloc(&c->d, n * sizeof *ps);
    /* Lookups below need the ones declared so far. */
    c->cfg->people = ps;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, m, i), *v = yml_value(&c->d, m, i);
        char what[120];
        snprintf(what, sizeof what, "person \"%s\"", yml_s(k));
        chan_person *p = &ps[i];
        p->name = yml_strdup(&c->d, yml_s(k));
        p->line = yml_line(k);
        if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0 ||
            chan__get_str(c, v, "title", what, true, &p->title) < 0 ||
            chan__get_email(c, v, "email", what, false, &p->email) < 0 ||
            chan__get_str(c, v, "webhook", what, false, &p->webhook) < 0 ||
            chan__get_str(c, v, "command", what, false, &p->command) < 0)
            return -1;
        if (p->email && !c->cfg->smtp)
            return yml_err(&c->d, yml_get(&c->d, v, "email"),
                           "%s: has an e-mail address but the file has no \"email:\" section "
                           "(smtp, from) to send it with",
                           what);
        if (p->webhook && !chan_find_webhook(c->cfg, p->webhook))
            return yml_err(&c->d, yml_get(&c->d, v, "webhook"),
                           "%s: \"webhook\": no webhook \"%s\" is declared under \"webhooks:\"",
                           what, p->webhook);
        if (p->command && !chan_find_command(c->cfg, p->command))
            return yml_err(&c->d, yml_get(&c->d, v, "command"),
                           "%s: \"command\": no command \"%s\" is declared under \"commands:\"",
                           what, p->command);
        if (!p->email && !p->webhook && !p->command)
            return yml_err(&c->d, k,
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
    size_t n = yml_map_len(m);
    chan_board_def *bs = yml_alloc(&c->d, n * sizeof *bs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, m, i), *v = yml_value(&c->d, m, i);
        char what[120];
        snprintf(what, sizeof what, "board \"%s\"", yml_s(k));
        bs[i].name = yml_strdup(&c->d, yml_s(k));
        bs[i].line = yml_line(k);
        if (v->type != YAML_SEQUENCE_NODE)
            return yml_err(&c->d, yml_is_null(v) ? k : v, "%s: expected a list of people, got %s",
                           what, yml_kind(v));
        size_t nm = yml_seq_len(v);
        if (nm == 0)
            return yml_err(&c->d, v, "%s: names nobody: its pack would go to no one", what);
        const char **members = yml_alloc(&c->d, nm * sizeof *members);
        for (size_t j = 0; j < nm; j++) {
            yaml_node_t *item = yml_item(&c->d, v, j);
            if (item->type != YAML_SCALAR_NODE || yml_is_null(item))
                return yml_err(&c->d, item, "%s: item %zu: expected a person's name, got %s", what,
                               j + 1, yml_kind(item));
            const char *name = yml_s(item);
            if (!chan_find_person(c->cfg, name))
                return yml_err(&c->d, item, "%s: no person \"%s\" is declared under \"people:\"",
                               what, name);
            for (size_t q = 0; q < j; q++)
                if (!strcmp(members[q], name))
                    return yml_err(&c->d, item, "%s: \"%s\" is listed twice", what, name);
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
        return yml_err(&c->d, top, "expected a mapping at the top level, got %s", yml_kind(top));
    if (yml_check_keys(&c->d, top, "top level", keys) < 0)
        return -1;
    yaml_node_t *v = yml_get(&c->d, top, "channels");
    if (!v)
        return yml_err(&c->d, top,
                       "top level: missing \"channels: %d\" (the file format's version)",
                       CHAN_VERSION);
    if (v->type != YAML_SCALAR_NODE || strcmp(yml_s(v), "1") != 0)
        return yml_err(&c->d, v,
                       "\"channels\": expected the format version %d, got %s%s%s (this "
                       "sendflowd reads version %d)",
                       CHAN_VERSION, v->type == YAML_SCALAR_NODE ? "\"" : "",
                       v->type == YAML_SCALAR_NODE ? yml_s(v) : yml_kind(v),
                       v->type == YAML_SCALAR_NODE ? "\"" : "", CHAN_VERSION);
    c->cfg->version = CHAN_VERSION;
    if (chan__parse_webhooks(c, top) < 0 || chan__parse_email(c, top) < 0 ||
        chan__parse_commands(c, top) < 0 || chan__parse_people(c, top) < 0 ||
        chan__parse_boards(c, top) < 0)
        return -1;
    return 0;
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
    chan__ctx c = {0};
    yaml_node_t *root;
    *out = NULL;
    int rc = yml_doc_parse(&c.d, name, yaml, len, "set of channels", err, &root);
    if (rc == 0 && !root)
        rc = yml_err(&c.d, NULL,
                     "empty document: expected \"channels: %d\" and the people, boards and "
                     "channels",
                     CHAN_VERSION);
    if (rc == 0) {
        c.cfg = xcalloc(1, sizeof *c.cfg);
        c.cfg->file = yml_strdup(&c.d, name);
        rc = chan__parse_top(&c, root);
    }
    if (rc == 0) {
        c.cfg->arena = yml_doc_release_arena(&c.d);
        *out = c.cfg;
    } else {
        free(c.cfg);
    }
    yml_doc_done(&c.d);
    return rc;
}

void chan_free(chan_config *c)
{
    if (!c)
        return;
    yml_arena_free(c->arena);
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
