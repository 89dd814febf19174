/*
 * test_page: the paging table and the cursor codec (daemon/core/page.c):
 * cursors round-trip, and a cursor the daemon could not have written is
 * refused, whatever is wrong with it.
 */
#include <stdlib.h>

#include "check.h"
#include "page.h"

/* The operations' indexes, as page.c numbers them from proto.def. */
enum {
#define SF_OP(sym, name, help) OP_##sym,
#include "proto.def"
#undef SF_OP
};

static void test_table(void)
{
    CHECK(page_spec_of(OP_PING) == NULL);
    CHECK(page_spec_of(OP_SHOW) == NULL);
    const page_spec *due = page_spec_of(OP_DUE);
    CHECK(due != NULL);
    CHECK_STR(due->tag, "d1");
    CHECK_INT(due->def, 500);
    CHECK_INT(due->max, 1000);
    CHECK_INT(page_spec_of(OP_ESCALATIONS)->def, 100);
    CHECK_INT(page_spec_of(OP_HISTORY)->def, 500);
    CHECK_INT(page_spec_of(OP_OUTBOX)->def, 1000);
}

/* make then parse gives the fields back; returns the cursor (caller frees). */
static char *round_trip(const page_spec *s, const char *const *fields, size_t n)
{
    char *c = page_cursor_make(s, fields);
    CHECK(c != NULL);
    if (!c)
        return NULL;
    page_cursor pc;
    char err[PAGE_ERR_LEN];
    CHECK_INT(page_cursor_parse(s, c, &pc, err), 0);
    CHECK_INT(pc.n, n);
    for (size_t i = 0; i < n && i < pc.n; i++)
        CHECK_STR(pc.field[i], fields[i]);
    page_cursor_free(&pc);
    return c;
}

static void test_round_trip(void)
{
    const char *due[3] = {"2026-05-25", "123", "final_plan"};
    char *c = round_trip(page_spec_of(OP_DUE), due, 3);
    CHECK_STR(c, "d1:2026-05-25:123:final_plan");
    free(c);
    const char *odd[3] = {"2026-05-25", "1", "a b:c%"};
    c = round_trip(page_spec_of(OP_DUE), odd, 3);
    CHECK_STR(c, "d1:2026-05-25:1:a%20b%3Ac%25");
    free(c);
    const char *hist[3] = {"2026-01-05T09:00:00.250001Z", "0", "12"};
    c = round_trip(page_spec_of(OP_HISTORY), hist, 3);
    CHECK_STR(c, "h1:20260105T090000.250001Z:0:12");
    free(c);
    const char *esc[1] = {"9007199254740993"};
    c = round_trip(page_spec_of(OP_ESCALATIONS), esc, 1);
    CHECK_STR(c, "e1:9007199254740993");
    free(c);
}

static void test_make_refuses(void)
{
    const char *bad_date[3] = {"2026-02-30", "1", "x"};
    CHECK(page_cursor_make(page_spec_of(OP_DUE), bad_date) == NULL);
    const char *bad_id[3] = {"2026-02-01", "0", "x"};
    CHECK(page_cursor_make(page_spec_of(OP_DUE), bad_id) == NULL);
    const char *bad_name[3] = {"2026-02-01", "1", ""};
    CHECK(page_cursor_make(page_spec_of(OP_DUE), bad_name) == NULL);
    const char *bad_ts[3] = {"2026-01-05 09:00:00.250001Z", "0", "1"};
    CHECK(page_cursor_make(page_spec_of(OP_HISTORY), bad_ts) == NULL);
}

static void test_parse_refuses(void)
{
    static const char *const due_bad[] = {
        "",
        "d1",
        "d1:",
        "x1:2026-01-01:1:a",
        "d2:2026-01-01:1:a",
        "d1:2026-01-01:1",
        "d1:2026-01-01:1:a:b",
        "d1:2026-1-01:1:a",
        "d1:2026-02-29:1:a",
        "d1:2026-01-01:01:a",
        "d1:2026-01-01:0:a",
        "d1:2026-01-01:-1:a",
        "d1:2026-01-01:1234567890123456789:a",
        "d1:2026-01-01:1:",
        "d1:2026-01-01:1:a b",
        "d1:2026-01-01:1:%61",
        "d1:2026-01-01:1:%3a",
        "d1:2026-01-01:1:%3",
        "d1:2026-01-01:1:%0A",
        "d1:2026-01-01:1:%7F",
        "d1:2026-01-01::a",
    };
    page_cursor pc;
    char err[PAGE_ERR_LEN];
    for (size_t i = 0; i < sizeof due_bad / sizeof due_bad[0]; i++) {
        int rc = page_cursor_parse(page_spec_of(OP_DUE), due_bad[i], &pc, err);
        if (rc == 0)
            fprintf(stderr, "accepted \"%s\"\n", due_bad[i]);
        CHECK_INT(rc, -1);
        CHECK_INT(pc.n, 0);
    }
    static const char *const hist_bad[] = {
        "h1:20260105T090000.250001Z:0",    "h1:20260105T240000.000000Z:0:1",
        "h1:20260105T096000.000000Z:0:1",  "h1:20260229T090000.000000Z:0:1",
        "h1:20260105T090000Z:0:1",         "h1:2026-01-05T09:00:00.000000Z:0:1",
        "h1:20260105T090000.000000Z:10:1", "h1:20260105t090000.000000Z:0:1",
    };
    for (size_t i = 0; i < sizeof hist_bad / sizeof hist_bad[0]; i++) {
        int rc = page_cursor_parse(page_spec_of(OP_HISTORY), hist_bad[i], &pc, err);
        if (rc == 0)
            fprintf(stderr, "accepted \"%s\"\n", hist_bad[i]);
        CHECK_INT(rc, -1);
    }
    char longer[PAGE_CURSOR_MAX + 8];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, "e1:", 3);
    CHECK_INT(page_cursor_parse(page_spec_of(OP_ESCALATIONS), longer, &pc, err), -1);
    CHECK_SUBSTR(err, "longer");
    CHECK_INT(page_cursor_parse(page_spec_of(OP_ESCALATIONS), "d1:2026-01-01:1:a", &pc, err), -1);
    CHECK_SUBSTR(err, "\"e1:\"");
}

static void test_limit(void)
{
    const page_spec *s = page_spec_of(OP_DUE);
    long v = 0;
    char err[PAGE_ERR_LEN];
    CHECK_INT(page_limit_parse(s, "1", &v, err), 0);
    CHECK_INT(v, 1);
    CHECK_INT(page_limit_parse(s, "1000", &v, err), 0);
    CHECK_INT(v, 1000);
    static const char *const bad[] = {"",   "0",  "1001", "-1",         "+5",
                                      " 5", "5x", "1e3",  "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(page_limit_parse(s, bad[i], &v, err), -1);
    CHECK_SUBSTR(err, "1 to 1000");
}

int main(void)
{
    RUN(test_table);
    RUN(test_round_trip);
    RUN(test_make_refuses);
    RUN(test_parse_refuses);
    RUN(test_limit);
    return CHECK_DONE();
}
