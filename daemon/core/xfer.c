/*
 * xfer: coming phase transfers (see xfer.h). The transfer date is the first
 * day of the school year of the transfer for the child's cohort; a service
 * with a different date for one child starts that transfer by hand with
 * transfer_date=.
 */
#include "xfer.h"

#include "cohort.h"

size_t xfer_coming(const svc_settings *svc, cal_day dob, const wf_kv *case_attrs, size_t n,
                   cal_day today, xfer_item *out, size_t cap)
{
    size_t count = 0;
    for (size_t i = 0; i < svc->ntransfers; i++) {
        const svc_transfer *t = &svc->transfers[i];
        if (!svc_transfer_applies(t, case_attrs, n))
            continue;
        cal_day date = coh_year_start(dob, t->school_year);
        if (date <= today)
            continue;
        xfer_item it = {t->name, t->school_year, date,
                        cal_add(date, -svc->opens_n, svc->opens_unit)};
        /* Insertion in date order: there are at most seven. */
        size_t pos = count;
        while (pos > 0 && pos - 1 < cap && out[pos - 1].date > date) {
            if (pos < cap)
                out[pos] = out[pos - 1];
            pos--;
        }
        if (pos < cap)
            out[pos] = it;
        count++;
    }
    return count;
}
