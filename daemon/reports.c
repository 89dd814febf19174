/*
 * reports: board reports and packs (see reports.h).
 *
 * A report is one store job: one read statement (REPORT_READ) that counts
 * every figure and returns them as one JSON value, then, when a pack is to be
 * queued, one insert into the outbox (REPORT_QUEUE). The statement reads the
 * derived deadline rows, which the engine computed from the events that were
 * not voided, so a voided event counts nowhere. Everything is judged "as on"
 * a day A: the period's last day, or the daemon's today while the period
 * runs. A deadline met (or cancelled) after A counts as still open on A.
 */
#include "reports.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "evalio.h"
#include "hol.h"
#include "job.h"
#include "log.h"
#include "proto.h"
#include "report.h"

enum {
    RP_READ,
    RP_QUEUE,
};

/* Working days before a phase-transfer deadline from which a pending one is at risk. */
#define AT_RISK_WORKING_DAYS 20
/* Months in the trend, ending with the period's last month. */
#define TREND_MONTHS 12

/*
 * One statement for every figure. Parameters: $1 the period's first day, $2
 * the as-on day A, $3 the first day of the trend, $4 and $5 the transfer
 * round's deadlines (14 February and 30 March), $6 the last day a pending
 * transfer deadline is at risk (A + 20 working days), $7 the first due date
 * whose miss falls in the period (the day before $1: a deadline is missed
 * from the day after its due date), $8 how many missed deadlines to list.
 *
 * Each figure is its own aggregate over an index that serves it (015's
 * partial indexes, most of them read index-only), rather than one
 * materialised set of every deadline any figure needs: the deadlines met in
 * the trend's months (deadlines_met); the duties overdue on A, which are the
 * duties open now and due before A (deadlines_open_duty_name) and the few
 * met or cancelled after A (deadlines_met, deadlines_cancelled: the ones
 * still open on A); the missed ones, due from $7 to the day before A, open
 * now or resolved after their due date; the round's transfer deadlines
 * (deadlines_transfer_due). A deadline's state on A is "met" or "cancelled"
 * when it was resolved on or before A, else "open" (SQL_ST). Years of late
 * history stay out of every range; the case references are joined only for
 * the missed deadlines listed.
 */
#define SQL_ST(d)                                                                                  \
    "CASE WHEN " d "resolution = 'met' AND " d "met_on <= $2::date THEN 'met'"                     \
    " WHEN " d "resolution = 'cancelled' AND " d "cancelled_on <= $2::date THEN 'cancelled'"       \
    " ELSE 'open' END"
#define SQL_ST_D SQL_ST("d.")
/* Duties overdue on A (kind = 'duty' and due before A, added by each arm). */
#define SQL_OVERDUE                                                                                \
    "SELECT name, due, excusable FROM deadlines WHERE kind = 'duty' AND resolution = 'open'"       \
    "  AND due < $2::date"                                                                         \
    " UNION ALL SELECT name, due, excusable FROM deadlines WHERE resolution = 'met'"               \
    "  AND met_on > $2::date AND kind = 'duty' AND due < $2::date"                                 \
    " UNION ALL SELECT name, due, excusable FROM deadlines WHERE resolution = 'cancelled'"         \
    "  AND cancelled_on > $2::date AND coalesce(met_on, cancelled_on) > $2::date"                  \
    "  AND kind = 'duty' AND due < $2::date"
/* Duties missed in the period: due from $7 to the day before A, not met or cancelled by then
 * (their keys: the open ones and the met ones are read index-only). */
#define SQL_MISSED                                                                                 \
    "SELECT process_id, name, due FROM deadlines WHERE kind = 'duty' AND resolution = 'open'"      \
    "  AND due BETWEEN $7::date AND $2::date - 1"                                                  \
    " UNION ALL SELECT process_id, name, due FROM deadlines WHERE resolution = 'met'"              \
    "  AND met_on > $7::date AND met_on > due AND kind = 'duty'"                                   \
    "  AND due BETWEEN $7::date AND $2::date - 1"                                                  \
    " UNION ALL SELECT process_id, name, due FROM deadlines WHERE resolution = 'cancelled'"        \
    "  AND cancelled_on > $7::date AND cancelled_on > due"                                         \
    "  AND coalesce(met_on, cancelled_on) > due AND kind = 'duty'"                                 \
    "  AND due BETWEEN $7::date AND $2::date - 1"

