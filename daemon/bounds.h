/*
 * bounds: how much of the daemon one client may hold (issue 9, item 5).
 *
 * Connections are counted per peer: a string key, "uid:N" for a Unix
 * client (its SO_PEERCRED uid), "tcp:ADDRESS" for a TCP client (its remote
 * address, until tokens name it; bounds_rekey moves a connection to the key
 * a token gives it). A peer may hold at most --max-clients-per-peer
 * connections, and the last --max-clients-per-peer slots of --max-clients
 * are kept for peers that hold none yet: one peer can never take every
 * slot, and a new client still gets in while others fill the rest. A
 * connection that sends nothing for --idle-timeout seconds, with no request
 * in flight, is closed by the server (a `watch` stream is a request in
 * flight: never idle).
 *
 * Attributes (case_open, start, event) are bounded in count
 * (--max-attributes) and value length (--max-attribute-length); a case's
 * keys must be ones the configuration knows: a role's "attribute" in
 * escalations.yaml, a "when"/"unless" key of service.yaml, or one of
 * --case-attributes. (A workflow declares its start and event attributes
 * itself; the engine refuses any other.)
 *
 * Everything runs on the loop thread; nothing here blocks. (Not "limits.h":
 * on the daemon's include path that name would hide the system's <limits.h>.)
 */
#ifndef SF_BOUNDS_H
#define SF_BOUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "proto.h"
#include "util.h"
#include "wf.h"

struct esc_policy;
struct svc_settings;

/* Room for a peer key: "uid:4294967295", "tcp:" and an IPv6 address. */
#define BOUNDS_PEER_LEN 64

typedef struct bounds bounds;

/*
 * New limits from cfg's settings, with the case attribute keys esc and svc
 * refer to (both may be NULL; neither is kept). 0 and *out (free with
 * bounds_free), or -1 with a reason in err (an inconsistent setting).
 */
int bounds_new(bounds **out, const sf_config *cfg, const struct esc_policy *esc,
               const struct svc_settings *svc, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * The case attribute keys allowed, again (a reload): --case-attributes and
 * the keys esc and svc refer to. 0, or -1 with err (the keys stay as they were).
 */
int bounds_set_case_keys(bounds *l, const sf_config *cfg, const struct esc_policy *esc,
                         const struct svc_settings *svc, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * Raise the soft RLIMIT_NOFILE to the hard limit, so that --max-clients
 * connections fit: the new soft limit (the old one if it cannot be raised),
 * or -1 when it cannot be read.
 */
long bounds_raise_nofile(void);
/* Free l (NULL is fine). Every admitted connection should have been released. */
void bounds_free(bounds *l);

/*
 * Admit one more connection of peer: 0 (counted until bounds_release), or
 * -1 with a sentence for the client in why (nothing counted).
 */
int bounds_admit(bounds *l, const char *peer, char *why, size_t whylen) SF_MUSTCHECK;
/* Forget one admitted connection of peer. */
void bounds_release(bounds *l, const char *peer);
/*
 * Move one admitted connection from peer from to peer to (a token named it):
 * 0, or -1 with why when to already holds its share (the connection stays
 * counted under from; the caller closes it).
 */
int bounds_rekey(bounds *l, const char *from, const char *to, char *why,
                 size_t whylen) SF_MUSTCHECK;
/* Connections peer holds now. */
int bounds_peer_count(const bounds *l, const char *peer);
/* Connections admitted now, over every peer. */
int bounds_total(const bounds *l);
/* How long a connection may stay idle, in ms (0: for ever). */
uint64_t bounds_idle_ms(const bounds *l);
/* One line for the startup log: the limits in force. Static storage, overwritten by the next call.
 */
const char *bounds_describe(const bounds *l);

/*
 * Check a request's attributes (from proto_attrs): at most --max-attributes,
 * each value at most --max-attribute-length bytes, and, when is_case (a
 * case_open), each key one the configuration knows. 0, or -1 with *code
 * (PROTO_ERR_BAD_ATTRIBUTE) and a sentence naming the field in err.
 */
int bounds_check_attrs(const bounds *l, const wf_kv *attrs, size_t n, bool is_case, proto_err *code,
                       sb *err) SF_MUSTCHECK;

#endif
