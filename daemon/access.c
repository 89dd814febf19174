/* access: the --access file and peer identities (see access.h). */
#include "access.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

typedef struct access_user {
    uid_t uid;
    char name[64];
    access_role role;
} access_user;

struct access_map {
    access_user *users; /* owned */
    size_t n;
    uid_t self; /* the daemon's own uid: admin */
};

static const char *const role_names[] = {"none",        "admin",   "manager", "caseworker",
                                         "integration", "auditor", "feed"};

const char *access_role_name(access_role r)
{
    return (size_t)r < sizeof role_names / sizeof role_names[0] ? role_names[r] : "none";
}

access_role access_role_lookup(const char *name)
{
    for (size_t i = 1; i < sizeof role_names / sizeof role_names[0]; i++)
        if (strcmp(role_names[i], name) == 0)
            return (access_role)i;
    return ACCESS_NONE;
}

/* Read users: {NAME: ROLE} from the parsed document into m. */
static int load_users(access_map *m, yaml_document_t *doc, const char *path, char *err,
                      size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "[%s:%zu] expected a mapping with \"users\"", path,
                 root ? root->start_mark.line + 1 : 1);
        return -1;
    }
    yaml_node_t *users = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k->type != YAML_SCALAR_NODE || strcmp((const char *)k->data.scalar.value, "users")) {
            snprintf(err, errlen, "[%s:%zu] unknown key (expected \"users\")", path,
                     k->start_mark.line + 1);
            return -1;
        }
        users = yaml_document_get_node(doc, p->value);
    }
    if (!users || users->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "[%s:%zu] \"users\" must be a mapping of UNIX_USER: ROLE", path,
                 users ? users->start_mark.line + 1 : root->start_mark.line + 1);
        return -1;
    }
    for (yaml_node_pair_t *p = users->data.mapping.pairs.start; p < users->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        size_t line = k->start_mark.line + 1;
        if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) {
            snprintf(err, errlen, "[%s:%zu] each user must be UNIX_USER: ROLE", path, line);
            return -1;
        }
        const char *name = (const char *)k->data.scalar.value;
        const char *rname = (const char *)v->data.scalar.value;
        access_role role = access_role_lookup(rname);
        if (role == ACCESS_NONE || role == ACCESS_FEED) {
            snprintf(err, errlen,
                     "[%s:%zu] %s: unknown role \"%s\" (admin, manager, caseworker, "
                     "integration or auditor)",
                     path, line, name, rname);
            return -1;
        }
        errno = 0;
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            snprintf(err, errlen, "[%s:%zu] no such Unix user \"%s\"", path, line, name);
            return -1;
        }
        if (strlen(name) >= sizeof m->users[0].name) {
            snprintf(err, errlen, "[%s:%zu] user name too long", path, line);
            return -1;
        }
        for (size_t i = 0; i < m->n; i++)
            if (m->users[i].uid == pw->pw_uid) {
                snprintf(err, errlen, "[%s:%zu] %s is listed twice (uid %u)", path, line, name,
                         (unsigned)pw->pw_uid);
                return -1;
            }
        m->users = xrealloc(m->users, (m->n + 1) * sizeof *m->users);
        access_user *u = &m->users[m->n++];
        u->uid = pw->pw_uid;
        u->role = role;
        snprintf(u->name, sizeof u->name, "%s", name);
    }
    return 0;
}

int access_load(access_map **out, const char *path, char *err, size_t errlen)
{
    access_map *m = xcalloc(1, sizeof *m);
    m->self = geteuid();
    *out = m;
    if (!path)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read access file %s: %s", path, strerror(errno));
        goto fail;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = -1;
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "[%s:%zu] %s", path, parser.problem_mark.line + 1,
                 parser.problem ? parser.problem : "invalid YAML");
    } else {
        rc = load_users(m, &doc, path, err, errlen);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc == 0)
        return 0;
fail:
    access_free(m);
    *out = NULL;
    return -1;
}

void access_free(access_map *m)
{
    if (!m)
        return;
    free(m->users);
    free(m);
}

size_t access_users(const access_map *m)
{
    return m->n;
}

void access_identify_uid(const access_map *m, uid_t uid, access_ident *id)
{
    memset(id, 0, sizeof *id);
    id->role = ACCESS_NONE;
    const char *name = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->users[i].uid == uid) {
            id->role = m->users[i].role;
            name = m->users[i].name;
        }
    /* The daemon's own user and root are admin, whatever the file says. */
    if (uid == m->self || uid == 0)
        id->role = ACCESS_ADMIN;
    char buf[32];
    if (!name) {
        /* Not in the file: the name for the log and the audit trail only. getpwuid may
         * consult NSS; it runs once per connection, for the daemon's own user or root. */
        struct passwd *pw = id->role != ACCESS_NONE ? getpwuid(uid) : NULL;
        if (pw && strlen(pw->pw_name) < sizeof id->who)
            name = pw->pw_name;
        else {
            snprintf(buf, sizeof buf, "uid:%u", (unsigned)uid);
            name = buf;
        }
    }
    snprintf(id->who, sizeof id->who, "%s", name);
    snprintf(id->via, sizeof id->via, "unix:%s", name);
}

bool access_event_allowed(const access_ident *id, const char *type)
{
    if (!id->limited)
        return true;
    size_t n = strlen(type);
    for (const char *p = id->events; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, type, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}
