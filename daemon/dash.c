/* dash: the manager's dashboard (see dash.h). */
#include "dash.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* A session lasts this long from sign-in (a working day), then signs in again. */
#define DASH_SESSION_MS (10ull * 60 * 60 * 1000)
/* Sessions held at most: the oldest goes first beyond it. */
#define DASH_MAX_SESSIONS 1000
/* "This week": due within this many days (overdue duties included, as due lists them). */
#define DASH_WEEK_DAYS 7
/* due pages (of 500) one week view reads at most. */
#define DASH_DUE_PAGES 10
#define DASH_ID_LEN    65 /* 32 random bytes in hex, and the NUL */

#define COOKIE_SESSION "sf_session"
#define COOKIE_SIGNIN  "sf_signin" /* the sign-in form's own CSRF value */

typedef struct dsession {
    char id[DASH_ID_LEN];   /* the cookie's value */
    char csrf[DASH_ID_LEN]; /* every form of the session carries it */
    char *token;            /* owned, wiped when freed: the token signed in with */
    uint64_t expires;       /* uv_now when it ends */
    struct dsession *next;
} dsession;

struct dash {
    dsession *head; /* newest first */
    size_t n;
};

/* One page's state while its protocol requests run. */
typedef struct page {
    char *token;               /* owned, wiped */
    char csrf[DASH_ID_LEN];    /* the session's; "" with a Bearer token (no cookie to ride) */
    char session[DASH_ID_LEN]; /* "" with a Bearer token */
    char who[64], role[16];
    const char *kind; /* "home", "case", "ack", "signout" */
    char *case_ref;   /* the case page's reference */
    char *esc_id, *note;
    json_t *due; /* the week's due items, every page read */
    int due_pages;
    json_t *caseload, *escalations, *now_report, *last_report, *show, *history;
} page;

static const char css[] =
    "body{font:15px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}"
    "header{background:#1d3557;color:#fff;padding:.6em 1.2em;display:flex;gap:1.5em;"
    "align-items:center}header a{color:#fff}header .who{margin-left:auto}"
    "main{padding:0 1.2em 2em;max-width:72em}h1{font-size:1.5em}h2{font-size:1.15em;"
    "margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.4em 0}th,td{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:left;vertical-align:top}td.n{text-align:right}"
    ".figures td{font-size:1.6em;font-weight:600;text-align:center}"
    ".overdue{color:#a4161a;font-weight:600}.pending{color:#1b1b1b}.met{color:#2b7a0b}"
    ".note{color:#555}.error{background:#fde8e8;border:1px solid #a4161a;padding:.6em}"
    "form.inline{display:flex;gap:.4em}input[type=text],input[type=password]{padding:.3em;"
    "min-width:16em}button{padding:.3em .8em}"
    "@media print{header form,form.inline,nav{display:none}body{font-size:11pt}"
    "a{color:inherit;text-decoration:none}}";

/* ---- sessions ------------------------------------------------------------- */

dash *dash_new(void)
{
    return xcalloc(1, sizeof(dash));
}

static void session_free(dsession *s)
{
    if (s->token) {
        OPENSSL_cleanse(s->token, strlen(s->token));
        free(s->token);
    }
    free(s);
}

void dash_free(dash *s)
{
    if (!s)
        return;
    for (dsession *x = s->head, *next; x; x = next) {
        next = x->next;
        session_free(x);
    }
    free(s);
}

/* 32 random bytes in hex; false when OpenSSL has none (then nothing is signed in). */
static bool random_id(char out[DASH_ID_LEN])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return false;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    OPENSSL_cleanse(raw, sizeof raw);
    return true;
}

/* The session called id, or NULL (expired ones are dropped on the way). */
static dsession *session_find(dash *s, const char *id, uint64_t now)
{
    for (dsession **p = &s->head; *p;) {
        dsession *x = *p;
        if (x->expires <= now) {
            *p = x->next;
            s->n--;
            session_free(x);
            continue;
        }
        if (id && CRYPTO_memcmp(x->id, id, DASH_ID_LEN - 1) == 0 && strlen(id) == DASH_ID_LEN - 1)
            return x;
        p = &x->next;
    }
    return NULL;
}

