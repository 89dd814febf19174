/*
 * sendflow: the caseworker's command-line client for sendflowd.
 *
 * A thin client: it parses the command line, checks what it can locally
 * (dates, KEY=VALUE pairs, numbers) so a typing error never reaches the
 * daemon, sends one request line over the daemon's Unix socket, reads the one
 * reply line and prints it, as text (render.c) or, with --json, as the reply
 * object without its protocol envelope. The only command that works without
 * the daemon is "workflows validate FILE", which runs the same loader the
 * daemon uses.
 *
 * Exit status: 0 on success, 1 when the daemon (or reaching it) fails or a
 * workflow file is invalid, 2 for a command line we cannot accept.
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cal.h"
#include "caseio.h"
#include "render.h"
#include "report.h"
#include "sfconn.h"
#include "sf_config.h"
#include "util.h"
#include "chan.h"
#include "esc.h"
#include "hol.h"
#include "load.h"
#include "paths.h"
#include "page.h"
#include "svc.h"
#include "wf.h"

enum {
    EXIT_FAIL = 1,  /* the daemon or the connection reported an error */
    EXIT_USAGE = 2, /* the command line is wrong */
};

/* The wire names of the operations, from the shared protocol table. */
enum sf_op {
#define SF_OP(sym, name, desc) OP_##sym,
#include "proto.def"
#undef SF_OP
};

static const char *const op_names[] = {
#define SF_OP(sym, name, desc) name,
#include "proto.def"
#undef SF_OP
};

/* ---- the command line --------------------------------------------------- */

/* One bit per option, so each command can say which it takes (64: room to grow). */
#define O_JSON    (UINT64_C(1) << 0)
#define O_SOCKET  (UINT64_C(1) << 1)
#define O_HELP    (UINT64_C(1) << 2)
#define O_VERSION (UINT64_C(1) << 3)
#define O_DOB     (UINT64_C(1) << 4)
#define O_SET     (UINT64_C(1) << 5)
#define O_ON      (UINT64_C(1) << 6)
#define O_KEY     (UINT64_C(1) << 7)
#define O_PROCESS (UINT64_C(1) << 8)
#define O_WITHIN  (UINT64_C(1) << 9)
#define O_OVERDUE (UINT64_C(1) << 10)
#define O_REASON  (UINT64_C(1) << 11)
#define O_ALL     (UINT64_C(1) << 12)
#define O_OPEN    (UINT64_C(1) << 13)
#define O_NOTE    (UINT64_C(1) << 14)
#define O_FAILED  (UINT64_C(1) << 15)
#define O_LIMIT   (UINT64_C(1) << 16)
#define O_CURSOR  (UINT64_C(1) << 17)
#define O_SINCE   (UINT64_C(1) << 18)
#define O_TOKEN   (UINT64_C(1) << 19) /* TCP: the token sent with each request */
/* report (bits from 20: room below for other commands' options) */
#define O_BOARD  (UINT64_C(1) << 20)
#define O_PERIOD (UINT64_C(1) << 21)
#define O_FORMAT (UINT64_C(1) << 22)
#define O_OUTPUT (UINT64_C(1) << 23)
#define O_QUEUE  (UINT64_C(1) << 24)
/* token add */
#define O_ROLE   (UINT64_C(1) << 25)
#define O_EVENTS (UINT64_C(1) << 26)
/* reaching the daemon over TCP */
#define O_CONNECT (UINT64_C(1) << 27)
#define O_TLS_CA  (UINT64_C(1) << 28)
/* caseloads (due, caseload, case assign), recompute --dry-run, show --as-known-on */
#define O_OFFICER     (UINT64_C(1) << 29)
#define O_TEAM        (UINT64_C(1) << 30)
#define O_MINE        (UINT64_C(1) << 31)
#define O_DRY_RUN     (UINT64_C(1) << 32)
#define O_AS_KNOWN_ON (UINT64_C(1) << 33)
/* Options every command takes. */
#define O_GLOBAL (O_JSON | O_SOCKET | O_HELP | O_VERSION | O_TOKEN | O_CONNECT | O_TLS_CA)

static const struct option_spec {
    const char *name; /* without the leading "--" */
    uint64_t bit;
    bool has_value;
} option_specs[] = {
    {"json", O_JSON, false},
    {"socket", O_SOCKET, true},
    {"help", O_HELP, false},
    {"version", O_VERSION, false},
    {"dob", O_DOB, true},
    {"set", O_SET, true},
    {"on", O_ON, true},
    {"key", O_KEY, true},
    {"process", O_PROCESS, true},
    {"within", O_WITHIN, true},
    {"overdue", O_OVERDUE, false},
    {"reason", O_REASON, true},
    {"all", O_ALL, false},
    {"open", O_OPEN, false},
    {"note", O_NOTE, true},
    {"failed", O_FAILED, false},
    {"limit", O_LIMIT, true},
    {"cursor", O_CURSOR, true},
    {"since", O_SINCE, true},
    {"board", O_BOARD, true},
    {"period", O_PERIOD, true},
    {"format", O_FORMAT, true},
    {"output", O_OUTPUT, true},
    {"queue", O_QUEUE, false},
    {"officer", O_OFFICER, true},
    {"team", O_TEAM, true},
    {"mine", O_MINE, false},
    {"dry-run", O_DRY_RUN, false},
    {"as-known-on", O_AS_KNOWN_ON, true},
    {"token", O_TOKEN, true},
    {"connect", O_CONNECT, true},
    {"tls-ca", O_TLS_CA, true},
    {"role", O_ROLE, true},
    {"events", O_EVENTS, true},
};

#define MAX_POS 8

/* The parsed command line. Strings are borrowed from argv. */
typedef struct cli {
    uint64_t seen; /* O_* bits of the options given */
    const char *socket;
    const char *dob;
    const char *on;
    const char *key;
    const char *process;
    const char *within;
    const char *reason;
    const char *note;
    const char *since;                            /* audit --since */
    const char *board, *period, *format, *output; /* report */
    const char *limit, *cursor;                   /* paged reads */
    const char *officer, *team;                   /* case assign, due, caseload */
    const char *as_known_on;                      /* show, due */
    const char *token, *connect, *tls_ca;         /* TCP: --token, --connect, --tls-ca */
    const char *role, *events;                    /* token add */
    json_t *attrs;            /* new ref: the --set pairs as an object; NULL when none given */
    const char *pos[MAX_POS]; /* the words that are not options */
    size_t npos;
    int argc; /* the command line as given, for the "More:" line */
    char **argv;
} cli;

