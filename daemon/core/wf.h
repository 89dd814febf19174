/*
 * wf: workflow definitions, loaded from YAML and validated.
 *
 * A workflow declares the states a statutory process moves through, the
 * events that move it (with their attributes), and the deadlines those events
 * start, meet or cancel, each with its legal basis. The format is documented
 * in README.md ("Workflow format") and workflows/ehcp-assessment.yaml is the
 * worked example. Loading turns YAML text (the caller reads the files:
 * daemon/load.h) into the read-only tree below; every node remembers its line
 * so every error can start with "[file:line]".
 *
 * Ownership: a wf_workflow owns every string and array reachable from it;
 * free it with wf_workflow_free (or the set with wf_set_free). Nothing in the
 * tree changes after loading, so any number of readers may share it.
 */
#ifndef SF_WF_H
#define SF_WF_H

#include <stdbool.h>
#include <stddef.h>

#include "cal.h"
#include "util.h"

/* Room for one loader error message: "[file:line] problem". */
#define WF_ERR_LEN 512

/* A key: value pair from a "when:" filter or a process's attributes. */
typedef struct wf_kv {
    const char *key;
    const char *value;
} wf_kv;

/*
 * An attribute an event (or the start of a process) may carry. A start
 * attribute of type date may have "default: {school_year_of: ATTR}": when it
 * is not given, the engine derives it from the child's date of birth as
 * 1 September of the school year that the service settings give for the value
 * of ATTR (the phase transfer's transfer date, reg. 18).
 */
typedef struct wf_attr {
    const char *name;    /* "outcome" */
    bool required;       /* the event is refused without it */
    bool is_date;        /* "type: date": the value must be YYYY-MM-DD */
    const char **values; /* allowed values; NULL (nvalues 0) means any string */
    size_t nvalues;
    int line;
    const char *school_year_of; /* "default: {school_year_of: transfer}"; NULL if no default */
} wf_attr;

/* One event type's pattern: "draft_plan_issued", or {event: x, when: {k: v}}. */
typedef struct wf_match {
    const char *event; /* event type name */
    wf_kv *when;       /* every pair must equal the event's attribute */
    size_t nwhen;
    int line;
} wf_match;

/* How a process reaches a final state. */
typedef enum wf_final {
    WF_OPEN = 0,  /* not final */
    WF_COMPLETED, /* the process ended as it should ("final: completed") */
    WF_CANCELLED, /* the process ended without its outcome ("final: cancelled") */
} wf_final;

typedef struct wf_state {
    const char *name;
    const char *title; /* words for people; defaults to name */
    bool initial;      /* exactly one state is initial */
    wf_final final;
    int line;
} wf_state;

/* One "transitions:" entry of an event. */
typedef struct wf_transition {
    const char **from; /* states in which it applies */
    size_t nfrom;
    bool from_any; /* "from: any": every non-final state */
    wf_kv *when;   /* attribute filter; empty = always */
    size_t nwhen;
    const char *to; /* target state */
    int line;
} wf_transition;

/* Whether an event opens or closes an exception period (reg. 10(4) etc.). */
typedef enum wf_exception {
    WF_EXC_NONE = 0,
    WF_EXC_START, /* "exception: start"; its "reason" attribute names the exception */
    WF_EXC_END,   /* "exception: end"; closes the open exception with the same reason */
} wf_exception;

/*
 * The shortest exception period of one reason that counts ("minimum_length:
 * {absent_from_area: 4 weeks}" on an "exception: start" event): reg. 10(4)(a)
 * and (d) and reg. 8(2)(b) excuse only "a continuous period of not less than
 * 4 weeks".
 */
typedef struct wf_min_length {
    const char *reason; /* a value of the event's "reason" attribute */
    int n;              /* the count, >= 1 */
    cal_unit unit;      /* its unit */
    int line;
} wf_min_length;

typedef struct wf_event {
    const char *name;
    const char *title; /* words used in explanations ("advice requested"); defaults to name */
    wf_attr *attrs;
    size_t nattrs;
    const char **allowed_in; /* states in which the event is taken without a state change */
    size_t nallowed_in;
    bool allowed_any;           /* "allowed_in: any": every non-final state */
    wf_transition *transitions; /* tried in order; the first that matches applies */
    size_t ntransitions;
    wf_exception exception;
    const char **starts; /* workflows started (anchored on this event's date) when it applies */
    size_t nstarts;
    /* starts_with[i]: start attributes given to starts[i] ("starts: [{workflow: x, with: {k:
     * v}}]"); NULL (and nstarts_with[i] 0) when none. */
    wf_kv **starts_with;
    size_t *nstarts_with;
    int line;
    wf_min_length *min_lengths; /* WF_EXC_START: "minimum_length:", per reason; NULL if none */
    size_t nmin_lengths;
    /*
     * "recognises: {exception: school_closure, when: {from: education}}": an
     * event matching when, dated inside the school-closure window of the
     * calendar (reg. 10(4)(a): from one week before a closure of at least 4
     * weeks to one week before the schools reopen), opens that exception by
     * itself until the schools reopen. NULL if none.
     */
    const char *recognises;
    wf_kv *recognises_when;
    size_t nrecognises_when;
    /* "after_end: true": may still be recorded once the process has ended, without changing its
     * state (a mediation certificate or an appeal after a decision that ended the process: its
     * appeal window runs on). */
    bool after_end;
    /* "refused_while_open: [appeal_window]": names of deadlines; the event is refused on a day
     * one of them has started, not yet ended and is neither met nor cancelled (CFA 2014 s. 45: a
     * plan is kept while its appeal window is open). NULL if none. */
    const char **refused_while_open;
    size_t nrefused_while_open;
} wf_event;

