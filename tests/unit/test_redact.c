/*
 * test_redact: sb_add_redacted (daemon/core/util.c) hides the credentials of
 * URLs and connection strings in log lines, and leaves everything else as it
 * was.
 */
#include <stdlib.h>

#include "check.h"
#include "util.h"

static char *redact(const char *s)
{
    sb b = {0};
    sb_add_redacted(&b, s);
    return sb_steal(&b);
}

#define CHECK_REDACT(in, want)                                                                     \
    do {                                                                                           \
        char *got_ = redact(in);                                                                   \
        CHECK_STR(got_, want);                                                                     \
        free(got_);                                                                                \
    } while (0)

static void test_urls(void)
{
    CHECK_REDACT("e-mail smtp://mailer:hunter2@relay.example:587 (on)",
                 "e-mail smtp://mailer:***@relay.example:587 (on)");
    CHECK_REDACT("smtps://u:p@ss@relay/", "smtps://u:***@relay/");
    CHECK_REDACT("https://hook:s3cret@board.example/in?x=1",
                 "https://hook:***@board.example/in?x=1");
    /* A user alone is not a secret; nor is a URL without userinfo. */
    CHECK_REDACT("postgresql://sendflow@db/sendflow", "postgresql://sendflow@db/sendflow");
    CHECK_REDACT("http://127.0.0.1:8080/x@y", "http://127.0.0.1:8080/x@y");
    CHECK_REDACT("postgresql://u:pw@db:5432/sf?sslmode=require&password=x2",
                 "postgresql://u:***@db:5432/sf?sslmode=require&password=***");
    CHECK_REDACT("https://h/in?token=abc&n=2", "https://h/in?token=***&n=2");
}

static void test_conninfo(void)
{
    CHECK_REDACT("host=db port=5432 password=hunter2 dbname=sf",
                 "host=db port=5432 password=*** dbname=sf");
    CHECK_REDACT("host=db password = 'a b\\' c' user=x", "host=db password = *** user=x");
    CHECK_REDACT("PASSWORD=x", "PASSWORD=***");
    CHECK_REDACT("sslpassword=k", "sslpassword=***");
    /* Words that merely contain the names, and text without settings, are left alone. */
    CHECK_REDACT("the password file is missing", "the password file is missing");
    CHECK_REDACT("passwords=3 tokenizer=1", "passwords=3 tokenizer=1");
    CHECK_REDACT("mypassword_x=1", "mypassword_x=1");
    CHECK_REDACT("", "");
    CHECK_REDACT("outbox 12 (escalation, webhook board): delivered in 3 ms",
                 "outbox 12 (escalation, webhook board): delivered in 3 ms");
}

int main(void)
{
    RUN(test_urls);
    RUN(test_conninfo);
    return CHECK_DONE();
}