static void session_drop(dash *s, const char *id)
{
    for (dsession **p = &s->head; *p; p = &(*p)->next)
        if (!strcmp((*p)->id, id)) {
            dsession *x = *p;
            *p = x->next;
            s->n--;
            session_free(x);
            return;
        }
}

static dsession *session_new(dash *s, const char *token, uint64_t now)
{
    dsession *x = xcalloc(1, sizeof *x);
    if (!random_id(x->id) || !random_id(x->csrf)) {
        free(x);
        return NULL;
    }
    x->token = xstrdup(token);
    x->expires = now + DASH_SESSION_MS;
    x->next = s->head;
    s->head = x;
    if (++s->n > DASH_MAX_SESSIONS) { /* drop the oldest (the list's tail) */
        dsession **p = &s->head;
        while ((*p)->next)
            p = &(*p)->next;
        session_free(*p);
        *p = NULL;
        s->n--;
    }
    return x;
}

/* A cookie's value from a Cookie header (new string), or NULL. */
static char *cookie_get(const char *header, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        p += strspn(p, " ;");
        size_t len = strcspn(p, ";");
        if (len > n && !strncmp(p, name, n) && p[n] == '=')
            return xstrndup(p + n + 1, len - n - 1);
        p += len;
    }
    return NULL;
}

/* Set-Cookie for name=value (value "" with max_age 0: delete it). */
static void set_cookie(http_ex *ex, const char *name, const char *value, const char *path,
                       long max_age)
{
    char *c = xasprintf("%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Strict%s", name, value,
                        path, max_age, ex->tls ? "; Secure" : "");
    http_header(ex, "Set-Cookie", c);
    free(c);
}

/* Do two secrets match (same length, compared in constant time)? */
static bool same_secret(const char *a, const char *b)
{
    return a && b && *a && strlen(a) == strlen(b) && CRYPTO_memcmp(a, b, strlen(a)) == 0;
}

/* ---- HTML ------------------------------------------------------------------- */

