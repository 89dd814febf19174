/*
 * xfer: the phase transfers a child with a plan has coming, worked out from
 * the date of birth and the service's settings (which transfers apply to whom,
 * and how far ahead a phase-transfer process opens). Pure: no I/O, no clock.
 */
#ifndef SF_XFER_H
#define SF_XFER_H

#include <stddef.h>

#include "cal.h"
#include "svc.h"
#include "wf.h"

/* One transfer of the child's cohort. */
typedef struct xfer_item {
    const char *transfer; /* borrowed from the settings: "primary_to_secondary" */
    int school_year;      /* the school year it starts (7 for Year 7) */
    cal_day date;         /* 1 September of that school year */
    cal_day opens;        /* date - the service's "opens" period: when its process opens */
} xfer_item;

/*
 * The transfers of the settings that apply to a case with these attributes,
 * for a child born on dob, whose date is after today, in date order, into out
 * (up to cap). Returns how many there are (may exceed cap).
 */
size_t xfer_coming(const svc_settings *svc, cal_day dob, const wf_kv *case_attrs, size_t n,
                   cal_day today, xfer_item *out, size_t cap);

#endif
