/*
 * fuzz_engine: the engine's central promise, on the shipped
 * workflows/ehcp-assessment.yaml. What eng_check_event accepts, eng_evaluate
 * can replay.
 *
 * The input bytes are read as a script of events, as caseworkers might post
 * them: each picks an event type (sometimes one the workflow lacks), a date
 * (the start plus a small offset, sometimes before the start, far after it or
 * no date at all) and attribute values (the workflow's own, or missing, empty,
 * garbage, or an unknown attribute). Each candidate goes through
 * eng_check_event with the history so far. Accepted ones join the history, as
 * the daemon records them (seq increasing in recording order). After every
 * accepted event eng_evaluate must succeed, and its result must make sense:
 * dates in order, resolutions matching their dates, statuses in range. Any
 * violation is a __builtin_trap(), which libFuzzer reports with the input.
 */
#include "engine.h"
#include "fuzz.h"
#include "load.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SF_TEST_SOURCE_DIR
#error "SF_TEST_SOURCE_DIR must name the source tree"
#endif

#define MAX_EV 32 /* events tried per input */
#define MAX_KV 4  /* attributes per event */

/* The workflow, loaded on the first input and kept (LeakSanitizer ignores globals). */
static wf_workflow *ehcp;

static void load_once(void)
{
    if (ehcp)
        return;
    char err[WF_ERR_LEN];
    if (load_workflow(SF_TEST_SOURCE_DIR "/workflows/ehcp-assessment.yaml", &ehcp, err) != 0) {
        fprintf(stderr, "fuzz_engine: cannot load the workflow: %s\n", err);
        abort();
    }
}

/* The input, read a byte at a time; 0 once it runs out. */
typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t next(reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

/* Text for garbage names and values: up to 7 bytes of the input, NUL-terminated. */
static const char *garbage(reader *r, char buf[8])
{
    size_t len = next(r) % 8;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)next(r);
    buf[len] = '\0';
    return buf;
}

/* Storage behind the history: eng_event borrows its attrs and strings. */
typedef struct history {
    eng_event ev[MAX_EV];
    wf_kv kv[MAX_EV][MAX_KV];
    char text[MAX_EV][MAX_KV + 1][8];
    size_t n;
} history;

/* Fill slot h->n with a candidate event chosen by the input. */
static void make_event(reader *r, history *h, cal_day start, int64_t seq)
{
    size_t k = h->n;
    eng_event *ev = &h->ev[k];
    uint8_t op = next(r);
    size_t pick = op % (ehcp->nevents + 1);
    const wf_event *et = pick < ehcp->nevents ? &ehcp->events[pick] : NULL;
    ev->type = et ? et->name : garbage(r, h->text[k][MAX_KV]);
    ev->seq = seq;

    /* Mostly days after the start; bit 7 jumps months on, bit 6 goes before or to no date. */
    uint8_t day = next(r);
    ev->on = start + day;
    if (op & 0x80)
        ev->on += 30 * next(r);
    if ((op & 0x40) && (day & 1))
        ev->on = day & 2 ? CAL_NONE : start - 1 - day % 8;

    ev->attrs = h->kv[k];
    ev->nattrs = 0;
    for (size_t a = 0; et && a < et->nattrs && ev->nattrs < MAX_KV; a++) {
        const wf_attr *spec = &et->attrs[a];
        uint8_t c = next(r);
        const char *value;
        switch (c % 8) {
        case 0: /* missing */
            continue;
        case 1:
            value = garbage(r, h->text[k][ev->nattrs]);
            break;
        case 2:
            value = "";
            break;
        default:
            value = spec->nvalues ? spec->values[c / 8 % spec->nvalues] : "2026-02-01";
            break;
        }
        h->kv[k][ev->nattrs++] = (wf_kv){spec->name, value};
    }
    if ((op & 0x20) && ev->nattrs < MAX_KV)
        h->kv[k][ev->nattrs++] = (wf_kv){"unknown", "x"};
}

static void check_result(const eng_input *in, const eng_result *res, cal_day last)
{
    CHECK(res->state && wf_find_state(in->wf, res->state));
    CHECK(res->status == ENG_ACTIVE || res->status == ENG_COMPLETED ||
          res->status == ENG_CANCELLED);
    CHECK((res->status == ENG_ACTIVE) == (res->ended_on == CAL_NONE));
    CHECK(res->ended_on == CAL_NONE || (res->ended_on >= in->start && res->ended_on <= last));
    for (size_t i = 0; i < res->nstarts; i++)
        CHECK(res->starts[i].workflow && res->starts[i].on >= in->start &&
              res->starts[i].on <= last);

    for (size_t i = 0; i < res->ndeadlines; i++) {
        const eng_deadline *dl = &res->deadlines[i];
        CHECK(dl->name && dl->title && dl->explain && dl->basis);
        /* Every clock of this workflow runs forward from a day of the process.
         * An "or_later" clock (the 6/16/20 weeks restarted by a transfer
         * between authorities) may end later, counted from its own anchor,
         * which is also a day of the process: hence the bound from "last". */
        CHECK(dl->anchor_on >= in->start && dl->anchor_on <= last);
        CHECK(dl->due >= dl->anchor_on && dl->due <= last + 366);
        switch (dl->resolution) {
        case ENG_OPEN:
            CHECK(dl->met_on == CAL_NONE && dl->cancelled_on == CAL_NONE);
            break;
        case ENG_MET:
            CHECK(dl->met_on >= dl->anchor_on && dl->met_on <= last);
            CHECK(dl->cancelled_on == CAL_NONE);
            break;
        case ENG_CANCELLED_DL:
            CHECK(dl->cancelled_on >= in->start && dl->cancelled_on <= last);
            CHECK(dl->met_on == CAL_NONE);
            break;
        default:
            __builtin_trap();
        }
        const cal_day days[] = {in->start - 1, dl->anchor_on, dl->due - 1,
                                dl->due,       dl->due + 1,   last + 400};
        for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
            eng_status st = eng_deadline_status(dl->kind, dl->resolution, dl->due, dl->met_on,
                                                dl->excusable, days[d]);
            CHECK(st >= ENG_PENDING && st <= ENG_CANCELLED_ST);
            CHECK(eng_status_name(st) != NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_once();
    reader r = {data, size};
    static history h;
    memset(&h, 0, sizeof h);

    /* Start within about five years of 2024 (leap days included). */
    cal_day start = cal_from_ymd(2024, 1, 1) + next(&r) * 7;
    start += next(&r);
    eng_input in = {.wf = ehcp, .start = start};
    char err[ENG_ERR_LEN];
    CHECK(eng_check_start_attrs(ehcp, NULL, 0, err) == 0);

    cal_day last = start;
    int64_t seq = 1;
    for (int tries = 0; r.n && tries < MAX_EV && h.n < MAX_EV; tries++) {
        make_event(&r, &h, start, seq++);
        in.events = h.ev;
        in.nevents = h.n;
        err[0] = '\0';
        int rc = eng_check_event(&in, &h.ev[h.n], err);
        CHECK(rc <= 0 && rc >= -ENG_EBAD_DATE);
        if (rc != 0) {
            CHECK(err[0] != '\0');
            continue;
        }
        if (h.ev[h.n].on > last)
            last = h.ev[h.n].on;
        in.nevents = ++h.n;

        eng_result *res = NULL;
        rc = eng_evaluate(&in, &res, err);
        if (rc != 0) {
            fprintf(stderr, "fuzz_engine: evaluate refused a checked history: %s\n", err);
            __builtin_trap();
        }
        check_result(&in, res, last);
        eng_result_free(res);
    }
    return 0;
}
