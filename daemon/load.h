/*
 * load: reading the definition files for the core's loaders. wf, hol, svc,
 * esc and chan take YAML text and a name for their messages and do no I/O;
 * this module opens the files and directories under workflows/ and hands
 * them the text. The daemon reads its definitions with it at start-up and the
 * CLI's "validate" with it checks files before they are deployed.
 *
 * Every error is returned in err as "[file:line] problem" (line 1 for a file
 * that cannot be read), never printed. What is loaded is new and owned by the
 * caller, to free with the core's own free function.
 */
#ifndef SF_LOAD_H
#define SF_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chan.h"
#include "esc.h"
#include "hol.h"
#include "svc.h"
#include "util.h"
#include "wf.h"

/* Room for one error message; the same as each core loader's (WF_ERR_LEN, ...). */
#define LOAD_ERR_LEN 512

/*
 * Read the whole file at path: 0, *text (NUL-terminated, len bytes before the NUL; the caller
 * frees it) and *len; or -1, *text NULL and "[path:1] cannot open: ..." or "cannot read: ..." in
 * err. *missing (may be NULL) is set when the file does not exist.
 */
int load_read_file(const char *path, char **text, size_t *len, bool *missing,
                   char err[LOAD_ERR_LEN]) SF_MUSTCHECK;
/*
 * Read f to its end: 0, *text (NUL-terminated, len bytes before the NUL; the caller frees
 * it) and *len; or -1 with errno set and *text NULL. f stays open (the caller's).
 */
int load_read_stream(FILE *f, char **text, size_t *len) SF_MUSTCHECK;

/* One workflow file (wf_load_string on its text): 0 and *out (free with wf_workflow_free). */
int load_workflow(const char *path, wf_workflow **out, char err[WF_ERR_LEN]) SF_MUSTCHECK;
/*
 * Every workflow file directly inside dir (*.yaml and *.yml regular files, not hidden, not
 * service.yaml, escalations.yaml or channels.yaml), in name order, checked as a set
 * (wf_set_check): 0 and *out (free with wf_set_free). An empty directory is an error.
 */
int load_workflows(const char *dir, wf_set **out, char err[WF_ERR_LEN]) SF_MUSTCHECK;
/*
 * Every *.yaml and *.yml regular file directly in dir (not hidden), in name order, as one calendar
 * (hol_load_texts): 0 and *out (free with hol_free). A missing directory is an error.
 */
int load_calendars(const char *dir, hol_calendar **out, char err[HOL_ERR_LEN]) SF_MUSTCHECK;
/*
 * The service settings at path: 0 and *out (free with svc_free). When optional and the file does
 * not exist, *out is svc_defaults() and 1 is returned.
 */
int load_service(const char *path, bool optional, svc_settings **out,
                 char err[SVC_ERR_LEN]) SF_MUSTCHECK;
/*
 * The escalation policy at path: 0 and *out (free with esc_free). When optional and the file does
 * not exist, *out is esc_empty() (nothing escalates) and 1 is returned.
 */
int load_escalations(const char *path, bool optional, esc_policy **out,
                     char err[ESC_ERR_LEN]) SF_MUSTCHECK;
/*
 * The channels at path: 0 and *out (free with chan_free). When optional and the file does not
 * exist, *out is chan_empty() (nobody to tell) and 1 is returned.
 */
int load_channels(const char *path, bool optional, chan_config **out,
                  char err[CHAN_ERR_LEN]) SF_MUSTCHECK;

/* Everything the daemon computes and routes with, read from one workflows directory. */
typedef struct load_defs {
    wf_set *workflows;
    hol_calendar *cal;
    svc_settings *svc;
    esc_policy *esc;
    chan_config *chan;
} load_defs;

/*
 * Every definition under dir: its workflow files (load_workflows), the
 * calendar in dir/calendars (absent: bank holidays by rule only, no school
 * terms), dir/service.yaml, dir/escalations.yaml and dir/channels.yaml
 * (each absent: its default). 0 and *out (free with load_defs_free), with a
 * line in notes for each default taken; or -1, *out empty and "what: [file:line]
 * problem" in err (a URL's password in a channel error written as ***).
 */
int load_all(const char *dir, load_defs *out, sb *notes, sb *err) SF_MUSTCHECK;
/* Free what d holds (NULL members are fine) and empty it. */
void load_defs_free(load_defs *d);

#endif