static const char help_text[] =
    "usage: sendflow [--socket PATH] [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  case open REF [--dob DATE] [--set KEY=VALUE]...\n"
    "                              open a case (again: nothing changes)\n"
    "  start REF WORKFLOW --on DATE [--set KEY=VALUE]... [--key KEY]\n"
    "                              start a statutory process for a case\n"
    "  event REF TYPE --on DATE [--set KEY=VALUE]... [--key KEY] [--process ID]\n"
    "                              record what happened, on the day it happened\n"
    "  import FILE.csv [--dry-run] caseload import: every row checked first (errors as\n"
    "                              \"line N: reason\"; any error: nothing is written);\n"
    "                              --dry-run: what it would do; again: nothing changes\n"
    "  export [--format csv|json] [--output FILE]\n"
    "                              every case, its processes, deadlines and events (csv:\n"
    "                              the import format, so it imports again)\n"
    "  case export REF             everything held about one child (a subject access\n"
    "                              request), as JSON; the read is audited\n"
    "  show REF [--as-known-on DATE]\n"
    "                              a case, its processes, their deadlines and the\n"
    "                              coming phase transfers; --as-known-on: as the system\n"
    "                              showed it on DATE (what was recorded by then)\n"
    "  history REF                 everything recorded for a case, in order: starts,\n"
    "                              events (voided ones marked) and voids, by whom\n"
    "  void REF EVENT_ID --reason TEXT [--key KEY]\n"
    "                              void an event posted by mistake: it is kept, marked\n"
    "                              void with the reason, and its process recomputed\n"
    "  case assign REF --officer NAME [--team NAME]\n"
    "                              give a case to an officer (and team); its open\n"
    "                              escalations tell the new officer\n"
    "  due [--within DAYS] [--overdue] [--on DATE | --as-known-on DATE]\n"
    "      [--officer NAME | --team NAME | --mine]\n"
    "                              deadlines due within DAYS (default 7), or overdue;\n"
    "                              --on: as they would stand on DATE (what-if: the\n"
    "                              clock is not moved); --as-known-on: the list the\n"
    "                              system gave on a past DATE (what was recorded by\n"
    "                              then); --officer/--team/--mine: only those cases\n"
    "                              (--mine: whose officer is your user name)\n"
    "  caseload [--team NAME]      per officer: open processes by workflow, duties due\n"
    "                              in 10 working days, overdue, escalations open\n"
    "  escalations [--open]        escalations that fired, newest first (--open: whose\n"
    "                              deadline is not yet met), with who was told\n"
    "  ack ID --note TEXT          acknowledge an escalation (kept in the audit trail)\n"
    "  watch                       print every escalation as it fires or resolves\n"
    "  report --board operations|strategic --period YYYY-MM|YYYY-Qn\n"
    "         [--format text|json|csv|html] [--output FILE] [--queue]\n"
    "                              a board report (operations: a month, strategic: a\n"
    "                              quarter), printed or written to FILE; --queue also\n"
    "                              queues the board's pack (once per member and channel)\n"
    "  recompute [--all] [--dry-run]\n"
    "                              recompute the active processes computed under other\n"
    "                              definitions (--all: every active process) and list\n"
    "                              the deadlines that moved (--dry-run: that would move;\n"
    "                              nothing is written)\n"
    "  reload                      read the workflows, calendar, escalation policy,\n"
    "                              channels and access file again (as SIGHUP does); an\n"
    "                              invalid change is refused with its [file:line] and\n"
    "                              the running definitions stay\n"
    "  outbox [--failed]           the newest notices (escalations, digests, board\n"
    "                              packs) and how their delivery went; --failed: only\n"
    "                              those parked after their last attempt\n"
    "  audit [REF] [--since DATE]  the audit trail, oldest first: who changed or read\n"
    "                              what (of one case), when, and the result\n"
    "  token add NAME --role ROLE [--events TYPE,...] [--officer NAME | --team NAME]\n"
    "                              make a token for a TCP client (admin): printed once,\n"
    "                              only its hash is kept; --events limits an integration\n"
    "                              to those event types; a feed token (--role feed)\n"
    "                              reads one officer's or team's calendar feed only\n"
    "  token list                  the tokens (never the tokens themselves)\n"
    "  token revoke NAME           refuse a token from its next request on\n"
    "  clock                       the daemon's current time\n"
    "  clock set YYYY-MM-DDTHH:MM  move a simulated clock forward\n"
    "  workflows                   the workflows the daemon loaded\n"
    "  workflows validate FILE     check a workflow file without the daemon\n"
    "  ping                        check that the daemon answers\n"
    "  help, --help                this text\n"
    "  help COMMAND, COMMAND --help\n"
    "                              that command's part of this text\n"
    "  --version                   the client's version\n"
    "\n"
    "Options:\n"
    "  --socket PATH   the daemon's Unix socket (else $SENDFLOW_SOCKET, else\n"
    "                  ./var/sendflowd.sock if it exists, else /run/sendflow/sendflowd.sock if it "
    "does)\n"
    "  --connect HOST:PORT  reach the daemon over TCP with TLS instead (its --listen)\n"
    "  --token TOKEN   the token sent over TCP (else $SENDFLOW_TOKEN)\n"
    "  --tls-ca FILE   CA certificate to verify the daemon's (else $SENDFLOW_TLS_CA, else\n"
    "                  the system's)\n"
    "  --json          print one JSON document instead of text\n"
    "\n"
    "due, history, escalations and outbox list one page at a time (--limit N rows, 1 to 1000).\n"
    "When there is more, the text ends with a \"More:\" line: the command that lists the next\n"
    "page (--cursor C). With --json, \"next\" is that cursor (null on the last page).\n"
    "\n"
    "Dates are YYYY-MM-DD (Europe/London). Starts, events and voids are posted as "
    "$SENDFLOW_ACTOR,\n"
    "else the login name. Exit status: 0 success, 1 error from the daemon or the connection, 2 "
    "usage.\n";

/* Print a one-line usage error and return EXIT_USAGE. */
static int SF_PRINTF(1, 2) usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("sendflow: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see sendflow --help)\n", stderr);
    return EXIT_USAGE;
}

/* Print a command's usage line and return EXIT_USAGE. */
static int usage_line(const char *synopsis)
{
    fprintf(stderr, "usage: sendflow %s\n", synopsis);
    return EXIT_USAGE;
}

/*
 * Split argv into options and words. Options may come anywhere, as
 * "--name value" or "--name=value"; "--" ends them (for a reference that
 * starts with a dash). 0, or EXIT_USAGE after printing why.
 */
static int cli_parse(cli *c, int argc, char **argv)
{
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (c->npos == MAX_POS)
                return usage_error("too many arguments");
            c->pos[c->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            options_done = true;
            continue;
        }
        if (!strcmp(a, "-h")) {
            c->seen |= O_HELP;
            continue;
        }
        if (a[1] != '-')
            return usage_error("unknown option %s", a);

        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
        const struct option_spec *spec = NULL;
        for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++)
            if (strlen(option_specs[k].name) == namelen &&
                !strncmp(option_specs[k].name, name, namelen))
                spec = &option_specs[k];
        if (!spec)
            return usage_error("unknown option --%.*s", (int)namelen, name);

        const char *value = NULL;
        if (spec->has_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return usage_error("option --%s needs a value", spec->name);
        } else if (eq) {
            return usage_error("option --%s takes no value", spec->name);
        }
        c->seen |= spec->bit;

        switch (spec->bit) {
        case O_SOCKET:
            c->socket = value;
            break;
        case O_DOB:
            c->dob = value;
            break;
        case O_ON:
            c->on = value;
            break;
        case O_KEY:
            c->key = value;
            break;
        case O_PROCESS:
            c->process = value;
            break;
        case O_WITHIN:
            c->within = value;
            break;
        case O_REASON:
            c->reason = value;
            break;
        case O_NOTE:
            c->note = value;
            break;
        case O_BOARD:
            c->board = value;
            break;
        case O_PERIOD:
            c->period = value;
            break;
        case O_FORMAT:
            c->format = value;
            break;
        case O_OUTPUT:
            c->output = value;
            break;
        case O_LIMIT:
            c->limit = value;
            break;
        case O_CURSOR:
            c->cursor = value;
            break;
        case O_SINCE:
            c->since = value;
            break;
        case O_OFFICER:
            c->officer = value;
            break;
        case O_TEAM:
            c->team = value;
            break;
        case O_AS_KNOWN_ON:
            c->as_known_on = value;
            break;
        case O_TOKEN:
            c->token = value;
            break;
        case O_CONNECT:
            c->connect = value;
            break;
        case O_TLS_CA:
            c->tls_ca = value;
            break;
        case O_ROLE:
            c->role = value;
            break;
        case O_EVENTS:
            c->events = value;
            break;
        case O_SET: {
            const char *sep = strchr(value, '=');
            if (!sep || sep == value) {
                fprintf(stderr,
                        "sendflow: invalid --set \"%s\": expected KEY=VALUE with a "
                        "non-empty KEY\n",
                        value);
                return EXIT_USAGE;
            }
            if (!c->attrs)
                c->attrs = json_object();
            char *k = xstrndup(value, (size_t)(sep - value));
            if (json_object_get(c->attrs, k)) {
                /* Keeping only the last would hide a typing mistake. */
                fprintf(stderr, "sendflow: --set %s given twice\n", k);
                free(k);
                return EXIT_USAGE;
            }
            json_t *v = json_string(sep + 1);
            if (!v) {
                free(k);
                fprintf(stderr, "sendflow: invalid --set \"%s\": the value is not UTF-8\n", value);
                return EXIT_USAGE;
            }
            json_object_set_new(c->attrs, k, v);
            free(k);
            break;
        }
        default:
            break;
        }
    }
    return 0;
}

/* EXIT_USAGE after naming the first option given that the command does not take; else 0. */
static int check_options(const cli *c, uint64_t allowed, const char *command)
{
    uint64_t extra = c->seen & ~(allowed | O_GLOBAL);
    if (!extra)
        return 0;
    for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++)
        if (extra & option_specs[k].bit)
            return usage_error("option --%s does not apply to '%s'", option_specs[k].name, command);
    return EXIT_USAGE;
}