static const store_stmt statements[] = {
    {"sf_report_read",
     "WITH ms AS MATERIALIZED (" SQL_MISSED ")"
     " SELECT json_build_object("
     /* Requests: assessments started (the day the request was received) in the period. */
     " 'requests', (SELECT count(*) FROM processes p WHERE p.workflow = 'ehcp-assessment'"
     "   AND p.started_on BETWEEN $1::date AND $2::date"
     "   AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = p.parent_event_id)),"
     /* Deadlines met, by month and name: n, on time, without exception, both. */
     " 'met', (SELECT coalesce(json_agg(json_build_array(to_char(m.month, 'YYYY-MM'), m.name,"
     "   m.n, m.ok, m.xn, m.xok) ORDER BY m.month, m.name), '[]'::json) FROM ("
     "   SELECT date_trunc('month', d.met_on) AS month, d.name, count(*) AS n,"
     "    count(*) FILTER (WHERE d.met_on <= d.due) AS ok,"
     "    count(*) FILTER (WHERE NOT d.excusable) AS xn,"
     "    count(*) FILTER (WHERE NOT d.excusable AND d.met_on <= d.due) AS xok"
     "   FROM deadlines d JOIN processes p ON p.id = d.process_id"
     "   WHERE d.resolution = 'met' AND d.met_on BETWEEN $3::date AND $2::date"
     "    AND (d.name IN ('decide_to_assess', 'final_plan', 'review_meeting', 'review_decision')"
     "         OR d.name LIKE 'advice\\_%')"
     "    AND ((p.workflow = 'ehcp-assessment' AND (d.name IN ('decide_to_assess', 'final_plan')"
     "          OR d.name LIKE 'advice\\_%'))"
     "     OR (p.workflow = 'annual-review' AND d.name IN ('review_meeting', 'review_decision')))"
     "   GROUP BY 1, 2) m),"
     /* Overdue on A by name and age band (0: 1-7 days, 1: 8-28, 2: 29-84, 3: 85+). */
     " 'overdue', (SELECT coalesce(json_agg(json_build_array(o.name, o.band, o.n, o.nx)"
     "   ORDER BY o.name, o.band), '[]'::json) FROM ("
     "   SELECT name, CASE WHEN $2::date - due <= 7 THEN 0 WHEN $2::date - due <= 28 THEN 1"
     "                     WHEN $2::date - due <= 84 THEN 2 ELSE 3 END AS band,"
     "    sum(n) AS n, sum(nx) AS nx FROM ("
     "     SELECT name, due, count(*) AS n, count(*) FILTER (WHERE excusable) AS nx"
     "     FROM (" SQL_OVERDUE ") od GROUP BY 1, 2) g GROUP BY 1, 2) o),"
     /* The phase-transfer round: its deadlines not cancelled by A. */
     " 'transfers', (SELECT json_build_object("
     "   'feb', count(*) FILTER (WHERE due = $4::date),"
     "   'mar', count(*) FILTER (WHERE due = $5::date),"
     "   'met', count(*) FILTER (WHERE st = 'met'),"
     "   'met_ok', count(*) FILTER (WHERE st = 'met' AND met_on <= due),"
     "   'pending', count(*) FILTER (WHERE st = 'open' AND due >= $2::date),"
     "   'soon', count(*) FILTER (WHERE st = 'open' AND due >= $2::date AND due <= $6::date),"
     "   'overdue', count(*) FILTER (WHERE st = 'open' AND due < $2::date))"
     "   FROM (SELECT d.due, d.met_on, " SQL_ST_D " AS st"
     "    FROM deadlines d JOIN processes p ON p.id = d.process_id"
     "    WHERE d.name = 'phase_transfer_plan' AND d.due IN ($4::date, $5::date)"
     "     AND p.workflow = 'phase-transfer') t WHERE st <> 'cancelled'),"
     /* Tribunal orders and unopposed appeals (regs. 44, 45): their duties met in the period;
      * mediation agreements run as orders (reg. 42, kind=mediation) apart. */
     " 'tribunal', (SELECT json_build_object('n', count(*) FILTER (WHERE NOT t.m),"
     "   'ok', count(*) FILTER (WHERE NOT t.m AND t.met_on <= t.due),"
     "   'mn', count(*) FILTER (WHERE t.m),"
     "   'mok', count(*) FILTER (WHERE t.m AND t.met_on <= t.due))"
     "   FROM (SELECT d.met_on, d.due, coalesce(p.attrs->>'kind' = 'mediation', false) AS m"
     "    FROM deadlines d JOIN processes p ON p.id = d.process_id"
     "    WHERE p.workflow = 'tribunal-order' AND d.kind = 'duty' AND d.resolution = 'met'"
     "     AND d.met_on BETWEEN $1::date AND $2::date) t),"
     /* Exception periods started in the period, by reason. */
     " 'exceptions', (SELECT coalesce(json_agg(json_build_array(x.reason, x.n)"
     "   ORDER BY x.reason), '[]'::json) FROM ("
     "   SELECT coalesce(e.attrs->>'reason', '(none)') AS reason, count(*) AS n FROM events e"
     "    WHERE e.type = 'exception_started' AND e.on_date BETWEEN $1::date AND $2::date"
     "     AND NOT EXISTS (SELECT 1 FROM event_voids v WHERE v.event_id = e.id)"
     "    GROUP BY 1) x),"
     /* Missed in the period: the day after the due date is in [$1, A]. */
     " 'missed_n', (SELECT count(*) FROM ms),"
     " 'missed', (SELECT coalesce(json_agg(json_build_object('case', m.ref, 'workflow',"
     "   m.workflow, 'deadline', m.name, 'due', m.due, 'status',"
     "   CASE WHEN m.st = 'met' THEN CASE WHEN m.excusable THEN 'excused' ELSE 'late' END"
     "        WHEN m.st = 'cancelled' THEN 'cancelled'"
     "        WHEN m.excusable THEN 'excused' ELSE 'overdue' END,"
     "   'met_on', CASE WHEN m.st = 'met' THEN m.met_on END,"
     "   'days_late', CASE WHEN m.st = 'met' THEN m.met_on - m.due"
     "                     WHEN m.st = 'cancelled' THEN m.cancelled_on - m.due"
     "                     ELSE $2::date - m.due END,"
     "   'note', m.note) ORDER BY m.due, m.ref, m.name), '[]'::json)"
     "   FROM (SELECT k.ref, k.workflow, d.name, d.due, d.met_on, d.cancelled_on, d.excusable,"
     "          d.note, " SQL_ST_D " AS st"
     "         FROM (SELECT ms.process_id, ms.name, ms.due, p.workflow,"
     "                (SELECT c.ref FROM cases c WHERE c.id = p.case_id) AS ref"
     "               FROM ms CROSS JOIN LATERAL (SELECT p.workflow, p.case_id FROM processes p"
     "                WHERE p.id = ms.process_id) p"
     "               ORDER BY ms.due, ref, ms.name LIMIT $8::integer) k"
     "         JOIN deadlines d ON d.process_id = k.process_id AND d.name = k.name) m))"},
    /* $1 [{"channel", "target", "idem_key"}], $2 subject, $3 body, $4 payload. */
    {"sf_report_queue",
     "INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key)"
     " SELECT 'board_pack', r.channel, r.target, $2, $3, $4::jsonb, r.idem_key"
     " FROM jsonb_to_recordset($1::jsonb) AS r(channel text, target text, idem_key text)"
     " ON CONFLICT (idem_key) DO NOTHING RETURNING idem_key"},
};

const store_stmt *reports_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

/* The boards: the channels file's names, and the words for them. */
typedef struct board_def {
    const char *name;  /* "operations": the request's "board" and channels.yaml's boards: key */
    const char *title; /* "SEND operational board" */
    bool quarter;      /* reports a quarter (else a month) */
} board_def;

static const board_def boards[] = {
    {"operations", "SEND operational board", false},
    {"strategic", "SEND strategic partnership board", true},
};

