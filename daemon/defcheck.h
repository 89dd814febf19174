/*
 * defcheck: refuse, at start, workflow definitions that would orphan running
 * processes. A process started under an earlier version of a workflow keeps
 * its events; under the new version its state, each of its event types and
 * each of its open deadlines must still exist, or the new version must say
 * under "migrate:" what they became. Runs once, blocking, before the loop
 * (like the migrations): a daemon that would misread running processes must
 * not start.
 */
#ifndef SF_DEFCHECK_H
#define SF_DEFCHECK_H

#include <stddef.h>

#include "util.h"
#include "wf.h"

/* 0 when every running process fits the loaded definitions; -1 with the problems in err. */
int defcheck_run(const char *conninfo, const wf_set *set, char *err, size_t errlen) SF_MUSTCHECK;

#endif