static void esc(sb *out, const char *s)
{
    http_html_escape(out, s ? s : "");
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void html_begin(sb *out, const char *title, const page *pg)
{
    sb_add(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width\">"
                "<link rel=\"stylesheet\" href=\"/style.css\"><title>");
    esc(out, title);
    sb_add(out, " · sendflow</title></head><body><header><strong>sendflow</strong>");
    if (pg && *pg->who) {
        sb_add(out, "<nav><a href=\"/\">The week</a></nav><span class=\"who\">Signed in as ");
        esc(out, pg->who);
        sb_add(out, " (");
        esc(out, pg->role);
        sb_add(out, ")</span>");
        if (*pg->csrf) {
            sb_add(out, "<form method=\"post\" action=\"/signout\"><input type=\"hidden\" "
                        "name=\"csrf\" value=\"");
            esc(out, pg->csrf);
            sb_add(out, "\"><button>Sign out</button></form>");
        }
    }
    sb_add(out, "</header><main><h1>");
    esc(out, title);
    sb_add(out, "</h1>");
}

static void send_html(http_ex *ex, int status, sb *out)
{
    sb_add(out, "</main></body></html>\n");
    http_header(ex, "Content-Security-Policy",
                "default-src 'none'; style-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'");
    http_respond(ex, status, "text/html; charset=utf-8", sb_str(out), out->len);
    sb_free(out);
}

static void send_message(http_ex *ex, int status, const page *pg, const char *title,
                         const char *text)
{
    sb out = {0};
    html_begin(&out, title, pg);
    sb_add(&out, "<p class=\"error\">");
    esc(&out, text);
    sb_add(&out, "</p>");
    send_html(ex, status, &out);
}

static void redirect(http_ex *ex, const char *to)
{
    http_header(ex, "Location", to);
    http_respond_text(ex, 303, "see %s", to);
}

static void signin_form(http_ex *ex, int status, const char *error)
{
    char nonce[DASH_ID_LEN];
    if (!random_id(nonce)) {
        http_respond_text(ex, 503, "no random bytes for the sign-in form; try again");
        return;
    }
    set_cookie(ex, COOKIE_SIGNIN, nonce, "/signin", 3600);
    sb out = {0};
    html_begin(&out, "Sign in", NULL);
    if (error) {
        sb_add(&out, "<p class=\"error\" id=\"signin-error\">");
        esc(&out, error);
        sb_add(&out, "</p>");
    }
    sb_add(&out, "<form method=\"post\" action=\"/signin\"><p><label for=\"token\">Your token "
                 "(from <code>sendflow token add NAME --role manager</code>)</label><br>"
                 "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"off\" "
                 "required></p><input type=\"hidden\" name=\"csrf\" value=\"");
    esc(&out, nonce);
    sb_add(&out, "\"><p><button id=\"signin\">Sign in</button></p></form>"
                 "<p class=\"note\">The dashboard is for managers. Signing in keeps a session "
                 "cookie for this site only, for at most ten hours.</p>");
    send_html(ex, status, &out);
}

/* ---- the pages' requests ---------------------------------------------------- */

static void page_free(void *p)
{
    page *pg = p;
    if (pg->token) {
        OPENSSL_cleanse(pg->token, strlen(pg->token));
        free(pg->token);
    }
    free(pg->case_ref);
    free(pg->esc_id);
    free(pg->note);
    json_decref(pg->due);
    json_decref(pg->caseload);
    json_decref(pg->escalations);
    json_decref(pg->now_report);
    json_decref(pg->last_report);
    json_decref(pg->show);
    json_decref(pg->history);
    free(pg);
}

/*
 * A failed request as a page: a token revoked meanwhile ends the session
 * and goes back to signing in; the rest say what happened.
 */
static void failed(http_ex *ex, const json_t *reply)
{
    page *pg = ex->data;
    const json_t *e = json_object_get(reply, "error");
    const char *code = str(e, "code"), *msg = str(e, "message");
    if (!strcmp(code, "unauthenticated")) {
        if (*pg->session) {
            session_drop(http_dash(ex), pg->session);
            set_cookie(ex, COOKIE_SESSION, "", "/", 0);
            redirect(ex, "/signin");
        } else {
            http_respond_text(ex, 401, "%s", msg);
        }
        return;
    }
    int status = !strcmp(code, "forbidden")                                       ? 403
                 : !strcmp(code, "unknown_case")                                  ? 404
                 : !strcmp(code, "unavailable") || !strcmp(code, "shutting_down") ? 503
                 : !strcmp(code, "bad_request") || !strcmp(code, "no_escalation") ? 400
                                                                                  : 500;
    char *text = xasprintf("%s: %s", code, msg);
    send_message(ex, status, pg, "Not done", text);
    free(text);
}

/* reply's "ok", else the page fails; then steal it into *slot. */
static bool keep(http_ex *ex, json_t *reply, json_t **slot)
{
    if (!json_is_true(json_object_get(reply, "ok"))) {
        failed(ex, reply);
        return false;
    }
    if (slot)
        *slot = json_incref(reply);
    return true;
}

static void call(http_ex *ex, json_t *msg, void (*then)(http_ex *ex, json_t *reply))
{
    page *pg = ex->data;
    http_call(ex, msg, pg->token, then);
}

/* ---- the week ---------------------------------------------------------------- */

typedef struct tally {
    char name[72];
    long overdue, week;
} tally;

/* Add item to the tally of name in list (grown as needed). */
static void count(tally **list, size_t *n, const char *name, const json_t *item)
{
    size_t i = 0;
    while (i < *n && strcmp((*list)[i].name, name) != 0)
        i++;
    if (i == *n) {
        *list = xrealloc(*list, (*n + 1) * sizeof **list);
        memset(&(*list)[i], 0, sizeof **list);
        snprintf((*list)[i].name, sizeof(*list)[i].name, "%s", name);
        (*n)++;
    }
    if (!strcmp(str(item, "status"), "overdue"))
        (*list)[i].overdue++;
    else
        (*list)[i].week++;
}

static int tally_cmp(const void *a, const void *b)
{
    return strcmp(((const tally *)a)->name, ((const tally *)b)->name);
}

static void tally_table(sb *out, const char *id, const char *what, tally *t, size_t n)
{
    qsort(t, n, sizeof *t, tally_cmp);
    sb_addf(out,
            "<table id=\"%s\"><tr><th>%s</th><th>Overdue</th><th>Due within %d days</th>"
            "</tr>",
            id, what, DASH_WEEK_DAYS);
    for (size_t i = 0; i < n; i++) {
        sb_add(out, "<tr data-name=\"");
        esc(out, t[i].name);
        sb_add(out, "\"><td>");
        esc(out, t[i].name);
        sb_addf(out,
                "</td><td class=\"n\" data-key=\"overdue\">%ld</td><td class=\"n\" "
                "data-key=\"week\">%ld</td></tr>",
                t[i].overdue, t[i].week);
    }
    if (n == 0)
        sb_add(out, "<tr><td colspan=\"3\">nothing due</td></tr>");
    sb_add(out, "</table>");
}

static void case_link(sb *out, const char *ref)
{
    sb_add(out, "<a href=\"/case/");
    sb t = {0};
    http_url_escape(&t, ref);
    esc(out, sb_str(&t));
    sb_free(&t);
    sb_add(out, "\">");
    esc(out, ref);
    sb_add(out, "</a>");
}

/*
 * The SEN2 20-week rate (including exceptions) of the months of year in a
 * report's 12-month trend: *num of *den plans.
 */
static void year_rate(const json_t *report, int year, long *num, long *den)
{
    *num = *den = 0;
    const json_t *months =
        json_object_get(json_object_get(json_object_get(report, "data"), "trend"), "months");
    size_t i, k;
    json_t *m, *f;
    json_array_foreach(months, i, m)
    {
        if (atoi(str(m, "month")) != year)
            continue;
        json_array_foreach(json_object_get(m, "figures"), k, f)
        {
            if (strcmp(str(f, "key"), "plans_within_20_weeks_incl") != 0)
                continue;
            *num += (long)json_integer_value(json_object_get(f, "numerator"));
            *den += (long)json_integer_value(json_object_get(f, "denominator"));
        }
    }
}

static void rate_cell(sb *out, const char *id, long num, long den)
{
    sb_addf(out, "<td id=\"%s\" data-num=\"%ld\" data-den=\"%ld\">", id, num, den);
    if (den)
        sb_addf(out, "%.1f%%", 100.0 * (double)num / (double)den);
    else
        sb_add(out, "–");
    sb_addf(out, "<br><small>%ld of %ld plans</small></td>", num, den);
}

static void render_home(http_ex *ex)
{
    page *pg = ex->data;
    sb out = {0};
    html_begin(&out, "The team's week", pg);
    const json_t *items = pg->due;
    const json_t *esc_list = json_object_get(pg->escalations, "escalations");
    long overdue = 0, week = 0, open = 0;
    tally *by_officer = NULL, *by_team = NULL;
    size_t nofficer = 0, nteam = 0, i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (!strcmp(str(it, "status"), "overdue"))
            overdue++;
        else
            week++;
        const char *o = json_string_value(json_object_get(it, "officer"));
        const char *t = json_string_value(json_object_get(it, "team"));
        count(&by_officer, &nofficer, o ? o : "unassigned", it);
        count(&by_team, &nteam, t ? t : "no team", it);
    }
    json_array_foreach(esc_list, i, it) if (json_is_null(json_object_get(it, "acked_at"))) open++;
    sb_addf(&out,
            "<p>Today is %s. Overdue: open duties past their day. Due: deadlines due in the "
            "next %d days.</p><table class=\"figures\"><tr><th>Overdue</th><th>Due within %d "
            "days</th><th>Escalations not acknowledged</th></tr><tr><td id=\"total-overdue\">"
            "%ld</td><td id=\"total-week\">%ld</td><td id=\"total-escalations\">%ld</td></tr>"
            "</table>",
            str(pg->caseload, "today"), DASH_WEEK_DAYS, DASH_WEEK_DAYS, overdue, week, open);
    sb_add(&out, "<h2>By officer</h2>");
    tally_table(&out, "by-officer", "Officer", by_officer, nofficer);
    sb_add(&out, "<h2>By team</h2>");
    tally_table(&out, "by-team", "Team", by_team, nteam);
    free(by_officer);
    free(by_team);

    /* Caseloads: the same figures as sendflow caseload. */
    sb_addf(&out,
            "<h2>Caseloads</h2><p class=\"note\">At risk: duties due by %s (10 working "
            "days) and not yet met.</p><table id=\"caseload\"><tr><th>Officer</th><th>Open "
            "processes</th><th>At risk</th><th>Overdue</th><th>Escalations open</th></tr>",
            str(pg->caseload, "due_by"));
    json_array_foreach(json_object_get(pg->caseload, "officers"), i, it)
    {
        const char *o = json_string_value(json_object_get(it, "officer"));
        sb_add(&out, "<tr data-name=\"");
        esc(&out, o ? o : "unassigned");
        sb_add(&out, "\"><td>");
        esc(&out, o ? o : "unassigned");
        sb_addf(&out,
                "</td><td class=\"n\" data-key=\"open_processes\">%lld</td><td class=\"n\" "
                "data-key=\"due_soon\">%lld</td><td class=\"n\" data-key=\"overdue\">%lld</td>"
                "<td class=\"n\" data-key=\"escalations_open\">%lld</td></tr>",
                json_integer_value(json_object_get(it, "open_processes")),
                json_integer_value(json_object_get(it, "due_soon")),
                json_integer_value(json_object_get(it, "overdue")),
                json_integer_value(json_object_get(it, "escalations_open")));
    }
    sb_add(&out, "</table>");

    /* The week's deadlines, overdue first (due lists them by day). */
    sb_add(&out, "<h2>Deadlines</h2><table id=\"deadlines\"><tr><th>Due</th><th>Case</th>"
                 "<th>Deadline</th><th>Officer</th><th>Team</th><th>Status</th></tr>");
    for (int pass = 0; pass < 2; pass++)
        json_array_foreach(items, i, it)
        {
            bool od = !strcmp(str(it, "status"), "overdue");
            if (od != (pass == 0))
                continue;
            sb_add(&out, "<tr><td>");
            esc(&out, str(it, "due"));
            sb_add(&out, "</td><td>");
            case_link(&out, str(it, "case"));
            sb_add(&out, "</td><td>");
            esc(&out, str(it, "title"));
            sb_add(&out, "</td><td>");
            esc(&out, json_string_value(json_object_get(it, "officer")) ? str(it, "officer")
                                                                        : "unassigned");
            sb_add(&out, "</td><td>");
            esc(&out, str(it, "team"));
            sb_addf(&out, "</td><td class=\"%s\">", od ? "overdue" : "pending");
            esc(&out, str(it, "status"));
            sb_add(&out, "</td></tr>");
        }
    if (json_array_size(items) == 0)
        sb_add(&out, "<tr><td colspan=\"6\">nothing due</td></tr>");
    sb_add(&out, "</table>");

    /* Open escalations, each with its acknowledge form. */
    sb_add(&out, "<h2>Open escalations</h2><table id=\"escalations\"><tr><th>Level</th>"
                 "<th>Case</th><th>Deadline</th><th>Due</th><th>Fired</th><th>Acknowledged</th>"
                 "</tr>");
    json_array_foreach(esc_list, i, it)
    {
        sb_add(&out, "<tr data-id=\"");
        esc(&out, str(it, "id"));
        sb_add(&out, "\"><td>");
        esc(&out, str(it, "level"));
        sb_add(&out, "</td><td>");
        case_link(&out, str(it, "case"));
        sb_add(&out, "</td><td>");
        esc(&out, str(it, "title"));
        sb_add(&out, "</td><td>");
        esc(&out, str(it, "due"));
        sb_add(&out, "</td><td>");
        esc(&out, str(it, "fired_at"));
        sb_add(&out, "</td><td>");
        if (!json_is_null(json_object_get(it, "acked_at")) && json_object_get(it, "acked_at")) {
            esc(&out, str(it, "acked_by"));
            sb_add(&out, ": ");
            esc(&out, str(it, "ack_note"));
        } else {
            sb_add(&out, "<form class=\"inline\" method=\"post\" action=\"/ack\">"
                         "<input type=\"hidden\" name=\"csrf\" value=\"");
            esc(&out, pg->csrf);
            sb_add(&out, "\"><input type=\"hidden\" name=\"escalation\" value=\"");
            esc(&out, str(it, "id"));
            sb_add(&out, "\"><input type=\"text\" name=\"note\" required maxlength=\"1000\" "
                         "placeholder=\"what is being done\" aria-label=\"note\">"
                         "<button>Acknowledge</button></form>");
        }
        sb_add(&out, "</td></tr>");
    }
    if (json_array_size(esc_list) == 0)
        sb_add(&out, "<tr><td colspan=\"6\">none open</td></tr>");
    sb_add(&out, "</table>");

    /* SEN2: the 20-week rate, this calendar year so far against last year. */
    int year = atoi(str(pg->caseload, "today"));
    long n1, d1, n0, d0;
    year_rate(pg->now_report, year, &n1, &d1);
    year_rate(pg->last_report, year - 1, &n0, &d0);
    sb_addf(&out,
            "<h2>New EHC plans issued within 20 weeks (SEN2)</h2><p class=\"note\">"
            "Including exceptions, by the month the plan was issued, as the board reports "
            "count them.</p><table id=\"sen2\"><tr><th>%d so far</th><th>%d</th></tr><tr>",
            year, year - 1);
    rate_cell(&out, "rate-this-year", n1, d1);
    rate_cell(&out, "rate-last-year", n0, d0);
    sb_add(&out, "</tr></table>");
    send_html(ex, 200, &out);
}

