/*
 * yml: what every strict YAML loader of the project needs, in one place: the
 * parsed document, an arena that owns everything the loader keeps, "[file:
 * line] problem" errors, and node helpers (mappings, keys checked against a
 * list, strings, periods such as "10 working days"). A loader fills a
 * yml_doc, walks it, and keeps what it copies into the arena.
 *
 * Every loader of the core (wf, hol, svc, chan, esc) is built on it, so they
 * agree on what counts as an empty value, a duplicate key and an error line.
 * Pure: the text comes from the caller, which reads the files (daemon/load.h).
 */
#ifndef SF_YML_H
#define SF_YML_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "cal.h"
#include "util.h"

#define YML_ERR_LEN 512

/* Memory owned by what a loader builds; freed as a whole. */
typedef struct yml_arena yml_arena;

/* One load in progress. */
typedef struct yml_doc {
    const char *file;    /* name used in messages */
    yaml_document_t doc; /* the parsed document */
    bool loaded;         /* doc must be deleted */
    yml_arena *arena;    /* owned until yml_doc_release_arena */
    char *err;           /* YML_ERR_LEN bytes, owned by the caller */
} yml_doc;

/*
 * Parse text (len bytes) as one YAML document named file for messages; err
 * (YML_ERR_LEN bytes) receives problems: a syntax error at its line, or a
 * second document ("a second YAML document: one <one> per file"). 0 and *root
 * (NULL for an empty document), or -1 with err set. Finish with yml_doc_done
 * either way.
 */
int yml_doc_parse(yml_doc *d, const char *file, const char *text, size_t len, const char *one,
                  char *err, yaml_node_t **root) SF_MUSTCHECK;
/* Delete the document and, unless released, the arena. */
void yml_doc_done(yml_doc *d);
/* Take the arena (to free later with yml_arena_free); the document keeps none. */
yml_arena *yml_doc_release_arena(yml_doc *d);
/* Free an arena and every allocation in it; NULL is fine. */
void yml_arena_free(yml_arena *a);
/* Zeroed memory / a copy of s owned by *a (created when NULL), for what is built outside a load. */
void *yml_arena_alloc(yml_arena **a, size_t n);
char *yml_arena_strdup(yml_arena **a, const char *s);

/* Zeroed memory / a copy of s owned by the document's arena. */
void *yml_alloc(yml_doc *d, size_t n);
char *yml_strdup(yml_doc *d, const char *s);

/* Report a problem at node n ("[file:line] ..."; line 1 when n is NULL); returns -1. */
int yml_err(yml_doc *d, const yaml_node_t *n, const char *fmt, ...) SF_PRINTF(3, 4);
/* "[file:line] ..." into err (YML_ERR_LEN bytes), for problems found after loading; returns -1. */
int yml_err_at(char *err, const char *file, int line, const char *fmt, ...) SF_PRINTF(4, 5);
/* The 1-based line of a node; 1 for NULL. */
int yml_line(const yaml_node_t *n);

/* A scalar's text. */
const char *yml_s(const yaml_node_t *n);
/* A plain empty value (nothing, "~", "null"). */
bool yml_is_null(const yaml_node_t *n);
/* "a string", "a list", "a mapping", "an empty value": for messages. */
const char *yml_kind(const yaml_node_t *n);
/* Pairs of a mapping, items of a sequence. */
size_t yml_map_len(const yaml_node_t *m);
yaml_node_t *yml_key(yml_doc *d, const yaml_node_t *m, size_t i);
yaml_node_t *yml_value(yml_doc *d, const yaml_node_t *m, size_t i);
size_t yml_seq_len(const yaml_node_t *s);
yaml_node_t *yml_item(yml_doc *d, const yaml_node_t *s, size_t i);
/* The value of key in mapping m, or NULL. */
yaml_node_t *yml_get(yml_doc *d, const yaml_node_t *m, const char *key);
/* The key whose value is v in mapping m (for messages about a value as a whole); v if none. */
const yaml_node_t *yml_key_of(yml_doc *d, const yaml_node_t *m, const yaml_node_t *v);
/* -1 (reported) unless n is a mapping. */
int yml_want_map(yml_doc *d, const yaml_node_t *n, const char *what);
/* Keys are unique strings and (allowed != NULL, NULL-terminated) known; -1 reported otherwise. */
int yml_check_keys(yml_doc *d, const yaml_node_t *m, const char *what, const char *const *allowed);
/* A non-empty string for key (arena copy), NULL when absent and not required. */
int yml_get_str(yml_doc *d, const yaml_node_t *m, const char *key, const char *what, bool required,
                const char **out);
/* true or false for key; false when absent. */
int yml_get_bool(yml_doc *d, const yaml_node_t *m, const char *key, const char *what, bool *out);
/* "version:" (key) of the top-level mapping: a positive integer of at most 9 digits. */
int yml_get_version(yml_doc *d, const yaml_node_t *top, const char *key, int *out);
/* A list of non-empty strings (a single string counts as a list of one); arena-owned. */
int yml_str_list(yml_doc *d, const yaml_node_t *v, const char *what, const char ***out, size_t *n);
/* "N unit" (units as cal_unit_parse: days, weeks, months, years, working days), N 0..9999. */
int yml_period(yml_doc *d, const yaml_node_t *v, const char *what, int *n, cal_unit *unit);
/* [a-z][a-z0-9_]*. */
bool yml_ident_ok(const char *s);

#endif
