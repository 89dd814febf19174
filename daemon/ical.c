/*
 * ical: the calendar feeds (see ical.h). A feed is the due operation for the
 * URL's officer or team, run as the URL's token (a feed token of that very
 * calendar: handlers.c refuses any other), looking as far ahead as due
 * allows, page after page; each open deadline becomes one all-day event,
 * written by libical. Its UID is the deadline's own key (process id and
 * deadline name), so a deadline that moves keeps its UID and moves in the
 * calendar; a deadline met or cancelled is no longer open, so it leaves.
 */
#include "ical.h"

#include <libical/ical.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* due's horizon at most (days), and the pages one feed reads at most (of due's largest page). */
#define FEED_WITHIN    3660
#define FEED_PAGE      1000
#define FEED_MAX_PAGES 20

typedef struct feed {
    bool team;     /* a team's calendar; else an officer's */
    char *name;    /* the officer or team (decoded, checked by due's field reader) */
    char *token;   /* owned; wiped when freed */
    json_t *items; /* due's items, every page */
    int pages;
} feed;

static void feed_free(void *p)
{
    feed *f = p;
    free(f->name);
    if (f->token) {
        memset(f->token, 0, strlen(f->token));
        free(f->token);
    }
    json_decref(f->items);
    free(f);
}

static void next_page(http_ex *ex, json_t *cursor);

/* The event's text: what is due, for which case, why then. */
static char *describe(const json_t *it)
{
    sb b = {0};
    sb_addf(&b, "%s (%s) for case %s, %s.\n", json_string_value(json_object_get(it, "title")),
            json_string_value(json_object_get(it, "deadline")),
            json_string_value(json_object_get(it, "case")),
            json_string_value(json_object_get(it, "workflow")));
    sb_addf(&b, "Due %s; status %s.\n", json_string_value(json_object_get(it, "due")),
            json_string_value(json_object_get(it, "status")));
    const char *basis = json_string_value(json_object_get(it, "basis"));
    const char *explain = json_string_value(json_object_get(it, "explain"));
    if (basis && *basis)
        sb_addf(&b, "Basis: %s\n", basis);
    if (explain && *explain)
        sb_addf(&b, "Why this date: %s\n", explain);
    return sb_steal(&b);
}

/* "YYYY-MM-DD" as an all-day date value (DTSTART;VALUE=DATE). */
static struct icaltimetype day_value(const char *iso)
{
    char compact[9] = {0};
    if (iso && strlen(iso) == 10) {
        memcpy(compact, iso, 4);
        memcpy(compact + 4, iso + 5, 2);
        memcpy(compact + 6, iso + 8, 2);
    }
    return icaltime_from_string(compact);
}