static void home_last_report(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (keep(ex, reply, &pg->last_report))
        render_home(ex);
}

static void home_now_report(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, &pg->now_report))
        return;
    /* Last December's report: its 12-month trend is last year's months. */
    char period[16];
    snprintf(period, sizeof period, "%04d-12", atoi(str(pg->caseload, "today")) - 1);
    call(ex,
         json_pack("{s:s,s:s,s:s,s:s}", "op", "report", "board", "operations", "period", period,
                   "format", "json"),
         home_last_report);
}

static void home_escalations(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, &pg->escalations))
        return;
    char period[8];
    snprintf(period, sizeof period, "%.7s", str(pg->caseload, "today"));
    call(ex,
         json_pack("{s:s,s:s,s:s,s:s}", "op", "report", "board", "operations", "period", period,
                   "format", "json"),
         home_now_report);
}

static void home_caseload(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, &pg->caseload))
        return;
    call(ex, json_pack("{s:s,s:b,s:i}", "op", "escalations", "open", 1, "limit", 1000),
         home_escalations);
}

static void home_due(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, NULL))
        return;
    json_array_extend(pg->due, json_object_get(reply, "items"));
    json_t *next = json_object_get(reply, "next");
    if (json_is_string(next) && ++pg->due_pages < DASH_DUE_PAGES) {
        json_t *msg =
            json_pack("{s:s,s:i,s:i}", "op", "due", "within", DASH_WEEK_DAYS, "limit", 500);
        json_object_set(msg, "cursor", next);
        call(ex, msg, home_due);
        return;
    }
    call(ex, json_pack("{s:s}", "op", "caseload"), home_caseload);
}

