/*
 * test_chan: the channels loader. The shipped workflows/channels.yaml must
 * load; a full file must come back as written (people, boards, webhooks,
 * e-mail, commands) with working lookups; a missing file is the empty
 * config; and every rule refuses a broken file with the right "[file:line]"
 * and a message naming the problem, since a channel misread is a manager
 * not told.
 */
#include "chan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "load.h"

#define CHANNELS_YAML SF_TEST_SOURCE_DIR "/workflows/channels.yaml"

static chan_config *load_str(const char *yaml, char err[CHAN_ERR_LEN])
{
    chan_config *c = (chan_config *)1;
    if (chan_load_string("t.yaml", yaml, strlen(yaml), &c, err) < 0) {
        CHECK(c == NULL);
        return NULL;
    }
    return c;
}

/* The example of the issue, in full. */
static const char full[] =
    "channels: 1                      # version\n"                                   /* 1 */
    "people:\n"                                                                      /* 2 */
    "  jb: {title: case officer J.B., email: jb@example.org}\n"                      /* 3 */
    "  mk: {title: team manager north, email: mk@example.org, webhook: ops-board}\n" /* 4 */
    "  hos: {title: head of service, email: head.sen@example.org, command: pager}\n" /* 5 */
    "boards:\n"                                                                      /* 6 */
    "  operations: [mk, hos]\n"                                                      /* 7 */
    "  strategic: [hos]\n"                                                           /* 8 */
    "webhooks:\n"                                                                    /* 9 */
    "  ops-board: {url: \"http://127.0.0.1:9000/sendflow\", secret_env: SENDFLOW_WEBHOOK_SECRET}\n"
    "email: {smtp: \"smtp://127.0.0.1:2525\", from: \"sendflow@example.org\"}\n" /* 11 */
    "commands:\n"                                                                /* 12 */
    "  pager: {argv: [/usr/bin/logger, -t, sendflow]}\n";                        /* 13 */

static void test_shipped(void)
{
    char err[CHAN_ERR_LEN];
    chan_config *c = NULL;
    int rc = load_channels(CHANNELS_YAML, false, &c, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(c->version, 1);
    CHECK_STR(c->file, CHANNELS_YAML);
    CHECK(c->npeople >= 3);
    CHECK(chan_find_person(c, "hos") != NULL);
    size_t n = 0;
    CHECK(chan_board(c, "operations", &n) != NULL);
    CHECK(n >= 1);
    CHECK(chan_board(c, "strategic", &n) != NULL);
    /* Shipped without a webhook: one would need its secret in the environment to start. */
    CHECK_INT(c->nwebhooks, 0);
    chan_free(c);
}

static void test_full(void)
{
    char err[CHAN_ERR_LEN];
    chan_config *c = load_str(full, err);
    CHECK(c != NULL);
    if (!c) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(c->version, 1);
    CHECK_STR(c->file, "t.yaml");
    CHECK_INT(c->npeople, 3);
    const chan_person *jb = chan_find_person(c, "jb"), *mk = chan_find_person(c, "mk"),
                      *hos = chan_find_person(c, "hos");
    CHECK(jb && mk && hos);
    if (jb && mk && hos) {
        CHECK_STR(jb->title, "case officer J.B.");
        CHECK_STR(jb->email, "jb@example.org");
        CHECK(jb->webhook == NULL && jb->command == NULL);
        CHECK_INT(jb->line, 3);
        CHECK_STR(mk->webhook, "ops-board");
        CHECK_STR(hos->command, "pager");
        CHECK_STR(hos->email, "head.sen@example.org");
    }
    CHECK(chan_find_person(c, "nobody") == NULL);
    CHECK(chan_find_person(c, NULL) == NULL);

    size_t n = 99;
    const char *const *ops = chan_board(c, "operations", &n);
    CHECK_INT(n, 2);
    if (ops && n == 2) {
        CHECK_STR(ops[0], "mk");
        CHECK_STR(ops[1], "hos");
    }
    const char *const *st = chan_board(c, "strategic", &n);
    CHECK_INT(n, 1);
    if (st)
        CHECK_STR(st[0], "hos");
    CHECK(chan_board(c, "finance", &n) == NULL);
    CHECK_INT(n, 0);

    const chan_webhook *w = chan_find_webhook(c, "ops-board");
    CHECK(w != NULL);
    if (w) {
        CHECK_STR(w->url, "http://127.0.0.1:9000/sendflow");
        CHECK_STR(w->secret_env, "SENDFLOW_WEBHOOK_SECRET");
        CHECK_INT(w->line, 10);
    }
    CHECK(chan_find_webhook(c, "pager") == NULL);
    CHECK_STR(c->smtp, "smtp://127.0.0.1:2525");
    CHECK_STR(c->email_from, "sendflow@example.org");

    const chan_command *p = chan_find_command(c, "pager");
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(p->argc, 3);
        CHECK_STR(p->argv[0], "/usr/bin/logger");
        CHECK_STR(p->argv[1], "-t");
        CHECK_STR(p->argv[2], "sendflow");
        CHECK(p->argv[3] == NULL);
        CHECK_INT(p->timeout_s, CHAN_COMMAND_TIMEOUT_S);
    }
    CHECK(chan_find_command(c, "ops-board") == NULL);
    chan_free(c);
}

