/* sfconn: blocking Unix-socket client for the NDJSON protocol (see sfconn.h). */
#include "sfconn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sfc_connect(sfc_conn *c, const char *path)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int rc;
    do
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    c->fd = fd;
    return 0;
}

int sfc_send_all(sfc_conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a daemon that went away is an error to report, not SIGPIPE. */
        ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int sfc_read_line(sfc_conn *c, const char **line, size_t *len)
{
    for (;;) {
        char *start = c->buf.buf ? c->buf.buf + c->off : NULL;
        char *nl = start ? memchr(start, '\n', c->buf.len - c->off) : NULL;
        if (nl) {
            *nl = '\0';
            *line = start;
            *len = (size_t)(nl - start);
            c->off = (size_t)(nl - c->buf.buf) + 1;
            return 0;
        }
        if (c->off > 0) { /* keep only the unread tail */
            size_t rest = c->buf.len - c->off;
            memmove(c->buf.buf, c->buf.buf + c->off, rest);
            c->buf.len = rest;
            c->buf.buf[rest] = '\0';
            c->off = 0;
        }
        char chunk[65536];
        ssize_t got = recv(c->fd, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return 1;
        sb_addn(&c->buf, chunk, (size_t)got);
    }
}

size_t sfc_pending(const sfc_conn *c)
{
    return c->buf.len - c->off;
}

void sfc_close(sfc_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    sb_free(&c->buf);
    c->off = 0;
}
