/* ical: the calendar feeds (see ical.h). */
#include "ical.h"

void ical_serve(http_ex *ex)
{
    http_respond_text(ex, 404, "no calendar feeds yet");
}
