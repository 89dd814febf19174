/*
 * tokens: who a TCP client is (schema/010_tokens.sql). An admin makes a
 * token with a name and a role (an integration's limited to some event
 * types with --events); it is shown once, in token_add's reply, and only
 * its SHA-256 is stored. Each request over TCP carries its token in
 * "token": it is looked up in the database every time, so a revoked token
 * is refused on the very next request, by every daemon of the database. The
 * field is taken out of the request as soon as it is read: no later step,
 * log line or audit row can see it.
 *
 * token_add and token_revoke write their audit row in their own statement
 * (so in their transaction), refusals included.
 */
#ifndef SF_TOKENS_H
#define SF_TOKENS_H

#include "daemon.h"
#include "server.h"
#include "store.h"

/* The module's statements (static storage). */
extern const store_stmts tokens_statements;

/*
 * Identify req's connection by the request's "token" (srv_identify), then
 * then(req, arg); or reply unauthenticated (no token, an unknown or revoked
 * one) or unavailable (no database), and free req, without calling then.
 */
void tokens_authenticate(sf_daemon *d, srv_req *req, void (*then)(srv_req *req, void *arg),
                         void *arg);

/* token_add {name, role, events?}: a new token, in the reply only ("token"). */
void op_token_add(sf_daemon *d, srv_req *req);
/* token_list: every token's name, role, events, who made it and when, revoked or not. */
void op_token_list(sf_daemon *d, srv_req *req);
/* token_revoke {name}: refuse the token from now on. */
void op_token_revoke(sf_daemon *d, srv_req *req);

#endif
