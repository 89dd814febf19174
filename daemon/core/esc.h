/*
 * esc: the escalation policy (workflows/escalations.yaml): the levels a
 * deadline escalates through, each relative to its due date in calendar or
 * working days, who each level goes to (roles resolved per case from its
 * attributes: the officer, the team's manager, named people), per-deadline
 * overrides, and whether officers get a daily digest instead of single
 * "at risk" notices. Pure: esc_plan turns a deadline's due date into the days
 * its levels fire; the daemon resolves people and channels when they fire.
 */
#ifndef SF_ESC_H
#define SF_ESC_H

#include <stdbool.h>
#include <stddef.h>

#include "cal.h"
#include "hol.h"
#include "util.h"
#include "wf.h"

#define ESC_ERR_LEN    512
#define ESC_MAX_LEVELS 8

/* When a level fires, relative to the due date. */
typedef struct esc_offset {
    bool after;    /* false: N units before the due date; true: N units after it */
    int n;         /* 0 or more */
    cal_unit unit; /* days, weeks, months or working days */
} esc_offset;

typedef struct esc_level {
    const char *name; /* "at_risk", "missed", "still_overdue" */
    esc_offset offset;
    const char **to; /* role names */
    size_t nto;
    int line;
} esc_level;

/* A role: the person named by a case attribute (optionally mapped), or fixed people. */
typedef struct esc_role {
    const char *name;      /* "case_officer" */
    const char *attribute; /* "officer": the case's officer=NAME is the person; NULL for people */
    const wf_kv *map;      /* attribute value -> person ("north" -> "mk"); NULL: the value itself */
    size_t nmap;
    const char **people; /* fixed people when attribute is NULL */
    size_t npeople;
    int line;
} esc_role;

/* A per-deadline change of one level: off, another offset, other roles. */
typedef struct esc_override {
    const char *deadline; /* a deadline name, or a prefix ending in '*' ("advice_*") */
    const char *level;
    bool off;
    bool has_offset;
    esc_offset offset;
    const char **to; /* NULL: the level's roles */
    size_t nto;
} esc_override;

typedef struct esc_policy {
    int version;      /* "escalations: N"; 0 for an empty policy */
    const char *file; /* path, or "(none)" */
    esc_level *levels;
    size_t nlevels;
    esc_role *roles;
    size_t nroles;
    esc_override *overrides;
    size_t noverrides;
    bool digest;               /* digest: {roles, within} given */
    const char **digest_roles; /* these roles get a daily digest instead of "at risk" notices */
    size_t ndigest_roles;
    int digest_n; /* the digest covers deadlines due within this period */
    cal_unit digest_unit;
    const char **unassigned; /* roles told in place of a per-case role naming nobody for a case */
    size_t nunassigned;
    void *arena; /* private */
} esc_policy;

/* One level of one deadline: the day it fires. */
typedef struct esc_fire {
    const char *level; /* borrowed from the policy */
    cal_day fire_on;
} esc_fire;

/*
 * Load a policy from len bytes of YAML text (name, the file's path, stands for the file in
 * messages and in (*out)->file): 0 and *out (free with esc_free), or -1 with "[name:line] problem".
 */
int esc_load_string(const char *name, const char *yaml, size_t len, esc_policy **out,
                    char err[ESC_ERR_LEN]) SF_MUSTCHECK;
/* An empty policy (nothing escalates; file "(none)"), as when there is no escalations.yaml; free
 * with esc_free. */
esc_policy *esc_empty(void);
/* Free a policy and everything it owns; NULL is fine. */
void esc_free(esc_policy *p);

/*
 * The levels of a deadline called name due on due, with the day each fires
 * (working days counted with cal; NULL: Monday to Friday), in policy order,
 * into out (up to cap). Returns how many.
 */
size_t esc_plan(const esc_policy *p, const hol_calendar *cal, const char *name, cal_day due,
                esc_fire *out, size_t cap);
/* The roles a level of a deadline goes to (after overrides); *n gets how many. Borrowed. */
const char *const *esc_level_roles(const esc_policy *p, const char *deadline, const char *level,
                                   size_t *n);
/* The role called name, or NULL; borrowed. */
const esc_role *esc_find_role(const esc_policy *p, const char *name);
/* Is role one of the digest's roles? */
bool esc_is_digest_role(const esc_policy *p, const char *role);
/* The day offset names: "10 working days before", "1 day after". Into buf (64 bytes). */
const char *esc_offset_words(const esc_offset *o, char buf[64]);

#endif