/* What a deadline's clock runs from. */
typedef enum wf_anchor_kind {
    WF_ANCHOR_START,     /* "from: start": the date the process was started --on */
    WF_ANCHOR_EVENT,     /* "from: {event: x, when: {...}}": the first such event (per value, with
                            per:);     with "attribute: a", the date in that event's attribute a; with
                            "use:     latest", the last such event (a rescheduled meeting) */
    WF_ANCHOR_ATTRIBUTE, /* "from: {attribute: transfer_date}": a date attribute of the process */
} wf_anchor_kind;

/* How the due date is counted from the anchor date X. Exactly one is given. */
typedef enum wf_due_kind {
    WF_DUE_WITHIN,          /* "within: 6 weeks": X + 6 weeks (the day of X excluded) */
    WF_DUE_BEGINNING_WITH,  /* "beginning_with: 15 days": cal_period_end(X, 15, days) */
    WF_DUE_BEFORE,          /* "before: 5 months": at least 5 months before X: X - 5 months */
    WF_DUE_DAY_OF_YEAR,     /* "day_of_year: 15 February": that day of X's calendar year */
    WF_DUE_LAST_DAY_BEFORE, /* "last_day_before: 15 February": the day before it, in X's year */
} wf_due_kind;

/* A condition on the process's start attributes ("if:" / "unless:" of a deadline). */
typedef struct wf_cond {
    const char *attr;    /* a start attribute */
    const char **values; /* the condition holds when the attribute has one of these */
    size_t nvalues;
} wf_cond;

typedef struct wf_due {
    wf_due_kind kind;
    int n;         /* WITHIN, BEGINNING_WITH, BEFORE: the count */
    cal_unit unit; /* WITHIN, BEGINNING_WITH, BEFORE: the unit */
    int month;     /* DAY_OF_YEAR, LAST_DAY_BEFORE: 1-12 */
    int day;       /* DAY_OF_YEAR, LAST_DAY_BEFORE: 1-31, valid for the month */
} wf_due;

/* Whether a deadline is a duty to act or a period that must be allowed to run. */
typedef enum wf_deadline_kind {
    WF_DEADLINE_DUTY = 0, /* the authority must act by the due date */
    WF_DEADLINE_PERIOD,   /* "kind: period": met when it ends (or early by met_by) */
} wf_deadline_kind;

typedef struct wf_deadline {
    const char *key;   /* the YAML key ("advice") */
    const char *name;  /* "name:" or the key; may hold one "{attr}" placeholder when per is set */
    const char *title; /* may hold "{attr}" too; defaults to name */
    wf_deadline_kind kind;
    wf_anchor_kind anchor_kind;
    wf_match anchor;         /* WF_ANCHOR_EVENT: which event starts the clock */
    const char *anchor_attr; /* WF_ANCHOR_ATTRIBUTE: the process attribute holding the date */
    const char
        *anchor_label; /* explanation words for the anchor; defaults to the event or start label */
    const char
        *per; /* attribute of the anchor event: one deadline per distinct value; NULL if none */
    wf_due due;
    wf_match *met_by; /* events that meet it (with per: only those with the same value) */
    size_t nmet_by;
    wf_match *cancelled_by; /* events that cancel it while unmet */
    size_t ncancelled_by;
    const char **excused_by; /* exception reasons that excuse missing it */
    size_t nexcused_by;
    const char *basis; /* legal basis, shown as is: "SEND Regulations 2014, reg. 13(2)" */
    int line;
    const char *anchor_event_attr; /* WF_ANCHOR_EVENT with "attribute:": the event's date attribute
                                      that holds the anchor date; NULL for the event's own date */
    bool anchor_latest;            /* WF_ANCHOR_EVENT "use: latest": the last matching event */
    wf_cond *if_conds;             /* "if": every condition must hold, else no such deadline */
    size_t nif_conds;
    wf_cond *unless_conds; /* "unless": no condition may hold */
    size_t nunless_conds;
    bool under_5; /* "shorter_under_5: true": the service's shorter cycle applies to children under
                     5 on the anchor date (SEND Code of Practice 9.178) */
    bool tribunal_closures; /* "tribunal_closures: true": a due date from 25 December to 1 January
                               or in August moves to the next working day after (HESC Tribunal
                               Rules 2008, r. 20 with r. 12(3)) */
    /* WF_ANCHOR_EVENT "from: {any_of: [a, {event: b, when: {...}}]}": any of these events starts
     * the clock (anchor is the first of them, for labels); NULL (0) for a single event. */
    wf_match *anchor_any;
    size_t nanchor_any;
    /* "or_later: {from: ..., within: ...}": a second rule with its own anchor; the due date is
     * the later of the two (a mediation certificate's month, r. 20(1)(c)(ii); a transfer's 15
     * working days, reg. 15(2)). Its anchor_kind, anchor, anchor_attr, anchor_event_attr,
     * anchor_latest, anchor_label and due are used; an event anchor counts only on or after this
     * deadline's own anchor. NULL if none. */
    struct wf_deadline *or_later;
} wf_deadline;