static void test_optional(void)
{
    char err[CHAN_ERR_LEN];
    chan_config *c = NULL;
    CHECK_INT(load_channels("/nonexistent/channels.yaml", true, &c, err), 1);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->version, 0);
        CHECK_INT(c->npeople, 0);
        CHECK(chan_find_person(c, "jb") == NULL);
        size_t n = 5;
        CHECK(chan_board(c, "operations", &n) == NULL);
        CHECK_INT(n, 0);
        CHECK(c->smtp == NULL);
    }
    chan_free(c);
    CHECK_INT(load_channels(CHANNELS_YAML, true, &c, err), 0);
    chan_free(c);
    CHECK_INT(load_channels("/nonexistent/channels.yaml", false, &c, err), -1);
    CHECK(c == NULL);
    CHECK_SUBSTR(err, "[/nonexistent/channels.yaml:1] cannot open");
    chan_free(NULL);
}

static void test_minimal(void)
{
    char err[CHAN_ERR_LEN];
    /* Only the version: nobody to tell. Empty sections are allowed. */
    chan_config *c = load_str("channels: 1\npeople:\nboards:\n", err);
    CHECK(c != NULL);
    if (c)
        CHECK_INT(c->npeople, 0);
    chan_free(c);
    c = load_str("channels: 1\ncommands:\n  page: {argv: [/bin/true], timeout_s: 5}\n"
                 "people:\n  a: {title: A, command: page}\n",
                 err);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(chan_find_command(c, "page")->timeout_s, 5);
        CHECK_INT(chan_find_command(c, "page")->argc, 1);
    }
    chan_free(c);
}

static void test_email_ok(void)
{
    CHECK(chan_email_ok("a@b"));
    CHECK(chan_email_ok("head.sen+x@example.org"));
    CHECK(!chan_email_ok(NULL));
    CHECK(!chan_email_ok(""));
    CHECK(!chan_email_ok("@b"));
    CHECK(!chan_email_ok("a@"));
    CHECK(!chan_email_ok("a@@b"));
    CHECK(!chan_email_ok("a@b@c"));
    CHECK(!chan_email_ok("a b@c"));
    CHECK(!chan_email_ok("a@b\r\nBcc: x@y"));
    CHECK(!chan_email_ok("<a@b>"));
    CHECK(!chan_email_ok("a@b,c@d"));
    CHECK(!chan_email_ok("a@.b"));
    CHECK(!chan_email_ok("a@b."));
    CHECK(!chan_email_ok("a@b..c"));
    CHECK(!chan_email_ok("j\xc3\xa9@b"));
}