static const board_def *board_find(const char *name)
{
    for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++)
        if (name && !strcmp(boards[i].name, name))
            return &boards[i];
    return NULL;
}

/* The advisers of reg. 8 reported one by one (advice_<from>), in the workflow's order. */
static const char *const advisers[] = {"education", "health", "social_care", "psychology", "other"};
static const char *const adviser_words[] = {"Education", "Health", "Social care",
                                            "Educational psychology", "Other"};
#define NADVISERS (sizeof advisers / sizeof advisers[0])

/* The reasons an exception may be recorded for, always listed (others found are added). */
static const char *const reasons[] = {"school_closure", "exceptional_circumstances",
                                      "absent_from_area", "missed_appointment"};
static const char *const reason_words[] = {
    "School closure (reg. 10(4)(a))", "Exceptional personal circumstances (reg. 10(4)(c))",
    "Absent from the area (reg. 8(2)(b), 10(4)(d))", "Missed appointment (reg. 8(2)(c))"};
#define NREASONS (sizeof reasons / sizeof reasons[0])

/* How many met, met on time, met without an exception, and both. */
typedef struct tally {
    long n, ok, xn, xok;
} tally;

enum {
    T_DECIDE,
    T_PLAN,
    T_REVIEW,
    T_REVIEW_DECISION,
    T_ADVICE_ALL,
    T_ADVICE, /* + index into advisers */
    T_COUNT = T_ADVICE + NADVISERS,
};

/* One report being made: for a request, or for a board pack (req NULL). */
typedef struct rjob {
    sf_daemon *d;
    srv_req *req; /* owned until replied; NULL for a scheduled pack */
    const board_def *board;
    rpt_period period;
    char period_name[RPT_PERIOD_LEN];
    rpt_format format;
    bool queue;
    cal_day today, as_on, trend_from, round_feb, round_mar, at_risk_until;
    int round_year;
    json_t *data;       /* the data tree (new ref), once read */
    char *content;      /* the document in the requested format (owned) */
    json_t *recipients; /* what was queued: [{"person", "channel", "target", "idem_key"}] */
    uint64_t t0;
} rjob;

static void rjob_free(rjob *j)
{
    json_decref(j->data);
    json_decref(j->recipients);
    free(j->content);
    free(j);
}

static const char *who(const rjob *j, char *buf, size_t n)
{
    if (j->req)
        snprintf(buf, n, "conn %" PRIu64, j->req->conn_id);
    else
        snprintf(buf, n, "board pack");
    return buf;
}

/* Fail the job: reply with the error (or log it for a pack) and free it. */
static void rjob_fail(rjob *j, const char *code, const char *msg)
{
    char w[48];
    log_warn("%s: %s report %s failed: %s: %s", who(j, w, sizeof w), j->board->name, j->period_name,
             code, msg);
    if (j->req)
        srv_reply_error(j->req, code, "%s", msg);
    rjob_free(j);
}

/* ---- the data tree ---- */

static json_t *section(const char *id, const char *title, const char *definition)
{
    return json_pack("{s:s,s:s,s:s,s:[]}", "id", id, "title", title, "definition", definition,
                     "figures");
}

static void add(json_t *sec, json_t *figure)
{
    json_array_append_new(json_object_get(sec, "figures"), figure);
}

/* The month number (year * 12 + month - 1) of a "YYYY-MM" string or a day. */
static int month_no(int y, int m)
{
    return y * 12 + m - 1;
}

static int day_month_no(cal_day d)
{
    int y, m;
    cal_to_ymd(d, &y, &m, NULL);
    return month_no(y, m);
}

/* The tally slot for a deadline name, or -1 when not counted. */
static int tally_slot(const char *name)
{
    if (!strcmp(name, "decide_to_assess"))
        return T_DECIDE;
    if (!strcmp(name, "final_plan"))
        return T_PLAN;
    if (!strcmp(name, "review_meeting"))
        return T_REVIEW;
    if (!strcmp(name, "review_decision"))
        return T_REVIEW_DECISION;
    if (!strncmp(name, "advice_", 7)) {
        for (size_t i = 0; i < NADVISERS; i++)
            if (!strcmp(name + 7, advisers[i]))
                return (int)(T_ADVICE + i);
        return T_ADVICE_ALL; /* an adviser added later: counted in "all" */
    }
    return -1;
}

static void tally_add(tally *t, const json_t *row)
{
    t->n += (long)json_integer_value(json_array_get(row, 2));
    t->ok += (long)json_integer_value(json_array_get(row, 3));
    t->xn += (long)json_integer_value(json_array_get(row, 4));
    t->xok += (long)json_integer_value(json_array_get(row, 5));
}

static const char *date_str(cal_day d, char out[CAL_DATE_LEN])
{
    return cal_format(d, out);
}

/*
 * Build the data tree from the statement's result (see the SQL above for
 * what each part counts; the definitions below say it in words, and the
 * README's "Board reports" section repeats them).
 */