/* ---- a case ------------------------------------------------------------------ */

static void render_case(http_ex *ex)
{
    page *pg = ex->data;
    sb out = {0};
    char *title = xasprintf("Case %s", pg->case_ref);
    html_begin(&out, title, pg);
    free(title);
    const json_t *attrs = json_object_get(pg->show, "attrs");
    sb_add(&out, "<p>Officer: ");
    esc(&out, json_string_value(json_object_get(attrs, "officer")) ? str(attrs, "officer")
                                                                   : "unassigned");
    sb_add(&out, "; team: ");
    esc(&out, str(attrs, "team"));
    sb_add(&out, "</p>");
    size_t i, k;
    json_t *p, *dl;
    json_array_foreach(json_object_get(pg->show, "processes"), i, p)
    {
        sb_add(&out, "<h2>");
        esc(&out, str(p, "workflow"));
        sb_add(&out, " (process ");
        json_t *pid = json_object_get(p, "id");
        if (json_is_integer(pid))
            sb_addf(&out, "%lld", json_integer_value(pid));
        else
            esc(&out, str(p, "id"));
        sb_add(&out, "): ");
        esc(&out, str(p, "status"));
        sb_add(&out, ", ");
        esc(&out, str(p, "state"));
        sb_add(&out, "</h2><table class=\"deadlines\"><tr><th>Deadline</th><th>Due</th>"
                     "<th>Status</th><th>Basis</th><th>Why this date</th></tr>");
        json_array_foreach(json_object_get(p, "deadlines"), k, dl)
        {
            sb_add(&out, "<tr data-deadline=\"");
            esc(&out, str(dl, "name"));
            sb_add(&out, "\"><td>");
            esc(&out, str(dl, "title"));
            sb_add(&out, "</td><td>");
            esc(&out, str(dl, "due"));
            sb_addf(&out, "</td><td class=\"%s\">",
                    !strcmp(str(dl, "status"), "overdue") ? "overdue" : "pending");
            esc(&out, str(dl, "status"));
            sb_add(&out, "</td><td>");
            esc(&out, str(dl, "basis"));
            sb_add(&out, "</td><td>");
            esc(&out, str(dl, "explain"));
            sb_add(&out, "</td></tr>");
        }
        sb_add(&out, "</table>");
    }
    sb_add(&out, "<h2>History</h2><table id=\"history\"><tr><th>Recorded</th><th>What</th>"
                 "<th>On</th><th>By</th></tr>");
    json_array_foreach(json_object_get(pg->history, "entries"), i, p)
    {
        sb_add(&out, "<tr><td>");
        esc(&out, str(p, "recorded_at"));
        sb_add(&out, "</td><td>");
        esc(&out, str(p, "kind"));
        if (*str(p, "type")) {
            sb_add(&out, ": ");
            esc(&out, str(p, "type"));
        }
        if (*str(p, "workflow")) {
            sb_add(&out, " ");
            esc(&out, str(p, "workflow"));
        }
        if (json_is_true(json_object_get(p, "voided")))
            sb_add(&out, " (voided)");
        if (*str(p, "reason")) {
            sb_add(&out, " (");
            esc(&out, str(p, "reason"));
            sb_add(&out, ")");
        }
        sb_add(&out, "</td><td>");
        esc(&out, str(p, "on"));
        sb_add(&out, "</td><td>");
        esc(&out, str(p, "actor"));
        sb_add(&out, "</td></tr>");
    }
    sb_add(&out, "</table>");
    if (json_is_string(json_object_get(pg->history, "next")))
        sb_add(&out, "<p class=\"note\">The history goes on: sendflow history shows the rest.</p>");
    send_html(ex, 200, &out);
}

