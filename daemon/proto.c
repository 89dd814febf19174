/* proto: operation table and strict request-field readers (see proto.h). */
#include "proto.h"

#include <string.h>

static const char *const op_names[] = {
#define SF_OP(sym, name, help) name,
#include "proto.def"
#undef SF_OP
};

static const char *const err_codes[] = {
#define SF_ERR(sym, code, when) code,
#include "proto.def"
#undef SF_ERR
};

const char *proto_op_name(proto_op op)
{
    return op < PROTO_OP_COUNT ? op_names[op] : "unknown";
}

proto_op proto_op_lookup(const char *name)
{
    for (int i = 0; i < PROTO_OP_COUNT; i++) {
        if (strcmp(op_names[i], name) == 0)
            return (proto_op)i;
    }
    return PROTO_OP_UNKNOWN;
}

const char *proto_op_list(void)
{
    static char list[256];
    if (!list[0]) {
        for (int i = 0; i < PROTO_OP_COUNT; i++) {
            if (i)
                strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, op_names[i], sizeof list - strlen(list) - 1);
        }
    }
    return list;
}

const char *proto_err_code(proto_err e)
{
    return e < PROTO_ERR_COUNT ? err_codes[e] : "internal";
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int fail(proto_err *code, proto_err c, sb *err, const char *fmt, ...) SF_PRINTF(4, 5);
static int fail(proto_err *code, proto_err c, sb *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(err, fmt, ap);
    va_end(ap);
    *code = c;
    return -1;
}

int proto_str(json_t *msg, const char *field, bool required, const char **out, proto_err *code,
              sb *err)
{
    json_t *v = json_object_get(msg, field);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return fail(code, PROTO_ERR_BAD_REQUEST, err, "missing \"%s\"", field);
        return 0;
    }
    if (!json_is_string(v))
        return fail(code, PROTO_ERR_BAD_REQUEST, err, "\"%s\" must be a string, not %s", field,
                    type_name(v));
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(code, PROTO_ERR_BAD_REQUEST, err, "\"%s\" must not contain NUL characters",
                    field);
    *out = json_string_value(v);
    return 0;
}

int proto_case_ref(json_t *msg, const char *field, const char **out, proto_err *code, sb *err)
{
    if (proto_str(msg, field, true, out, code, err) != 0)
        return -1;
    size_t n = strlen(*out);
    if (n == 0 || n > 64 ||
        strspn(*out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._/-") != n)
        return fail(code, PROTO_ERR_BAD_REQUEST, err,
                    "\"%s\" must be a case reference of 1 to 64 letters, digits or . _ / -", field);
    return 0;
}

int proto_name(json_t *msg, const char *field, bool required, const char **out, proto_err *code,
               sb *err)
{
    *out = NULL;
    if (proto_str(msg, field, required, out, code, err) != 0)
        return -1;
    if (!*out)
        return 0;
    size_t n = strlen(*out);
    if (n == 0 || n > 64 ||
        strspn(*out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-@") != n)
        return fail(code, PROTO_ERR_BAD_REQUEST, err,
                    "\"%s\" must be a name of 1 to 64 letters, digits or . _ - @ (as in "
                    "channels.yaml)",
                    field);
    return 0;
}

int proto_date(json_t *msg, const char *field, bool required, cal_day *out, bool *present,
               proto_err *code, sb *err)
{
    const char *s;
    if (present)
        *present = false;
    *out = CAL_NONE;
    if (proto_str(msg, field, required, &s, code, err) != 0)
        return -1;
    if (!s)
        return 0;
    if (cal_parse(s, out) != 0)
        return fail(code, PROTO_ERR_BAD_DATE, err,
                    "\"%s\": \"%s\" is not a real date in the form YYYY-MM-DD (years %d-%d)", field,
                    s, CAL_MIN_YEAR, CAL_MAX_YEAR);
    if (present)
        *present = true;
    return 0;
}

int proto_uint(json_t *msg, const char *field, long def, long max, long *out, proto_err *code,
               sb *err)
{
    json_t *v = json_object_get(msg, field);
    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
        return fail(code, PROTO_ERR_BAD_REQUEST, err, "\"%s\" must be an integer from 0 to %ld",
                    field, max);
    *out = (long)json_integer_value(v);
    return 0;
}

int proto_bool(json_t *msg, const char *field, bool def, bool *out, proto_err *code, sb *err)
{
    json_t *v = json_object_get(msg, field);
    *out = def;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return fail(code, PROTO_ERR_BAD_REQUEST, err, "\"%s\" must be true or false, not %s", field,
                    type_name(v));
    *out = json_is_true(v);
    return 0;
}

int proto_attrs(json_t *msg, const char *field, wf_kv **out, size_t *n, proto_err *code, sb *err)
{
    json_t *v = json_object_get(msg, field);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(code, PROTO_ERR_BAD_REQUEST, err,
                    "\"%s\" must be an object of string values, not %s", field, type_name(v));
    wf_kv *kv = xcalloc(json_object_size(v) + 1, sizeof *kv);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        if (!json_is_string(val)) {
            free(kv);
            return fail(code, PROTO_ERR_BAD_ATTRIBUTE, err,
                        "attribute \"%s\" must be a string, not %s", key, type_name(val));
        }
        if (!*key || strlen(key) > 64) {
            free(kv);
            return fail(code, PROTO_ERR_BAD_ATTRIBUTE, err,
                        "attribute names must be 1 to 64 characters");
        }
        kv[i].key = key;
        kv[i].value = json_string_value(val);
        i++;
    }
    *out = kv;
    *n = i;
    return 0;
}

int proto_page(json_t *msg, const page_spec *spec, long *limit, page_cursor *cur, proto_err *code,
               sb *err)
{
    memset(cur, 0, sizeof *cur);
    json_t *v = json_object_get(msg, "limit");
    *limit = spec->def;
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v))
            return fail(code, PROTO_ERR_BAD_REQUEST, err,
                        "\"limit\" must be an integer from 1 to %ld (rows per page), not %s",
                        spec->max, type_name(v));
        if (json_integer_value(v) < 1 || json_integer_value(v) > spec->max)
            return fail(code, PROTO_ERR_BAD_REQUEST, err,
                        "\"limit\" must be an integer from 1 to %ld (rows per page), not "
                        "%" JSON_INTEGER_FORMAT,
                        spec->max, json_integer_value(v));
        *limit = (long)json_integer_value(v);
    }
    const char *text;
    if (proto_str(msg, "cursor", false, &text, code, err) != 0)
        return -1;
    char why[PAGE_ERR_LEN];
    if (text && page_cursor_parse(spec, text, cur, why) != 0)
        return fail(code, PROTO_ERR_BAD_REQUEST, err, "\"cursor\" %s", why);
    return 0;
}