static json_t *build_data(rjob *j, const json_t *in)
{
    char from[CAL_DATE_LEN], to[CAL_DATE_LEN], as_on[CAL_DATE_LEN], today[CAL_DATE_LEN],
        feb[CAL_DATE_LEN], mar[CAL_DATE_LEN];
    char *label = rpt_period_label(&j->period);
    json_t *data =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[]}", "board", j->board->name, "board_title",
                  j->board->title, "period", j->period_name, "period_label", label, "from",
                  date_str(j->period.from, from), "to", date_str(j->period.to, to), "as_on",
                  date_str(j->as_on, as_on), "today", date_str(j->today, today), "sections");
    free(label);
    json_t *sections = json_object_get(data, "sections");
    date_str(j->round_feb, feb);
    date_str(j->round_mar, mar);

    /* Deadlines met: per month of the trend, and over the period. */
    int first_month = day_month_no(j->trend_from), period_month = day_month_no(j->period.from);
    tally months[TREND_MONTHS][T_COUNT], period[T_COUNT];
    memset(months, 0, sizeof months);
    memset(period, 0, sizeof period);
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(in, "met"), i, row)
    {
        const char *m = json_string_value(json_array_get(row, 0));
        const char *name = json_string_value(json_array_get(row, 1));
        int slot = name ? tally_slot(name) : -1;
        if (!m || strlen(m) != 7 || slot < 0)
            continue;
        int mn = month_no(atoi(m), atoi(m + 5)) - first_month;
        if (mn < 0 || mn >= TREND_MONTHS)
            continue;
        tally_add(&months[mn][slot], row);
        if (slot >= T_ADVICE)
            tally_add(&months[mn][T_ADVICE_ALL], row);
        if (mn + first_month >= period_month) {
            tally_add(&period[slot], row);
            if (slot >= T_ADVICE)
                tally_add(&period[T_ADVICE_ALL], row);
        }
    }

    json_t *s =
        section("requests", "EHC needs assessment requests",
                "EHC needs assessment processes (ehcp-assessment) whose start date, the day the "
                "request was received, is in the period up to the as-on date.");
    add(s, rpt_count("assessment_requests_received", "EHC needs assessment requests received",
                     (long)json_integer_value(json_object_get(in, "requests"))));
    json_array_append_new(sections, s);

    s = section("decisions-6-weeks", "Decisions whether to assess (6 weeks)",
                "decide_to_assess deadlines met (decision_to_assess, yes or no) on a day in the "
                "period up to the as-on date; within 6 weeks when the decision is dated on or "
                "before the due date, 6 weeks from the request (SEND Regulations 2014, reg. "
                "5(1)).");
    add(s, rpt_count("decisions_made", "Decisions whether to assess made", period[T_DECIDE].n));
    add(s, rpt_rate("decisions_within_6_weeks", "Decisions made within 6 weeks",
                    period[T_DECIDE].ok, period[T_DECIDE].n));
    json_array_append_new(sections, s);

    s = section("plans-20-weeks", "New EHC plans issued within 20 weeks",
                "final_plan deadlines of EHC needs assessments met (final_plan_issued) on a day in "
                "the period up to the as-on date; within 20 weeks when issued on or before the due "
                "date, 20 weeks from the request (reg. 13(2)). As SEN2 counts them: including "
                "exceptions, every plan issued; excluding exceptions, the plans whose 20 weeks an "
                "exception the law allows overlapped (reg. 13(3): a school closure, exceptional "
                "personal circumstances, absence from the area; sendflow marks such a deadline "
                "excusable) are removed from both the plans issued and those within 20 weeks.");
    add(s,
        rpt_count("plans_issued", "New EHC plans issued (including exceptions)", period[T_PLAN].n));
    add(s, rpt_rate("plans_issued_within_20_weeks_incl",
                    "Issued within 20 weeks, including exceptions", period[T_PLAN].ok,
                    period[T_PLAN].n));
    add(s, rpt_count("plans_with_exceptions", "Plans where an exception applied",
                     period[T_PLAN].n - period[T_PLAN].xn));
    add(s, rpt_count("plans_issued_excl", "New EHC plans issued, excluding exceptions",
                     period[T_PLAN].xn));
    add(s, rpt_rate("plans_issued_within_20_weeks_excl",
                    "Issued within 20 weeks, excluding exceptions", period[T_PLAN].xok,
                    period[T_PLAN].xn));
    json_array_append_new(sections, s);

    s = section("advice-6-weeks", "Advice returned within 6 weeks, by adviser",
                "advice_<adviser> deadlines met (advice_received from that adviser) on a day in "
                "the period up to the as-on date; within 6 weeks when received on or before the "
                "due date, 6 weeks from the advice request (reg. 8(1)). Out of: the advice "
                "returned in the period, on time or not.");
    for (size_t a = 0; a < NADVISERS; a++) {
        char *id = xasprintf("advice_%s_within_6_weeks", advisers[a]);
        char *words = xasprintf("%s advice returned within 6 weeks", adviser_words[a]);
        add(s, rpt_rate(id, words, period[T_ADVICE + a].ok, period[T_ADVICE + a].n));
        free(id);
        free(words);
    }
    add(s, rpt_rate("advice_all_within_6_weeks", "All advice returned within 6 weeks",
                    period[T_ADVICE_ALL].ok, period[T_ADVICE_ALL].n));
    json_array_append_new(sections, s);

    s = section("annual-reviews", "Annual reviews",
                "review_meeting deadlines met (review_meeting_held) on a day in the period up to "
                "the as-on date; within 12 months when held on or before the last day of the 12 "
                "months starting with the plan or the last review (Children and Families Act "
                "2014, s. 44(1)). review_decision deadlines met in the period (keep or cease, or "
                "the proposed amendments, as R (L, M, P) v Devon CC [2022] requires); within 4 "
                "weeks of the meeting when on or before the due date.");
    add(s, rpt_count("reviews_held", "Annual review meetings held", period[T_REVIEW].n));
    add(s, rpt_rate("reviews_held_within_12_months", "Held within 12 months", period[T_REVIEW].ok,
                    period[T_REVIEW].n));
    add(s, rpt_count("review_decisions_made", "Decisions after a review made",
                     period[T_REVIEW_DECISION].n));
    add(s, rpt_rate("review_decisions_within_4_weeks", "Decisions made within 4 weeks",
                    period[T_REVIEW_DECISION].ok, period[T_REVIEW_DECISION].n));
    json_array_append_new(sections, s);

    const json_t *tob = json_object_get(in, "tribunal");
    long to_n = (long)json_integer_value(json_object_get(tob, "n"));
    long to_ok = (long)json_integer_value(json_object_get(tob, "ok"));
    long med_n = (long)json_integer_value(json_object_get(tob, "mn"));
    long med_ok = (long)json_integer_value(json_object_get(tob, "mok"));
    s = section("tribunal-orders", "Tribunal orders and unopposed appeals",
                "Duties of tribunal-order processes (every step of an order, SEND Regulations "
                "2014, reg. 44, or of an unopposed appeal, reg. 45) met on a day in the period up "
                "to the as-on date; on time when met on or before the due date. Mediation "
                "agreements on appealable matters, run as orders (kind=mediation, reg. 42), are "
                "not Tribunal orders: they are counted apart, the same way.");
    add(s, rpt_count("tribunal_order_steps_met", "Tribunal order steps carried out", to_n));
    add(s, rpt_rate("tribunal_orders_met_on_time", "Carried out on time", to_ok, to_n));
    add(s, rpt_count("mediation_agreement_steps_met",
                     "Mediation agreements (appealable matters) carried out", med_n));
    add(s,
        rpt_rate("mediation_agreements_met_on_time",
                 "Mediation agreements (appealable matters) carried out on time", med_ok, med_n));
    json_array_append_new(sections, s);

    const json_t *tr = json_object_get(in, "transfers");
