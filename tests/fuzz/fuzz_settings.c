/*
 * fuzz_settings: the loaders of the other files a service edits by hand
 * (service.yaml, the calendars, escalations.yaml, channels.yaml) on
 * arbitrary bytes. Each must refuse the input with "[file:line] problem" or
 * build settings the daemon can use; the first input byte picks the loader,
 * the rest is the document. On success a few lookups run over what was
 * built, then everything is freed (LeakSanitizer checks nothing is left).
 * Seeds: the shipped files, each prefixed with its loader's byte (scripts/fuzz).
 */
#include "chan.h"
#include "esc.h"
#include "fuzz.h"
#include "hol.h"
#include "svc.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    cal_day day = cal_from_ymd(2026, 2, 16);
    switch (data[0] % 4) {
    case 0: {
        svc_settings *s;
        char err[SVC_ERR_LEN];
        if (svc_load_string("fuzz.yaml", text, len, &s, err) == 0) {
            for (size_t i = 0; i < s->ntransfers; i++)
                CHECK(svc_find_transfer(s, s->transfers[i].name) != NULL);
            svc_free(s);
        } else {
            CHECK(err[0] == '[');
        }
        break;
    }
    case 1: {
        hol_calendar *c;
        char err[HOL_ERR_LEN];
        if (hol_load_string("fuzz.yaml", text, len, &c, err) == 0) {
            CHECK(hol_version(c) != NULL);
            cal_day w = hol_add_working_days(c, day, 10);
            CHECK(w > day && hol_is_working_day(c, w));
            (void)hol_closure_window(c, day, NULL);
            hol_free(c);
        } else {
            CHECK(err[0] == '[');
        }
        break;
    }
    case 2: {
        esc_policy *p;
        char err[ESC_ERR_LEN];
        if (esc_load_string("fuzz.yaml", text, len, &p, err) == 0) {
            esc_fire f[ESC_MAX_LEVELS];
            size_t n = esc_plan(p, NULL, "final_plan", day, f, ESC_MAX_LEVELS);
            CHECK(n <= p->nlevels);
            for (size_t i = 0; i < n; i++) {
                size_t nr;
                const char *const *roles = esc_level_roles(p, "final_plan", f[i].level, &nr);
                for (size_t k = 0; k < nr; k++)
                    CHECK(esc_find_role(p, roles[k]) != NULL);
            }
            esc_free(p);
        } else {
            CHECK(err[0] == '[');
        }
        break;
    }
    default: {
        chan_config *c;
        char err[CHAN_ERR_LEN];
        if (chan_load_string("fuzz.yaml", text, len, &c, err) == 0) {
            for (size_t i = 0; i < c->npeople; i++)
                CHECK(chan_find_person(c, c->people[i].name) != NULL);
            chan_free(c);
        } else {
            CHECK(err[0] == '[');
        }
        break;
    }
    }
    return 0;
}
