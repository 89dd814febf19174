/*
 * svc: the SEN service's own settings, loaded from workflows/service.yaml and
 * validated. The statutory rules live in the workflow files; this file holds
 * the choices the law leaves to the local authority: whether plans of
 * children under 5 are reviewed more often than every 12 months (SEND Code of
 * Practice 9.178), how long before a phase transfer its process opens, and
 * which transfers (reg. 2) are scheduled from a child's date of birth, for
 * which cases (an authority with middle schools has different ones).
 *
 * The shipped workflows/service.yaml is the documented example (the caller
 * reads it: daemon/load.h). A setting the
 * file leaves out takes its value from svc_defaults(); a file that is there
 * must be right: every unknown key, malformed period, unknown transfer name
 * or out-of-range school year is an error naming its file and line, because
 * a typo silently ignored would be a phase transfer silently not scheduled.
 *
 * Ownership: an svc_settings owns every string and array reachable from it;
 * free it with svc_free. Nothing changes after loading, so any number of
 * readers may share it.
 */
#ifndef SF_SVC_H
#define SF_SVC_H

#include <stdbool.h>
#include <stddef.h>

#include "cal.h"
#include "util.h"
#include "wf.h"

/* Room for one loader error message: "[file:line] problem". */
#define SVC_ERR_LEN 512

/* One automatically scheduled phase transfer ("phase_transfer: transfers:"). */
typedef struct svc_transfer {
    const char *name;  /* a reg. 2 transfer: "primary_to_secondary" (never post16_to_post16) */
    int school_year;   /* it happens on 1 September of this school year (0 = Reception .. 13) */
    const wf_kv *when; /* every pair must equal the case's attribute; NULL when nwhen is 0 */
    size_t nwhen;
    const wf_kv *unless; /* no pair may equal the case's attribute; NULL when nunless is 0 */
    size_t nunless;
    int line; /* line of its key in the file; 0 in svc_defaults() */
} svc_transfer;

typedef struct svc_settings {
    const char *service; /* "service:", the service's name; "(defaults)" for svc_defaults() */
    int version; /* "version:", a positive integer raised on each change; 0 for svc_defaults() */
    const char *file;     /* path loaded, or "(defaults)" */
    bool under5_on;       /* annual_review.under_5_cycle is a period, not "off" */
    int under5_n;         /* that period: count (0 when off) */
    cal_unit under5_unit; /* and unit */
    int opens_n;          /* phase_transfer.opens: a transfer's process opens this long before it */
    cal_unit opens_unit;  /* its unit */
    const svc_transfer *transfers; /* in file order; NULL when ntransfers is 0 */
    size_t ntransfers;
    void *arena; /* private: the memory behind every pointer above */
} svc_settings;

/*
 * Load and validate service settings from len bytes of YAML text; name (the file's path) stands
 * for the file in messages and in (*out)->file. On success *out is new settings (free with
 * svc_free) and 0 is returned; on failure -1, *out is NULL and err holds "[name:line] problem".
 */
int svc_load_string(const char *name, const char *yaml, size_t len, svc_settings **out,
                    char err[SVC_ERR_LEN]) SF_MUSTCHECK;
/* The settings used when there is no service.yaml: under-5 cycle off, opens 12 months, transfers
 * early_years_to_school (0), primary_to_secondary (7), secondary_to_post16 (12) for everyone. Free
 * with svc_free. */
svc_settings *svc_defaults(void);
/* Free settings and everything they own; NULL is fine. */
void svc_free(svc_settings *s);

/* The transfer called name, or NULL; borrowed from s. */
const svc_transfer *svc_find_transfer(const svc_settings *s, const char *name);
/* Whether a transfer applies to a case with these attributes: every "when" pair equals the case's
 * attribute of that key and no "unless" pair does (a missing attribute equals nothing). */
bool svc_transfer_applies(const svc_transfer *t, const wf_kv *case_attrs, size_t n);
/* Is name one of the seven reg. 2 transfer names (including post16_to_post16)? */
bool svc_is_transfer_name(const char *name);
/* Words for a transfer: "primary to secondary", "secondary to post-16"; static storage; NULL if
 * unknown. */
const char *svc_transfer_words(const char *name);

#endif
