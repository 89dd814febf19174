/*
 * ical: the calendar feeds (GET /ical/officer/NAME.ics, /ical/team/NAME.ics).
 */
#ifndef SF_ICAL_H
#define SF_ICAL_H

#include "http.h"

/* Answer ex, a request under /ical/. */
void ical_serve(http_ex *ex);

#endif
