/* tokens: TCP clients' tokens, stored as hashes (see tokens.h). */
#include "tokens.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmac.h"
#include "job.h"
#include "log.h"
#include "op_sql.h"
#include "proto.h"

/* What a token looks like: a prefix (so a leaked one is recognisable), then 32 random bytes. */
#define TOKEN_PREFIX    "sft_"
#define TOKEN_RAND      32
#define TOKEN_MAX_CHARS 200 /* longer is not a token of ours: refused without a lookup */

/* The audit row of a token's change (t: the change's RETURNING), from parameters via..role. */
#define AUDIT_ROW(op, ok, detail, via, clock, who, role)                                           \
    " a AS (INSERT INTO audit_log (clock, who, role, via, op, result, detail) SELECT " clock       \
    ", " who ", " role ", " via ", '" op                                                           \
    "', CASE WHEN EXISTS (SELECT 1 FROM t) THEN 'ok' ELSE '" ok "' END, " detail ")"

#define TOKENS_STATEMENTS(X)                                                                       \
    X(AUTH, "SELECT name, role, array_to_string(events, ','), events IS NOT NULL,"                 \
            " coalesce(feed_officer, ''), coalesce(feed_team, '') FROM tokens"                     \
            " WHERE hash = $1 AND revoked_at IS NULL")                                             \
    X(ADD, "WITH t AS (INSERT INTO tokens (name, hash, role, events, created_by, feed_officer,"    \
           " feed_team) VALUES ($1, $2, $3, string_to_array($4, ','), $5, $9, $10)"                \
           " ON CONFLICT (name) DO NOTHING"                                                        \
           " RETURNING name)," AUDIT_ROW("token_add", "token_exists",                              \
                                         "'token ' || $1::text || ' (' || $3::text ||"             \
                                         " coalesce(' --events ' || $4::text, '') ||"              \
                                         " coalesce(' --officer ' || $9::text, '') ||"             \
                                         " coalesce(' --team ' || $10::text, '') || ')'",          \
                                         "$5", "$6", "$7", "$8") " SELECT count(*) FROM t")        \
    X(REVOKE, "WITH t AS (UPDATE tokens SET revoked_at = now(), revoked_by = $2"                   \
              " WHERE name = $1 AND revoked_at IS NULL RETURNING name)," AUDIT_ROW(                \
                  "token_revoke", "no_token", "'token ' || $1::text", "$2", "$3", "$4",            \
                  "$5") " SELECT count(*) FROM t")                                                 \
    X(LIST,                                                                                        \
      "SELECT coalesce(json_agg(json_build_object('name', name, 'role', role, 'events', events,"   \
      " 'officer', feed_officer, 'team', feed_team,"                                               \
      " 'created', to_char(created_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "), 'created_by',"         \
      " created_by, 'revoked', to_char(revoked_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"           \
      " 'revoked_by', revoked_by) ORDER BY name), '[]'::json) FROM tokens")

typedef enum stmt_id {
#define X(id, sql) STMT_##id,
    TOKENS_STATEMENTS(X)
#undef X
} stmt_id;

static const store_stmt statements[] = {
#define X(id, sql) {"sf_tokens_" #id, sql},
    TOKENS_STATEMENTS(X)
#undef X
};

const store_stmts tokens_statements = {statements, sizeof statements / sizeof statements[0]};

/* One statement for one request, on a connection of its own. */
typedef struct tok_call tok_call;
struct tok_call {
    sf_daemon *d;
    srv_req *req;
    const store_stmt *stmt;
    int n;
    char *p[10];                              /* owned parameters (NULL: SQL NULL) */
    void (*done)(tok_call *t, PGresult *res); /* res NULL: no answer (already replied) */
    void (*then)(srv_req *req, void *arg);    /* authenticate: what runs once identified */
    void *then_arg;
    char *token; /* token_add: the new token, for the reply only (wiped when freed) */
};

static void tok_free(tok_call *t)
{
    for (int i = 0; i < 10; i++)
        free(t->p[i]);
    if (t->token) {
        OPENSSL_cleanse(t->token, strlen(t->token));
        free(t->token);
    }
    free(t);
}

