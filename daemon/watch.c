/*
 * watch: streaming notices to clients (see watch.h).
 */
#include "watch.h"

#include <stdlib.h>

#include "log.h"

typedef struct watch {
    srv_req **reqs; /* the open streams */
    size_t n;
    uv_timer_t heartbeat;
    bool stopped;
} watch;

/* Push to every watcher; drop those whose connection is gone (ending their request). */
static void push_all(watch *w, json_t *line)
{
    size_t keep = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (srv_push(w->reqs[i], json_deep_copy(line)))
            w->reqs[keep++] = w->reqs[i];
        else
            srv_reply(w->reqs[i], json_object()); /* frees the request; nothing is sent */
    }
    w->n = keep;
    json_decref(line);
}

static void on_heartbeat(uv_timer_t *t)
{
    sf_daemon *d = t->data;
    watch *w = d->watch;
    if (w->n) {
        char now[CLOCK_STR_LEN];
        push_all(w, json_pack("{s:s}", "heartbeat", clock_now_str(&d->clock, now)));
    }
}

void watch_init(sf_daemon *d)
{
    watch *w = xcalloc(1, sizeof *w);
    d->watch = w;
    uv_timer_init(d->loop, &w->heartbeat);
    w->heartbeat.data = d;
    uv_timer_start(&w->heartbeat, on_heartbeat, WATCH_HEARTBEAT_MS, WATCH_HEARTBEAT_MS);
    uv_unref((uv_handle_t *)&w->heartbeat);
}

void watch_add(sf_daemon *d, srv_req *req)
{
    watch *w = d->watch;
    if (!w || w->stopped) {
        srv_reply_error(req, "shutting_down", "the daemon is stopping");
        return;
    }
    if (!srv_push(req, json_pack("{s:b}", "watching", 1))) {
        srv_reply(req, json_object());
        return;
    }
    w->reqs = xrealloc(w->reqs, (w->n + 1) * sizeof *w->reqs);
    w->reqs[w->n++] = req;
    log_info("conn %llu: watching (%zu watcher%s)", (unsigned long long)req->conn_id, w->n,
             w->n == 1 ? "" : "s");
}

void watch_broadcast(sf_daemon *d, const char *json_text)
{
    watch *w = d->watch;
    if (!w || !w->n)
        return;
    json_t *notice = json_loads(json_text ? json_text : "", 0, NULL);
    if (!notice) {
        log_warn("watch: a notice that is not JSON: %.80s", json_text ? json_text : "");
        return;
    }
    push_all(w, json_pack("{s:o}", "notice", notice));
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void watch_stop(sf_daemon *d)
{
    watch *w = d->watch;
    if (!w || w->stopped)
        return;
    w->stopped = true;
    for (size_t i = 0; i < w->n; i++)
        srv_reply(w->reqs[i], json_pack("{s:b}", "end", 1));
    free(w->reqs);
    w->reqs = NULL;
    w->n = 0;
    uv_timer_stop(&w->heartbeat);
    w->heartbeat.data = w;
    uv_close((uv_handle_t *)&w->heartbeat, on_timer_closed);
    d->watch = NULL;
}
