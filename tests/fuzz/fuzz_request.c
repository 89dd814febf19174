/*
 * fuzz_request: a request line from the socket, as the daemon reads it.
 *
 * The bytes are parsed with jansson exactly as server.c does (json_loadb with
 * JSON_REJECT_DUPLICATES); an object then goes through every field reader of
 * daemon/proto.c with the fields and bounds the handlers use (op, case, type,
 * workflow, on, dob, attrs, key, process, actor, to, within, overdue). Each
 * reader must either give a value that meets its own promise or fail with a
 * known error code and a message the daemon can put in a reply. A violation
 * is a __builtin_trap(), which libFuzzer reports with the input.
 */
#include "proto.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * After a reader: on failure the code is known and the message can be sent
 * back, built as server.c's error_object builds it; err is emptied for the
 * next reader.
 */
static void after(int rc, proto_err code, sb *err)
{
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        CHECK(code < PROTO_ERR_COUNT && err->len > 0);
        json_t *o = json_pack("{s:O?,s:b,s:{s:s,s:s}}", "id", NULL, "ok", 0, "error", "code",
                              proto_err_code(code), "message", sb_str(err));
        CHECK(o != NULL);
        json_decref(o);
    }
    sb_free(err);
}

static void check_str(json_t *msg, const char *field, bool required)
{
    const char *s = NULL;
    proto_err code = PROTO_ERR_COUNT;
    sb err = {0};
    int rc = proto_str(msg, field, required, &s, &code, &err);
    if (rc == 0)
        CHECK(s ? strlen(s) == json_string_length(json_object_get(msg, field)) : !required);
    after(rc, code, &err);
}

static void check_date(json_t *msg, const char *field, bool required)
{
    cal_day d;
    bool present = true;
    proto_err code = PROTO_ERR_COUNT;
    sb err = {0};
    int rc = proto_date(msg, field, required, &d, &present, &code, &err);
    if (rc == 0) {
        CHECK(present || !required);
        CHECK(present == (d != CAL_NONE));
        if (present) {
            char buf[CAL_DATE_LEN];
            CHECK(strcmp(cal_format(d, buf), json_string_value(json_object_get(msg, field))) == 0);
        }
    }
    after(rc, code, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg)
        return 0;
    if (!json_is_object(msg)) {
        json_decref(msg);
        return 0;
    }

    json_t *op = json_object_get(msg, "op");
    if (json_is_string(op)) {
        proto_op o = proto_op_lookup(json_string_value(op));
        CHECK(o <= PROTO_OP_UNKNOWN);
    }
    CHECK(proto_op_list()[0] != '\0');

    proto_err code = PROTO_ERR_COUNT;
    sb err = {0};

    const char *ref = NULL;
    int rc = proto_case_ref(msg, "case", &ref, &code, &err);
    if (rc == 0)
        CHECK(ref && strlen(ref) >= 1 && strlen(ref) <= 64);
    after(rc, code, &err);

    check_str(msg, "type", true);
    check_str(msg, "workflow", true);
    check_str(msg, "key", false);
    check_str(msg, "process", false);
    check_str(msg, "actor", false);
    check_str(msg, "to", true);
    check_date(msg, "on", true);
    check_date(msg, "dob", false);

    wf_kv *kv = NULL;
    size_t n = 0;
    rc = proto_attrs(msg, "attrs", &kv, &n, &code, &err);
    if (rc == 0) {
        json_t *a = json_object_get(msg, "attrs");
        CHECK(n == (json_is_object(a) ? json_object_size(a) : 0));
        for (size_t i = 0; i < n; i++)
            CHECK(kv[i].key && kv[i].key[0] && strlen(kv[i].key) <= 64 && kv[i].value);
    } else {
        CHECK(kv == NULL && n == 0);
    }
    free(kv);
    after(rc, code, &err);

    long within = -1;
    rc = proto_uint(msg, "within", 7, 3660, &within, &code, &err);
    if (rc == 0)
        CHECK(within >= 0 && within <= 3660);
    after(rc, code, &err);

    bool overdue = true;
    rc = proto_bool(msg, "overdue", false, &overdue, &code, &err);
    after(rc, code, &err);

    json_decref(msg);
    return 0;
}