static void tok_result(store_tx *tx, PGresult *res, void *arg)
{
    tok_call *t = arg;
    if (!res) {
        store_release(tx);
        srv_reply_error(t->req, "unavailable", "the database connection was lost; retry");
        tok_free(t);
        return;
    }
    if (!store_ok(res)) {
        log_error("conn %" PRIu64 ": %s: %s", t->req->conn_id, t->req->op,
                  PQresultErrorMessage(res));
        srv_reply_error(t->req, proto_err_code(job_db_code(res)),
                        "the tokens could not be read "
                        "or written (logged)");
    } else {
        t->done(t, res);
    }
    store_release(tx);
    tok_free(t);
}

static void tok_got_tx(store_tx *tx, void *arg)
{
    tok_call *t = arg;
    if (!tx) {
        proto_err code = job_no_connection_code(t->d);
        srv_reply_error(t->req, proto_err_code(code), "%s",
                        code == PROTO_ERR_SHUTTING_DOWN ? "the daemon is stopping"
                                                        : "the database cannot be reached; retry");
        tok_free(t);
        return;
    }
    if (store_exec(tx, t->stmt, t->n, (const char *const *)t->p, tok_result, t) != 0) {
        store_release(tx);
        srv_reply_error(t->req, "unavailable", "the database connection was lost; retry");
        tok_free(t);
    }
}

static tok_call *tok_new(sf_daemon *d, srv_req *req, stmt_id id, int n)
{
    tok_call *t = xcalloc(1, sizeof *t);
    t->d = d;
    t->req = req;
    t->stmt = &statements[id];
    t->n = n;
    return t;
}

/* ---- authentication ----------------------------------------------------- */

static void auth_done(tok_call *t, PGresult *res)
{
    srv_req *req = t->req;
    if (PQntuples(res) != 1) {
        log_info("conn %" PRIu64 ": %s refused: unauthenticated (an unknown or revoked token)",
                 req->conn_id, req->op);
        srv_reply_error(req, "unauthenticated", "the token is unknown or has been revoked");
        return;
    }
    access_ident id;
    memset(&id, 0, sizeof id);
    const char *name = PQgetvalue(res, 0, 0);
    id.role = access_role_lookup(PQgetvalue(res, 0, 1));
    snprintf(id.who, sizeof id.who, "%s", name);
    snprintf(id.via, sizeof id.via, "token:%s", name);
    id.limited = id.role == ACCESS_INTEGRATION && !strcmp(PQgetvalue(res, 0, 3), "t");
    snprintf(id.events, sizeof id.events, "%s", PQgetvalue(res, 0, 2));
    snprintf(id.feed_officer, sizeof id.feed_officer, "%s", PQgetvalue(res, 0, 4));
    snprintf(id.feed_team, sizeof id.feed_team, "%s", PQgetvalue(res, 0, 5));
    srv_identify(req, &id);
    /* The connection counts in its token's share of the slots, not its address's. */
    char peer[BOUNDS_PEER_LEN], why[160];
    snprintf(peer, sizeof peer, "token:%s", name);
    if (srv_set_peer(req, peer, why, sizeof why) != 0) {
        log_warn("conn %" PRIu64 ": %s refused: %s", req->conn_id, req->op, why);
        srv_reply_error(req, "busy", "%s", why);
        return;
    }
    t->then(req, t->then_arg);
}

void tokens_authenticate(sf_daemon *d, srv_req *req, void (*then)(srv_req *req, void *arg),
                         void *arg)
{
    json_t *v = json_object_get(req->msg, "token");
    const char *token = json_is_string(v) ? json_string_value(v) : NULL;
    size_t len = token ? strlen(token) : 0;
    if (!token || len == 0 || len > TOKEN_MAX_CHARS) {
        log_info("conn %" PRIu64 ": %s refused: unauthenticated (TCP, %s)", req->conn_id, req->op,
                 v ? "not a token" : "no token");
        json_object_del(req->msg, "token");
        srv_reply_error(req, "unauthenticated",
                        v ? "\"token\" is not a token"
                          : "a TCP client must send its token (sendflow --token, or "
                            "SENDFLOW_TOKEN) with each request");
        return;
    }
    char hash[HMAC_SHA256_HEX_LEN];
    hmac_sha256_digest_hex(token, len, hash);
    json_object_del(req->msg, "token"); /* nothing after this sees it */
    tok_call *t = tok_new(d, req, STMT_AUTH, 1);
    t->p[0] = xstrdup(hash);
    t->then = then;
    t->then_arg = arg;
    t->done = auth_done;
    store_submit(d->store, tok_got_tx, t);
}