/*
 * A flag raised on a process, judged on the date of one of its deadlines (the
 * day it was met, else its due date): "from_school_year: 9" flags a review
 * held in Year 9 or later (preparing for adulthood, reg. 20(6)/21(6)).
 */
typedef struct wf_flag {
    const char *name;     /* "preparing_for_adulthood" */
    const char *title;    /* "preparing-for-adulthood review" */
    int from_school_year; /* 0 = Reception ... 13 */
    const char *deadline; /* name of the deadline whose date is judged */
    const char *basis;    /* legal basis */
    int line;
} wf_flag;

/* What a renamed (or removed) state, event or deadline of an earlier version became. */
typedef enum wf_rename_kind {
    WF_RENAME_STATE,
    WF_RENAME_EVENT,
    WF_RENAME_DEADLINE,
} wf_rename_kind;

typedef struct wf_rename {
    wf_rename_kind kind;
    const char *from; /* the old name */
    const char *to;   /* the new name; NULL for "drop" (deadlines only: no longer tracked) */
    int line;
} wf_rename;

typedef struct wf_workflow {
    const char *name;        /* "ehcp-assessment" */
    int version;             /* "version:", a positive integer */
    const char *title;       /* defaults to name */
    const char *file;        /* path it was loaded from */
    const char *start_label; /* "start: {label: ...}": explanation words for the start date */
    wf_attr *attrs;          /* "start: {attributes: ...}": attributes given when starting it */
    size_t nattrs;
    wf_state *states;
    size_t nstates;
    wf_event *events;
    size_t nevents;
    wf_deadline *deadlines;
    size_t ndeadlines;
    void *arena; /* private: the memory behind every pointer above */
    wf_flag *flags;
    size_t nflags;
    wf_rename *renames; /* "migrate:": how running processes of earlier versions carry over */
    size_t nrenames;
    bool uses_calendar; /* some rule needs the calendar (working days, closures, tribunal dates) */
} wf_workflow;

/* Every workflow of a directory, by name. */
typedef struct wf_set {
    wf_workflow **items; /* owned */
    size_t n;
} wf_set;

/*
 * Load and validate one workflow from len bytes of YAML text; name (the file's path) stands for
 * the file in messages and in (*out)->file. On success *out is a new workflow (free with
 * wf_workflow_free) and 0 is returned; on failure -1, *out is NULL and err holds "[name:line]
 * problem". Cross-file references (starts:) are not checked here: wf_set_check does that.
 */
int wf_load_string(const char *name, const char *yaml, size_t len, wf_workflow **out,
                   char err[WF_ERR_LEN]) SF_MUSTCHECK;
/* Check cross-workflow rules: unique names, every "starts:" names a workflow of the set. */
int wf_set_check(const wf_set *set, char err[WF_ERR_LEN]) SF_MUSTCHECK;
/* Free a workflow and everything it owns; NULL is fine. */
void wf_workflow_free(wf_workflow *wf);
/* Free a set and its workflows; NULL is fine. */
void wf_set_free(wf_set *set);

/* The workflow called name, or NULL; borrowed from the set. */
const wf_workflow *wf_set_find(const wf_set *set, const char *name);
/* The event type called name, or NULL; borrowed. */
const wf_event *wf_find_event(const wf_workflow *wf, const char *name);
/* The state called name, or NULL; borrowed. */
const wf_state *wf_find_state(const wf_workflow *wf, const char *name);
/* The initial state; borrowed (validation guarantees there is one). */
const wf_state *wf_initial_state(const wf_workflow *wf);
/* An attribute spec by name in an array, or NULL; borrowed. */
const wf_attr *wf_find_attr(const wf_attr *attrs, size_t n, const char *name);
/* The "migrate:" entry for an old name of that kind, or NULL; borrowed. */
const wf_rename *wf_find_rename(const wf_workflow *wf, wf_rename_kind kind, const char *from);
/* Can the workflow produce a deadline called name (fixed, or from a "{per}" template)? */
bool wf_has_deadline_name(const wf_workflow *wf, const char *name);

#endif