static void case_history(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (keep(ex, reply, &pg->history))
        render_case(ex);
}

static void case_show(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, &pg->show))
        return;
    call(ex, json_pack("{s:s,s:s,s:i}", "op", "history", "case", pg->case_ref, "limit", 1000),
         case_history);
}

/* ---- acknowledge ---------------------------------------------------------------- */

static void acked(http_ex *ex, json_t *reply)
{
    if (keep(ex, reply, NULL))
        redirect(ex, "/");
}

/* ---- dispatch -------------------------------------------------------------------- */

/* Who the token is: a manager or an admin goes on to the page asked for. */
static void identified(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!keep(ex, reply, NULL))
        return;
    snprintf(pg->who, sizeof pg->who, "%s", str(reply, "who"));
    snprintf(pg->role, sizeof pg->role, "%s", str(reply, "role"));
    if (strcmp(pg->role, "manager") != 0 && strcmp(pg->role, "admin") != 0) {
        char *why = xasprintf(
            "The dashboard is for managers; %s signed in as a%s %s.", pg->who,
            !strcmp(pg->role, "auditor") || !strcmp(pg->role, "integration") ? "n" : "", pg->role);
        send_message(ex, 403, pg, "Not for this role", why);
        free(why);
        return;
    }
    if (!strcmp(pg->kind, "home")) {
        pg->due = json_array();
        call(ex, json_pack("{s:s,s:i,s:i}", "op", "due", "within", DASH_WEEK_DAYS, "limit", 500),
             home_due);
    } else if (!strcmp(pg->kind, "case")) {
        call(ex, json_pack("{s:s,s:s}", "op", "show", "case", pg->case_ref), case_show);
    } else if (!strcmp(pg->kind, "ack")) {
        call(ex,
             json_pack("{s:s,s:s,s:s}", "op", "ack", "escalation", pg->esc_id, "note", pg->note),
             acked);
    }
}

