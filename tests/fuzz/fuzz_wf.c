/*
 * fuzz_wf: the workflow loader (wf_load_string) on arbitrary bytes.
 *
 * A workflow file is written by an administrator, not a caseworker, but it is
 * still text from outside the program: whatever it holds, loading must either
 * refuse it with "[file:line] problem" or build a tree that the rest of the
 * daemon can use. On success the tree goes through the set check (a set of
 * one: a "starts:" naming another workflow is refused, which is fine) and the
 * engine once with no events, then everything is freed (LeakSanitizer checks
 * that nothing is left). Seeds: the shipped workflow files, copied by scripts/fuzz.
 */
#include "engine.h"
#include "wf.h"
#include "fuzz.h"

#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz.yaml"

/* The lookups the engine relies on must find what the tree holds. */
static void check_tree(const wf_workflow *wf)
{
    if (!wf->name || !wf->file || strcmp(wf->file, FUZZ_NAME) != 0)
        __builtin_trap();
    const wf_state *init = wf_initial_state(wf);
    if (!init || !init->initial || init->final != WF_OPEN)
        __builtin_trap();
    for (size_t i = 0; i < wf->nstates; i++)
        if (!wf->states[i].name || !wf_find_state(wf, wf->states[i].name))
            __builtin_trap();
    for (size_t i = 0; i < wf->nevents; i++) {
        const wf_event *ev = &wf->events[i];
        if (!ev->name || !wf_find_event(wf, ev->name))
            __builtin_trap();
        for (size_t t = 0; t < ev->ntransitions; t++)
            if (!wf_find_state(wf, ev->transitions[t].to))
                __builtin_trap();
        for (size_t a = 0; a < ev->nattrs; a++)
            if (wf_find_attr(ev->attrs, ev->nattrs, ev->attrs[a].name) == NULL)
                __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wf_workflow *wf = NULL;
    char err[WF_ERR_LEN];
    if (wf_load_string(FUZZ_NAME, (const char *)data, size, &wf, err) != 0) {
        /* The contract: no tree, and a message that says where. */
        if (wf != NULL || strncmp(err, "[" FUZZ_NAME ":", strlen("[" FUZZ_NAME ":")) != 0)
            __builtin_trap();
        return 0;
    }
    if (!wf)
        __builtin_trap();
    check_tree(wf);

    wf_set set = {&wf, 1};
    int rc = wf_set_check(&set, err);
    (void)rc;

    /* A workflow the loader accepts can be started: no events, no attributes. */
    eng_input in = {.wf = wf, .start = cal_from_ymd(2026, 1, 5)};
    eng_result *res = NULL;
    char eerr[ENG_ERR_LEN];
    if (eng_evaluate(&in, &res, eerr) != 0 || !res)
        __builtin_trap();
    eng_result_free(res);

    wf_workflow_free(wf);
    return 0;
}
