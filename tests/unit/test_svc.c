/*
 * test_svc: the service settings loader. The shipped workflows/service.yaml
 * must load into the settings it documents; a missing setting takes its
 * default; and every rule refuses a broken file with the right "[file:line]"
 * and a message naming the problem, since a setting misread would schedule a
 * phase transfer wrongly or not at all.
 */
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "load.h"

#define SERVICE_YAML SF_TEST_SOURCE_DIR "/workflows/service.yaml"

static svc_settings *load_str(const char *yaml, char err[SVC_ERR_LEN])
{
    svc_settings *s = (svc_settings *)1;
    if (svc_load_string("t.yaml", yaml, strlen(yaml), &s, err) < 0) {
        CHECK(s == NULL);
        return NULL;
    }
    return s;
}

/* The attributes of one case, for svc_transfer_applies. */
#define ATTRS(...)                                                                                 \
    ((const wf_kv[]){__VA_ARGS__}), sizeof((const wf_kv[]){__VA_ARGS__}) / sizeof(wf_kv)

static void test_shipped(void)
{
    char err[SVC_ERR_LEN];
    svc_settings *s = NULL;
    int rc = load_service(SERVICE_YAML, false, &s, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(s->service, "Example Council SEN service");
    CHECK_INT(s->version, 1);
    CHECK_STR(s->file, SERVICE_YAML);
    CHECK(!s->under5_on);
    CHECK_INT(s->opens_n, 12);
    CHECK_INT(s->opens_unit, CAL_MONTHS);
    CHECK_INT(s->ntransfers, 6);

    static const struct {
        const char *name;
        int school_year;
        size_t nwhen, nunless;
    } want[] = {
        {"early_years_to_school", 0, 0, 0}, {"infant_to_junior", 3, 1, 0},
        {"primary_to_middle", 5, 1, 0},     {"middle_to_secondary", 9, 1, 0},
        {"primary_to_secondary", 7, 0, 1},  {"secondary_to_post16", 12, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0] && i < s->ntransfers; i++) {
        const svc_transfer *t = &s->transfers[i]; /* file order */
        CHECK_STR(t->name, want[i].name);
        CHECK_INT(t->school_year, want[i].school_year);
        CHECK_INT(t->nwhen, want[i].nwhen);
        CHECK_INT(t->nunless, want[i].nunless);
        CHECK(t->line > 0);
        CHECK(svc_find_transfer(s, want[i].name) == t);
    }
    CHECK(svc_find_transfer(s, "post16_to_post16") == NULL);
    CHECK(svc_find_transfer(s, "nope") == NULL);

    const svc_transfer *t = svc_find_transfer(s, "infant_to_junior");
    CHECK_STR(t ? t->when[0].key : NULL, "school");
    CHECK_STR(t ? t->when[0].value : NULL, "infant");
    t = svc_find_transfer(s, "primary_to_secondary");
    CHECK_STR(t ? t->unless[0].key : NULL, "school_system");
    CHECK_STR(t ? t->unless[0].value : NULL, "three_tier");

    /* Which transfers a case gets: a two-tier infant-school pupil, a three-tier pupil, a case
     * with no attributes at all. */
    static const struct {
        const char *name;
        bool infant, three_tier, none;
    } applies[] = {
        {"early_years_to_school", true, true, true}, {"infant_to_junior", true, false, false},
        {"primary_to_middle", false, true, false},   {"middle_to_secondary", false, true, false},
        {"primary_to_secondary", true, false, true}, {"secondary_to_post16", true, true, true},
    };
    for (size_t i = 0; i < sizeof applies / sizeof applies[0]; i++) {
        t = svc_find_transfer(s, applies[i].name);
        if (!t)
            continue;
        CHECK_INT(
            svc_transfer_applies(t, ATTRS({"school", "infant"}, {"school_system", "two_tier"})),
            applies[i].infant);
        CHECK_INT(svc_transfer_applies(t, ATTRS({"school_system", "three_tier"})),
                  applies[i].three_tier);
        CHECK_INT(svc_transfer_applies(t, NULL, 0), applies[i].none);
    }
    svc_free(s);
}

static void test_defaults(void)
{
    svc_settings *s = svc_defaults();
    CHECK_STR(s->file, "(defaults)");
    CHECK_STR(s->service, "(defaults)");
    CHECK_INT(s->version, 0);
    CHECK(!s->under5_on);
    CHECK_INT(s->opens_n, 12);
    CHECK_INT(s->opens_unit, CAL_MONTHS);
    CHECK_INT(s->ntransfers, 3);
    const char *names[] = {"early_years_to_school", "primary_to_secondary", "secondary_to_post16"};
    int years[] = {0, 7, 12};
    for (size_t i = 0; i < 3 && i < s->ntransfers; i++) {
        CHECK_STR(s->transfers[i].name, names[i]);
        CHECK_INT(s->transfers[i].school_year, years[i]);
        CHECK_INT(s->transfers[i].nwhen + s->transfers[i].nunless, 0);
        CHECK(svc_transfer_applies(&s->transfers[i], ATTRS({"school_system", "three_tier"})));
    }
    CHECK(svc_find_transfer(s, "infant_to_junior") == NULL);
    svc_free(s);
    svc_free(NULL);

    /* A file with only the required keys gets every default but its name and version. */
    char err[SVC_ERR_LEN];
    s = load_str("service: Sx\nversion: 3\n", err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(s->service, "Sx");
    CHECK_INT(s->version, 3);
    CHECK_STR(s->file, "t.yaml");
    CHECK(!s->under5_on);
    CHECK_INT(s->opens_n, 12);
    CHECK_INT(s->ntransfers, 3);
    CHECK_STR(s->ntransfers ? s->transfers[1].name : NULL, "primary_to_secondary");
    svc_free(s);

    /* Empty sections are the defaults too; "transfers: {}" schedules none. */
    s = load_str("service: S\nversion: 1\nannual_review:\nphase_transfer:\n", err);
    CHECK(s && !s->under5_on && s->opens_n == 12 && s->ntransfers == 3);
    svc_free(s);
    s = load_str("service: S\nversion: 1\nphase_transfer:\n  transfers: {}\n", err);
    CHECK(s && s->ntransfers == 0 && s->transfers == NULL && s->opens_n == 12);
    svc_free(s);
}

static void test_optional(void)
{
    char err[SVC_ERR_LEN];
    svc_settings *s = NULL;
    CHECK_INT(load_service("/nonexistent/service.yaml", true, &s, err), 1);
    CHECK_STR(s ? s->file : NULL, "(defaults)");
    CHECK_INT(s ? s->ntransfers : 0, 3);
    svc_free(s);
    CHECK_INT(load_service(SERVICE_YAML, true, &s, err), 0);
    CHECK_INT(s ? s->ntransfers : 0, 6);
    svc_free(s);
    /* Anything but a missing file is still an error. */
    s = (svc_settings *)1;
    CHECK_INT(load_service(SF_TEST_SOURCE_DIR "/workflows", true, &s, err), -1);
    CHECK(s == NULL);
    CHECK_SUBSTR(err, "[" SF_TEST_SOURCE_DIR "/workflows:1] cannot read");
    s = (svc_settings *)1;
    CHECK_INT(load_service("/nonexistent/service.yaml", false, &s, err), -1);
    CHECK(s == NULL);
    CHECK_SUBSTR(err, "[/nonexistent/service.yaml:1] cannot open");
}

/* Periods in every unit, at both ends of their ranges, and the when/unless forms. */
static void test_valid_settings(void)
{
    static const struct {
        const char *under5; /* NULL: leave the key out */
        const char *opens;
        bool on;
        int under5_n;
        cal_unit under5_unit;
        int opens_n;
        cal_unit opens_unit;
    } cases[] = {
        {"6 months", "12 months", true, 6, CAL_MONTHS, 12, CAL_MONTHS},
        {"3 month", "7 months", true, 3, CAL_MONTHS, 7, CAL_MONTHS},
        {"26 weeks", "29 weeks", true, 26, CAL_WEEKS, 29, CAL_WEEKS},
        {"4 weeks", "52 weeks", true, 4, CAL_WEEKS, 52, CAL_WEEKS},
        {"52 weeks", "200 days", true, 52, CAL_WEEKS, 200, CAL_DAYS},
        {"28 days", "365 days", true, 28, CAL_DAYS, 365, CAL_DAYS},
        {"364 days", "1 year", true, 364, CAL_DAYS, 1, CAL_YEARS},
        {"1 month", "9  Months", true, 1, CAL_MONTHS, 9, CAL_MONTHS},
        {"11 months", "8 months", true, 11, CAL_MONTHS, 8, CAL_MONTHS},
        {"off", "10 months", false, 0, CAL_MONTHS, 10, CAL_MONTHS},
        {NULL, "11 months", false, 0, CAL_MONTHS, 11, CAL_MONTHS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[400], err[SVC_ERR_LEN];
        snprintf(yaml, sizeof yaml,
                 "service: S\nversion: 1\nannual_review:\n%s%s%s\nphase_transfer:\n  opens: %s\n",
                 cases[i].under5 ? "  under_5_cycle: \"" : "",
                 cases[i].under5 ? cases[i].under5 : "", cases[i].under5 ? "\"" : "",
                 cases[i].opens);
        svc_settings *s = load_str(yaml, err);
        CHECK(s != NULL);
        if (!s) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        CHECK_INT(s->under5_on, cases[i].on);
        CHECK_INT(s->under5_n, cases[i].under5_n);
        CHECK_INT(s->under5_unit, cases[i].under5_unit);
        CHECK_INT(s->opens_n, cases[i].opens_n);
        CHECK_INT(s->opens_unit, cases[i].opens_unit);
        svc_free(s);
    }

    /* Two transfers in one school year are fine when no case can make both. */
    char err[SVC_ERR_LEN];
    svc_settings *s = load_str("service: S\nversion: 1\nphase_transfer:\n  transfers:\n"
                               "    primary_to_secondary: {school_year: 7, unless: {tier: three}}\n"
                               "    middle_to_secondary: {school_year: 7, when: {tier: three}}\n"
                               "    primary_to_middle: {school_year: 5, when: {tier: three, "
                               "area: north}}\n"
                               "    infant_to_junior: {school_year: 5, when: {tier: two}, unless: "
                               "{area: south}}\n"
                               "    secondary_to_post16: {school_year: 13, when: {a: x}}\n"
                               "    early_years_to_school: {school_year: 13, when: {a: y}}\n",
                               err);
    CHECK(s != NULL);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(s->ntransfers, 6);
    const svc_transfer *t = svc_find_transfer(s, "infant_to_junior");
    CHECK(t && t->nwhen == 1 && t->nunless == 1);
    if (t) {
        CHECK(svc_transfer_applies(t, ATTRS({"tier", "two"})));
        CHECK(svc_transfer_applies(t, ATTRS({"tier", "two"}, {"area", "north"})));
        CHECK(!svc_transfer_applies(t, ATTRS({"area", "south"}, {"tier", "two"})));
        CHECK(!svc_transfer_applies(t, ATTRS({"tier", "three"})));
        CHECK(!svc_transfer_applies(t, ATTRS({"tier", "Two"}))); /* values are exact */
        /* The first of a repeated attribute is the one that counts. */
        CHECK(svc_transfer_applies(t, ATTRS({"tier", "two"}, {"tier", "three"})));
    }
    t = svc_find_transfer(s, "primary_to_middle");
    CHECK(t && svc_transfer_applies(t, ATTRS({"area", "north"}, {"tier", "three"})));
    CHECK(t && !svc_transfer_applies(t, ATTRS({"tier", "three"})));
    svc_free(s);
}

static void test_names(void)
{
    static const struct {
        const char *name, *words;
    } cases[] = {
        {"early_years_to_school", "early years to school"},
        {"infant_to_junior", "infant to junior"},
        {"primary_to_middle", "primary to middle"},
        {"primary_to_secondary", "primary to secondary"},
        {"middle_to_secondary", "middle to secondary"},
        {"secondary_to_post16", "secondary to post-16"},
        {"post16_to_post16", "post-16 to post-16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(svc_is_transfer_name(cases[i].name));
        CHECK_STR(svc_transfer_words(cases[i].name), cases[i].words);
    }
    CHECK(!svc_is_transfer_name("primary_to_Secondary"));
    CHECK(!svc_is_transfer_name(""));
    CHECK(!svc_is_transfer_name(NULL));
    CHECK(svc_transfer_words("junior_to_secondary") == NULL);
}

/* Lines 1-2 of every invalid case below. */
#define HEAD "service: S\nversion: 1\n"
/* Lines 1-4: a transfers section whose entries start at line 5. */
#define TR HEAD "phase_transfer:\n  transfers:\n"

static void test_invalid(void)
{
    static const struct {
        const char *yaml, *err;
    } cases[] = {
        /* The document. */
        {"service: [a\n", "[t.yaml:2] YAML syntax error"},
        {"", "[t.yaml:1] empty document"},
        {"# only a comment\n", "[t.yaml:1] empty document"},
        {HEAD "---\nservice: T\n", "[t.yaml:4] a second YAML document"},
        {"- a\n", "[t.yaml:1] expected a mapping at the top level, got a list"},
        /* Top level. */
        {HEAD "services: x\n", "[t.yaml:3] top level: unknown key \"services\" (expected one of: "
                               "service, version, annual_review, phase_transfer)"},
        {HEAD "service: T\n", "[t.yaml:3] top level: duplicate key \"service\" (first at line 1)"},
        {HEAD "{a: 1}: x\n", "[t.yaml:3] top level: a key must be a string, got a mapping"},
        {"version: 1\n", "[t.yaml:1] top level: missing \"service\""},
        {"service: ''\nversion: 1\n", "[t.yaml:1] top level: \"service\": must not be empty"},
        {"service: [a]\nversion: 1\n",
         "[t.yaml:1] top level: \"service\": expected a string, got a list"},
        {"service: S\n", "[t.yaml:1] top level: missing \"version\""},
        {"service: S\nversion: 0\n", "[t.yaml:2] \"version\": expected a positive integer, got "
                                     "\"0\""},
        {"service: S\nversion: one\n", "[t.yaml:2] \"version\": expected a positive integer"},
        {"service: S\nversion: {}\n",
         "[t.yaml:2] \"version\": expected a positive integer, got a mapping"},
        /* annual_review. */
        {HEAD "annual_review: 6 months\n",
         "[t.yaml:3] \"annual_review\": expected a mapping, got a string"},
        {HEAD "annual_review:\n  under5_cycle: off\n",
         "[t.yaml:4] \"annual_review\": unknown key \"under5_cycle\" (expected one of: "
         "under_5_cycle)"},
        {HEAD "annual_review:\n  under_5_cycle: off\n  under_5_cycle: off\n",
         "[t.yaml:5] \"annual_review\": duplicate key \"under_5_cycle\" (first at line 4)"},
        {HEAD "annual_review:\n  under_5_cycle: six months\n",
         "[t.yaml:4] \"annual_review\": \"under_5_cycle\": expected \"off\" or \"N "
         "days|weeks|months|years\", got \"six months\""},
        {HEAD "annual_review:\n  under_5_cycle: 6 fortnights\n",
         "[t.yaml:4] \"annual_review\": \"under_5_cycle\": expected \"off\" or"},
        {HEAD "annual_review:\n  under_5_cycle: 6\n", "got \"6\""},
        {HEAD "annual_review:\n  under_5_cycle: 6months\n", "got \"6months\""},
        {HEAD "annual_review:\n  under_5_cycle: months\n", "got \"months\""},
        {HEAD "annual_review:\n  under_5_cycle: -6 months\n", "got \"-6 months\""},
        {HEAD "annual_review:\n  under_5_cycle: Off\n", "got \"Off\""},
        {HEAD "annual_review:\n  under_5_cycle: false\n", "got \"false\""},
        {HEAD "annual_review:\n  under_5_cycle:\n",
         "[t.yaml:4] \"annual_review\": \"under_5_cycle\": expected \"off\" or \"N "
         "days|weeks|months|years\", got an empty value"},
        {HEAD "annual_review:\n  under_5_cycle: [6 months]\n", "got a list"},
        {HEAD "annual_review:\n  under_5_cycle: 12 months\n",
         "[t.yaml:4] \"annual_review\": \"under_5_cycle\": \"12 months\" is out of range: "
         "expected from 4 weeks to 11 months"},
        {HEAD "annual_review:\n  under_5_cycle: 1 year\n", "\"1 year\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 53 weeks\n", "\"53 weeks\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 365 days\n", "\"365 days\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 3 weeks\n", "\"3 weeks\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 27 days\n", "\"27 days\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 0 months\n", "\"0 months\" is out of range"},
        {HEAD "annual_review:\n  under_5_cycle: 99999999999999999999 months\n", "is out of range"},
        /* phase_transfer and opens. */
        {HEAD "phase_transfer: []\n",
         "[t.yaml:3] \"phase_transfer\": expected a mapping, got a list"},
        {HEAD "phase_transfer:\n  open: 12 months\n",
         "[t.yaml:4] \"phase_transfer\": unknown key \"open\" (expected one of: opens, "
         "transfers)"},
        {HEAD "phase_transfer:\n  opens: twelve months\n",
         "[t.yaml:4] \"phase_transfer\": \"opens\": expected \"N days|weeks|months|years\", got "
         "\"twelve months\""},
        {HEAD "phase_transfer:\n  opens: off\n", "[t.yaml:4] \"phase_transfer\": \"opens\": "
                                                 "expected \"N days|weeks|months|years\", got "
                                                 "\"off\""},
        {HEAD "phase_transfer:\n  opens: 6 months\n",
         "[t.yaml:4] \"phase_transfer\": \"opens\": \"6 months\" is out of range: expected from 7 "
         "to 12 months"},
        {HEAD "phase_transfer:\n  opens: 13 months\n", "\"13 months\" is out of range"},
        {HEAD "phase_transfer:\n  opens: 2 years\n", "\"2 years\" is out of range"},
        {HEAD "phase_transfer:\n  opens: 199 days\n", "\"199 days\" is out of range"},
        {HEAD "phase_transfer:\n  opens: 366 days\n", "\"366 days\" is out of range"},
        {HEAD "phase_transfer:\n  opens: 28 weeks\n", "\"28 weeks\" is out of range"},
        {HEAD "phase_transfer:\n  opens: 53 weeks\n", "\"53 weeks\" is out of range"},
        /* transfers. */
        {HEAD "phase_transfer:\n  transfers:\n",
         "[t.yaml:4] \"phase_transfer\": \"transfers\": expected a mapping of transfers, got an "
         "empty value (write {} to schedule none)"},
        {HEAD "phase_transfer:\n  transfers: [primary_to_secondary]\n",
         "[t.yaml:4] \"phase_transfer\": \"transfers\": expected a mapping, got a list"},
        {TR "    primary_to_secundary: {school_year: 7}\n",
         "[t.yaml:5] \"transfers\": unknown transfer \"primary_to_secundary\" (expected one of: "
         "early_years_to_school, infant_to_junior, primary_to_middle, primary_to_secondary, "
         "middle_to_secondary, secondary_to_post16)"},
        {TR "    post16_to_post16: {school_year: 13}\n",
         "[t.yaml:5] \"transfers\": post16_to_post16 cannot be scheduled from the date of birth"},
        {TR "    primary_to_secondary: {school_year: 7}\n"
            "    primary_to_secondary: {school_year: 6}\n",
         "[t.yaml:6] \"phase_transfer\": \"transfers\": duplicate key \"primary_to_secondary\" "
         "(first at line 5)"},
        {TR "    primary_to_secondary: 7\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": expected a mapping, got a string"},
        {TR "    primary_to_secondary:\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": expected a mapping, got an empty value"},
        {TR "    primary_to_secondary: {}\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": missing \"school_year\""},
        {TR "    primary_to_secondary: {school_year: 7, year: 7}\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": unknown key \"year\" (expected one of: "
         "school_year, when, unless)"},
        {TR "    primary_to_secondary:\n      school_year: 14\n",
         "[t.yaml:6] transfer \"primary_to_secondary\": \"school_year\": expected a whole number "
         "from 0 (Reception) to 13 (Year 13), got \"14\""},
        {TR "    primary_to_secondary: {school_year: -1}\n", "got \"-1\""},
        {TR "    primary_to_secondary: {school_year: 07}\n", "got \"07\""},
        {TR "    primary_to_secondary: {school_year: 100}\n", "got \"100\""},
        {TR "    primary_to_secondary: {school_year: Y7}\n", "got \"Y7\""},
        {TR "    primary_to_secondary: {school_year: ''}\n", "got \"\""},
        {TR "    primary_to_secondary: {school_year: [7]}\n", "to 13 (Year 13), got a list"},
        {TR "    primary_to_secondary: {school_year: 7, when: three_tier}\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": \"when\": expected a mapping, got a "
         "string"},
        {TR "    primary_to_secondary: {school_year: 7, unless: }\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": \"unless\": expected a mapping, got an "
         "empty value"},
        {TR "    primary_to_secondary: {school_year: 7, when: {}}\n",
         "[t.yaml:5] transfer \"primary_to_secondary\": \"when\": must name at least one "
         "attribute (or leave \"when\" out)"},
        {TR "    primary_to_secondary:\n      school_year: 7\n      when:\n        School: x\n",
         "[t.yaml:8] transfer \"primary_to_secondary\": \"when\": invalid attribute name "
         "\"School\" (expected [a-z][a-z0-9_]*)"},
        {TR "    primary_to_secondary:\n      school_year: 7\n      when:\n        a: x\n"
            "        a: y\n",
         "[t.yaml:9] transfer \"primary_to_secondary\": \"when\": duplicate key \"a\" (first at "
         "line 8)"},
        {TR "    primary_to_secondary:\n      school_year: 7\n      unless:\n        a: [x]\n",
         "[t.yaml:8] transfer \"primary_to_secondary\": \"unless\": \"a\": expected a value, got "
         "a list"},
        {TR "    primary_to_secondary:\n      school_year: 7\n      unless:\n        a:\n",
         "[t.yaml:8] transfer \"primary_to_secondary\": \"unless\": \"a\": expected a value, got "
         "an empty value"},
        {TR "    primary_to_secondary:\n      school_year: 7\n      when: {a: x, b: y}\n"
            "      unless: {b: y}\n",
         "[t.yaml:8] transfer \"primary_to_secondary\": \"unless\": b: y is also required by "
         "\"when\", so the transfer never applies"},
        /* Two transfers one case could make in the same year. */
        {TR "    primary_to_secondary: {school_year: 7}\n"
            "    middle_to_secondary: {school_year: 7, when: {tier: three}}\n",
         "[t.yaml:6] transfer \"middle_to_secondary\": a case could also make transfer "
         "\"primary_to_secondary\" (line 5) at the start of Year 7"},
        {TR "    early_years_to_school: {school_year: 0, unless: {a: x}}\n"
            "    infant_to_junior: {school_year: 3}\n"
            "    primary_to_middle: {school_year: 0, unless: {a: y}}\n",
         "[t.yaml:7] transfer \"primary_to_middle\": a case could also make transfer "
         "\"early_years_to_school\" (line 5) at the start of Reception"},
        {TR "    primary_to_middle: {school_year: 5, when: {a: x}}\n"
            "    infant_to_junior: {school_year: 5, when: {b: x}}\n",
         "[t.yaml:6] transfer \"infant_to_junior\": a case could also make transfer "
         "\"primary_to_middle\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[SVC_ERR_LEN] = "";
        svc_settings *s = load_str(cases[i].yaml, err);
        CHECK(s == NULL);
        svc_free(s);
        if (!strstr(err, cases[i].err))
            fprintf(stderr, "case %zu:\n%s-> %s\n", i, cases[i].yaml, err);
        CHECK_SUBSTR(err, cases[i].err);
    }

    /* Invalid UTF-8 is a reader error, located by its offset. */
    char err[SVC_ERR_LEN];
    svc_settings *s = (svc_settings *)1;
    const char bad[] = "service: S\nversion: 1\nservice: \xff\xfe\n";
    CHECK_INT(svc_load_string("t.yaml", bad, sizeof bad - 1, &s, err), -1);
    CHECK(s == NULL);
    CHECK_SUBSTR(err, "[t.yaml:3] YAML syntax error");
}

int main(void)
{
    RUN(test_shipped);
    RUN(test_defaults);
    RUN(test_optional);
    RUN(test_valid_settings);
    RUN(test_names);
    RUN(test_invalid);
    return CHECK_DONE();
}
