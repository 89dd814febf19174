/*
 * engine: a process's state and deadlines from its events. Pure: no I/O, no
 * clock. Given the workflow, the start date, the process's attributes and its
 * events, it returns the state, the status of the process and every deadline
 * with its due date, how it was met or cancelled, its legal basis and an
 * explanation in words. The daemon stores the result; statuses that depend on
 * "today" (pending / overdue) are judged at read time by eng_deadline_status.
 *
 * Events are replayed in the order they happened (date, then the order they
 * were recorded), not the order they were posted, so a late event re-derives
 * everything after it.
 */
#ifndef SF_ENGINE_H
#define SF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cal.h"
#include "hol.h"
#include "svc.h"
#include "util.h"
#include "wf.h"

/* Room for one engine error message. */
#define ENG_ERR_LEN 512

/* One recorded event, as the engine sees it. All pointers are borrowed from the caller. */
typedef struct eng_event {
    int64_t seq; /* recording order (the events table's id); breaks ties between same-day events */
    const char *type;   /* event type name */
    cal_day on;         /* the date it happened */
    const wf_kv *attrs; /* its attributes */
    size_t nattrs;
} eng_event;

/* Everything the engine needs. Borrowed; the events need not be sorted. */
typedef struct eng_input {
    const wf_workflow *wf;
    cal_day start;      /* the date the process was started --on */
    const wf_kv *attrs; /* the process's attributes (from start --set) */
    size_t nattrs;
    const eng_event *events;
    size_t nevents;
    /* The calendar (working days, school closures, tribunal dates); NULL: Monday-Friday without
     * bank holidays and no closures. */
    const hol_calendar *cal;
    /* The service's settings (under-5 cycle, school years of transfers); NULL: svc_defaults(). */
    const svc_settings *svc;
    bool has_dob; /* the case has a date of birth (zero-initialised inputs have none) */
    cal_day dob;  /* the child's date of birth when has_dob */
} eng_input;

/* How a process stands. */
typedef enum eng_proc_status {
    ENG_ACTIVE,    /* "active" */
    ENG_COMPLETED, /* "completed" */
    ENG_CANCELLED, /* "cancelled" */
} eng_proc_status;

/* What happened to a deadline, independently of today's date. */
typedef enum eng_resolution {
    ENG_OPEN,         /* not met, not cancelled */
    ENG_MET,          /* met on met_on */
    ENG_CANCELLED_DL, /* no longer applies (cancelled_by an event, or the process ended first;
                         a period is never cancelled by the end: it runs its course) */
} eng_resolution;

/* A deadline's status as the contract names it, judged on a given day. */
typedef enum eng_status {
    ENG_PENDING,      /* "pending": not met, today <= due */
    ENG_OVERDUE,      /* "overdue": not met, today > due */
    ENG_MET_ON_TIME,  /* "met": met on or before due */
    ENG_LATE,         /* "late": met after due */
    ENG_EXCUSED,      /* "excused": missed, but an allowed exception applies */
    ENG_CANCELLED_ST, /* "cancelled" */
} eng_status;

typedef struct eng_deadline {
    char *name;  /* owned: "final_plan", "advice_health" */
    char *title; /* owned: words for people */
    wf_deadline_kind kind;
    cal_day anchor_on; /* the date the clock started */
    cal_day due;       /* the last day on which the duty can be met */
    eng_resolution resolution;
    cal_day met_on;       /* ENG_MET: the date; CAL_NONE otherwise */
    cal_day cancelled_on; /* ENG_CANCELLED_DL: the date; CAL_NONE otherwise */
    bool excusable;       /* an exception named in excused_by overlapped [anchor_on, due] and lasted
                             at least its minimum_length, if any */
    const char *basis;    /* borrowed from the workflow */
    char *explain;        /* owned: "20 weeks from request received on 2026-01-05" */
    char *note; /* owned, may be NULL: "exception (exceptional_circumstances) from 2026-02-01 to
                   2026-03-01" (only on a duty met late or still unmet), "cancelled by decision
                   whether to assess on 2026-02-10", "cancelled: process cancelled (withdrawn) on
                   2026-09-01, 99 days after it fell due", "the process ended on 2026-05-20 (final
                   plan issued) before this period had run: ... requires it to run in full" */
} eng_deadline;

