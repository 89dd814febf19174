/*
 * proto: the operations and error codes of the socket protocol (from
 * core/proto.def, shared with the CLI) and strict readers for request fields,
 * each of which explains precisely what is wrong with a field.
 */
#ifndef SF_PROTO_H
#define SF_PROTO_H

#include <jansson.h>
#include <stdbool.h>

#include "cal.h"
#include "page.h"
#include "util.h"
#include "wf.h"

typedef enum proto_op {
#define SF_OP(sym, name, help) PROTO_OP_##sym,
#include "proto.def"
#undef SF_OP
    PROTO_OP_COUNT,
    PROTO_OP_UNKNOWN = PROTO_OP_COUNT,
} proto_op;

typedef enum proto_err {
#define SF_ERR(sym, code, when) PROTO_ERR_##sym,
#include "proto.def"
#undef SF_ERR
    PROTO_ERR_COUNT,
} proto_err;

/* The operation called name, or PROTO_OP_UNKNOWN. */
proto_op proto_op_lookup(const char *name);
/* The wire name of op ("due"). Static storage. */
const char *proto_op_name(proto_op op);
/* Comma-separated list of every operation name, for messages. Static storage. */
const char *proto_op_list(void);
/* Wire code of an error ("bad_date"). Static storage. */
const char *proto_err_code(proto_err e);

/*
 * Field readers. Each returns 0 and sets *out (borrowed from msg, or a
 * default when optional and absent), or -1 with a sentence in err naming the
 * field and what was wrong, and *code set to the protocol error to reply with.
 */
int proto_str(json_t *msg, const char *field, bool required, const char **out, proto_err *code,
              sb *err) SF_MUSTCHECK;
/* A case reference: 1-64 characters of A-Z a-z 0-9 . _ / - */
int proto_case_ref(json_t *msg, const char *field, const char **out, proto_err *code,
                   sb *err) SF_MUSTCHECK;
/* A person's or team's name (officer, team): 1-64 letters, digits or . _ - @; absent: NULL. */
int proto_name(json_t *msg, const char *field, bool required, const char **out, proto_err *code,
               sb *err) SF_MUSTCHECK;
/* A YYYY-MM-DD date (real dates only). *present is false when optional and absent. */
int proto_date(json_t *msg, const char *field, bool required, cal_day *out, bool *present,
               proto_err *code, sb *err) SF_MUSTCHECK;
/* A non-negative integer no larger than max; *out = def when absent. */
int proto_uint(json_t *msg, const char *field, long def, long max, long *out, proto_err *code,
               sb *err) SF_MUSTCHECK;
/* A boolean; *out = def when absent. */
int proto_bool(json_t *msg, const char *field, bool def, bool *out, proto_err *code,
               sb *err) SF_MUSTCHECK;
/*
 * "attrs": an object of string values (absent = empty). *out is a new array of
 * pairs borrowing msg's strings: the caller frees the array only.
 */
int proto_attrs(json_t *msg, const char *field, wf_kv **out, size_t *n, proto_err *code,
                sb *err) SF_MUSTCHECK;
/*
 * "limit" and "cursor" of an operation that pages (proto.def's SF_PAGE):
 * *limit is the page size (spec->def when absent), *cur the parsed cursor
 * (cur->n == 0 when absent; the caller frees it with page_cursor_free).
 */
int proto_page(json_t *msg, const page_spec *spec, long *limit, page_cursor *cur, proto_err *code,
               sb *err) SF_MUSTCHECK;

#endif
