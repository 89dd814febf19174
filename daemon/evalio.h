/*
 * evalio: between the database's JSON and the engine. The read statements
 * return processes and events as JSON; these functions turn them into engine
 * input (with the daemon's calendar, service settings and the child's date
 * of birth) and turn engine results into the JSON the write functions take.
 */
#ifndef SF_EVALIO_H
#define SF_EVALIO_H

#include <jansson.h>

#include "engine.h"
#include "esc.h"
#include "daemon.h"

/* A date as JSON: "YYYY-MM-DD", or null for CAL_NONE. New reference. */
json_t *eio_date(cal_day d);
/* A JSON "YYYY-MM-DD" string as a date; CAL_NONE for null or anything else. */
cal_day eio_json_date(const json_t *v);
/* The string members of a JSON object as pairs; strings borrowed from obj. Caller frees the array.
 */
wf_kv *eio_kv(json_t *obj, size_t *n);
/*
 * The deadlines of a result as sf_save_process takes them, each open duty with
 * the escalation levels it will go through ("escalate") when the daemon has a
 * policy (d may be NULL: none), and each with its signature ("sig": a hash of
 * the rest, stored with the row). New reference.
 */
json_t *eio_deadlines(const sf_daemon *d, const eng_result *r);
/*
 * The levels duty dl escalates through by d's policy, whatever its
 * resolution ([{"level", "fire_on", "roles"}], a new array; caller frees);
 * NULL when d has no policy. eio_deadlines' "escalate" is this for an open
 * duty ([] otherwise); an import also records those a closed duty had passed.
 */
json_t *eio_levels(const sf_daemon *d, const eng_deadline *dl);
/*
 * Write only what changed: the rows of dls (from eio_deadlines) whose "sig"
 * differs from the one stored under their name in stored (a JSON object name
 * -> sig, as the case read returns it; NULL or empty: nothing stored), as a
 * new array (rows borrowed from dls, new ref); *gone gets the stored names dls
 * no longer holds (new ref).
 */
json_t *eio_deadlines_changed(json_t *dls, json_t *stored, json_t **gone);

/* Engine input built from JSON; owns its arrays, borrows strings from the JSON. */
typedef struct eio_input {
    eng_input in;
    wf_kv *attrs;      /* owned */
    eng_event *events; /* owned */
    wf_kv **event_kv;  /* owned: each event's attributes */
    size_t nevents;
} eio_input;

/*
 * Fill x from a process's JSON ({"started_on", "attrs"}), its events ([{"id",
 * "type", "on", "attrs"}], voided ones already left out) and the case's date
 * of birth (a JSON date or null), with the daemon's calendar and settings.
 * The JSON must outlive x. Free with eio_input_free.
 */
void eio_input_build(const sf_daemon *d, const wf_workflow *wf, json_t *proc, json_t *events,
                     json_t *dob, eio_input *x);
/* Set the daemon's calendar, settings and the date of birth on an engine input. */
void eio_input_env(const sf_daemon *d, cal_day dob, eng_input *in);
void eio_input_free(eio_input *x);

/*
 * The definitions a workflow's results depend on, as stored beside each
 * process: "v2 #hash", plus the calendar's version and hash when the workflow
 * uses it, plus the service settings' when it reads them (the hashes are of
 * the files, so an edit without a new version counts too). Caller frees.
 */
char *eio_defs(const sf_daemon *d, const wf_workflow *wf);
/* {"workflow": {"version": N, "defs": "..."}} for every loaded workflow. Caller frees. */
char *eio_defs_json(const sf_daemon *d);

/* Add "status" and "days" to each deadline of a process read from the database, as of today
 * (and drop the stored "resolution" and "excusable" they are judged from). */
void eio_decorate_process(json_t *proc, cal_day today);
/* Attribute pairs as a JSON object (new ref). */
json_t *eio_attrs_json(const wf_kv *kv, size_t n);
/* Attribute pairs as compact JSON text with sorted keys. Caller frees. */
char *eio_attrs_text(const wf_kv *kv, size_t n);

#endif
