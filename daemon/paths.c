/* paths: the default locations of the workflows, schema and socket (see paths.h). */
#include "paths.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_config.h"

#define RUN_DIR "/run/sendflow"

static int paths__is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first of the NULL-terminated candidates that is a directory, else the first. */
static const char *paths__first_dir(const char *const *cands)
{
    for (size_t i = 0; cands[i]; i++)
        if (paths__is_dir(cands[i]))
            return cands[i];
    return cands[0];
}

const char *paths_workflows(void)
{
    static const char *const c[] = {"./workflows", SF_SYSCONFDIR "/sendflow/workflows",
                                    SF_DATADIR "/sendflow/workflows", NULL};
    return paths__first_dir(c);
}

const char *paths_schema(void)
{
    static const char *const c[] = {"./schema", SF_DATADIR "/sendflow/schema", NULL};
    return paths__first_dir(c);
}

const char *paths_socket(void)
{
    static char buf[4096];
    const char *rt = getenv("RUNTIME_DIRECTORY");
    /* systemd may list several directories (colon-separated); ours is the first. */
    if (rt && *rt && rt[0] == '/') {
        snprintf(buf, sizeof buf, "%.*s/sendflowd.sock", (int)strcspn(rt, ":"), rt);
        return buf;
    }
    if (!paths__is_dir("./var") && paths__is_dir(RUN_DIR))
        return RUN_DIR "/sendflowd.sock";
    return "./var/sendflowd.sock";
}

const char *paths_client_socket(void)
{
    struct stat st;
    if (stat("./var/sendflowd.sock", &st) != 0 && stat(RUN_DIR "/sendflowd.sock", &st) == 0)
        return RUN_DIR "/sendflowd.sock";
    return "./var/sendflowd.sock";
}

const char *paths_installed_workflows(void)
{
    return SF_SYSCONFDIR "/sendflow/workflows";
}

const char *paths_default_workflows(void)
{
    return SF_DATADIR "/sendflow/workflows";
}

const char *paths_installed_schema(void)
{
    return SF_DATADIR "/sendflow/schema";
}

const char *paths_installed_socket(void)
{
    return RUN_DIR "/sendflowd.sock";
}
