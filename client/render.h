/*
 * render: the CLI's human-readable text, built from the daemon's replies.
 *
 * Pure functions: each takes a reply object as parsed by jansson (borrowed,
 * never modified, never freed here) and appends text to a caller-owned sb.
 * The caller frees the sb with sb_free (or takes it with sb_steal). Nothing
 * here does I/O or reads the clock: "today" is the daemon's, carried in the
 * replies (a deadline's "days" field, the "today" of a due list).
 *
 * A missing or mistyped field never crashes a renderer: it shows as "-", so a
 * newer daemon that adds or drops a field still gives readable output.
 */
#ifndef SF_RENDER_H
#define SF_RENDER_H

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

/* "opened case C-1001" or "case C-1001 already open" from a case_open reply. */
void render_case_open(sb *out, const json_t *reply);

/*
 * A case from a show reply: its coming phase transfers (when the reply has
 * "transfers"), then every process with its flags and an aligned deadlines
 * table, each deadline followed by its explanation and legal basis.
 */
void render_show(sb *out, const json_t *reply);

/*
 * The confirmation of a start reply ("started ehcp-assessment for C-1001 ..."
 * or "already started ...") and the process's deadlines. case_ref and key are
 * what the request sent (key may be NULL).
 */
void render_start(sb *out, const json_t *reply, const char *case_ref, const char *key);

/*
 * The confirmation of an event reply ("recorded decision_to_assess on ..." or
 * "already recorded ..."), the process's deadlines and the processes it
 * started. case_ref and key are what the request sent (key may be NULL).
 */
void render_event(sb *out, const json_t *reply, const char *case_ref, const char *key);

/*
 * The due list as a table with its header; within and overdue are what the
 * request sent. When the reply has "on" (a what-if date), the heading says the
 * list is judged on that date and that the clock did not move.
 */
void render_due(sb *out, const json_t *reply, long within, bool overdue);
/* Colour statuses (overdue red, pending within two weeks yellow) from now on: for a terminal. */
void render_set_colour(bool on);
/* case_assign's reply: who has the case now, who had it, and who was told. */
void render_case_assign(sb *out, const json_t *reply);
/* caseload's reply: one row per officer ("unassigned" first), then the processes by workflow. */
void render_caseload(sb *out, const json_t *reply);

/*
 * A case's history from a history reply: one table row per start, event and
 * void in recording order, with when it was recorded and by whom; voided
 * events are marked VOIDED and each void shows its reason.
 */
void render_history(sb *out, const json_t *reply);
/* sendflow audit: one line per row of the audit trail. */
void render_audit(sb *out, const json_t *reply);
/* A new token from a token_add reply: the token on a line of its own, and that it is shown once. */
void render_token_add(sb *out, const json_t *reply);
/* The tokens of a token_list reply: name, role, events, made by whom and when, revoked. */
void render_token_list(sb *out, const json_t *reply);

/*
 * The confirmation of a void reply ("voided event 12 (advice_requested on
 * 2026-01-10) of C-1: REASON", or "already voided" for a duplicate), then the
 * recomputed process as show prints it. case_ref, event_id, reason and key are
 * what the request sent (key may be NULL); all borrowed.
 */
void render_void(sb *out, const json_t *reply, const char *case_ref, const char *event_id,
                 const char *reason, const char *key);

/*
 * The summary of a recompute reply ("recomputed N processes in B batches
 * (MS ms): K changed") and one aligned line per deadline that moved, appeared
 * or disappeared, with a line when the daemon cut the list short.
 */
void render_recompute(sb *out, const json_t *reply);
/* A reload's answer: each workflow's version (changed or not), calendar, policy, channels. */
void render_reload(sb *out, const json_t *reply);
/* import: what was imported (or, a dry run, would be), from the totals of every chunk. */
void render_import(sb *out, const json_t *total);
/* The escalations reply: one line per escalation (open_only: the heading says so). */
void render_escalations(sb *out, const json_t *reply, bool open_only);
/* One notice of `sendflow watch` (an escalation fired or resolved), one line. */
void render_notice(sb *out, const json_t *notice);

/*
 * The notices of an outbox reply as a table, newest first (id, when created,
 * kind, channel, target, status, attempts, when sent or next tried), each
 * failed attempt's last error on a line below its row.
 */
void render_outbox(sb *out, const json_t *reply);

/* "2026-01-05T09:00 Europe/London (simulated)" from a clock or clock_set reply. */
void render_clock(sb *out, const json_t *reply);

/* One aligned line per workflow (name, version, title, file) from a workflows reply. */
void render_workflows(sb *out, const json_t *reply);

/* A process's deadlines table, each line prefixed by indent (borrowed). */
void render_deadlines(sb *out, const json_t *deadlines, const char *indent);

/* "sendflowd 0.1.0 answers at PATH" from a ping reply; where is the socket path (borrowed). */
void render_ping(sb *out, const json_t *reply, const char *where);

/*
 * A report reply: the document itself ("content", as the daemon rendered it),
 * or, when written_to names the file it was written to (borrowed), one line
 * saying which report went there.
 */
void render_report(sb *out, const json_t *reply, const char *written_to);

/* What a report's --queue did: one line per board member and channel, queued now or before. */
void render_report_queue(sb *out, const json_t *reply);

/*
 * The line that ends a page with more after it: "More: sendflow WORD...",
 * each of the n words (borrowed) quoted for a POSIX shell unless it is plain
 * (letters, digits and . _ / = @ + , -), so the line runs as printed.
 */
void render_more(sb *out, const char *const *words, size_t n);

#endif