/* Each broken file must fail with exactly this "[t.yaml:N] ..." prefix and contain the words. */
static void test_errors(void)
{
    static const struct {
        const char *yaml;
        const char *want; /* the start of the message */
        const char *also; /* and a part of it */
    } cases[] = {
        {"", "[t.yaml:1] empty document", "channels: 1"},
        {"channels: 1\n---\nchannels: 1\n", "[t.yaml:3] a second YAML document", "one set"},
        {"channels: [1\n", "[t.yaml:", "YAML syntax error"},
        {"- 1\n", "[t.yaml:1] expected a mapping at the top level", "a list"},
        {"people: {}\n", "[t.yaml:1] top level: missing \"channels: 1\"", "version"},
        {"channels: 2\n", "[t.yaml:1] \"channels\": expected the format version 1", "\"2\""},
        {"channels: 1\nfoo: 1\n", "[t.yaml:2] top level: unknown key \"foo\"", "commands"},
        {"channels: 1\nchannels: 1\n", "[t.yaml:2] top level: duplicate key", "line 1"},
        {"channels: 1\npeople: [jb]\n", "[t.yaml:2] \"people\": expected a mapping", "a list"},
        {"channels: 1\npeople:\n  JB: {title: x, command: c}\n",
         "[t.yaml:3] \"people\": invalid name \"JB\"", "[a-z]"},
        {"channels: 1\npeople:\n  jb: x\n", "[t.yaml:3] person \"jb\": expected a mapping",
         "a string"},
        {"channels: 1\npeople:\n  jb: {title: x, emial: a@b}\n",
         "[t.yaml:3] person \"jb\": unknown key \"emial\"", "email"},
        {"channels: 1\npeople:\n  jb: {email: a@b}\n",
         "[t.yaml:3] person \"jb\": missing \"title\"", ""},
        {"channels: 1\npeople:\n  jb:\n    title: x\n", "[t.yaml:3] person \"jb\": no \"email\"",
         "no way to tell them"},
        {"channels: 1\npeople:\n  jb:\n    title: x\n    email: jb@example.org\n",
         "[t.yaml:5] person \"jb\": has an e-mail address but the file has no \"email:\" section",
         ""},
        {"channels: 1\nemail: {smtp: smtp://h, from: s@h}\npeople:\n  jb: {title: x, email: "
         "\"j b@h\"}\n",
         "[t.yaml:4] person \"jb\": \"email\": \"j b@h\" is not an e-mail address", ""},
        {"channels: 1\npeople:\n  jb:\n    title: x\n    webhook: ops\n",
         "[t.yaml:5] person \"jb\": \"webhook\": no webhook \"ops\" is declared", ""},
        {"channels: 1\npeople:\n  jb:\n    title: x\n    command: pager\n",
         "[t.yaml:5] person \"jb\": \"command\": no command \"pager\" is declared", ""},
        {"channels: 1\npeople:\n  jb: {title: \"a\\nb\", command: c}\ncommands:\n  c: {argv: "
         "[/bin/true]}\n",
         "[t.yaml:3] person \"jb\": \"title\": control characters", ""},
        {"channels: 1\nboards:\n  operations: [mk]\n",
         "[t.yaml:3] board \"operations\": no person \"mk\" is declared", ""},
        {"channels: 1\ncommands: {c: {argv: [/bin/true]}}\npeople: {a: {title: A, command: c}}\n"
         "boards:\n  operations:\n    - a\n    - a\n",
         "[t.yaml:7] board \"operations\": \"a\" is listed twice", ""},
        {"channels: 1\nboards:\n  operations: []\n",
         "[t.yaml:3] board \"operations\": names nobody", ""},
        {"channels: 1\nboards:\n  operations:\n",
         "[t.yaml:3] board \"operations\": expected a list", "an empty value"},
        {"channels: 1\nboards:\n  operations: [[a]]\n",
         "[t.yaml:3] board \"operations\": item 1: expected a person's name", "a list"},
        {"channels: 1\nwebhooks:\n  ops: {url: \"ftp://x\", secret_env: S}\n",
         "[t.yaml:3] webhook \"ops\": \"url\": \"ftp://x\" is not an http:// or https:// URL", ""},
        {"channels: 1\nwebhooks:\n  ops: {url: \"http://x\"}\n",
         "[t.yaml:3] webhook \"ops\": missing \"secret_env\"", ""},
        {"channels: 1\nwebhooks:\n  ops: {url: \"http://x\", secret_env: my-secret}\n",
         "[t.yaml:3] webhook \"ops\": \"secret_env\": \"my-secret\" is not an environment variable",
         "never goes in this file"},
        {"channels: 1\nwebhooks:\n  ops: {url: \"http://x\", secret_env: S, secret: x}\n",
         "[t.yaml:3] webhook \"ops\": unknown key \"secret\"", ""},
        {"channels: 1\nemail: {smtp: \"http://x\", from: a@b}\n",
         "[t.yaml:2] \"email\": \"smtp\": \"http://x\" is not an smtp:// or smtps:// URL", ""},
        {"channels: 1\nemail: {smtp: \"smtp://x\"}\n", "[t.yaml:2] \"email\": missing \"from\"",
         ""},
        {"channels: 1\nemail: {smtp: \"smtp://x\", from: nobody}\n",
         "[t.yaml:2] \"email\": \"from\": \"nobody\" is not an e-mail address", ""},
        {"channels: 1\nemail: smtp://x\n", "[t.yaml:2] \"email\": expected a mapping", ""},
        {"channels: 1\ncommands:\n  c: {argv: [logger]}\n",
         "[t.yaml:3] command \"c\": \"argv\": the program \"logger\" must be an absolute path", ""},
        {"channels: 1\ncommands:\n  c: {argv: []}\n",
         "[t.yaml:3] command \"c\": \"argv\": must name the program", ""},
        {"channels: 1\ncommands:\n  c: {argv: /bin/true}\n",
         "[t.yaml:3] command \"c\": \"argv\": expected a list", ""},
        {"channels: 1\ncommands:\n  c: {}\n", "[t.yaml:3] command \"c\": missing \"argv\"", ""},
        {"channels: 1\ncommands:\n  c: {argv: [/bin/true, [x]]}\n",
         "[t.yaml:3] command \"c\": \"argv\": item 2: expected a string", ""},
        {"channels: 1\ncommands:\n  c: {argv: [/bin/true], timeout_s: 0}\n",
         "[t.yaml:3] command \"c\": \"timeout_s\": expected whole seconds from 1 to 120", ""},
        {"channels: 1\ncommands:\n  c: {argv: [/bin/true], timeout_s: 121}\n",
         "[t.yaml:3] command \"c\": \"timeout_s\"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[CHAN_ERR_LEN];
        chan_config *c = load_str(cases[i].yaml, err);
        if (c) {
            fprintf(stderr, "case %zu loaded but should not have:\n%s\n", i, cases[i].yaml);
            CHECK(c == NULL);
            chan_free(c);
            continue;
        }
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0) {
            fprintf(stderr, "case %zu: got   %s\n         want %s...\n", i, err, cases[i].want);
            CHECK(0);
        }
        CHECK_SUBSTR(err, cases[i].also);
    }
}

int main(void)
{
    RUN(test_shipped);
    RUN(test_full);
    RUN(test_optional);
    RUN(test_minimal);
    RUN(test_email_ok);
    RUN(test_errors);
    return CHECK_DONE();
}