/* ---- token_add, token_list, token_revoke ---------------------------------- */

/* A token's name: 1-64 of A-Z a-z 0-9 . _ - (it is in every audit row of its requests). */
static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Is type an event of some loaded workflow? */
static bool event_known(const sf_daemon *d, const char *type)
{
    for (size_t i = 0; i < d->workflows->n; i++)
        if (wf_find_event(d->workflows->items[i], type))
            return true;
    return false;
}

/* "events": an array of known event types, joined with commas into out. 0, or -1 with err. */
static int read_events(sf_daemon *d, json_t *v, sb *out, sb *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0) {
        sb_add(err, "\"events\" must be a non-empty array of event types");
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *type = json_string_value(e);
        if (!type || !*type || strchr(type, ',')) {
            sb_addf(err, "\"events\"[%zu] is not an event type", i);
            return -1;
        }
        if (!event_known(d, type)) {
            sb_addf(err, "\"events\": no loaded workflow has an event \"%s\"", type);
            return -1;
        }
        sb_addf(out, "%s%s", i ? "," : "", type);
    }
    if (out->len >= ACCESS_EVENTS_LEN) {
        sb_addf(err, "\"events\": the list is longer than %d characters", ACCESS_EVENTS_LEN - 1);
        return -1;
    }
    return 0;
}

/* The audit row's parameters of ADD and REVOKE, from p[first]: the admin's via, the clock, who,
 * role. */
static void audit_params(tok_call *t, int first)
{
    const access_ident *id = t->req->ident;
    char now[CLOCK_STR_LEN];
    t->p[first] = xstrdup(id->via);
    t->p[first + 1] = xstrdup(clock_now_str(&t->d->clock, now));
    t->p[first + 2] = xstrdup(id->who);
    t->p[first + 3] = xstrdup(access_role_name(id->role));
}

