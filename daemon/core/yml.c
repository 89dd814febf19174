/*
 * yml: shared helpers of the strict YAML loaders (see yml.h).
 */
#include "yml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct yml_block {
    struct yml_block *next;
    max_align_t data[];
} yml_block;

struct yml_arena {
    yml_block *blocks;
};

void *yml_arena_alloc(yml_arena **a, size_t n)
{
    if (!*a)
        *a = xcalloc(1, sizeof **a);
    yml_block *b = xcalloc(1, sizeof(yml_block) + n);
    b->next = (*a)->blocks;
    (*a)->blocks = b;
    return b->data;
}

char *yml_arena_strdup(yml_arena **a, const char *s)
{
    size_t n = strlen(s);
    char *p = yml_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

void *yml_alloc(yml_doc *d, size_t n)
{
    return yml_arena_alloc(&d->arena, n);
}

char *yml_strdup(yml_doc *d, const char *s)
{
    return yml_arena_strdup(&d->arena, s);
}

void yml_arena_free(yml_arena *a)
{
    if (!a)
        return;
    for (yml_block *b = a->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

yml_arena *yml_doc_release_arena(yml_doc *d)
{
    if (!d->arena)
        d->arena = xcalloc(1, sizeof *d->arena);
    yml_arena *a = d->arena;
    d->arena = NULL;
    return a;
}

void yml_doc_done(yml_doc *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    d->loaded = false;
    yml_arena_free(d->arena);
    d->arena = NULL;
}

static void verr(char *err, const char *file, int line, const char *fmt, va_list ap)
    SF_PRINTF(4, 0);
static void verr(char *err, const char *file, int line, const char *fmt, va_list ap)
{
    int n = snprintf(err, YML_ERR_LEN, "[%s:%d] ", file, line);
    if (n < 0 || n >= YML_ERR_LEN)
        return;
    vsnprintf(err + n, YML_ERR_LEN - (size_t)n, fmt, ap);
}

int yml_line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

int yml_err(yml_doc *d, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(d->err, d->file, yml_line(n), fmt, ap);
    va_end(ap);
    return -1;
}

int yml_err_at(char *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verr(err, file, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* 1-based line of byte offset off in the input (reader errors carry only an offset). */
static int line_of_offset(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static int syntax_error(yml_doc *d, const yaml_parser_t *p, const char *text, size_t len)
{
    int line = p->error == YAML_READER_ERROR ? line_of_offset(text, len, p->problem_offset)
                                             : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        return yml_err_at(d->err, d->file, line, "YAML syntax error: %s %s started at line %d",
                          problem, p->context, (int)p->context_mark.line + 1);
    return yml_err_at(d->err, d->file, line, "YAML syntax error: %s", problem);
}

int yml_doc_parse(yml_doc *d, const char *file, const char *text, size_t len, const char *one,
                  char *err, yaml_node_t **root)
{
    memset(d, 0, sizeof *d);
    d->file = file;
    d->err = err;
    err[0] = '\0';
    *root = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return yml_err_at(err, file, 1, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &d->doc)) {
        syntax_error(d, &p, text, len);
        yaml_parser_delete(&p);
        return -1;
    }
    d->loaded = true;
    int rc = 0;
    *root = yaml_document_get_root_node(&d->doc);
    if (*root) {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t next;
        if (!yaml_parser_load(&p, &next)) {
            rc = syntax_error(d, &p, text, len);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra)
                rc = yml_err(d, extra, "a second YAML document: one %s per file", one);
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&p);
    return rc;
}

const char *yml_s(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

bool yml_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = yml_s(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *yml_kind(const yaml_node_t *n)
{
    if (yml_is_null(n))
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

size_t yml_map_len(const yaml_node_t *m)
{
    return m->type == YAML_MAPPING_NODE
               ? (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start)
               : 0;
}

yaml_node_t *yml_key(yml_doc *d, const yaml_node_t *m, size_t i)
{
    return yaml_document_get_node(&d->doc, m->data.mapping.pairs.start[i].key);
}

yaml_node_t *yml_value(yml_doc *d, const yaml_node_t *m, size_t i)
{
    return yaml_document_get_node(&d->doc, m->data.mapping.pairs.start[i].value);
}

size_t yml_seq_len(const yaml_node_t *s)
{
    return s->type == YAML_SEQUENCE_NODE
               ? (size_t)(s->data.sequence.items.top - s->data.sequence.items.start)
               : 0;
}

yaml_node_t *yml_item(yml_doc *d, const yaml_node_t *s, size_t i)
{
    return yaml_document_get_node(&d->doc, s->data.sequence.items.start[i]);
}

yaml_node_t *yml_get(yml_doc *d, const yaml_node_t *m, const char *key)
{
    for (size_t i = 0; i < yml_map_len(m); i++) {
        yaml_node_t *k = yml_key(d, m, i);
        if (k->type == YAML_SCALAR_NODE && !strcmp(yml_s(k), key))
            return yml_value(d, m, i);
    }
    return NULL;
}

const yaml_node_t *yml_key_of(yml_doc *d, const yaml_node_t *m, const yaml_node_t *v)
{
    for (size_t i = 0; i < yml_map_len(m); i++)
        if (yml_value(d, m, i) == v)
            return yml_key(d, m, i);
    return v;
}

int yml_want_map(yml_doc *d, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return yml_err(d, n, "%s: expected a mapping, got %s", what, yml_kind(n));
    return 0;
}

int yml_check_keys(yml_doc *d, const yaml_node_t *m, const char *what, const char *const *allowed)
{
    for (size_t i = 0; i < yml_map_len(m); i++) {
        yaml_node_t *k = yml_key(d, m, i);
        if (k->type != YAML_SCALAR_NODE)
            return yml_err(d, k, "%s: a key must be a string, got %s", what, yml_kind(k));
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *prev = yml_key(d, m, j);
            if (!strcmp(yml_s(prev), yml_s(k)))
                return yml_err(d, k, "%s: duplicate key \"%s\" (first at line %d)", what, yml_s(k),
                               (int)prev->start_mark.line + 1);
        }
        if (!allowed)
            continue;
        bool known = false;
        sb list = {0};
        for (const char *const *a = allowed; *a; a++) {
            known = known || !strcmp(*a, yml_s(k));
            sb_addf(&list, "%s%s", a == allowed ? "" : ", ", *a);
        }
        if (!known) {
            yml_err(d, k, "%s: unknown key \"%s\" (expected one of: %s)", what, yml_s(k),
                    sb_str(&list));
            sb_free(&list);
            return -1;
        }
        sb_free(&list);
    }
    return 0;
}

int yml_get_str(yml_doc *d, const yaml_node_t *m, const char *key, const char *what, bool required,
                const char **out)
{
    yaml_node_t *v = yml_get(d, m, key);
    *out = NULL;
    if (!v)
        return required ? yml_err(d, m, "%s: missing \"%s\"", what, key) : 0;
    if (v->type != YAML_SCALAR_NODE || yml_is_null(v))
        return yml_err(d, v, "%s: \"%s\": expected a string, got %s", what, key, yml_kind(v));
    if (!*yml_s(v))
        return yml_err(d, v, "%s: \"%s\": must not be empty", what, key);
    *out = yml_strdup(d, yml_s(v));
    return 0;
}

int yml_get_bool(yml_doc *d, const yaml_node_t *m, const char *key, const char *what, bool *out)
{
    yaml_node_t *v = yml_get(d, m, key);
    *out = false;
    if (!v)
        return 0;
    if (v->type == YAML_SCALAR_NODE && !strcmp(yml_s(v), "true"))
        *out = true;
    else if (!(v->type == YAML_SCALAR_NODE && !strcmp(yml_s(v), "false")))
        return yml_err(d, v, "%s: \"%s\": expected true or false, got %s%s%s", what, key,
                       v->type == YAML_SCALAR_NODE ? "\"" : "",
                       v->type == YAML_SCALAR_NODE ? yml_s(v) : yml_kind(v),
                       v->type == YAML_SCALAR_NODE ? "\"" : "");
    return 0;
}

int yml_get_version(yml_doc *d, const yaml_node_t *top, const char *key, int *out)
{
    yaml_node_t *v = yml_get(d, top, key);
    if (!v)
        return yml_err(d, top, "top level: missing \"%s\"", key);
    const char *s = v->type == YAML_SCALAR_NODE ? yml_s(v) : "";
    size_t len = strlen(s);
    bool ok = len > 0 && len <= 9 && s[0] != '0' && strspn(s, "0123456789") == len;
    if (!ok)
        return yml_err(d, v, "\"%s\": expected a positive integer, got %s%s%s", key,
                       v->type == YAML_SCALAR_NODE ? "\"" : "",
                       v->type == YAML_SCALAR_NODE ? s : yml_kind(v),
                       v->type == YAML_SCALAR_NODE ? "\"" : "");
    *out = atoi(s);
    return 0;
}

int yml_str_list(yml_doc *d, const yaml_node_t *v, const char *what, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (v->type == YAML_SCALAR_NODE && !yml_is_null(v)) {
        *out = yml_alloc(d, sizeof **out);
        (*out)[0] = yml_strdup(d, yml_s(v));
        *n = 1;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return yml_err(d, v, "%s: expected a list, got %s", what, yml_kind(v));
    size_t len = yml_seq_len(v);
    *out = yml_alloc(d, (len ? len : 1) * sizeof **out);
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *it = yml_item(d, v, i);
        if (it->type != YAML_SCALAR_NODE || yml_is_null(it))
            return yml_err(d, it, "%s: expected a string, got %s", what, yml_kind(it));
        (*out)[i] = yml_strdup(d, yml_s(it));
    }
    *n = len;
    return 0;
}

int yml_period(yml_doc *d, const yaml_node_t *v, const char *what, int *n, cal_unit *unit)
{
    static const char expect[] = "expected \"N days|weeks|months|working days\"";
    if (v->type != YAML_SCALAR_NODE)
        return yml_err(d, v, "%s: %s, got %s", what, expect, yml_kind(v));
    const char *s = yml_s(v), *p = s;
    long count = 0;
    while (*p >= '0' && *p <= '9' && count <= 9999)
        count = count * 10 + (*p++ - '0');
    const char *sp = p;
    while (*p == ' ')
        p++;
    if (sp == s || p == sp || count > 9999 || cal_unit_parse(p, unit) < 0)
        return yml_err(d, v, "%s: %s, got \"%s\"", what, expect, s);
    *n = (int)count;
    return 0;
}

bool yml_ident_ok(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}