/* A follow-on process to start (e.g. annual-review when the final plan is issued). */
typedef struct eng_start {
    const char *workflow; /* borrowed from the workflow definition */
    cal_day on;           /* the date of the event that started it */
    int64_t event_seq;    /* that event's seq */
    const wf_kv *attrs;   /* borrowed from the workflow: the start attributes it is given */
    size_t nattrs;
} eng_start;

/* A flag raised on the process (e.g. a preparing-for-adulthood review, from Year 9). */
typedef struct eng_flag {
    const char *name;  /* borrowed from the workflow */
    const char *title; /* borrowed */
    const char *basis; /* borrowed */
    char *note;        /* owned: "Year 9 from 2030-09-01 (date of birth 2016-10-02) ..." */
} eng_flag;

typedef struct eng_result {
    const char *state; /* borrowed: the current state's name */
    eng_proc_status status;
    cal_day ended_on;        /* date of the event that made it final; CAL_NONE while active */
    eng_deadline *deadlines; /* owned; in workflow order, per-deadlines by anchor date then value */
    size_t ndeadlines;
    eng_start *starts; /* owned array */
    size_t nstarts;
    eng_flag *flags; /* owned array */
    size_t nflags;
} eng_result;

/* Error codes of eng_check_event (negated in returns). */
typedef enum eng_err {
    ENG_OK = 0,
    ENG_EUNKNOWN_EVENT = 1, /* the workflow has no such event type */
    ENG_EBAD_ATTRIBUTE, /* a required attribute missing, an unknown one, a value not allowed, a bad
                           date */
    ENG_ENOT_ALLOWED,   /* replayed in date order, the event (or a later one) has no place in the
                           state it reaches */
    ENG_EBAD_DATE,      /* before the process started */
} eng_err;

/*
 * Replay the events and compute state and deadlines. Returns 0 and a new
 * result (free with eng_result_free), or -ENG_ENOT_ALLOWED with a message in
 * err when the events do not fit the workflow (which eng_check_event prevents
 * for events the daemon records).
 */
int eng_evaluate(const eng_input *in, eng_result **out, char err[ENG_ERR_LEN]) SF_MUSTCHECK;
/*
 * Can the process take ev on top of in->events? Checks the type, the
 * attributes against the workflow, the date against the start, and that the
 * whole history replayed in date order with ev still fits the state machine,
 * and that every exception end closes an exception of its reason open on its
 * date and no start opens a reason already open (-ENG_ENOT_ALLOWED; such
 * events already recorded are tolerated, and ignored by eng_evaluate).
 * 0, or a negated eng_err with a sentence for a caseworker in err.
 */
int eng_check_event(const eng_input *in, const eng_event *ev, char err[ENG_ERR_LEN]) SF_MUSTCHECK;
/* Check attributes given when starting a process against wf->attrs; 0 or -ENG_EBAD_ATTRIBUTE with
 * err. */
int eng_check_start_attrs(const wf_workflow *wf, const wf_kv *attrs, size_t n,
                          char err[ENG_ERR_LEN]) SF_MUSTCHECK;
/*
 * eng_check_start_attrs on in->attrs, and every attribute with a default can
 * be derived (the case has a date of birth and the service a school year for
 * the transfer): 0 or -ENG_EBAD_ATTRIBUTE with a sentence in err.
 */
int eng_check_start(const eng_input *in, char err[ENG_ERR_LEN]) SF_MUSTCHECK;
/*
 * The school year in which a transfer happens: the service's setting, else
 * the usual English one (Reception 0, Year 3, 5 for middle school, 7, 9 from
 * middle school, 12); -1 for a name without one (post16_to_post16).
 */
int eng_transfer_school_year(const svc_settings *svc, const char *transfer);
/* Free a result; NULL is fine. */
void eng_result_free(eng_result *r);

/* A deadline's status on day today, from the stored facts. */
eng_status eng_deadline_status(wf_deadline_kind kind, eng_resolution res, cal_day due,
                               cal_day met_on, bool excusable, cal_day today);
/* Contract name of a status ("pending"...). Static storage. */
const char *eng_status_name(eng_status s);
/* Contract name of a process status ("active"...). Static storage. */
const char *eng_proc_status_name(eng_proc_status s);
/* Storage name of a resolution ("open", "met", "cancelled"). Static storage. */
const char *eng_resolution_name(eng_resolution r);
/* Parse a storage name of a resolution: 0 or -1. */
int eng_resolution_parse(const char *s, eng_resolution *out);

#endif
