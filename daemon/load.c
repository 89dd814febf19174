/*
 * load: the file and directory reads behind the core's loaders (see load.h).
 * The core checks what the text says; this file only decides which files are
 * read, in which order, and reports the ones that cannot be.
 */
#include "load.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(LOAD_ERR_LEN == WF_ERR_LEN && LOAD_ERR_LEN == HOL_ERR_LEN &&
                   LOAD_ERR_LEN == SVC_ERR_LEN && LOAD_ERR_LEN == ESC_ERR_LEN &&
                   LOAD_ERR_LEN == CHAN_ERR_LEN,
               "one error buffer size for every loader");

int load_read_file(const char *path, char **text, size_t *len, bool *missing,
                   char err[LOAD_ERR_LEN])
{
    *text = NULL;
    *len = 0;
    if (missing)
        *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (missing)
            *missing = errno == ENOENT;
        snprintf(err, LOAD_ERR_LEN, "[%s:1] cannot open: %s", path, strerror(errno));
        return -1;
    }
    int failed = load_read_stream(f, text, len);
    int saved = errno;
    fclose(f);
    if (failed) {
        snprintf(err, LOAD_ERR_LEN, "[%s:1] cannot read: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

int load_read_stream(FILE *f, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    sb buf = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_addn(&buf, chunk, n);
    if (ferror(f)) {
        int saved = errno ? errno : EIO;
        sb_free(&buf);
        errno = saved;
        return -1;
    }
    *len = buf.len;
    *text = sb_steal(&buf);
    return 0;
}

static int load__cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "*.yaml" or "*.yml", not hidden (as the shell's glob). */
static bool load__is_yaml(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* The service's settings, escalation policies and channels live beside the workflows. */
static bool load__is_workflow(const char *name)
{
    return load__is_yaml(name) && strcmp(name, "service.yaml") != 0 &&
           strcmp(name, "escalations.yaml") != 0 && strcmp(name, "channels.yaml") != 0;
}

/*
 * The paths of the regular files (or links to them) directly in dir whose names pass keep, sorted
 * by name: 0, *paths (each and the array freed by the caller) and *n; or -1 and err.
 */
static int load__list_dir(const char *dir, bool (*keep)(const char *), char ***paths, size_t *n,
                          char *err)
{
    *paths = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, LOAD_ERR_LEN, "[%s:1] cannot open directory: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!keep(e->d_name))
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *paths = xrealloc(*paths, cap * sizeof **paths);
        }
        (*paths)[(*n)++] = path;
    }
    closedir(d);
    if (*n)
        qsort(*paths, *n, sizeof **paths, load__cmp_str);
    return 0;
}

static void load__free_paths(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int load_workflow(const char *path, wf_workflow **out, char err[WF_ERR_LEN])
{
    char *text;
    size_t len;
    *out = NULL;
    if (load_read_file(path, &text, &len, NULL, err) != 0)
        return -1;
    int rc = wf_load_string(path, text, len, out, err);
    free(text);
    return rc;
}

int load_workflows(const char *dir, wf_set **out, char err[WF_ERR_LEN])
{
    char **paths;
    size_t n;
    *out = NULL;
    if (load__list_dir(dir, load__is_workflow, &paths, &n, err) != 0)
        return -1;
    if (n == 0) {
        free(paths);
        snprintf(err, LOAD_ERR_LEN, "[%s:1] no workflow files (*.yaml, *.yml) in the directory",
                 dir);
        return -1;
    }
    wf_set *set = xcalloc(1, sizeof *set);
    set->items = xcalloc(n, sizeof *set->items);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = load_workflow(paths[i], &set->items[set->n], err)) == 0)
            set->n++;
    load__free_paths(paths, n);
    if (rc == 0)
        rc = wf_set_check(set, err);
    if (rc != 0) {
        wf_set_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

int load_calendars(const char *dir, hol_calendar **out, char err[HOL_ERR_LEN])
{
    char **paths;
    size_t n;
    *out = NULL;
    if (load__list_dir(dir, load__is_yaml, &paths, &n, err) != 0)
        return -1;
    hol_text *files = xcalloc(n ? n : 1, sizeof *files);
    char **texts = xcalloc(n ? n : 1, sizeof *texts);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = load_read_file(paths[i], &texts[i], &files[i].len, NULL, err);
        files[i].name = paths[i];
        files[i].yaml = texts[i];
    }
    if (rc == 0)
        rc = hol_load_texts(dir, files, n, out, err);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(files);
    load__free_paths(paths, n);
    return rc == 0 ? 0 : -1;
}

/*
 * The text of the file at path for load_service and its like: 0 (free *text), -1 with err set, or
 * 1 when optional and the file does not exist (the caller gives its defaults).
 */
static int load__optional(const char *path, bool optional, char **text, size_t *len, char *err)
{
    bool missing;
    if (load_read_file(path, text, len, &missing, err) == 0)
        return 0;
    if (!(optional && missing))
        return -1;
    err[0] = '\0';
    return 1;
}

int load_service(const char *path, bool optional, svc_settings **out, char err[SVC_ERR_LEN])
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = load__optional(path, optional, &text, &len, err);
    if (rc == 1)
        *out = svc_defaults();
    if (rc != 0)
        return rc;
    rc = svc_load_string(path, text, len, out, err);
    free(text);
    return rc;
}

int load_escalations(const char *path, bool optional, esc_policy **out, char err[ESC_ERR_LEN])
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = load__optional(path, optional, &text, &len, err);
    if (rc == 1)
        *out = esc_empty();
    if (rc != 0)
        return rc;
    rc = esc_load_string(path, text, len, out, err);
    free(text);
    return rc;
}