static void add_done(tok_call *t, PGresult *res)
{
    const char *name = t->p[0];
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        srv_reply_error(t->req, "token_exists",
                        "there is already a token called %s (revoked ones keep their name)", name);
        return;
    }
    log_info("conn %" PRIu64 ": token %s (%s) added", t->req->conn_id, name, t->p[2]);
    json_t *events = t->p[3] ? json_array() : json_null();
    for (const char *p = t->p[3]; p && *p;) {
        size_t len = strcspn(p, ",");
        json_array_append_new(events, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    srv_reply(t->req,
              json_pack("{s:s,s:s,s:o,s:s,s:s?,s:s?}", "name", name, "role", t->p[2], "events",
                        events, "token", t->token, "officer", t->p[8], "team", t->p[9]));
}

void op_token_add(sf_daemon *d, srv_req *req)
{
    const char *name = NULL, *role = NULL, *officer = NULL, *team = NULL;
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0}, events = {0};
    json_t *ev = json_object_get(req->msg, "events");
    if (proto_str(req->msg, "name", true, &name, &code, &err) != 0 ||
        proto_str(req->msg, "role", true, &role, &code, &err) != 0 ||
        proto_name(req->msg, "officer", false, &officer, &code, &err) != 0 ||
        proto_name(req->msg, "team", false, &team, &code, &err) != 0)
        goto bad;
    if (!name_ok(name)) {
        sb_addf(&err, "\"name\": a token's name is 1 to 64 of A-Z a-z 0-9 . _ -");
        goto bad;
    }
    access_role r = access_role_lookup(role);
    if (r == ACCESS_NONE) {
        sb_addf(&err,
                "\"role\": unknown role \"%s\" (admin, manager, caseworker, integration, "
                "auditor or feed)",
                role);
        goto bad;
    }
    /* A feed token reads one calendar: exactly one officer or team; no other token names one. */
    if (r == ACCESS_FEED && (officer ? 1 : 0) + (team ? 1 : 0) != 1) {
        sb_add(&err, "a feed token reads one calendar: give \"officer\" or \"team\" (one)");
        goto bad;
    }
    if (r != ACCESS_FEED && (officer || team)) {
        sb_addf(&err, "\"%s\" names a feed token's calendar; a%s %s token takes none",
                officer ? "officer" : "team",
                r == ACCESS_ADMIN || r == ACCESS_AUDITOR || r == ACCESS_INTEGRATION ? "n" : "",
                access_role_name(r));
        goto bad;
    }
    if (ev && !json_is_null(ev)) {
        if (r != ACCESS_INTEGRATION) {
            sb_addf(&err, "\"events\" limits an integration token; a%s %s token takes none",
                    r == ACCESS_ADMIN || r == ACCESS_AUDITOR ? "n" : "", access_role_name(r));
            goto bad;
        }
        if (read_events(d, ev, &events, &err) != 0)
            goto bad;
    }
    unsigned char raw[TOKEN_RAND];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        sb_free(&events);
        log_error("conn %" PRIu64 ": token_add: no random bytes from OpenSSL", req->conn_id);
        srv_reply_error(req, "internal", "no random bytes for the token (logged)");
        return;
    }
    static const char digits[] = "0123456789abcdef";
    char token[sizeof TOKEN_PREFIX + 2 * TOKEN_RAND];
    memcpy(token, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
    for (size_t i = 0; i < sizeof raw; i++) {
        token[sizeof TOKEN_PREFIX - 1 + 2 * i] = digits[raw[i] >> 4];
        token[sizeof TOKEN_PREFIX + 2 * i] = digits[raw[i] & 0xf];
    }
    token[sizeof token - 1] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    char hash[HMAC_SHA256_HEX_LEN];
    hmac_sha256_digest_hex(token, strlen(token), hash);

    tok_call *t = tok_new(d, req, STMT_ADD, 10);
    t->p[0] = xstrdup(name);
    t->p[1] = xstrdup(hash);
    t->p[2] = xstrdup(access_role_name(r));
    t->p[3] = events.len ? sb_steal(&events) : NULL;
    audit_params(t, 4);
    t->p[8] = officer ? xstrdup(officer) : NULL;
    t->p[9] = team ? xstrdup(team) : NULL;
    t->token = xstrdup(token);
    OPENSSL_cleanse(token, sizeof token);
    t->done = add_done;
    store_submit(d->store, tok_got_tx, t);
    return;
bad:
    sb_free(&events);
    srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
    sb_free(&err);
}

static void list_done(tok_call *t, PGresult *res)
{
    json_t *list = job_json(res, 0, 0);
    if (!list) {
        srv_reply_error(t->req, "internal", "the tokens could not be read");
        return;
    }
    srv_reply(t->req, json_pack("{s:o}", "tokens", list));
}

void op_token_list(sf_daemon *d, srv_req *req)
{
    tok_call *t = tok_new(d, req, STMT_LIST, 0);
    t->done = list_done;
    store_submit(d->store, tok_got_tx, t);
}

static void revoke_done(tok_call *t, PGresult *res)
{
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        srv_reply_error(t->req, "no_token", "there is no token called %s that is not revoked",
                        t->p[0]);
        return;
    }
    log_info("conn %" PRIu64 ": token %s revoked", t->req->conn_id, t->p[0]);
    srv_reply(t->req, json_pack("{s:s,s:b}", "name", t->p[0], "revoked", 1));
}

void op_token_revoke(sf_daemon *d, srv_req *req)
{
    const char *name = NULL;
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0};
    if (proto_str(req->msg, "name", true, &name, &code, &err) != 0) {
        srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
        sb_free(&err);
        return;
    }
    tok_call *t = tok_new(d, req, STMT_REVOKE, 5);
    t->p[0] = xstrdup(name);
    audit_params(t, 1);
    t->done = revoke_done;
    store_submit(d->store, tok_got_tx, t);
}
