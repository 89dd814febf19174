/*
 * page: paged reads, shared by the daemon and the CLI. Which operations page,
 * their default and largest "limit", and the shape of their cursors are the
 * SF_PAGE table of proto.def; this reads and writes the cursors.
 *
 * Reads are keyset-paginated, never by OFFSET: a cursor names the sort key of
 * the last row a page listed, and the next page starts after it, so each page
 * is one index range scan however deep it is. The cursor is opaque to
 * clients, but simple: "<tag>:<field>:<field>...", e.g. "d1:2026-05-25:17:
 * final_plan" (without the space). Bytes of a name outside [A-Za-z0-9._-] are
 * percent-escaped (%XX, upper-case hex); every other field kind has a fixed
 * alphabet. Parsing is strict: a cursor we could not have written is refused.
 */
#ifndef SF_PAGE_H
#define SF_PAGE_H

#include <stddef.h>

#include "util.h"

/* Most fields a cursor has. */
#define PAGE_FIELDS_MAX 4
/* Longest cursor accepted, in bytes. */
#define PAGE_CURSOR_MAX 512
/* Bytes of an error message from page_cursor_parse or page_limit_parse. */
#define PAGE_ERR_LEN 256

/* One row of proto.def's SF_PAGE table. Strings are static. */
typedef struct page_spec {
    int op;             /* the operation's index in proto.def's SF_OP list */
    const char *tag;    /* "d1": what a cursor of this operation starts with */
    const char *fields; /* one letter per field of the sort key (see proto.def) */
    long def;           /* "limit" when absent */
    long max;           /* largest "limit" */
} page_spec;

/* The paging of operation op (an index in proto.def's SF_OP list), or NULL when it does not page.
 */
const page_spec *page_spec_of(int op);

/*
 * A cursor's fields as the database takes them: a date "YYYY-MM-DD", an id
 * in digits, a rank digit, a name, a timestamp "YYYY-MM-DDTHH:MM:SS.ffffffZ"
 * (written in the cursor as "YYYYMMDDTHHMMSS.ffffffZ", which needs no escape).
 */
typedef struct page_cursor {
    char *field[PAGE_FIELDS_MAX]; /* owned, NUL-terminated */
    size_t n;                     /* strlen(spec->fields) once parsed */
} page_cursor;

/*
 * Parse text as a cursor of spec's operation into *out (zeroed first). 0, or
 * -1 with a sentence in err (PAGE_ERR_LEN bytes) saying what is wrong and
 * *out holding nothing. Free a parsed cursor with page_cursor_free.
 */
int page_cursor_parse(const page_spec *spec, const char *text, page_cursor *out,
                      char err[PAGE_ERR_LEN]) SF_MUSTCHECK;
void page_cursor_free(page_cursor *c);

/*
 * The cursor that continues after a row whose sort key is fields (as the
 * database gives them, strlen(spec->fields) of them, borrowed). A new string
 * (caller frees), or NULL when a field is not of its kind (a row the cursor
 * could not name: the caller must not offer a next page it cannot reach).
 */
char *page_cursor_make(const page_spec *spec, const char *const *fields);

/*
 * Parse a "limit" typed on the command line: digits only, 1 to spec->max. 0
 * with *out set, or -1 with a sentence in err.
 */
int page_limit_parse(const page_spec *spec, const char *s, long *out,
                     char err[PAGE_ERR_LEN]) SF_MUSTCHECK;

#endif
