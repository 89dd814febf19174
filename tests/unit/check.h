/*
 * check.h: the unit tests' tiny harness. Each test file defines test
 * functions and lists them in main with RUN(); a failed CHECK prints
 * file:line and the values, the test goes on, and main returns non-zero if
 * any check failed. Output is TAP-like, one "ok"/"not ok" line per test.
 */
#ifndef SF_CHECK_H
#define SF_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;      /* failed checks in the whole binary */
static int check_test_failures; /* failed checks in the running test */
static int check_tests;         /* tests run so far */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            check_failures++;                                                                      \
            check_test_failures++;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,    \
                    check_a_, #b, check_b_);                                                       \
            check_failures++;                                                                      \
            check_test_failures++;                                                                 \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                           \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,      \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");               \
            check_failures++;                                                                      \
            check_test_failures++;                                                                 \
        }                                                                                          \
    } while (0)

/* CHECK_SUBSTR(haystack, needle): haystack contains needle. */
#define CHECK_SUBSTR(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (!check_a_ || !strstr(check_a_, check_b_)) {                                            \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected to contain \"%s\"\n", __FILE__,         \
                    __LINE__, #a, check_a_ ? check_a_ : "(null)", check_b_);                       \
            check_failures++;                                                                      \
            check_test_failures++;                                                                 \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        check_test_failures = 0;                                                                   \
        fn();                                                                                      \
        check_tests++;                                                                             \
        printf("%s %d - %s\n", check_test_failures ? "not ok" : "ok", check_tests, #fn);           \
    } while (0)

#define CHECK_DONE()                                                                               \
    (printf("1..%d\n# %d failed checks\n", check_tests, check_failures), check_failures ? 1 : 0)

#endif