#define TR(k) ((long)json_integer_value(json_object_get(tr, k)))
    char *title = xasprintf("Phase transfers: the %d round (transfers in September %d)",
                            j->round_year, j->round_year);
    char *def = xasprintf(
        "phase_transfer_plan deadlines due on %s (reg. 18(1)(b), before 15 February) or %s "
        "(reg. 18(1)(a), secondary to post-16, before 31 March): the round whose 30 March is the "
        "first on or after the period's first day; transfers cancelled by the as-on date are "
        "left out, and so are moves between post-16 institutions at other times (reg. 18(2)). "
        "As on the as-on date: met when the amended plan naming the institution was issued; "
        "pending when not met and not yet due; overdue when not met and past due; at risk when "
        "pending and due within %d working days, or overdue.",
        feb, mar, AT_RISK_WORKING_DAYS);
    s = section("phase-transfers", title, def);
    free(title);
    free(def);
    long due_n = TR("feb") + TR("mar");
    add(s, rpt_count("phase_transfers_due", "Transfer reviews due in the round", due_n));
    title = xasprintf("Due on %s (before 15 February)", feb);
    add(s, rpt_count("phase_transfers_due_14_february", title, TR("feb")));
    free(title);
    title = xasprintf("Due on %s (before 31 March, to post-16)", mar);
    add(s, rpt_count("phase_transfers_due_30_march", title, TR("mar")));
    free(title);
    add(s, rpt_count("phase_transfers_met", "Met: amended plan issued", TR("met")));
    add(s, rpt_rate("phase_transfers_met_on_time", "Met on or before the deadline", TR("met_ok"),
                    due_n));
    add(s, rpt_count("phase_transfers_pending", "Pending (not yet due)", TR("pending")));
    add(s, rpt_count("phase_transfers_overdue", "Overdue", TR("overdue")));
    title = xasprintf("At risk: due within %d working days, or overdue", AT_RISK_WORKING_DAYS);
    add(s, rpt_count("phase_transfers_at_risk", title, TR("soon") + TR("overdue")));
    free(title);