/* POST /signin: the form's token, checked (ping) before a session is made. */
static void signin_checked(http_ex *ex, json_t *reply)
{
    page *pg = ex->data;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        signin_form(ex, 401, "That token is not known, or has been revoked.");
        return;
    }
    const char *role = str(reply, "role");
    if (strcmp(role, "manager") != 0 && strcmp(role, "admin") != 0) {
        signin_form(ex, 403, "That token is not a manager's: the dashboard is for managers.");
        return;
    }
    dsession *s = session_new(http_dash(ex), pg->token, uv_now(ex->d->loop));
    if (!s) {
        signin_form(ex, 503, "No random bytes for a session; try again.");
        return;
    }
    log_info("http %llu: %s (%s) signed in to the dashboard", (unsigned long long)ex->id,
             str(reply, "who"), role);
    set_cookie(ex, COOKIE_SESSION, s->id, "/", DASH_SESSION_MS / 1000);
    set_cookie(ex, COOKIE_SIGNIN, "", "/signin", 0);
    redirect(ex, "/");
}

static void signin_post(http_ex *ex)
{
    char *nonce = cookie_get(ex->cookie, COOKIE_SIGNIN);
    char *csrf = http_param(ex->body, "csrf");
    char *token = http_param(ex->body, "token");
    bool ok = same_secret(nonce, csrf);
    free(nonce);
    free(csrf);
    if (!ok || !token || !*token) {
        if (token)
            OPENSSL_cleanse(token, strlen(token));
        free(token);
        signin_form(ex, ok ? 400 : 403,
                    ok ? "Give your token." : "The form had expired; sign in again.");
        return;
    }
    page *pg = xcalloc(1, sizeof *pg);
    pg->token = token;
    pg->kind = "signin";
    ex->data = pg;
    ex->data_free = page_free;
    call(ex, json_pack("{s:s}", "op", "ping"), signin_checked);
}