/* 0 when s is a real YYYY-MM-DD date; else EXIT_USAGE after saying why. */
static int check_date(const char *s, const char *what)
{
    cal_day d;
    if (cal_parse(s, &d) == 0)
        return 0;
    bool shape = strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (size_t i = 0; shape && i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            shape = false;
    int year = shape ? atoi(s) : 0;
    fprintf(stderr, "sendflow: invalid date \"%s\" for %s: %s\n", s, what,
            !shape                                       ? "expected YYYY-MM-DD"
            : year < CAL_MIN_YEAR || year > CAL_MAX_YEAR ? "year out of range (YYYY-MM-DD)"
                                                         : "not a real date (YYYY-MM-DD)");
    return EXIT_USAGE;
}

/* ---- talking to the daemon --------------------------------------------- */

/* Where the daemon is: --socket, else $SENDFLOW_SOCKET, else the default. Borrowed. */
static const char *socket_path(const cli *c)
{
    if (c->socket)
        return c->socket;
    const char *env = getenv("SENDFLOW_SOCKET");
    /* A source tree's ./var, else an installed daemon's /run/sendflow (paths.h). */
    return env && *env ? env : paths_client_socket();
}

/* What we talk to, for messages: --connect's HOST:PORT or the socket's path. Borrowed. */
static const char *daemon_where(const cli *c)
{
    return c->connect ? c->connect : socket_path(c);
}

/*
 * Connect to the daemon: over TCP with TLS when --connect is given, else
 * its Unix socket. 0, or EXIT_FAIL after saying why.
 */
static int open_conn(const cli *c, sfc_conn *conn)
{
    if (c->connect) {
        const char *ca = c->tls_ca ? c->tls_ca : getenv("SENDFLOW_TLS_CA");
        char err[768];
        if (sfc_connect_tls(conn, c->connect, ca && *ca ? ca : NULL, err, sizeof err) != 0) {
            fprintf(stderr, "sendflow: %s\n", err);
            return EXIT_FAIL;
        }
        return 0;
    }
    const char *path = socket_path(c);
    if (sfc_connect(conn, path) != 0) {
        fprintf(stderr,
                "sendflow: cannot connect to the daemon at %s: %s (is sendflowd running? "
                "systemctl status sendflowd; in a source checkout, scripts/up; permission "
                "denied: are you in the socket's group?)\n",
                path, strerror(errno));
        return EXIT_FAIL;
    }
    return 0;
}

/* Over TCP the daemon knows us by our token (--token, else $SENDFLOW_TOKEN), in every request.
 * Never on the Unix socket: the kernel says who we are there. */
static void add_token(const cli *c, json_t *req)
{
    const char *token = c->token ? c->token : getenv("SENDFLOW_TOKEN");
    if (c->connect && token && *token)
        json_object_set_new(req, "token", json_string(token));
}

/*
 * Send req (a new request object; this takes the reference) and read the
 * reply. 0 with *reply_out a new ref to a successful reply; EXIT_FAIL after
 * printing the reason (and, with --json, the error object) otherwise.
 */
/* line is a progress line (drawn on a terminal by caseio_progress): true, else false. */
static bool progress_line(const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    const json_t *p = json_object_get(o, "progress");
    bool is = json_is_object(p);
    if (is)
        caseio_progress("recompute", (size_t)json_integer_value(json_object_get(p, "processes")), 0,
                        "processes recomputed");
    json_decref(o);
    return is;
}

static int call(const cli *c, json_t *req, json_t **reply_out)
{
    const char *path = daemon_where(c);
    *reply_out = NULL;

    json_object_set_new(req, "id", json_integer(1));
    add_token(c, req);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text) {
        fprintf(stderr, "sendflow: cannot encode the request\n");
        return EXIT_FAIL;
    }

    sfc_conn conn;
    if (open_conn(c, &conn) != 0) {
        memset(text, 0, strlen(text)); /* it may hold the token */
        free(text);
        return EXIT_FAIL;
    }

    sb out = {0};
    sb_add(&out, text);
    sb_add(&out, "\n");
    free(text);
    int rc = sfc_send_all(&conn, out.buf, out.len);
    int send_errno = errno;
    sb_free(&out);

    /* A daemon that refuses the connection (busy) says why in one line, then closes, perhaps
     * before our request is sent: that line is the reply to show, not the failed send. */
    const char *line_text = NULL;
    size_t line_len = 0;
    int sent = rc;
    rc = sfc_read_line(&conn, &line_text, &line_len);
    /* Lines {"progress": {...}} come before the answer of a request that asked for them
     * (recompute on a terminal): drawn, not answered. */
    while (rc == 0 && sent == 0 && progress_line(line_text, line_len))
        rc = sfc_read_line(&conn, &line_text, &line_len);
    int read_errno = errno;
    if (sent < 0 && rc != 0) {
        fprintf(stderr, "sendflow: cannot send to the daemon at %s: %s\n", path,
                strerror(send_errno));
        sfc_close(&conn);
        return EXIT_FAIL;
    }
    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "sendflow: cannot read from the daemon at %s: %s\n", path,
                    strerror(read_errno));
        else if (sfc_pending(&conn) == 0)
            fprintf(stderr, "sendflow: the daemon closed the connection without replying\n");
        else
            fprintf(stderr, "sendflow: the daemon closed the connection in the middle of its "
                            "reply\n");
        sfc_close(&conn);
        return EXIT_FAIL;
    }

    json_error_t jerr;
    json_t *reply = json_loadb(line_text, line_len, 0, &jerr);
    sfc_close(&conn);
    if (!json_is_object(reply)) {
        fprintf(stderr, "sendflow: the daemon's reply is not a JSON object%s%s\n",
                reply ? "" : ": ", reply ? "" : jerr.text);
        json_decref(reply);
        return EXIT_FAIL;
    }

    if (!json_is_true(json_object_get(reply, "ok"))) {
        const json_t *err = json_object_get(reply, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        fprintf(stderr, "sendflow: %s: %s\n", code ? code : "error",
                msg ? msg : "the daemon refused the request");
        if (c->seen & O_JSON) {
            json_object_del(reply, "id");
            json_object_del(reply, "ok");
            json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        }
        json_decref(reply);
        return EXIT_FAIL;
    }
    *reply_out = reply;
    return 0;
}

/* Print a successful reply: as JSON without the envelope, or as text via rendered. */
static int print_reply(const cli *c, json_t *reply, const sb *rendered)
{
    if (c->seen & O_JSON) {
        json_object_del(reply, "id");
        json_object_del(reply, "ok");
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        fputs(sb_str(rendered), stdout);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "sendflow: cannot write the output: %s\n", strerror(errno));
        return EXIT_FAIL;
    }
    return 0;
}

/* A new request object for op. */
static json_t *request(enum sf_op op)
{
    json_t *req = json_object();
    json_object_set_new(req, "op", json_string(op_names[op]));
    return req;
}

/* Add the --set pairs as "attrs", when any were given. */
static void add_attrs(json_t *req, const cli *c)
{
    if (c->attrs)
        json_object_set(req, "attrs", c->attrs);
}

/* Who posts an event: $SENDFLOW_ACTOR, else the login name; borrowed, NULL when unknown. */
static const char *actor(void)
{
    const char *names[] = {"SENDFLOW_ACTOR", "USER", "LOGNAME"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return v;
    }
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : NULL;
}

/*
 * Add --limit and --cursor to a request of a paged operation (proto.def's
 * SF_PAGE), when given. The limit is checked here against the shared table;
 * the cursor is the daemon's business (opaque here: a newer daemon may write
 * newer ones), beyond being a non-empty word. 0, or EXIT_USAGE after saying why.
 */
static int add_page(const cli *c, json_t *req, enum sf_op op)
{
    const page_spec *spec = page_spec_of(op);
    if (c->limit) {
        long limit;
        char err[PAGE_ERR_LEN];
        if (page_limit_parse(spec, c->limit, &limit, err) != 0)
            return usage_error("invalid --limit \"%s\": %s", c->limit, err);
        json_object_set_new(req, "limit", json_integer(limit));
    }
    if (c->cursor) {
        json_t *v = json_string(c->cursor);
        if (!*c->cursor || !v) {
            json_decref(v);
            return usage_error("invalid --cursor: pass the cursor a \"More:\" line or \"next\" "
                               "gave, unchanged");
        }
        json_object_set_new(req, "cursor", v);
    }
    return 0;
}

/*
 * When a paged reply has more (a "next" cursor), end the text with the
 * command that shows the next page: the command line as given, its own
 * --cursor (if any) replaced by the new one, placed before a "--".
 */
static void add_more(const cli *c, const json_t *reply, sb *text)
{
    const char *next = json_string_value(json_object_get(reply, "next"));
    if (!next)
        return;
    const char **words = xcalloc((size_t)c->argc + 2, sizeof *words);
    size_t n = 0;
    bool options_done = false, placed = false;
    for (int i = 1; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (!options_done && !strcmp(a, "--")) {
            options_done = placed = true;
            words[n++] = "--cursor";
            words[n++] = next;
            words[n++] = a;
            continue;
        }
        if (options_done || strncmp(a, "--", 2) != 0) {
            words[n++] = a;
            continue;
        }
        size_t len = strcspn(a + 2, "=");
        bool has_value = false;
        for (size_t k = 0; k < sizeof option_specs / sizeof option_specs[0]; k++)
            if (strlen(option_specs[k].name) == len && !strncmp(option_specs[k].name, a + 2, len))
                has_value = option_specs[k].has_value && a[2 + len] != '=';
        bool cursor = len == 6 && !strncmp(a + 2, "cursor", 6);
        if (!cursor)
            words[n++] = a;
        if (has_value && i + 1 < c->argc) {
            i++;
            if (!cursor)
                words[n++] = c->argv[i];
        }
    }
    if (!placed) {
        words[n++] = "--cursor";
        words[n++] = next;
    }
    render_more(text, words, n);
    free(words);
}

/* ---- commands ----------------------------------------------------------- */

