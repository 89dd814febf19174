/*
 * dash: the manager's dashboard (GET / and below on --http): the team's
 * week, open escalations with an acknowledge button, the SEN2 20-week rate
 * this year against last year, and a case's page (every deadline, its
 * basis and explanation, its history). Server-rendered HTML with its own
 * small stylesheet: no script, no outside resource, printable.
 *
 * A browser signs in with a token through a form (POST /signin) and gets a
 * session cookie (HttpOnly, SameSite=Strict, Secure under TLS); a program
 * may send "Authorization: Bearer TOKEN" instead. Either way every page
 * asks the daemon afresh who the token is (ping: a revoked token is out at
 * once) and shows only to a manager or an admin; each page's figures come
 * from the protocol's own operations run as that token (http_call). Every
 * form carries the session's CSRF token, checked before anything is done.
 */
#ifndef SF_DASH_H
#define SF_DASH_H

#include "http.h"

typedef struct dash dash;

/* The sessions (none yet); free with dash_free. */
dash *dash_new(void);
void dash_free(dash *s);
/* Answer ex, a request for a dashboard page. */
void dash_serve(http_ex *ex);

#endif