#undef TR
    json_array_append_new(sections, s);

    /* Overdue on A, by age band and by deadline name. */
    long band[4] = {0}, total = 0, excused = 0;
    json_t *by_name = section(
        "overdue-by-deadline", "Overdue deadlines by deadline",
        "The overdue deadlines above by the deadline's name (advice_<adviser>: the advice from "
        "that adviser).");
    const char *last = NULL;
    long last_n = 0;
    json_array_foreach(json_object_get(in, "overdue"), i, row)
    {
        const char *name = json_string_value(json_array_get(row, 0));
        long b = (long)json_integer_value(json_array_get(row, 1));
        long n = (long)json_integer_value(json_array_get(row, 2));
        if (!name || b < 0 || b > 3)
            continue;
        band[b] += n;
        total += n;
        excused += (long)json_integer_value(json_array_get(row, 3));
        if (last && strcmp(last, name) != 0) {
            char *id = xasprintf("overdue_%s", last);
            add(by_name, rpt_count(id, last, last_n));
            free(id);
            last_n = 0;
        }
        last = name;
        last_n += n;
    }
    if (last) {
        char *id = xasprintf("overdue_%s", last);
        add(by_name, rpt_count(id, last, last_n));
        free(id);
    }
    s = section("overdue", "Overdue deadlines by days overdue",
                "Duties of every workflow not met, and not cancelled, by the as-on date whose due "
                "date had passed, by how many days (the as-on date minus the due date; missed "
                "from the day after the due date). Periods that must be allowed to run are never "
                "overdue. Of which excused: an exception the law allows applies (they are "
                "overdue all the same).");
    add(s, rpt_count("overdue_total", "Overdue deadlines", total));
    static const char *const band_ids[] = {"overdue_1_7_days", "overdue_8_28_days",
                                           "overdue_29_84_days", "overdue_85_plus_days"};
    static const char *const band_words[] = {"1 to 7 days overdue", "8 to 28 days overdue",
                                             "29 to 84 days overdue", "85 days or more overdue"};
    static const char *const band_short[] = {"1-7 days", "8-28 days", "29-84 days", "85+ days"};
    for (size_t b = 0; b < 4; b++) {
        json_t *f = rpt_count(band_ids[b], band_words[b], band[b]);
        json_object_set_new(f, "short", json_string(band_short[b]));
        add(s, f);
    }
    add(s, rpt_count("overdue_excused", "Of which an exception applies (excused)", excused));
    json_object_set_new(s, "chart",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s,s,s,s]}", "type", "bar", "id",
                                  "chart-overdue-age", "title", "Overdue deadlines by days overdue",
                                  "x_label", "Days overdue on the as-on date", "y_label",
                                  "Deadlines", "figures", band_ids[0], band_ids[1], band_ids[2],
                                  band_ids[3]));
    json_array_append_new(sections, s);
    json_array_append_new(sections, by_name);

    /* Reasons for exceptions and delays. */
    s = section("exception-reasons", "Exceptions recorded, by reason",
                "Exception periods started (exception_started events that were not voided) dated "
                "in the period up to the as-on date, in every workflow, by the reason recorded.");
    long reason_n[NREASONS] = {0}, exc_total = 0;
    json_t *others = json_array();
    json_array_foreach(json_object_get(in, "exceptions"), i, row)
    {
        const char *r = json_string_value(json_array_get(row, 0));
        long n = (long)json_integer_value(json_array_get(row, 1));
        if (!r)
            continue;
        exc_total += n;
        size_t k = 0;
        while (k < NREASONS && strcmp(reasons[k], r) != 0)
            k++;
        if (k < NREASONS) {
            reason_n[k] = n;
        } else {
            char *id = xasprintf("exceptions_%s", r);
            json_array_append_new(others, rpt_count(id, r, n));
            free(id);
        }
    }
    add(s, rpt_count("exceptions_started", "Exceptions started", exc_total));
    for (size_t k = 0; k < NREASONS; k++) {
        char *id = xasprintf("exceptions_%s", reasons[k]);
        add(s, rpt_count(id, reason_words[k], reason_n[k]));
        free(id);
    }
    json_array_extend(json_object_get(s, "figures"), others);
    json_decref(others);
    json_array_append_new(sections, s);

    s = section("missed-deadlines", "Deadlines missed in the period, with the reasons recorded",
                "Duties (every workflow) missed in the period: their due date passed in the "
                "period up to the as-on date (a deadline is missed from the day after its due "
                "date, so those due from the day before the period to the day before the as-on "
                "date), not met on or before it and not cancelled by then. Status as on the "
                "as-on date: late (met since), excused (an exception applies), overdue (still "
                "not met) or cancelled (no longer applies); days late: to the day it was met or "
                "cancelled, else to the as-on date; the note is the engine's: the exception or "
                "why it was cancelled.");
    long missed_n = (long)json_integer_value(json_object_get(in, "missed_n"));
    add(s, rpt_count("missed_deadlines", "Deadlines missed", missed_n));
    json_t *items = json_object_get(in, "missed");
    json_object_set_new(
        s, "list",
        json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},"
                  "{s:s,s:s},{s:s,s:s}],s:o,s:I,s:b}",
                  "id", "missed-deadlines-list", "columns", "key", "case", "title", "Case", "key",
                  "workflow", "title", "Workflow", "key", "deadline", "title", "Deadline", "key",
                  "due", "title", "Due", "key", "status", "title", "Status", "key", "met_on",
                  "title", "Met on", "key", "days_late", "title", "Days late", "key", "note",
                  "title", "Note", "items", items ? json_incref(items) : json_array(), "total",
                  (json_int_t)missed_n, "truncated",
                  (json_int_t)json_array_size(items) < (json_int_t)missed_n));
    json_array_append_new(sections, s);

    /* The 12-month trend. */
    static const struct {
        const char *key, *label, *shrt, *kind;
    } series[] = {
        {"plans_issued", "Plans issued", "Plans", "count"},
        {"plans_within_20_weeks_incl", "Within 20 weeks (incl. exceptions)", "20 wk incl.", "rate"},
        {"plans_within_20_weeks_excl", "Within 20 weeks (excl. exceptions)", "20 wk excl.", "rate"},
        {"decisions_within_6_weeks", "Decisions within 6 weeks", "Decided 6 wk", "rate"},
    };
    json_t *trend = json_pack(
        "{s:s,s:s,s:s,s:[],s:[],s:[{s:s,s:s,s:s,s:s,s:s,s:[s]},{s:s,s:s,s:s,s:s,s:s,s:[s,s,s]}]}",
        "id", "trend", "title", "12-month trend", "definition",
        "Each month as the figures above count a period: new EHC plans issued in the month, the "
        "per cent issued within 20 weeks including and excluding exceptions, and the per cent "
        "of decisions whether to assess made within 6 weeks. The last month is judged as on the "
        "as-on date.",
        "series", "months", "charts", "type", "bar", "id", "chart-trend-plans", "title",
        "New EHC plans issued per month", "x_label", "Month", "y_label", "Plans issued", "series",
        series[0].key, "type", "line", "id", "chart-trend-rates", "title",
        "Per cent within the statutory time, per month", "x_label", "Month", "y_label",
        "Per cent on time", "series", series[1].key, series[2].key, series[3].key);
    for (size_t k = 0; k < sizeof series / sizeof series[0]; k++)
        json_array_append_new(json_object_get(trend, "series"),
                              json_pack("{s:s,s:s,s:s,s:s}", "key", series[k].key, "label",
                                        series[k].label, "short", series[k].shrt, "kind",
                                        series[k].kind));
    json_t *tmonths = json_object_get(trend, "months");
    for (int m = 0; m < TREND_MONTHS; m++) {
        int mn = first_month + m, y = mn / 12, mo = mn % 12 + 1;
        char key[RPT_PERIOD_LEN], lab[16], id[96];
        rpt_period pm = {.year = y, .index = mo};
        rpt_period_name(&pm, key);
        snprintf(lab, sizeof lab, "%.3s %d", cal_month_name(mo), y % 10000);
        json_t *figs = json_array();
        tally *t = months[m];
        snprintf(id, sizeof id, "trend_%04d_%02d_plans_issued", y % 10000, mo);
        json_t *f = rpt_count(id, "Plans issued", t[T_PLAN].n);
        json_object_set_new(f, "key", json_string("plans_issued"));
        json_array_append_new(figs, f);
        snprintf(id, sizeof id, "trend_%04d_%02d_plans_within_20_weeks_incl", y % 10000, mo);
        f = rpt_rate(id, "Within 20 weeks (incl. exceptions)", t[T_PLAN].ok, t[T_PLAN].n);
        json_object_set_new(f, "key", json_string("plans_within_20_weeks_incl"));
        json_array_append_new(figs, f);
        snprintf(id, sizeof id, "trend_%04d_%02d_plans_within_20_weeks_excl", y % 10000, mo);
        f = rpt_rate(id, "Within 20 weeks (excl. exceptions)", t[T_PLAN].xok, t[T_PLAN].xn);
        json_object_set_new(f, "key", json_string("plans_within_20_weeks_excl"));
        json_array_append_new(figs, f);
        snprintf(id, sizeof id, "trend_%04d_%02d_decisions_within_6_weeks", y % 10000, mo);
        f = rpt_rate(id, "Decisions within 6 weeks", t[T_DECIDE].ok, t[T_DECIDE].n);
        json_object_set_new(f, "key", json_string("decisions_within_6_weeks"));
        json_array_append_new(figs, f);
        json_array_append_new(
            tmonths, json_pack("{s:s,s:s,s:o}", "month", key, "label", lab, "figures", figs));
    }
    json_object_set_new(data, "trend", trend);
    return data;
}

/* ---- the job ---- */

