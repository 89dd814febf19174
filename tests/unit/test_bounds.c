/*
 * test_bounds: the connection shares and attribute bounds of daemon/bounds.c,
 * without a loop or a socket: a peer's share, the slots kept for peers
 * holding none, re-keying (the token stage), release, and the attribute
 * checks with the case keys the configuration names.
 */
#include <stdlib.h>

#include "bounds.h"
#include "check.h"
#include "svc.h"

static sf_config settings(int max_clients, int per_peer)
{
    sf_config cfg = {0};
    cfg.max_clients = max_clients;
    cfg.max_clients_per_peer = per_peer;
    cfg.idle_timeout = 7;
    cfg.max_attributes = 3;
    cfg.max_attribute_length = 5;
    cfg.case_attributes = (char *)"officer, team,,area";
    return cfg;
}

static void test_shares(void)
{
    sf_config cfg = settings(10, 3);
    bounds *b = NULL;
    char err[256], why[256];
    CHECK_INT(bounds_new(&b, &cfg, NULL, NULL, err, sizeof err), 0);
    if (!b)
        return;
    CHECK_INT(bounds_idle_ms(b), 7000);
    for (int i = 0; i < 3; i++)
        CHECK_INT(bounds_admit(b, "uid:1", why, sizeof why), 0);
    CHECK_INT(bounds_admit(b, "uid:1", why, sizeof why), -1);
    CHECK_SUBSTR(why, "--max-clients-per-peer");
    CHECK_INT(bounds_peer_count(b, "uid:1"), 3);
    for (int i = 0; i < 3; i++)
        CHECK_INT(bounds_admit(b, "uid:2", why, sizeof why), 0);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.1", why, sizeof why), 0);
    /* 7 of 10: the last 3 are kept for peers holding none. */
    CHECK_INT(bounds_total(b), 7);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.1", why, sizeof why), -1);
    CHECK_SUBSTR(why, "kept for clients that hold none");
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.2", why, sizeof why), 0);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.3", why, sizeof why), 0);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.4", why, sizeof why), 0);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.5", why, sizeof why), -1);
    CHECK_SUBSTR(why, "--max-clients)");
    /* A token names tcp:10.0.0.4 as an integration already at its share: refused, unchanged. */
    CHECK_INT(bounds_rekey(b, "tcp:10.0.0.4", "uid:1", why, sizeof why), -1);
    CHECK_INT(bounds_peer_count(b, "tcp:10.0.0.4"), 1);
    CHECK_INT(bounds_rekey(b, "tcp:10.0.0.4", "token:int-1", why, sizeof why), 0);
    CHECK_INT(bounds_peer_count(b, "tcp:10.0.0.4"), 0);
    CHECK_INT(bounds_peer_count(b, "token:int-1"), 1);
    CHECK_INT(bounds_total(b), 10);
    bounds_release(b, "uid:1");
    bounds_release(b, "nobody"); /* never admitted: nothing changes */
    CHECK_INT(bounds_total(b), 9);
    CHECK_INT(bounds_admit(b, "tcp:10.0.0.5", why, sizeof why), 0);
    bounds_free(b);
}

static void test_settings_refused(void)
{
    sf_config cfg = settings(10, 6);
    bounds *b = NULL;
    char err[256];
    CHECK_INT(bounds_new(&b, &cfg, NULL, NULL, err, sizeof err), -1);
    CHECK(b == NULL);
    CHECK_SUBSTR(err, "at most half of --max-clients");
}

static void test_attrs(void)
{
    sf_config cfg = settings(10, 3);
    svc_settings *svc = svc_defaults();
    bounds *b = NULL;
    char err[256];
    CHECK_INT(bounds_new(&b, &cfg, NULL, svc, err, sizeof err), 0);
    svc_free(svc);
    if (!b)
        return;
    proto_err code = PROTO_ERR_INTERNAL;
    sb e = {0};
    wf_kv ok[] = {{"officer", "jb"}, {"area", "north"}};
    CHECK_INT(bounds_check_attrs(b, ok, 2, true, &code, &e), 0);
    wf_kv many[] = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
    CHECK_INT(bounds_check_attrs(b, many, 4, false, &code, &e), -1);
    CHECK_INT(code, PROTO_ERR_BAD_ATTRIBUTE);
    CHECK_SUBSTR(sb_str(&e), "4 attributes; a request may carry at most 3");
    sb_free(&e);
    wf_kv longv[] = {{"team", "northern"}};
    CHECK_INT(bounds_check_attrs(b, longv, 1, false, &code, &e), -1);
    CHECK_SUBSTR(sb_str(&e), "8 bytes; at most 5");
    sb_free(&e);
    wf_kv unknown[] = {{"nhs", "1"}};
    CHECK_INT(bounds_check_attrs(b, unknown, 1, false, &code, &e), 0); /* the workflow's to judge */
    CHECK_INT(bounds_check_attrs(b, unknown, 1, true, &code, &e), -1);
    CHECK_SUBSTR(sb_str(&e), "no attribute \"nhs\"; it takes: officer, team, area");
    sb_free(&e);
    bounds_free(b);
}

int main(void)
{
    RUN(test_shares);
    RUN(test_settings_refused);
    RUN(test_attrs);
    return CHECK_DONE();
}