void dash_serve(http_ex *ex)
{
    dash *ds = http_dash(ex);
    if (!strcmp(ex->path, "/style.css")) {
        http_header(ex, "Cache-Control", "max-age=3600");
        http_respond(ex, 200, "text/css; charset=utf-8", css, sizeof css - 1);
        return;
    }
    if (!strcmp(ex->path, "/signin")) {
        if (ex->post)
            signin_post(ex);
        else
            signin_form(ex, 200, NULL);
        return;
    }
    /* Who: a Bearer token, else the session cookie. */
    page *pg = xcalloc(1, sizeof *pg);
    ex->data = pg;
    ex->data_free = page_free;
    if (ex->authorization && !strncasecmp(ex->authorization, "Bearer ", 7)) {
        pg->token = xstrdup(ex->authorization + 7);
    } else {
        char *sid = cookie_get(ex->cookie, COOKIE_SESSION);
        dsession *s = session_find(ds, sid, uv_now(ex->d->loop));
        free(sid);
        if (!s) {
            if (ex->post)
                http_respond_text(ex, 401, "not signed in");
            else
                redirect(ex, "/signin");
            return;
        }
        pg->token = xstrdup(s->token);
        memcpy(pg->csrf, s->csrf, sizeof pg->csrf);
        memcpy(pg->session, s->id, sizeof pg->session);
    }
    /* A form's CSRF value must be the session's (a Bearer request has no cookie to forge). */
    if (ex->post && *pg->session) {
        char *csrf = http_param(ex->body, "csrf");
        bool ok = same_secret(csrf, pg->csrf);
        free(csrf);
        if (!ok) {
            send_message(ex, 403, pg, "Not done",
                         "The form's security token did not match your session: reload the "
                         "page and try again.");
            return;
        }
    }
    if (ex->post && !strcmp(ex->path, "/signout")) {
        if (*pg->session)
            session_drop(ds, pg->session);
        set_cookie(ex, COOKIE_SESSION, "", "/", 0);
        redirect(ex, "/signin");
        return;
    }
    if (!ex->post && !strcmp(ex->path, "/")) {
        pg->kind = "home";
    } else if (!ex->post && !strncmp(ex->path, "/case/", 6) && ex->path[6]) {
        pg->kind = "case";
        pg->case_ref = http_unescape(ex->path + 6, strlen(ex->path + 6));
        if (!pg->case_ref) {
            send_message(ex, 404, pg, "No such case", "That is not a case reference.");
            return;
        }
    } else if (ex->post && !strcmp(ex->path, "/ack")) {
        pg->kind = "ack";
        pg->esc_id = http_param(ex->body, "escalation");
        pg->note = http_param(ex->body, "note");
        if (!pg->esc_id || !pg->note) {
            send_message(ex, 400, pg, "Not done", "An acknowledgement needs its note.");
            return;
        }
    } else {
        send_message(ex, 404, pg, "No such page", "There is no such page.");
        return;
    }
    call(ex, json_pack("{s:s}", "op", "ping"), identified);
}