/* The subject of a pack's e-mail: "SEND operational board pack: October 2026". */
static char *pack_subject(const rjob *j)
{
    char *label = rpt_period_label(&j->period);
    char *s = xasprintf("%s pack: %s", j->board->title, label);
    free(label);
    return s;
}

/* One outbox row per member of the board per channel they have (new reference). */
static json_t *pack_recipients(const rjob *j)
{
    json_t *out = json_array();
    const chan_config *cfg = j->d->chan;
    size_t n = 0;
    const char *const *members = cfg ? chan_board(cfg, j->board->name, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        const chan_person *p = chan_find_person(cfg, members[i]);
        if (!p)
            continue;
        const char *channels[3] = {"email", "webhook", "command"};
        const char *targets[3] = {p->email, p->webhook, p->command};
        for (size_t c = 0; c < 3; c++) {
            if (!targets[c])
                continue;
            char *key = xasprintf("board:%s:%s:%s:%s", j->board->name, j->period_name, p->name,
                                  channels[c]);
            json_array_append_new(out,
                                  json_pack("{s:s,s:s,s:s,s:s}", "person", p->name, "channel",
                                            channels[c], "target", targets[c], "idem_key", key));
            free(key);
        }
    }
    return out;
}

static void rjob_reply(rjob *j, json_t *queued_keys)
{
    char w[48];
    uint64_t ms = uv_now(j->d->loop) - j->t0;
    size_t inserted = 0;
    if (j->recipients) {
        size_t i;
        json_t *r;
        json_array_foreach(j->recipients, i, r)
        {
            bool fresh = false;
            size_t k;
            json_t *key;
            json_array_foreach(queued_keys, k, key)
            {
                if (json_equal(key, json_object_get(r, "idem_key")))
                    fresh = true;
            }
            json_object_set_new(r, "queued", json_boolean(fresh));
            inserted += fresh;
        }
        log_info("%s: %s board pack %s: %zu notice%s queued, %zu already queued (%" PRIu64 " ms)",
                 who(j, w, sizeof w), j->board->name, j->period_name, inserted,
                 inserted == 1 ? "" : "s", json_array_size(j->recipients) - inserted, ms);
        if (json_array_size(j->recipients) == 0)
            log_warn("%s: the %s board has no members with a channel (workflows/channels.yaml): "
                     "no pack for %s was queued",
                     who(j, w, sizeof w), j->board->name, j->period_name);
    } else {
        log_info("%s: %s report %s (%s, as on %s) in %" PRIu64 " ms", who(j, w, sizeof w),
                 j->board->name, j->period_name, rpt_format_name(j->format),
                 json_string_value(json_object_get(j->data, "as_on")), ms);
    }
    if (j->req) {
        json_t *reply =
            json_pack("{s:s,s:s,s:O,s:O,s:O,s:s,s:s,s:O}", "board", j->board->name, "period",
                      j->period_name, "from", json_object_get(j->data, "from"), "to",
                      json_object_get(j->data, "to"), "as_on", json_object_get(j->data, "as_on"),
                      "format", rpt_format_name(j->format), "content", j->content, "data", j->data);
        if (j->recipients) {
            json_object_set_new(reply, "queued", json_integer((json_int_t)inserted));
            json_object_set_new(
                reply, "already_queued",
                json_integer((json_int_t)(json_array_size(j->recipients) - inserted)));
            json_object_set(reply, "recipients", j->recipients);
        }
        srv_reply(j->req, reply);
        j->req = NULL;
    }
    rjob_free(j);
}

static void on_queued(store_tx *tx, PGresult *res, void *arg)
{
    rjob *j = arg;
    if (!res || !store_ok(res)) {
        char *msg = xstrdup(res ? PQresultErrorMessage(res) : store_tx_error(tx));
        msg[strcspn(msg, "\n")] = '\0';
        store_release(tx);
        log_error("%s board pack %s: database error: %s", j->board->name, j->period_name, msg);
        free(msg);
        rjob_fail(j, res ? "internal" : "unavailable",
                  res ? "database error queueing the board pack (see the daemon's log); nothing "
                        "was queued"
                      : "the database connection was lost while queueing the board pack; retry "
                        "(it is queued once whatever the number of tries)");
        return;
    }
    json_t *keys = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(keys, json_string(PQgetvalue(res, r, 0)));
    store_release(tx);
    rjob_reply(j, keys);
    json_decref(keys);
}

/* Queue the pack: the text report as the e-mail's body, the data and the HTML as its payload. */
static void queue_pack(rjob *j, store_tx *tx)
{
    j->recipients = pack_recipients(j);
    if (json_array_size(j->recipients) == 0) {
        store_release(tx);
        json_t *none = json_array();
        rjob_reply(j, none);
        json_decref(none);
        return;
    }
    char *text = rpt_render(j->data, RPT_TEXT);
    char *html = rpt_render(j->data, RPT_HTML);
    char *subject = pack_subject(j);
    json_t *payload =
        json_pack("{s:s,s:s,s:s,s:O,s:s}", "kind", "board_pack", "board", j->board->name, "period",
                  j->period_name, "data", j->data, "html", html);
    char *payload_s = json_dumps(payload, JSON_COMPACT);
    char *rcpt = json_dumps(j->recipients, JSON_COMPACT);
    const char *params[4] = {rcpt, subject, text, payload_s};
    int rc = store_exec(tx, &statements[RP_QUEUE], 4, params, on_queued, j);
    free(text);
    free(html);
    free(subject);
    json_decref(payload);
    free(payload_s);
    free(rcpt);
    if (rc != 0) {
        store_release(tx);
        rjob_fail(j, "unavailable", "the database connection was lost; retry");
    }
}

static void on_read(store_tx *tx, PGresult *res, void *arg)
{
    rjob *j = arg;
    if (!res || !store_ok(res) || PQntuples(res) != 1) {
        char *msg = xstrdup(res ? PQresultErrorMessage(res) : store_tx_error(tx));
        msg[strcspn(msg, "\n")] = '\0';
        const char *state = res ? store_sqlstate(res) : "";
        store_release(tx);
        if (res)
            log_error("%s report %s: database error %s: %s", j->board->name, j->period_name, state,
                      msg);
        free(msg);
        proto_err code = job_db_code(res);
        rjob_fail(j, proto_err_code(code),
                  code == PROTO_ERR_UNAVAILABLE ? "the database did not answer; retry"
                                                : "database error (see the daemon's log)");
        return;
    }
    json_t *in = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (!in) {
        store_release(tx);
        rjob_fail(j, "internal", "the report's figures could not be read");
        return;
    }
    j->data = build_data(j, in);
    json_decref(in);
    if (j->req)
        j->content = rpt_render(j->data, j->format);
    if (j->queue) {
        queue_pack(j, tx);
        return;
    }
    store_release(tx);
    rjob_reply(j, NULL);
}

