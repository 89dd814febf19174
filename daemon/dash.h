/*
 * dash: the manager's dashboard (GET / and below).
 */
#ifndef SF_DASH_H
#define SF_DASH_H

#include "http.h"

/* Answer ex, a request for a dashboard page. */
void dash_serve(http_ex *ex);

#endif
