/*
 * writer: group commit (see writer.h).
 */
#include "writer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct wr_item {
    json_t *item; /* owned */
    writer_cb cb;
    void *arg;
    bool alone; /* written in a batch that failed as a whole: now goes by itself */
    struct wr_item *next;
} wr_item;

typedef struct wr_batch {
    writer *w;
    wr_item *items; /* owned list, in submission order */
    size_t n;
} wr_batch;

struct writer {
    store *store;
    const store_stmt *stmt;
    size_t max_batch;
    int max_inflight;
    wr_item *head, *tail; /* waiting, in submission order */
    size_t queued;
    int inflight; /* batches submitted to the store and not yet answered */
};

static void kick(writer *w);

writer *writer_new(store *s, const store_stmt *stmt, size_t max_batch, int max_inflight)
{
    writer *w = xcalloc(1, sizeof *w);
    w->store = s;
    w->stmt = stmt;
    w->max_batch = max_batch ? max_batch : 1;
    w->max_inflight = max_inflight > 0 ? max_inflight : 1;
    return w;
}

void writer_free(writer *w)
{
    if (!w)
        return;
    if (w->queued || w->inflight)
        log_error("writer: freed with %zu items queued and %d batches in flight", w->queued,
                  w->inflight);
    free(w);
}

/* Put items (a list) back at the head of the queue, each to be written alone. */
static void requeue_alone(writer *w, wr_item *items)
{
    wr_item *last = NULL;
    size_t n = 0;
    for (wr_item *it = items; it; it = it->next) {
        it->alone = true;
        last = it;
        n++;
    }
    if (!last)
        return;
    last->next = w->head;
    w->head = items;
    if (!w->tail)
        w->tail = last;
    w->queued += n;
}

/* Tell every item of the list its answer (NULL answers: failure), freeing the list. */
static void answer_all(wr_item *items, PGresult *res, json_t *answers)
{
    size_t i = 0;
    while (items) {
        wr_item *next = items->next;
        json_t *a = answers ? json_array_get(answers, i) : NULL;
        items->cb(res, answers ? (a ? a : json_null()) : NULL, items->arg);
        json_decref(items->item);
        free(items);
        items = next;
        i++;
    }
}

static void batch_done(store_tx *tx, PGresult *res, void *arg)
{
    wr_batch *b = arg;
    writer *w = b->w;
    w->inflight--;
    store_release(tx);
    wr_item *items = b->items;
    size_t n = b->n;
    free(b);
    if (res && store_ok(res) && PQntuples(res) == 1) {
        json_t *answers = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (json_is_array(answers) && json_array_size(answers) == n) {
            log_debug("writer: batch of %zu committed", n);
            answer_all(items, res, answers);
            json_decref(answers);
            kick(w);
            return;
        }
        json_decref(answers);
        log_error("writer: the write function answered %s for %zu items", PQgetvalue(res, 0, 0), n);
        answer_all(items, NULL, NULL);
        kick(w);
        return;
    }
    if (res && !store_ok(res) && n > 1) {
        /* Nothing of the batch committed: write each item alone, so that only the one
         * at fault hears the error. */
        log_info("writer: a batch of %zu failed as a whole (SQLSTATE %s); writing each alone", n,
                 store_sqlstate(res));
        requeue_alone(w, items);
        kick(w);
        return;
    }
    answer_all(items, res, NULL);
    kick(w);
}

static void batch_begin(store_tx *tx, void *arg)
{
    wr_batch *b = arg;
    writer *w = b->w;
    if (!tx) {
        w->inflight--;
        wr_item *items = b->items;
        free(b);
        answer_all(items, NULL, NULL);
        kick(w);
        return;
    }
    sb text = {0};
    sb_add(&text, "[");
    for (wr_item *it = b->items; it; it = it->next) {
        char *one = json_dumps(it->item, JSON_COMPACT);
        sb_addf(&text, "%s%s", it == b->items ? "" : ",", one);
        free(one);
    }
    sb_add(&text, "]");
    const char *p[1] = {sb_str(&text)};
    int rc = store_exec(tx, w->stmt, 1, p, batch_done, b);
    sb_free(&text);
    if (rc != 0) {
        /* Not sent: nothing committed. The connection is broken: release it. */
        batch_done(tx, NULL, b);
    }
}

/* Start batches while there is room and something to write. */
static void kick(writer *w)
{
    while (w->head && w->inflight < w->max_inflight) {
        wr_batch *b = xcalloc(1, sizeof *b);
        b->w = w;
        wr_item **link = &b->items;
        /* An item that failed in a batch goes alone; others fill the batch up. */
        bool alone = w->head->alone;
        while (w->head && b->n < (alone ? 1 : w->max_batch) && (b->n == 0 || !w->head->alone)) {
            wr_item *it = w->head;
            w->head = it->next;
            if (!w->head)
                w->tail = NULL;
            it->next = NULL;
            *link = it;
            link = &it->next;
            b->n++;
            w->queued--;
        }
        w->inflight++;
        store_submit(w->store, batch_begin, b);
    }
}

void writer_submit(writer *w, json_t *item, writer_cb cb, void *arg)
{
    wr_item *it = xcalloc(1, sizeof *it);
    it->item = item;
    it->cb = cb;
    it->arg = arg;
    if (w->tail)
        w->tail->next = it;
    else
        w->head = it;
    w->tail = it;
    w->queued++;
    kick(w);
}