static void on_connection(store_tx *tx, void *arg)
{
    rjob *j = arg;
    if (!tx) {
        rjob_fail(j, proto_err_code(job_no_connection_code(j->d)),
                  j->d->stopping ? "the daemon is stopping" : "the database is unavailable; retry");
        return;
    }
    char p[8][CAL_DATE_LEN + 8];
    cal_format(j->period.from, p[0]);
    cal_format(j->as_on, p[1]);
    cal_format(j->trend_from, p[2]);
    cal_format(j->round_feb, p[3]);
    cal_format(j->round_mar, p[4]);
    cal_format(j->at_risk_until, p[5]);
    cal_format(cal_add_days(j->period.from, -1), p[6]);
    snprintf(p[7], sizeof p[7], "%d", REPORTS_MAX_MISSED);
    const char *params[8] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]};
    if (store_exec(tx, &statements[RP_READ], 8, params, on_read, j) != 0) {
        store_release(tx);
        rjob_fail(j, "unavailable", "the database connection was lost; retry");
    }
}

/*
 * A job for board b and period p, judged as on the period's last day or
 * today if earlier. The transfer round is the one whose 30 March is the first
 * on or after the period's first day, so the board whose period holds 30
 * March sees how that round ended, and the next one sees the next round.
 */
static rjob *rjob_new(sf_daemon *d, srv_req *req, const board_def *b, const rpt_period *p)
{
    rjob *j = xcalloc(1, sizeof *j);
    j->d = d;
    j->req = req;
    j->board = b;
    j->period = *p;
    rpt_period_name(p, j->period_name);
    j->today = clock_today(&d->clock);
    j->as_on = p->to < j->today ? p->to : j->today;
    int y, m;
    cal_to_ymd(p->to, &y, &m, NULL);
    int tm = month_no(y, m) - (TREND_MONTHS - 1);
    j->trend_from = cal_from_ymd(tm / 12, tm % 12 + 1, 1);
    cal_to_ymd(p->from, &y, NULL, NULL);
    j->round_year = p->from <= cal_from_ymd(y, 3, 30) ? y : y + 1;
    j->round_feb = cal_from_ymd(j->round_year, 2, 14);
    j->round_mar = cal_from_ymd(j->round_year, 3, 30);
    j->at_risk_until = hol_add_working_days(d->cal, j->as_on, AT_RISK_WORKING_DAYS);
    j->t0 = uv_now(d->loop);
    return j;
}

void reports_handle(sf_daemon *d, srv_req *req)
{
    const char *board = NULL, *period = NULL, *format = NULL;
    bool queue = false;
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0};
    if (proto_str(req->msg, "board", true, &board, &code, &err) != 0 ||
        proto_str(req->msg, "period", true, &period, &code, &err) != 0 ||
        proto_str(req->msg, "format", false, &format, &code, &err) != 0 ||
        proto_bool(req->msg, "queue", false, &queue, &code, &err) != 0) {
        srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
        sb_free(&err);
        return;
    }
    const board_def *b = board_find(board);
    if (!b) {
        srv_reply_error(req, "bad_request",
                        "\"board\": no board \"%s\" (operations: monthly, strategic: quarterly)",
                        board);
        return;
    }
    rpt_period p;
    if (rpt_period_parse(period, &p) != 0 || p.quarter != b->quarter) {
        srv_reply_error(
            req, "bad_request", "\"period\": the %s board reports %s, not \"%s\"", b->name,
            b->quarter ? "a quarter (YYYY-Qn, e.g. 2026-Q4)" : "a month (YYYY-MM, e.g. 2026-11)",
            period);
        return;
    }
    rpt_format f = RPT_TEXT;
    if (format && rpt_format_parse(format, &f) != 0) {
        srv_reply_error(req, "bad_request", "\"format\": \"%s\" is not text, json, csv or html",
                        format);
        return;
    }
    cal_day today = clock_today(&d->clock);
    if (p.from > today) {
        char t[CAL_DATE_LEN];
        srv_reply_error(req, "bad_date", "\"period\": %s has not started (today is %s)", period,
                        cal_format(today, t));
        return;
    }
    if (d->stopping) {
        srv_reply_error(req, "shutting_down", "the daemon is stopping; no report was made");
        return;
    }
    rjob *j = rjob_new(d, req, b, &p);
    j->format = f;
    j->queue = queue;
    store_submit(d->store, on_connection, j);
}

/*
 * Queue board b's pack for the month or quarter that ended before this month
 * began (not the day before today: the first working day may be the 2nd or
 * the 4th, and the 1st belongs to this month).
 */
static void queue_board_pack(sf_daemon *d, const board_def *b, cal_day month_start)
{
    rpt_period p = rpt_period_of(cal_add_days(month_start, -1), b->quarter);
    rjob *j = rjob_new(d, NULL, b, &p);
    j->queue = true;
    log_info("board pack: queueing the %s board's pack for %s", b->name, j->period_name);
    store_submit(d->store, on_connection, j);
}

void reports_board_packs(sf_daemon *d)
{
    if (d->stopping)
        return;
    cal_day today = clock_today(&d->clock);
    if (!hol_is_working_day(d->cal, today))
        return;
    int y, m;
    cal_to_ymd(today, &y, &m, NULL);
    cal_day first = cal_from_ymd(y, m, 1);
    for (cal_day day = first; day < today; day++)
        if (hol_is_working_day(d->cal, day))
            return; /* not the first working day of the month */
    queue_board_pack(d, &boards[0], first);
    if (m == 1 || m == 4 || m == 7 || m == 10)
        queue_board_pack(d, &boards[1], first);
}
