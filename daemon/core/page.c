/* page: the paging table and the cursor codec (see page.h). */
#include "page.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cal.h"

/* The operations' indexes, in proto.def's order (as proto_op and the CLI's enum sf_op). */
enum {
#define SF_OP(sym, name, help) PAGE__OP_##sym,
#include "proto.def"
#undef SF_OP
};

static const page_spec specs[] = {
#define SF_PAGE(sym, tag, fields, def, max) {PAGE__OP_##sym, tag, fields, def, max},
#include "proto.def"
#undef SF_PAGE
};

const page_spec *page_spec_of(int op)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (specs[i].op == op)
            return &specs[i];
    return NULL;
}

/* Bytes a name keeps as they are in a cursor; every other byte is escaped. */
static bool page__plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool page__digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int page__hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1; /* lower case too: one spelling per cursor */
}

/* What a field letter holds, for messages. */
static const char *page__kind_name(char kind)
{
    switch (kind) {
    case 'd':
        return "a date";
    case 'i':
        return "an id";
    case 'k':
        return "a rank";
    case 'n':
        return "a name";
    case 't':
        return "a timestamp";
    }
    return "?";
}

/*
 * Decode one field of kind from the cursor's text s (n bytes) into a new
 * string in the database's form; NULL when it is not one we could have
 * written.
 */
static char *page__decode(char kind, const char *s, size_t n)
{
    switch (kind) {
    case 'd': {
        char buf[CAL_DATE_LEN];
        cal_day d;
        if (n != 10)
            return NULL;
        memcpy(buf, s, n);
        buf[n] = '\0';
        return cal_parse(buf, &d) == 0 ? xstrdup(buf) : NULL;
    }
    case 'i':
        /* A bigserial: 1 or more, at most 18 digits so it fits a bigint. */
        if (n == 0 || n > 18 || s[0] == '0' || !page__digits(s, n))
            return NULL;
        return xstrndup(s, n);
    case 'k':
        return n == 1 && page__digits(s, 1) ? xstrndup(s, 1) : NULL;
    case 't': {
        /* YYYYMMDDTHHMMSS.ffffffZ -> YYYY-MM-DDTHH:MM:SS.ffffffZ */
        if (n != 23 || !page__digits(s, 8) || s[8] != 'T' || !page__digits(s + 9, 6) ||
            s[15] != '.' || !page__digits(s + 16, 6) || s[22] != 'Z')
            return NULL;
        char date[CAL_DATE_LEN];
        cal_day d;
        snprintf(date, sizeof date, "%.4s-%.2s-%.2s", s, s + 4, s + 6);
        int hh = (s[9] - '0') * 10 + (s[10] - '0'), mi = (s[11] - '0') * 10 + (s[12] - '0'),
            ss = (s[13] - '0') * 10 + (s[14] - '0');
        if (cal_parse(date, &d) != 0 || hh > 23 || mi > 59 || ss > 59)
            return NULL;
        return xasprintf("%sT%.2s:%.2s:%.2s.%.6sZ", date, s + 9, s + 11, s + 13, s + 16);
    }
    case 'n': {
        sb b = {0};
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '%') {
                if (i + 2 >= n)
                    goto bad_name;
                int hi = page__hex(s[i + 1]), lo = page__hex(s[i + 2]);
                if (hi < 0 || lo < 0)
                    goto bad_name;
                c = (unsigned char)(hi * 16 + lo);
                /* Escaped only when it must be, and never a control byte. */
                if (page__plain(c) || c < 0x20 || c == 0x7f)
                    goto bad_name;
                i += 2;
            } else if (!page__plain(c)) {
                goto bad_name;
            }
            sb_addn(&b, (const char *)&c, 1);
        }
        if (b.len == 0 || b.len > 128)
            goto bad_name;
        return sb_steal(&b);
    bad_name:
        sb_free(&b);
        return NULL;
    }
    }
    return NULL;
}

void page_cursor_free(page_cursor *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->field[i]);
    memset(c, 0, sizeof *c);
}

int page_cursor_parse(const page_spec *spec, const char *text, page_cursor *out,
                      char err[PAGE_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    size_t tlen = strlen(spec->tag), nf = strlen(spec->fields);
    if (strlen(text) > PAGE_CURSOR_MAX) {
        snprintf(err, PAGE_ERR_LEN, "is longer than any cursor (%d bytes at most)",
                 PAGE_CURSOR_MAX);
        return -1;
    }
    if (strncmp(text, spec->tag, tlen) != 0 || text[tlen] != ':') {
        snprintf(err, PAGE_ERR_LEN,
                 "is not a cursor of this operation (those start \"%s:\"): pass the \"next\" "
                 "of the previous page unchanged",
                 spec->tag);
        return -1;
    }
    const char *p = text + tlen + 1;
    for (size_t f = 0; f < nf; f++) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((f + 1 < nf) != (end != NULL)) {
            snprintf(err, PAGE_ERR_LEN, "has %s fields than a cursor of this operation (%zu)",
                     end ? "more" : "fewer", nf);
            page_cursor_free(out);
            return -1;
        }
        char *v = page__decode(spec->fields[f], p, n);
        if (!v) {
            snprintf(err, PAGE_ERR_LEN, "field %zu is not %s as a cursor holds it", f + 1,
                     page__kind_name(spec->fields[f]));
            page_cursor_free(out);
            return -1;
        }
        out->field[out->n++] = v;
        p = end ? end + 1 : p + n;
    }
    return 0;
}

char *page_cursor_make(const page_spec *spec, const char *const *fields)
{
    sb b = {0};
    sb_add(&b, spec->tag);
    for (size_t f = 0; spec->fields[f]; f++) {
        const char *v = fields[f];
        sb_add(&b, ":");
        if (spec->fields[f] == 't') {
            /* YYYY-MM-DDTHH:MM:SS.ffffffZ -> YYYYMMDDTHHMMSS.ffffffZ; checked below. */
            if (strlen(v) != 27)
                goto bad;
            sb_addf(&b, "%.4s%.2s%.2sT%.2s%.2s%.2s.%.6sZ", v, v + 5, v + 8, v + 11, v + 14, v + 17,
                    v + 20);
            if (v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' ||
                v[19] != '.' || v[26] != 'Z')
                goto bad;
            continue;
        }
        for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
            if (page__plain(*c))
                sb_addn(&b, (const char *)c, 1);
            else
                sb_addf(&b, "%%%02X", *c);
        }
    }
    /* Only offer a cursor we would accept back. */
    page_cursor check;
    char err[PAGE_ERR_LEN];
    if (page_cursor_parse(spec, sb_str(&b), &check, err) != 0)
        goto bad;
    page_cursor_free(&check);
    return sb_steal(&b);
bad:
    sb_free(&b);
    return NULL;
}

int page_limit_parse(const page_spec *spec, const char *s, long *out, char err[PAGE_ERR_LEN])
{
    size_t n = strlen(s);
    long v = 0;
    if (n > 0 && n <= 9 && page__digits(s, n))
        v = strtol(s, NULL, 10);
    if (v < 1 || v > spec->max) {
        snprintf(err, PAGE_ERR_LEN, "expected a whole number from 1 to %ld", spec->max);
        return -1;
    }
    *out = v;
    return 0;
}