static int cmd_case_open(const cli *c)
{
    static const char syn[] = "case open REF [--dob DATE] [--set KEY=VALUE]...";
    int rc = check_options(c, O_DOB | O_SET, "case open");
    if (rc)
        return rc;
    if (c->npos != 3)
        return usage_line(syn);
    if (c->dob && (rc = check_date(c->dob, "--dob")))
        return rc;

    json_t *req = request(OP_CASE_OPEN);
    json_object_set_new(req, "case", json_string(c->pos[2]));
    if (c->dob)
        json_object_set_new(req, "dob", json_string(c->dob));
    add_attrs(req, c);
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_case_open(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_case_assign(const cli *c)
{
    static const char syn[] = "case assign REF --officer NAME [--team NAME]";
    int rc = check_options(c, O_OFFICER | O_TEAM, "case assign");
    if (rc)
        return rc;
    if (c->npos != 3 || !c->officer)
        return usage_line(syn);
    json_t *req = request(OP_CASE_ASSIGN);
    json_object_set_new(req, "case", json_string(c->pos[2]));
    json_object_set_new(req, "officer", json_string(c->officer));
    if (c->team)
        json_object_set_new(req, "team", json_string(c->team));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_case_assign(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_caseload(const cli *c)
{
    int rc = check_options(c, O_TEAM, "caseload");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("caseload [--team NAME] [--json]");
    json_t *req = request(OP_CASELOAD);
    if (c->team)
        json_object_set_new(req, "team", json_string(c->team));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_caseload(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/* Always JSON: an export is for the data subject, whole, not a screen to read. */
static int cmd_case_export(const cli *c)
{
    int rc = check_options(c, 0, "case export");
    if (rc)
        return rc;
    if (c->npos != 3)
        return usage_line("case export REF");
    json_t *req = request(OP_CASE_EXPORT);
    json_object_set_new(req, "case", json_string(c->pos[2]));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    cli jc = *c;
    jc.seen |= O_JSON;
    rc = print_reply(&jc, reply, NULL);
    json_decref(reply);
    return rc;
}

/* ---- import and export ---------------------------------------------------- */

/* A chunk's most rows and bytes: well under the daemon's request limit (1 MiB). */
#define IMPORT_CHUNK_ROWS  1000
#define IMPORT_CHUNK_BYTES (600 * 1024)

/* Rows by case, then line: a case's rows stay together in one chunk. */
static int import_row_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "case")),
                   json_string_value(json_object_get(y, "case")));
    if (c)
        return c;
    json_int_t lx = json_integer_value(json_object_get(x, "line"));
    json_int_t ly = json_integer_value(json_object_get(y, "line"));
    return lx < ly ? -1 : lx > ly;
}

/* rows cut into chunks of whole cases (a new array of arrays); NULL after saying why. */
static json_t *import_chunks(json_t *rows)
{
    size_t n = json_array_size(rows);
    json_t **v = xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(rows, i);
    qsort(v, n, sizeof *v, import_row_cmp);
    json_t *chunks = json_array(), *chunk = json_array();
    size_t bytes = 0;
    for (size_t i = 0; i < n;) {
        /* One case's rows: [i, k). */
        size_t k = i + 1, case_bytes = 0;
        const char *ref = json_string_value(json_object_get(v[i], "case"));
        while (k < n && !strcmp(json_string_value(json_object_get(v[k], "case")), ref))
            k++;
        for (size_t r = i; r < k; r++) {
            char *t = json_dumps(v[r], JSON_COMPACT);
            case_bytes += strlen(t) + 1;
            free(t);
        }
        if (case_bytes > IMPORT_CHUNK_BYTES) {
            fprintf(stderr, "sendflow: case %s has too many rows to import at once (%zu)\n", ref,
                    k - i);
            json_decref(chunk);
            json_decref(chunks);
            free(v);
            return NULL;
        }
        if (json_array_size(chunk) && (json_array_size(chunk) + (k - i) > IMPORT_CHUNK_ROWS ||
                                       bytes + case_bytes > IMPORT_CHUNK_BYTES)) {
            json_array_append_new(chunks, chunk);
            chunk = json_array();
            bytes = 0;
        }
        for (size_t r = i; r < k; r++)
            json_array_append(chunk, v[r]);
        bytes += case_bytes;
        i = k;
    }
    if (json_array_size(chunk))
        json_array_append_new(chunks, chunk);
    else
        json_decref(chunk);
    free(v);
    return chunks;
}

/* Add a chunk's reply's counts and errors to the totals. */
static void import_add(json_t *total, const json_t *reply)
{
    static const char *const counts[] = {"processes", "events", "rows"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        json_object_set_new(total, counts[i],
                            json_integer(json_integer_value(json_object_get(total, counts[i])) +
                                         json_integer_value(json_object_get(reply, counts[i]))));
    json_t *tc = json_object_get(total, "cases"), *rc = json_object_get(reply, "cases");
    static const char *const cases[] = {"new", "unchanged"};
    for (size_t i = 0; i < 2; i++)
        json_object_set_new(tc, cases[i],
                            json_integer(json_integer_value(json_object_get(tc, cases[i])) +
                                         json_integer_value(json_object_get(rc, cases[i]))));
    json_array_extend(json_object_get(total, "errors"), json_object_get(reply, "errors"));
}

/* Errors by line (a stable insertion sort: the file's order, as the daemon sorts a chunk's). */
static void import_sort_errors(json_t *errors)
{
    size_t n = json_array_size(errors);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0; b--) {
            json_t *x = json_array_get(errors, b - 1), *y = json_array_get(errors, b);
            if (json_integer_value(json_object_get(x, "line")) <=
                json_integer_value(json_object_get(y, "line")))
                break;
            json_incref(x);
            json_array_set(errors, b - 1, y);
            json_array_set_new(errors, b, x);
        }
}

/*
 * Chunks in flight at once, each on a connection of its own: while two
 * database sessions write two chunks (both cores of a small server) the
 * daemon replays the next. Paired runs by hand (README "Performance"): 2 in
 * flight about 1.3x of 1, and 3 about 1.2x of 2 (9 pairs, 7 better); 4 no
 * better than 3.
 */
#define IMPORT_IN_FLIGHT 3

/* One pass over the chunks, shared by its workers (fields below mu: under mu). */
typedef struct import_run {
    const cli *c;
    json_t *chunks;
    bool dry;
    const char *who; /* the actor (borrowed), looked up once: getpwuid is not thread-safe */
    size_t nrows;
    pthread_mutex_t mu;
    json_t *total;
    size_t next;    /* the next chunk to send */
    size_t done;    /* rows answered */
    size_t written; /* chunks written */
    bool stop;      /* a request failed or a chunk was refused: send no more */
    int rc;
} import_run;

/* A worker: send the next chunk, add its reply to the totals, until none is left. */
static void *import_worker(void *arg)
{
    import_run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        json_t *chunk = r->stop ? NULL : json_array_get(r->chunks, r->next);
        if (chunk)
            r->next++;
        pthread_mutex_unlock(&r->mu);
        if (!chunk)
            return NULL;
        json_t *req = request(OP_IMPORT), *reply = NULL;
        json_object_set_new(req, "dry_run", json_boolean(r->dry));
        json_object_set(req, "rows", chunk);
        if (r->who)
            json_object_set_new(req, "actor", json_string(r->who));
        int rc = call(r->c, req, &reply);
        pthread_mutex_lock(&r->mu);
        if (rc) {
            r->rc = rc;
            r->stop = true;
        } else {
            import_add(r->total, reply);
            bool written = json_is_true(json_object_get(reply, "written"));
            r->written += written;
            r->done += json_array_size(chunk);
            caseio_progress(r->dry ? "checking" : "importing", r->done, r->nrows, "rows");
            /* A chunk refused while writing (its cases changed since the check): stop there. */
            if (!r->dry && !written && json_array_size(json_object_get(r->total, "errors")))
                r->stop = true;
        }
        pthread_mutex_unlock(&r->mu);
        json_decref(reply);
    }
}

/* Send every chunk (dry: to be checked only), adding to total, with the number of chunks
 * written in *written; 0, or EXIT_FAIL. */
static int import_pass(const cli *c, json_t *chunks, bool dry, json_t *total, size_t nrows,
                       size_t *written)
{
    import_run r = {
        .c = c, .chunks = chunks, .dry = dry, .who = actor(), .nrows = nrows, .total = total};
    pthread_mutex_init(&r.mu, NULL);
    pthread_t tid[IMPORT_IN_FLIGHT];
    size_t n = 0;
    for (; n < IMPORT_IN_FLIGHT && n < json_array_size(chunks); n++)
        if (pthread_create(&tid[n], NULL, import_worker, &r) != 0)
            break; /* fewer in flight; the first cannot fail for want of threads alone */
    if (n == 0)
        import_worker(&r);
    for (size_t i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    pthread_mutex_destroy(&r.mu);
    caseio_progress_end();
    *written = r.written;
    if (r.rc && !dry && r.written > 0)
        fprintf(stderr,
                "sendflow: %zu of %zu chunks were written; importing the file again writes "
                "the rest (what is written is left as it is)\n",
                r.written, json_array_size(chunks));
    return r.rc;
}

static int cmd_import(const cli *c)
{
    int rc = check_options(c, O_DRY_RUN, "import");
    if (rc)
        return rc;
    if (c->npos != 2)
        return usage_line("import FILE.csv [--dry-run] [--json]");
    bool dry = c->seen & O_DRY_RUN;
    json_t *rows = NULL, *errors = json_array();
    char err[512];
    if (caseio_read_csv(c->pos[1], &rows, errors, err, sizeof err) != 0) {
        fprintf(stderr, "sendflow: %s\n", err);
        json_decref(errors);
        return EXIT_FAIL;
    }
    json_t *chunks = import_chunks(rows);
    if (!chunks) {
        json_decref(rows);
        json_decref(errors);
        return EXIT_FAIL;
    }
    json_t *total = json_pack("{s:b,s:b,s:b,s:i,s:{s:i,s:i},s:i,s:i,s:o}", "dry_run", dry, "valid",
                              0, "written", 0, "rows", 0, "cases", "new", 0, "unchanged", 0,
                              "processes", 0, "events", 0, "errors", errors);
    size_t nrows = json_array_size(rows);
    /* Every chunk checked before any is written, so a fault anywhere writes nothing; a
     * file of one chunk is checked by the write itself (one transaction, all or nothing). */
    bool check = dry || json_array_size(chunks) > 1 || json_array_size(errors) > 0;
    size_t written = 0;
    if (check)
        rc = import_pass(c, chunks, true, total, nrows, &written);
    if (!rc && !dry && !json_array_size(errors)) {
        json_object_set_new(total, "rows", json_integer(0));
        json_object_set_new(total, "processes", json_integer(0));
        json_object_set_new(total, "events", json_integer(0));
        json_object_set_new(total, "cases", json_pack("{s:i,s:i}", "new", 0, "unchanged", 0));
        rc = import_pass(c, chunks, false, total, nrows, &written);
        json_object_set_new(total, "written", json_boolean(!rc && !json_array_size(errors)));
    }
    size_t nchunks = json_array_size(chunks);
    json_decref(chunks);
    json_decref(rows);
    if (rc) {
        json_decref(total);
        return rc;
    }
    /* The rows the file got wrong, then those the daemon refused, in line order. */
    import_sort_errors(errors);
    size_t nerr = json_array_size(errors);
    json_object_set_new(total, "valid", json_boolean(nerr == 0));
    json_object_set_new(total, "rows", json_integer((json_int_t)nrows));
    if (c->seen & O_JSON) {
        json_dumpf(total, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    }
    if (nerr) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e) fprintf(stderr, "line %" JSON_INTEGER_FORMAT ": %s\n",
                                                 json_integer_value(json_object_get(e, "line")),
                                                 json_string_value(json_object_get(e, "reason")));
        if (written) /* a chunk refused while writing: its cases changed since the check */
            fprintf(stderr,
                    "sendflow: %s was imported in part: %zu error%s; %zu of %zu chunks were "
                    "written; importing the file again writes the rest (what is written is "
                    "left as it is)\n",
                    c->pos[1], nerr, nerr == 1 ? "" : "s", written, nchunks);
        else
            fprintf(stderr, "sendflow: %s was not imported: %zu error%s; nothing was written\n",
                    c->pos[1], nerr, nerr == 1 ? "" : "s");
        json_decref(total);
        return EXIT_FAIL;
    }
    if (!(c->seen & O_JSON)) {
        sb text = {0};
        render_import(&text, total);
        fputs(sb_str(&text), stdout);
        sb_free(&text);
    }
    json_decref(total);
    return 0;
}

/* export: a page at a time, each case written out as it comes (CSV rows or a JSON element). */
static int cmd_export(const cli *c)
{
    int rc = check_options(c, O_FORMAT | O_OUTPUT, "export");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("export [--format csv|json] [--output FILE]");
    const char *format = c->format ? c->format : "csv";
    bool csv = !strcmp(format, "csv");
    if (!csv && strcmp(format, "json") != 0)
        return usage_error("invalid --format \"%s\": csv or json", format);
    if (c->output && !*c->output)
        return usage_error("--output needs a file name");
    FILE *fp = c->output ? fopen(c->output, "w") : stdout;
    if (!fp) {
        fprintf(stderr, "sendflow: cannot write %s: %s\n", c->output, strerror(errno));
        return EXIT_FAIL;
    }
    fputs(csv ? CASEIO_HEADER "\n" : "{\"cases\": [\n", fp);
    char *cursor = NULL;
    size_t ncases = 0;
    const char *today = NULL;
    json_t *last = NULL;
    for (;;) {
        json_t *req = request(OP_EXPORT), *reply;
        json_object_set_new(req, "limit", json_integer(500));
        if (cursor)
            json_object_set_new(req, "cursor", json_string(cursor));
        free(cursor);
        cursor = NULL;
        if ((rc = call(c, req, &reply)))
            break;
        size_t i;
        json_t *one;
        sb out = {0};
        json_array_foreach(json_object_get(reply, "cases"), i, one)
        {
            if (csv) {
                caseio_case_csv(&out, one);
            } else {
                char *t = json_dumps(one, JSON_COMPACT | JSON_PRESERVE_ORDER);
                sb_addf(&out, "%s%s", ncases ? ",\n" : "", t);
                free(t);
            }
            ncases++;
        }
        fwrite(out.buf ? out.buf : "", 1, out.len, fp);
        sb_free(&out);
        caseio_progress("exporting", ncases, 0, "cases");
        const char *next = json_string_value(json_object_get(reply, "next"));
        cursor = next ? xstrdup(next) : NULL;
        json_decref(last);
        last = reply;
        today = json_string_value(json_object_get(reply, "today"));
        if (!cursor)
            break;
    }
    caseio_progress_end();
    if (!rc && !csv)
        fprintf(fp, "\n], \"today\": \"%s\", \"count\": %zu}\n", today ? today : "", ncases);
    json_decref(last);
    free(cursor);
    if ((fp == stdout ? fflush(fp) : fclose(fp)) != 0 && !rc) {
        fprintf(stderr, "sendflow: cannot write the export: %s\n", strerror(errno));
        rc = EXIT_FAIL;
    }
    if (!rc && c->output && !(c->seen & O_JSON))
        printf("Exported %zu cases to %s (%s).\n", ncases, c->output, format);
    return rc;
}

static int cmd_start(const cli *c)
{
    static const char syn[] = "start REF WORKFLOW --on DATE [--set KEY=VALUE]... [--key KEY]";
    int rc = check_options(c, O_ON | O_SET | O_KEY, "start");
    if (rc)
        return rc;
    if (c->npos != 3 || !c->on)
        return usage_line(syn);
    if ((rc = check_date(c->on, "--on")))
        return rc;

    json_t *req = request(OP_START);
    json_object_set_new(req, "case", json_string(c->pos[1]));
    json_object_set_new(req, "workflow", json_string(c->pos[2]));
    json_object_set_new(req, "on", json_string(c->on));
    add_attrs(req, c);
    if (c->key)
        json_object_set_new(req, "key", json_string(c->key));
    const char *who = actor();
    if (who)
        json_object_set_new(req, "actor", json_string(who));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_start(&text, reply, c->pos[1], c->key);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_event(const cli *c)
{
    static const char syn[] = "event REF TYPE --on DATE [--set KEY=VALUE]... [--key KEY] "
                              "[--process ID]";
    int rc = check_options(c, O_ON | O_SET | O_KEY | O_PROCESS, "event");
    if (rc)
        return rc;
    if (c->npos != 3 || !c->on)
        return usage_line(syn);
    if ((rc = check_date(c->on, "--on")))
        return rc;
    if (c->process && !*c->process)
        return usage_error("--process needs a process id");

    json_t *req = request(OP_EVENT);
    json_object_set_new(req, "case", json_string(c->pos[1]));
    json_object_set_new(req, "type", json_string(c->pos[2]));
    json_object_set_new(req, "on", json_string(c->on));
    add_attrs(req, c);
    if (c->key)
        json_object_set_new(req, "key", json_string(c->key));
    if (c->process)
        json_object_set_new(req, "process", json_string(c->process));
    const char *who = actor();
    if (who)
        json_object_set_new(req, "actor", json_string(who));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_event(&text, reply, c->pos[1], c->key);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_show(const cli *c)
{
    int rc = check_options(c, O_AS_KNOWN_ON, "show");
    if (rc)
        return rc;
    if (c->npos != 2)
        return usage_line("show REF [--as-known-on DATE] [--json]");
    if (c->as_known_on && (rc = check_date(c->as_known_on, "--as-known-on")))
        return rc;

    json_t *req = request(OP_SHOW);
    json_object_set_new(req, "case", json_string(c->pos[1]));
    if (c->as_known_on)
        json_object_set_new(req, "as_known_on", json_string(c->as_known_on));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_show(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_due(const cli *c)
{
    int rc = check_options(c,
                           O_WITHIN | O_OVERDUE | O_ON | O_AS_KNOWN_ON | O_LIMIT | O_CURSOR |
                               O_OFFICER | O_TEAM | O_MINE,
                           "due");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("due [--within DAYS] [--overdue] [--on DATE | --as-known-on DATE] "
                          "[--officer NAME | --team NAME | --mine] [--limit N] [--cursor C] "
                          "[--json]");
    if (c->officer && (c->seen & O_MINE))
        return usage_error("--mine and --officer both name the officer: give one");
    if (c->on && c->as_known_on)
        return usage_error("--on looks ahead and --as-known-on looks back: give one");
    if (c->on && (rc = check_date(c->on, "--on")))
        return rc;
    if (c->as_known_on && (rc = check_date(c->as_known_on, "--as-known-on")))
        return rc;
    long within = 7;
    if (c->within) {
        char *end;
        errno = 0;
        within = strtol(c->within, &end, 10);
        if (!*c->within || *end || errno || within < 0 || within > 100000 || c->within[0] == '+' ||
            c->within[0] == ' ') {
            fprintf(stderr,
                    "sendflow: invalid --within \"%s\": expected a whole number of days "
                    "(0 or more)\n",
                    c->within);
            return EXIT_USAGE;
        }
    }

    json_t *req = request(OP_DUE);
    json_object_set_new(req, "within", json_integer(within));
    if (c->seen & O_OVERDUE)
        json_object_set_new(req, "overdue", json_true());
    if (c->on)
        json_object_set_new(req, "on", json_string(c->on));
    if (c->as_known_on)
        json_object_set_new(req, "as_known_on", json_string(c->as_known_on));
    if (c->officer)
        json_object_set_new(req, "officer", json_string(c->officer));
    if (c->team)
        json_object_set_new(req, "team", json_string(c->team));
    if (c->seen & O_MINE)
        json_object_set_new(req, "mine", json_true());
    if ((rc = add_page(c, req, OP_DUE))) {
        json_decref(req);
        return rc;
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    /*
     * A daemon that predates "on" ignores it and judges on today: the list is
     * then real, not the what-if asked for, and the reader must know.
     */
    if (c->on && !json_is_string(json_object_get(reply, "on")))
        fprintf(stderr,
                "sendflow: the daemon did not apply --on %s (is it older than this "
                "client?): the list is as of today\n",
                c->on);
    sb text = {0};
    render_due(&text, reply, within, c->seen & O_OVERDUE);
    add_more(c, reply, &text);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_history(const cli *c)
{
    int rc = check_options(c, O_LIMIT | O_CURSOR, "history");
    if (rc)
        return rc;
    if (c->npos != 2)
        return usage_line("history REF [--limit N] [--cursor C] [--json]");

    json_t *req = request(OP_HISTORY);
    json_object_set_new(req, "case", json_string(c->pos[1]));
    if ((rc = add_page(c, req, OP_HISTORY))) {
        json_decref(req);
        return rc;
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_history(&text, reply);
    add_more(c, reply, &text);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_audit(const cli *c)
{
    int rc = check_options(c, O_SINCE | O_LIMIT | O_CURSOR, "audit");
    if (rc)
        return rc;
    if (c->npos > 2)
        return usage_line("audit [REF] [--since DATE] [--limit N] [--cursor C] [--json]");
    json_t *req = request(OP_AUDIT);
    if (c->npos == 2)
        json_object_set_new(req, "case", json_string(c->pos[1]));
    if (c->since)
        json_object_set_new(req, "since", json_string(c->since));
    if ((rc = add_page(c, req, OP_AUDIT))) {
        json_decref(req);
        return rc;
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_audit(&text, reply);
    add_more(c, reply, &text);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/* True when s is one or more ASCII digits. */
static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* True when s has a character other than white space. */
static bool has_text(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && (*s < '\t' || *s > '\r'))
            return true;
    return false;
}

/*
 * void REF EVENT_ID --reason TEXT: the reason is required because a void is
 * part of the audit trail; a blank one would record that something was undone
 * without saying why.
 */
static int cmd_void(const cli *c)
{
    static const char syn[] = "void REF EVENT_ID --reason TEXT [--key KEY] [--json]";
    int rc = check_options(c, O_REASON | O_KEY, "void");
    if (rc)
        return rc;
    if (c->npos != 3)
        return usage_line(syn);
    if (!all_digits(c->pos[2]))
        return usage_error("invalid event id \"%s\": expected the digits of an event id, as "
                           "'sendflow history %s' lists them",
                           c->pos[2], c->pos[1]);
    if (!c->reason)
        return usage_error("void needs --reason TEXT: say why the event is being voided");
    if (!has_text(c->reason))
        return usage_error("--reason must not be empty: say why the event is being voided");

    /* Ids are compared as strings: "012" must name event 12, not nothing. */
    const char *id = c->pos[2];
    while (id[0] == '0' && id[1])
        id++;

    json_t *req = request(OP_VOID);
    json_object_set_new(req, "case", json_string(c->pos[1]));
    json_object_set_new(req, "event", json_string(id));
    json_t *reason = json_string(c->reason);
    if (!reason) {
        json_decref(req);
        return usage_error("--reason is not UTF-8");
    }
    json_object_set_new(req, "reason", reason);
    const char *who = actor();
    if (who)
        json_object_set_new(req, "actor", json_string(who));
    if (c->key)
        json_object_set_new(req, "key", json_string(c->key));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_void(&text, reply, c->pos[1], id, c->reason, c->key);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_recompute(const cli *c)
{
    int rc = check_options(c, O_ALL | O_DRY_RUN, "recompute");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("recompute [--all] [--dry-run] [--json]");

    json_t *req = request(OP_RECOMPUTE);
    json_object_set_new(req, "all", json_boolean(c->seen & O_ALL));
    if (c->seen & O_DRY_RUN)
        json_object_set_new(req, "dry_run", json_true());
    if (caseio_progress_on() && !(c->seen & O_JSON))
        json_object_set_new(req, "progress", json_true());
    json_t *reply;
    rc = call(c, req, &reply);
    caseio_progress_end();
    if (rc)
        return rc;
    sb text = {0};
    render_recompute(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_reload(const cli *c)
{
    int rc = check_options(c, 0, "reload");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("reload [--json]");
    json_t *reply;
    if ((rc = call(c, request(OP_RELOAD), &reply)))
        return rc;
    sb text = {0};
    render_reload(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_escalations(const cli *c)
{
    int rc = check_options(c, O_OPEN | O_LIMIT | O_CURSOR, "escalations");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("escalations [--open] [--limit N] [--cursor C] [--json]");
    json_t *req = request(OP_ESCALATIONS);
    json_object_set_new(req, "open", json_boolean(c->seen & O_OPEN));
    if ((rc = add_page(c, req, OP_ESCALATIONS))) {
        json_decref(req);
        return rc;
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_escalations(&text, reply, c->seen & O_OPEN);
    add_more(c, reply, &text);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_ack(const cli *c)
{
    static const char syn[] = "ack ESCALATION_ID --note TEXT";
    int rc = check_options(c, O_NOTE, "ack");
    if (rc)
        return rc;
    if (c->npos != 2 || !c->note)
        return usage_line(syn);
    const char *id = c->pos[1];
    if (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)
        return usage_error("ack: \"%s\" is not an escalation id (digits, as `sendflow "
                           "escalations` lists them)",
                           id);
    if (strspn(c->note, " \t\r\n") == strlen(c->note))
        return usage_error("ack: --note must say what is being done about it");
    json_t *req = request(OP_ACK);
    json_object_set_new(req, "escalation", json_string(id));
    json_object_set_new(req, "note", json_string(c->note));
    const char *who = actor();
    if (who)
        json_object_set_new(req, "actor", json_string(who));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    sb_addf(&text, "acknowledged escalation %s: %s\n", id, c->note);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/* sendflow watch: one request, then a line per notice until the daemon ends the stream. */
static int cmd_watch(const cli *c)
{
    int rc = check_options(c, 0, "watch");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("watch [--json]");
    const char *path = daemon_where(c);
    sfc_conn conn;
    if (open_conn(c, &conn) != 0)
        return EXIT_FAIL;
    json_t *req = request(OP_WATCH);
    json_object_set_new(req, "id", json_integer(1));
    add_token(c, req);
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    sb sent = {0};
    sb_addf(&sent, "%s\n", line ? line : "");
    free(line);
    rc = sfc_send_all(&conn, sent.buf, sent.len);
    sb_free(&sent);
    if (rc < 0) {
        fprintf(stderr, "sendflow: cannot send to the daemon at %s: %s\n", path, strerror(errno));
        sfc_close(&conn);
        return EXIT_FAIL;
    }
    for (;;) {
        const char *text;
        size_t len;
        if (sfc_read_line(&conn, &text, &len) != 0) {
            fprintf(stderr, "sendflow: the daemon closed the stream\n");
            sfc_close(&conn);
            return EXIT_FAIL;
        }
        json_t *msg = json_loadb(text, len, 0, NULL);
        if (!json_is_object(msg)) {
            json_decref(msg);
            continue;
        }
        if (!json_is_true(json_object_get(msg, "ok"))) {
            const json_t *err = json_object_get(msg, "error");
            fprintf(stderr, "sendflow: %s: %s\n",
                    json_string_value(json_object_get(err, "code"))
                        ? json_string_value(json_object_get(err, "code"))
                        : "error",
                    json_string_value(json_object_get(err, "message"))
                        ? json_string_value(json_object_get(err, "message"))
                        : "refused");
            json_decref(msg);
            sfc_close(&conn);
            return EXIT_FAIL;
        }
        bool end = json_is_true(json_object_get(msg, "end"));
        json_t *notice = json_object_get(msg, "notice");
        if (notice && (c->seen & O_JSON)) {
            json_dumpf(notice, stdout, JSON_COMPACT);
            fputc('\n', stdout);
        } else if (notice) {
            sb out = {0};
            render_notice(&out, notice);
            fputs(sb_str(&out), stdout);
            sb_free(&out);
        } else if (json_is_true(json_object_get(msg, "watching")) && !(c->seen & O_JSON)) {
            fprintf(stderr, "watching for escalations (Ctrl-C to stop)\n");
        }
        fflush(stdout);
        json_decref(msg);
        if (end) {
            sfc_close(&conn);
            return 0;
        }
    }
}

static int cmd_outbox(const cli *c)
{
    int rc = check_options(c, O_FAILED | O_LIMIT | O_CURSOR, "outbox");
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_line("outbox [--failed] [--limit N] [--cursor C] [--json]");
    json_t *req = request(OP_OUTBOX);
    if (c->seen & O_FAILED)
        json_object_set_new(req, "failed", json_true());
    if ((rc = add_page(c, req, OP_OUTBOX))) {
        json_decref(req);
        return rc;
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_outbox(&text, reply);
    add_more(c, reply, &text);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

static int cmd_clock(const cli *c)
{
    int rc = check_options(c, 0, "clock");
    if (rc)
        return rc;
    json_t *req;
    if (c->npos == 1) {
        req = request(OP_CLOCK);
    } else if (c->npos == 3 && !strcmp(c->pos[1], "set")) {
        cal_day d;
        int minute;
        if (cal_parse_datetime(c->pos[2], &d, &minute) != 0) {
            fprintf(stderr,
                    "sendflow: invalid time \"%s\" for clock set: expected a real "
                    "YYYY-MM-DDTHH:MM\n",
                    c->pos[2]);
            return EXIT_USAGE;
        }
        req = request(OP_CLOCK_SET);
        json_object_set_new(req, "to", json_string(c->pos[2]));
    } else if (c->npos >= 2 && strcmp(c->pos[1], "set") != 0) {
        return usage_error("unknown command 'clock %s'", c->pos[1]);
    } else {
        return usage_line("clock [set YYYY-MM-DDTHH:MM]");
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_clock(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/*
 * token add NAME --role ROLE [--events TYPE,...], token list, token revoke
 * NAME (the daemon lets only an admin). The new token is printed once: the
 * daemon keeps only its hash.
 */
static int cmd_token(const cli *c)
{
    static const char syn[] = "token add NAME --role ROLE [--events TYPE,...] [--officer NAME | "
                              "--team NAME] | token list | token revoke NAME";
    const char *sub = c->npos >= 2 ? c->pos[1] : "";
    bool add = !strcmp(sub, "add"), list = !strcmp(sub, "list"), revoke = !strcmp(sub, "revoke");
    if (!add && !list && !revoke)
        return c->npos >= 2 ? usage_error("unknown command 'token %s'", sub) : usage_line(syn);
    int rc = check_options(c, add ? O_ROLE | O_EVENTS | O_OFFICER | O_TEAM : 0,
                           add    ? "token add"
                           : list ? "token list"
                                  : "token revoke");
    if (rc)
        return rc;
    if (c->npos != (list ? 2u : 3u) || (add && !c->role))
        return usage_line(syn);
    json_t *req = request(add ? OP_TOKEN_ADD : list ? OP_TOKEN_LIST : OP_TOKEN_REVOKE);
    if (!list)
        json_object_set_new(req, "name", json_string(c->pos[2]));
    if (add) {
        json_object_set_new(req, "role", json_string(c->role));
        /* A feed token's calendar (the daemon checks it is one of them, for a feed token). */
        if (c->officer)
            json_object_set_new(req, "officer", json_string(c->officer));
        if (c->team)
            json_object_set_new(req, "team", json_string(c->team));
        if (c->events) {
            json_t *ev = json_array();
            for (const char *p = c->events;;) {
                size_t len = strcspn(p, ",");
                if (len == 0) {
                    json_decref(ev);
                    json_decref(req);
                    return usage_error("invalid --events \"%s\": expected TYPE,TYPE,...",
                                       c->events);
                }
                json_array_append_new(ev, json_stringn(p, len));
                if (!p[len])
                    break;
                p += len + 1;
            }
            json_object_set_new(req, "events", ev);
        }
    }
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    if (add)
        render_token_add(&text, reply);
    else if (list)
        render_token_list(&text, reply);
    else
        sb_addf(&text, "token %s revoked: it is refused from its next request on\n", c->pos[2]);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/* ping: check that the daemon answers. */
static int cmd_ping(const cli *c, const char *op)
{
    int rc = check_options(c, 0, op);
    if (rc)
        return rc;
    if (c->npos != 1)
        return usage_error("'%s' takes no arguments", op);
    json_t *req = json_object();
    json_object_set_new(req, "op", json_string(op));
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    sb text = {0};
    render_ping(&text, reply, daemon_where(c));
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/* True when a and b name the same file. */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb_;
    return stat(a, &sa) == 0 && stat(b, &sb_) == 0 && sa.st_dev == sb_.st_dev &&
           sa.st_ino == sb_.st_ino;
}

static bool has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Report a validation failure: err on stderr (and a JSON document with --json); EXIT_FAIL. */
static int validate_failed(const cli *c, const char *file, const char *err)
{
    fprintf(stderr, "%s\n", err);
    if (c->seen & O_JSON) {
        json_t *doc = json_pack("{s:s, s:b, s:s}", "file", file, "valid", 0, "error", err);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(doc);
    }
    return EXIT_FAIL;
}

/*
 * workflows validate FILE: load it as the daemon would, then check its
 * "starts:" references (and that its name is unique) against the other
 * workflow files of its directory. We load the siblings one by one rather
 * than with load_workflows so a broken sibling does not hide this file's result;
 * a sibling that does not load simply does not count as a target.
 */
/* The service's settings and the calendars are checked by their own loaders. */
static int validate_other(const cli *c, const char *file, bool *handled)
{
    char *copy = xstrdup(file);
    const char *base = basename(copy);
    char *parent_copy = xstrdup(file);
    const char *parent = basename(dirname(parent_copy));
    int rc = 0;
    *handled = true;
    if (!strcmp(base, "service.yaml")) {
        svc_settings *s;
        char err[SVC_ERR_LEN];
        rc = load_service(file, false, &s, err) == 0 ? 0 : validate_failed(c, file, err);
        if (rc == 0) {
            printf("%s: valid service settings (%s, version %d)\n", file, s->service, s->version);
            svc_free(s);
        }
    } else if (!strcmp(base, "escalations.yaml")) {
        esc_policy *p;
        char err[ESC_ERR_LEN];
        rc = load_escalations(file, false, &p, err) == 0 ? 0 : validate_failed(c, file, err);
        if (rc == 0) {
            printf("%s: valid escalation policy (version %d, %zu levels)\n", file, p->version,
                   p->nlevels);
            esc_free(p);
        }
    } else if (!strcmp(base, "channels.yaml")) {
        chan_config *ch;
        char err[CHAN_ERR_LEN];
        rc = load_channels(file, false, &ch, err) == 0 ? 0 : validate_failed(c, file, err);
        if (rc == 0) {
            printf("%s: valid channels (%zu people, %zu boards)\n", file, ch->npeople, ch->nboards);
            chan_free(ch);
        }
    } else if (!strcmp(parent, "calendars")) {
        /* A calendar file is checked with the rest of its directory (one of each kind). */
        hol_calendar *h;
        char err[HOL_ERR_LEN];
        char *dcopy = xstrdup(file);
        rc = load_calendars(dirname(dcopy), &h, err) == 0 ? 0 : validate_failed(c, file, err);
        if (rc == 0) {
            printf("%s: valid calendar (%s)\n", file, hol_version(h));
            hol_free(h);
        }
        free(dcopy);
    } else {
        *handled = false;
    }
    free(copy);
    free(parent_copy);
    return rc;
}

static int cmd_validate(const cli *c, const char *file)
{
    bool handled;
    int orc = validate_other(c, file, &handled);
    if (handled)
        return orc;
    char err[WF_ERR_LEN];
    wf_workflow *wf;
    if (load_workflow(file, &wf, err) != 0)
        return validate_failed(c, file, err);

    wf_set set = {.items = xmalloc(sizeof *set.items), .n = 0};
    set.items[set.n++] = wf;

    char *copy = xstrdup(file);
    const char *dir = dirname(copy);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' || !has_yaml_ext(de->d_name))
                continue;
            char *path = xasprintf("%s/%s", dir, de->d_name);
            wf_workflow *other;
            char other_err[WF_ERR_LEN];
            if (!same_file(path, file) && load_workflow(path, &other, other_err) == 0) {
                set.items = xrealloc(set.items, (set.n + 1) * sizeof *set.items);
                set.items[set.n++] = other;
            }
            free(path);
        }
        closedir(d);
    }
    free(copy);

    int rc = 0;
    if (wf_set_check(&set, err) != 0) {
        rc = validate_failed(c, file, err);
    } else if (c->seen & O_JSON) {
        json_t *doc =
            json_pack("{s:s, s:b, s:s, s:i, s:I, s:I, s:I}", "file", file, "valid", 1, "workflow",
                      wf->name, "version", wf->version, "states", (json_int_t)wf->nstates, "events",
                      (json_int_t)wf->nevents, "deadlines", (json_int_t)wf->ndeadlines);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        printf("%s: ok (workflow %s version %d: %zu states, %zu events, %zu deadlines)\n", file,
               wf->name, wf->version, wf->nstates, wf->nevents, wf->ndeadlines);
    }
    for (size_t i = 0; i < set.n; i++)
        wf_workflow_free(set.items[i]);
    free(set.items);
    return rc;
}

static int cmd_workflows(const cli *c)
{
    int rc = check_options(c, 0, "workflows");
    if (rc)
        return rc;
    if (c->npos >= 2) {
        if (strcmp(c->pos[1], "validate") != 0)
            return usage_error("unknown command 'workflows %s'", c->pos[1]);
        if (c->npos != 3)
            return usage_line("workflows validate FILE");
        return cmd_validate(c, c->pos[2]);
    }
    json_t *reply;
    if ((rc = call(c, request(OP_WORKFLOWS), &reply)))
        return rc;
    sb text = {0};
    render_workflows(&text, reply);
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/*
 * report --board B --period P [--format F] [--output FILE] [--queue]: the
 * daemon renders the document; we print it as it is (or write it to FILE and
 * say so), so text, CSV, JSON and HTML all come out byte for byte as the
 * daemon made them. --json prints the whole reply (the document and its
 * figures as "data") instead.
 */
static int cmd_report(const cli *c)
{
    static const char syn[] = "report --board operations|strategic --period YYYY-MM|YYYY-Qn "
                              "[--format text|json|csv|html] [--output FILE] [--queue] [--json]";
    int rc = check_options(c, O_BOARD | O_PERIOD | O_FORMAT | O_OUTPUT | O_QUEUE, "report");
    if (rc)
        return rc;
    if (c->npos != 1 || !c->board || !c->period)
        return usage_line(syn);
    bool quarter = !strcmp(c->board, "strategic");
    if (!quarter && strcmp(c->board, "operations") != 0)
        return usage_error("invalid --board \"%s\": operations (monthly) or strategic "
                           "(quarterly)",
                           c->board);
    rpt_period p;
    if (rpt_period_parse(c->period, &p) != 0 || p.quarter != quarter)
        return usage_error("invalid --period \"%s\": the %s board reports %s", c->period, c->board,
                           quarter ? "a quarter, YYYY-Qn" : "a month, YYYY-MM");
    rpt_format f = RPT_TEXT;
    if (c->format && rpt_format_parse(c->format, &f) != 0)
        return usage_error("invalid --format \"%s\": text, json, csv or html", c->format);
    if (c->output && !*c->output)
        return usage_error("--output needs a file name");

    json_t *req = request(OP_REPORT);
    json_object_set_new(req, "board", json_string(c->board));
    json_object_set_new(req, "period", json_string(c->period));
    json_object_set_new(req, "format", json_string(rpt_format_name(f)));
    if (c->seen & O_QUEUE)
        json_object_set_new(req, "queue", json_true());
    json_t *reply;
    if ((rc = call(c, req, &reply)))
        return rc;
    const char *content = json_string_value(json_object_get(reply, "content"));
    if (c->output) {
        FILE *fp = fopen(c->output, "w");
        size_t n = content ? strlen(content) : 0;
        bool ok = fp != NULL;
        if (fp) {
            ok = fwrite(content ? content : "", 1, n, fp) == n;
            ok = fclose(fp) == 0 && ok;
        }
        if (!ok) {
            fprintf(stderr, "sendflow: cannot write %s: %s\n", c->output, strerror(errno));
            json_decref(reply);
            return EXIT_FAIL;
        }
    }
    sb text = {0};
    render_report(&text, reply, c->output);
    if (!c->output && !(c->seen & O_JSON) && json_object_get(reply, "recipients")) {
        /* The document is on stdout: say what was queued on stderr. */
        sb q = {0};
        render_report_queue(&q, reply);
        fputs(sb_str(&q), stderr);
        sb_free(&q);
    } else if (c->output) {
        render_report_queue(&text, reply);
    }
    rc = print_reply(c, reply, &text);
    sb_free(&text);
    json_decref(reply);
    return rc;
}

/*
 * The help of one command: the entries of help_text's command list whose
 * first word is cmd ("case" gives every "case ..." entry), with their
 * continuation lines, so a command's help cannot drift from the whole list.
 * 0 when printed, EXIT_USAGE when help_text has no such command.
 */
static int command_help(const char *cmd)
{
    size_t cmdlen = strlen(cmd);
    bool in_commands = false, printing = false, any = false;
    for (const char *line = help_text; *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len == 0)
            in_commands = false;
        else if (!strncmp(line, "Commands:", len))
            in_commands = true;
        else if (in_commands && len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ')
            /* An entry's first line: two spaces, then the command. */
            printing = len >= 2 + cmdlen && !strncmp(line + 2, cmd, cmdlen) &&
                       (line[2 + cmdlen] == ' ' || line[2 + cmdlen] == '\n');
        if (in_commands && printing && len > 0) {
            if (!any)
                fputs("usage: sendflow [--socket PATH] [--json] COMMAND [ARGS]\n\n", stdout);
            any = true;
            fwrite(line, 1, len, stdout);
            fputc('\n', stdout);
        }
        line += len + (eol != NULL);
    }
    if (!any)
        return usage_error("no help for unknown command '%s'", cmd);
    fputs("\nsendflow --help lists every command and the options they share.\n", stdout);
    return 0;
}

/*
 * Colour only for a person at a terminal: never in --json, a pipe or a file,
 * nor with NO_COLOR set to anything (no-color.org) or TERM=dumb.
 */
static bool want_colour(const cli *c)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    return !(c->seen & O_JSON) && isatty(STDOUT_FILENO) && !(no && *no) &&
           !(term && !strcmp(term, "dumb"));
}

static int dispatch(const cli *c)
{
    render_set_colour(want_colour(c));
    if (c->seen & O_HELP) {
        /* "sendflow show --help" is show's help; "sendflow --help" the whole list. */
        if (c->npos > 0 && strcmp(c->pos[0], "help") != 0)
            return command_help(c->pos[0]);
        fputs(help_text, stdout);
        return 0;
    }
    if (c->seen & O_VERSION) {
        printf("sendflow %s\n", SF_VERSION);
        return 0;
    }
    if (c->npos == 0) {
        fputs("sendflow: no command given (see sendflow --help)\n", stderr);
        return EXIT_USAGE;
    }
    if (c->connect && c->socket)
        return usage_error("--connect and --socket are two ways to the daemon: give one");
    const char *cmd = c->pos[0];
    if (!strcmp(cmd, "help")) {
        if (c->npos >= 2)
            return command_help(c->pos[1]);
        fputs(help_text, stdout);
        return 0;
    }
    if (!strcmp(cmd, "case")) {
        if (c->npos >= 2 && !strcmp(c->pos[1], "open"))
            return cmd_case_open(c);
        if (c->npos >= 2 && !strcmp(c->pos[1], "assign"))
            return cmd_case_assign(c);
        if (c->npos >= 2 && !strcmp(c->pos[1], "export"))
            return cmd_case_export(c);
        if (c->npos >= 2)
            return usage_error("unknown command 'case %s'", c->pos[1]);
        return usage_line("case open|assign|export REF ... (see sendflow case --help)");
    }
    if (!strcmp(cmd, "caseload"))
        return cmd_caseload(c);
    if (!strcmp(cmd, "import"))
        return cmd_import(c);
    if (!strcmp(cmd, "export"))
        return cmd_export(c);
    if (!strcmp(cmd, "start"))
        return cmd_start(c);
    if (!strcmp(cmd, "event"))
        return cmd_event(c);
    if (!strcmp(cmd, "show"))
        return cmd_show(c);
    if (!strcmp(cmd, "history"))
        return cmd_history(c);
    if (!strcmp(cmd, "audit"))
        return cmd_audit(c);
    if (!strcmp(cmd, "void"))
        return cmd_void(c);
    if (!strcmp(cmd, "due"))
        return cmd_due(c);
    if (!strcmp(cmd, "recompute"))
        return cmd_recompute(c);
    if (!strcmp(cmd, "reload"))
        return cmd_reload(c);
    if (!strcmp(cmd, "escalations"))
        return cmd_escalations(c);
    if (!strcmp(cmd, "ack"))
        return cmd_ack(c);
    if (!strcmp(cmd, "watch"))
        return cmd_watch(c);
    if (!strcmp(cmd, "report"))
        return cmd_report(c);
    if (!strcmp(cmd, "outbox"))
        return cmd_outbox(c);
    if (!strcmp(cmd, "clock"))
        return cmd_clock(c);
    if (!strcmp(cmd, "workflows"))
        return cmd_workflows(c);
    if (!strcmp(cmd, "ping"))
        return cmd_ping(c, cmd);
    if (!strcmp(cmd, "token"))
        return cmd_token(c);
    return usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.argc = argc;
    c.argv = argv;
    int rc = cli_parse(&c, argc, argv);
    if (rc == 0)
        rc = dispatch(&c);
    json_decref(c.attrs);
    return rc;
}