static void send_calendar(http_ex *ex)
{
    feed *f = ex->data;
    icalcomponent *cal = icalcomponent_new_vcalendar();
    icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
    icalcomponent_add_property(cal, icalproperty_new_prodid("-//sendflow//deadlines//EN"));
    icalcomponent_add_property(cal, icalproperty_new_calscale("GREGORIAN"));
    icalcomponent_add_property(cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
    char *title = xasprintf("SEN deadlines: %s %s", f->team ? "team" : "officer", f->name);
    icalproperty *xname = icalproperty_new_x(title);
    icalproperty_set_x_name(xname, "X-WR-CALNAME");
    icalcomponent_add_property(cal, xname);
    free(title);
    struct icaltimetype stamp =
        icaltime_from_timet_with_zone(time(NULL), 0, icaltimezone_get_utc_timezone());
    size_t i;
    json_t *it;
    json_array_foreach(f->items, i, it)
    {
        const char *due = json_string_value(json_object_get(it, "due"));
        struct icaltimetype start = day_value(due), end = start;
        if (icaltime_is_null_time(start))
            continue; /* not a date: nothing to place */
        icaltime_adjust(&end, 1, 0, 0, 0);
        char *uid =
            xasprintf("deadline-%s-%s@sendflow", json_string_value(json_object_get(it, "process")),
                      json_string_value(json_object_get(it, "deadline")));
        char *summary = xasprintf("%s: %s", json_string_value(json_object_get(it, "title")),
                                  json_string_value(json_object_get(it, "case")));
        char *text = describe(it);
        icalcomponent *ev = icalcomponent_new_vevent();
        icalcomponent_add_property(ev, icalproperty_new_uid(uid));
        icalcomponent_add_property(ev, icalproperty_new_dtstamp(stamp));
        icalcomponent_add_property(ev, icalproperty_new_dtstart(start));
        icalcomponent_add_property(ev, icalproperty_new_dtend(end));
        icalcomponent_add_property(ev, icalproperty_new_summary(summary));
        icalcomponent_add_property(ev, icalproperty_new_description(text));
        /* A deadline is a day to have something done by, not time taken out of it. */
        icalcomponent_add_property(ev, icalproperty_new_transp(ICAL_TRANSP_TRANSPARENT));
        icalcomponent_add_component(cal, ev);
        free(uid);
        free(summary);
        free(text);
    }
    char *out = icalcomponent_as_ical_string_r(cal);
    icalcomponent_free(cal);
    http_respond(ex, 200, "text/calendar; charset=utf-8", out, strlen(out));
    icalmemory_free_buffer(out);
}

/* A refused due as an HTTP answer. */
static void send_error(http_ex *ex, const json_t *reply)
{
    const json_t *e = json_object_get(reply, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    int status = 500;
    if (!code)
        code = "internal";
    if (!strcmp(code, "unauthenticated"))
        status = 401;
    else if (!strcmp(code, "forbidden"))
        status = 403;
    else if (!strcmp(code, "bad_request"))
        status = 400;
    else if (!strcmp(code, "unavailable") || !strcmp(code, "shutting_down") ||
             !strcmp(code, "busy"))
        status = 503;
    http_respond_text(ex, status, "%s: %s", code, msg ? msg : "");
}

static void got_page(http_ex *ex, json_t *reply)
{
    feed *f = ex->data;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        send_error(ex, reply);
        return;
    }
    json_array_extend(f->items, json_object_get(reply, "items"));
    json_t *next = json_object_get(reply, "next");
    if (json_is_string(next) && ++f->pages < FEED_MAX_PAGES) {
        next_page(ex, next);
        return;
    }
    if (json_is_string(next))
        log_warn("http %llu: the %s %s feed stops at %zu deadlines", (unsigned long long)ex->id,
                 f->team ? "team" : "officer", f->name, json_array_size(f->items));
    send_calendar(ex);
}

static void next_page(http_ex *ex, json_t *cursor)
{
    feed *f = ex->data;
    json_t *msg = json_pack("{s:s,s:i,s:i,s:s}", "op", "due", "within", FEED_WITHIN, "limit",
                            FEED_PAGE, f->team ? "team" : "officer", f->name);
    if (cursor)
        json_object_set(msg, "cursor", cursor);
    http_call(ex, msg, f->token, got_page);
}

void ical_serve(http_ex *ex)
{
    const char *rest = ex->path + strlen("/ical/");
    bool team = !strncmp(rest, "team/", 5), officer = !strncmp(rest, "officer/", 8);
    const char *name = rest + (team ? 5 : 8);
    size_t len = strlen(name);
    if ((!team && !officer) || len <= 4 || strcmp(name + len - 4, ".ics") != 0 ||
        memchr(name, '/', len)) {
        http_respond_text(ex, 404,
                          "no such calendar: /ical/officer/NAME.ics or "
                          "/ical/team/NAME.ics");
        return;
    }
    if (ex->post) {
        http_header(ex, "Allow", "GET, HEAD");
        http_respond_text(ex, 405, "a calendar is read with GET");
        return;
    }
    char *token = http_param(ex->query, "token");
    if (!token || !*token) {
        free(token);
        http_respond_text(ex, 401,
                          "a calendar URL carries its feed token: ?token=T (sendflow "
                          "token add NAME --role feed --officer NAME)");
        return;
    }
    feed *f = xcalloc(1, sizeof *f);
    f->team = team;
    f->name = http_unescape(name, len - 4);
    f->token = token;
    f->items = json_array();
    ex->data = f;
    ex->data_free = feed_free;
    ex->feed_url = true;
    if (!f->name) {
        http_respond_text(ex, 404, "no such calendar");
        return;
    }
    next_page(ex, NULL);
}
