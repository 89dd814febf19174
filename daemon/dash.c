/* dash: the manager's dashboard (see dash.h). */
#include "dash.h"

void dash_serve(http_ex *ex)
{
    http_respond_text(ex, 404, "no page %s", ex->path);
}