int load_channels(const char *path, bool optional, chan_config **out, char err[CHAN_ERR_LEN])
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = load__optional(path, optional, &text, &len, err);
    if (rc == 1)
        *out = chan_empty();
    if (rc != 0)
        return rc;
    rc = chan_load_string(path, text, len, out, err);
    free(text);
    return rc;
}

int load_all(const char *dir, load_defs *out, sb *notes, sb *err)
{
    memset(out, 0, sizeof *out);
    char e[LOAD_ERR_LEN];
    if (load_workflows(dir, &out->workflows, e) != 0) {
        sb_addf(err, "invalid workflow definitions: %s", e);
        return -1;
    }
    char *path = xasprintf("%s/calendars", dir);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0) {
        out->cal = hol_rules_only();
        sb_addf(notes, "no %s: bank holidays by rule only, no school terms\n", path);
    } else if (load_calendars(path, &out->cal, e) != 0) {
        sb_addf(err, "invalid calendar: %s", e);
        rc = -1;
    }
    free(path);
    if (rc == 0) {
        path = xasprintf("%s/service.yaml", dir);
        if (load_service(path, true, &out->svc, e) < 0) {
            sb_addf(err, "invalid service settings: %s", e);
            rc = -1;
        }
        free(path);
    }
    if (rc == 0) {
        path = xasprintf("%s/escalations.yaml", dir);
        int r = load_escalations(path, true, &out->esc, e);
        if (r < 0) {
            sb_addf(err, "invalid escalation policy: %s", e);
            rc = -1;
        } else if (r == 1) {
            sb_add(notes, "no escalations.yaml: no deadline escalates\n");
        }
        free(path);
    }
    if (rc == 0) {
        path = xasprintf("%s/channels.yaml", dir);
        int r = load_channels(path, true, &out->chan, e);
        if (r < 0) {
            /* The error may quote a URL (an SMTP relay's, a webhook's) with its password. */
            sb_add(err, "invalid channels: ");
            sb_add_redacted(err, e);
            rc = -1;
        } else if (r == 1) {
            sb_add(notes, "no channels.yaml: escalations fire but nobody can be told\n");
        }
        free(path);
    }
    if (rc != 0)
        load_defs_free(out);
    return rc;
}

void load_defs_free(load_defs *d)
{
    wf_set_free(d->workflows);
    hol_free(d->cal);
    svc_free(d->svc);
    esc_free(d->esc);
    chan_free(d->chan);
    memset(d, 0, sizeof *d);
}
