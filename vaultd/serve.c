/*
 * `evault serve`: the office's side of a session with a replica
 * (docs/protocol.md). The session is bound to a vault user by a challenge
 * signed with that user's identity; from then on it receives only what the
 * user holds keys for, and everything it sends is checked before it
 * changes anything: objects against their names, events with audit
 * verify's rules, under the repository lock, one push at a time.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chunk.h"
#include "device.h"
#include "evault/remote.h"
#include "histxfer.h"
#include "layout.h"
#include "proto.h"
#include "repo.h"
#include "sshkey.h"
#include "state.h"
#include "sync.h"
#include "user.h"
#include "util.h"

/* A push is at most this many history objects and bytes. */
#define PUSH_OBJECTS_MAX 1000000u
#define PUSH_BYTES_MAX (UINT64_C(4) << 30)
/* Objects staged before they are made durable and named. */
#define STAGE_BATCH 64

typedef struct held_mission {
	char mid[EVAULT_MID_MAX + 1];
	unsigned classes; /* bit per class whose key copy the user has */
	bool device;      /* the session's device holds it (a live device.hold) */
} held_mission;

typedef struct session {
	evault_repo *repo;
	proto p;
	FILE *log;
	char user[EVAULT_USER_MAX + 1];
	evault_role role;
	bool authed;
	held_mission *held;
	size_t nheld, capheld;
	/* missions the replica said it holds (FETCH) */
	char (*theirs)[EVAULT_MID_MAX + 1];
	size_t ntheirs;
	objset allowed; /* objects the user may fetch; built on the first WANT */
	bool allowed_built;
	backend_staged *staged[STAGE_BATCH];
	size_t nstaged;
	uint64_t stored; /* objects stored since the last FLUSHED */
	uint64_t gitobjs;
	bool told; /* the end of the session was logged and sent */
	char allowed_head[41]; /* the head the allowed set and held missions are of */
	char device[EVAULT_USER_MAX + 1];
	enum sync_device_state dev; /* as of the last look at the state */
	bool disabled;              /* its user is disabled: erasures only */
	char seen_head[41];         /* the head the device has (FETCH, PUSHED) */
	uint64_t seen_seq;
} session;

static void slog(session *s, const char *fmt, ...) EVAULT_PRINTF(2, 3);
static void slog(session *s, const char *fmt, ...)
{
	if (!s->log)
		return;
	char when[32], line[1024];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++) /* one line, whatever a peer sent */
		if (*c == '\n' || *c == '\r' || (unsigned char)*c < 0x20)
			*c = ' ';
	fprintf(s->log, "%s evault-serve[%ld] %s: %s\n", when, (long)getpid(),
		s->authed ? s->user : "-", line);
	fflush(s->log);
}

/* Ends the session: one log line, one ERROR to the peer. Returns code. */
static int refuse(session *s, int code, const char *fmt, ...) EVAULT_PRINTF(3, 4);
static int refuse(session *s, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	slog(s, "%s", msg);
	if (!s->p.broken)
		(void)proto_send_error(&s->p, code, msg);
	s->told = true;
	return evault_error_set(code < 0 ? code : EVAULT_ERROR, "%s", msg);
}

/* ---- who is connecting ---- */

typedef struct key_scan {
	const state *st;
	const uint8_t *pk;
	user_rec *out;
	bool found;
} key_scan;

static int key_scan_cb(const char *name, bool is_dir, void *payload)
{
	key_scan *k = payload;
	user_rec u;
	if (is_dir || k->found || !user_name_valid(name) || user_load(k->st, name, &u) < 0) {
		evault_error_clear();
		return 0;
	}
	if (sodium_memcmp(u.pk, k->pk, sizeof(u.pk)) == 0) {
		*k->out = u;
		k->found = true;
	}
	return 0;
}

/* The user whose public key is pk; EVAULT_ENOTFOUND if none. */
static int user_by_key(const state *st, const uint8_t *pk, user_rec *out)
{
	key_scan k = {.st = st, .pk = pk, .out = out};
	int rc = state_list(st, "users", key_scan_cb, &k);
	if (rc < 0)
		return rc;
	return k.found ? 0 : EVAULT_ENOTFOUND;
}



static int held_add(session *s, const char *mid, unsigned classes)
{
	if (s->nheld == s->capheld) {
		size_t cap = s->capheld ? s->capheld * 2 : 16;
		held_mission *h = realloc(s->held, cap * sizeof(*h));
		if (!h)
			return error_oom();
		s->held = h;
		s->capheld = cap;
	}
	snprintf(s->held[s->nheld].mid, sizeof(s->held[0].mid), "%s", mid);
	s->held[s->nheld++].classes = classes;
	return 0;
}

typedef struct held_scan {
	session *s;
	const state *st;
	int rc;
} held_scan;

static int held_cb(const char *mid, bool is_dir, void *payload)
{
	held_scan *h = payload;
	session *s = h->s;
	if (!is_dir || !mission_id_valid(mid))
		return 0;
	unsigned classes = 0;
	evault_buf b = EVAULT_BUF_INIT;
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++) {
		b.size = 0;
		int rc = s->repo->keys->ops->get(s->repo->keys, mid, (evault_class)c, s->user, &b);
		if (rc == 0)
			classes |= 1u << c;
		else if (rc != EVAULT_ENOTFOUND) {
			evault_buf_dispose(&b);
			return h->rc = rc;
		}
		evault_error_clear();
	}
	evault_buf_dispose(&b);
	/* a mission the device holds stays in its history until it confirms the
	 * erasure: the replica must read the close, or the revoke, to erase */
	device_hold dh;
	int hr = hold_load(h->st, mid, s->device, &dh);
	bool dev = hr == 0 && !dh.erased;
	if (hr < 0 && hr != EVAULT_ENOTFOUND)
		return h->rc = hr;
	evault_error_clear();
	/* an auditor verifies the whole history; objects and keys stay per grant */
	if (classes || dev || s->role == EVAULT_ROLE_AUDITOR) {
		if ((h->rc = held_add(s, mid, classes)) == 0)
			s->held[s->nheld - 1].device = dev;
		return h->rc;
	}
	return 0;
}

/* The device as the state st knows it: 0, or a refusal (the session ends). */
static int device_look(session *s, const state *st)
{
	device_rec d;
	int rc = device_load(st, s->device, &d);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		s->dev = SYNC_DEVICE_NEW;
		return 0;
	}
	if (rc < 0)
		return refuse(s, rc, "cannot read the record of device %s: %s", s->device,
			      evault_error_last());
	if (strcmp(d.user, s->user) != 0)
		return refuse(s, EVAULT_EDENIED,
			      "device %s is registered to another user: clone again with another "
			      "name (--device)",
			      s->device);
	s->dev = d.revoked || s->disabled ? SYNC_DEVICE_REVOKED : SYNC_DEVICE_ACTIVE;
	return 0;
}

/* The missions the user holds key copies for, or the device holds, in st. */
static int held_scan_state(session *s, const state *st)
{
	held_scan h = {.s = s, .st = st};
	s->nheld = 0;
	int rc = state_list(st, "missions", held_cb, &h);
	return rc < 0 ? rc : h.rc;
}

static const held_mission *held_find(const session *s, const char *mid)
{
	for (size_t i = 0; i < s->nheld; i++)
		if (strcmp(s->held[i].mid, mid) == 0)
			return &s->held[i];
	return NULL;
}

static bool held_fn(void *payload, const char *mid)
{
	return held_find(payload, mid) != NULL;
}

static bool newly_fn(void *payload, const char *mid)
{
	session *s = payload;
	if (!held_find(s, mid))
		return false;
	for (size_t i = 0; i < s->ntheirs; i++)
		if (strcmp(s->theirs[i], mid) == 0)
			return false;
	return true;
}

static int authenticate(session *s)
{
	uint8_t type, nonce[32];
	reader r;
	int rc = proto_read(&s->p, &type, &r, 4096);
	if (rc == 1) { /* nobody to answer */
		slog(s, "the peer left at once, before HELLO");
		s->told = true;
		return evault_error_set(EVAULT_ECORRUPT, "the peer left at once");
	}
	if (rc < 0)
		return rc;
	const uint8_t *magic = reader_bytes(&r, strlen(PROTO_MAGIC));
	uint32_t version = reader_u32(&r);
	if (type != MSG_HELLO || r.bad || r.left || !magic ||
	    memcmp(magic, PROTO_MAGIC, strlen(PROTO_MAGIC)))
		return refuse(s, EVAULT_ECORRUPT, "not an evault replica (no HELLO)");
	if (version != PROTO_VERSION)
		return refuse(s, EVAULT_EFORMAT,
			      "protocol version %u: this office speaks version %d (update evault)",
			      version, PROTO_VERSION);
	randombytes_buf(nonce, sizeof(nonce));
	evault_buf *b = proto_begin(&s->p, MSG_CHALLENGE);
	if (buf_put_u32(b, PROTO_VERSION) < 0 ||
	    evault_buf_put(b, s->repo->cfg.vault_id, sizeof(s->repo->cfg.vault_id)) < 0 ||
	    evault_buf_put(b, nonce, sizeof(nonce)) < 0 || (rc = proto_end(&s->p)) < 0)
		return rc < 0 ? rc : error_oom();
	if ((rc = proto_read(&s->p, &type, &r, 8192)) != 0)
		return rc < 0 ? rc : evault_error_set(EVAULT_ECORRUPT, "the peer left");
	size_t alen;
	const uint8_t *pk = reader_bytes(&r, SSH_ED25519_PK_LEN), *armour;
	if (type != MSG_AUTH)
		return refuse(s, EVAULT_ECORRUPT, "no AUTH after the challenge");
	if (!pk || !(armour = reader_string(&r, &alen)) ||
	    reader_cstring(&r, s->device, sizeof(s->device)) < 0 || r.left ||
	    !device_name_valid(s->device)) {
		char fp[SSH_FINGERPRINT_LEN] = "?";
		if (pk)
			sshkey_fingerprint(fp, pk);
		slog(s, "authentication failed for key %s (an AUTH that is not one)", fp);
		(void)proto_send_error(&s->p, EVAULT_EAUTH, "authentication failed");
		s->told = true;
		return evault_error_set(EVAULT_EAUTH, "authentication failed");
	}
	state *st = NULL;
	user_rec u;
	evault_buf msg = EVAULT_BUF_INIT;
	uint8_t signer[SSH_ED25519_PK_LEN];
	char fp[SSH_FINGERPRINT_LEN];
	sshkey_fingerprint(fp, pk);
	if ((rc = state_begin(&st, s->repo, false)) < 0) {
		slog(s, "cannot read the vault: %s", evault_error_last());
		(void)proto_send_error(&s->p, rc, "the office cannot read its vault");
		return rc;
	}
	/* the user is the one whose key signed: one key belongs to one user */
	bool ok = user_by_key(st, pk, &u) == 0 &&
		  sync_auth_message(&msg, s->repo->cfg.vault_id_hex, nonce, pk, s->device) == 0 &&
		  sshsig_verify(signer, (const char *)armour, alen, SYNC_AUTH_NAMESPACE, msg.ptr,
				msg.size) == 0 &&
		  sodium_memcmp(signer, pk, sizeof(signer)) == 0;
	evault_buf_dispose(&msg);
	evault_error_clear();
	if (!ok) {
		state_end(st);
		/* the same answer for an unknown key, a disabled user and a bad signature */
		slog(s, "authentication failed for key %s", fp);
		(void)proto_send_error(&s->p, EVAULT_EAUTH, "authentication failed");
		s->told = true;
		return evault_error_set(EVAULT_EAUTH, "authentication failed");
	}
	const char *user = u.name;
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->role = u.role;
	s->authed = true;
	if ((rc = device_look(s, st)) < 0) {
		state_end(st);
		return rc;
	}
	if ((rc = held_scan_state(s, st)) < 0) {
		state_end(st);
		return refuse(s, rc, "cannot read the key store: %s", evault_error_last());
	}
	bool owes = false;
	for (size_t i = 0; i < s->nheld && !owes; i++)
		owes = s->held[i].device;
	if (strcmp(u.status, "active") != 0) {
		/* a disabled user's laptop may still erase and confirm; nothing more */
		if (!owes || s->dev == SYNC_DEVICE_NEW) {
			state_end(st);
			s->authed = false;
			slog(s, "authentication failed for key %s (user %s is %s)", fp, u.name,
			     u.status);
			(void)proto_send_error(&s->p, EVAULT_EAUTH, "authentication failed");
			s->told = true;
			return evault_error_set(EVAULT_EAUTH, "authentication failed");
		}
		s->disabled = true;
		s->dev = SYNC_DEVICE_REVOKED;
	}
	if (s->dev == SYNC_DEVICE_REVOKED) {
		/* told once, while it still holds something to erase; refused after */
		if (!owes) {
			device_rec d;
			(void)device_load(st, s->device, &d);
			state_end(st);
			char when[32];
			utc_time(when, d.revoked_at, true, "?");
			return refuse(s, EVAULT_EDENIED,
				      "device %s was revoked by %s on %s: the office no longer "
				      "answers it",
				      s->device, d.revoked_by, when);
		}
	}
	b = proto_begin(&s->p, MSG_WELCOME);
	uint8_t head[20] = {0};
	if (!state_is_empty(st))
		hex_decode(head, sizeof(head), state_head_hex(st), 40);
	const char *role = evault_role_name(u.role);
	uint8_t dev = (uint8_t)s->dev;
	rc = buf_put_string(b, s->user, strlen(s->user)) < 0 ||
		     buf_put_string(b, role, strlen(role)) < 0 || evault_buf_put(b, head, 20) < 0 ||
		     buf_put_u64(b, state_seq(st)) < 0 || evault_buf_put(b, &dev, 1) < 0
		 ? error_oom()
		 : proto_end(&s->p);
	slog(s, "session opened (%s, device %s%s, %zu missions held)", role, s->device,
	     s->dev == SYNC_DEVICE_NEW	      ? " not registered yet"
	     : s->dev == SYNC_DEVICE_REVOKED ? " revoked: erasure only"
					      : "",
	     s->nheld);
	state_end(st);
	return rc;
}

/* ---- history ---- */

static int emit_gitobj(void *payload, int type, const void *data, size_t len)
{
	session *s = payload;
	evault_buf *b = proto_begin(&s->p, MSG_GITOBJ);
	uint8_t t = (uint8_t)type;
	if (len > PROTO_GITOBJ_MAX)
		return evault_error_set(EVAULT_ECORRUPT, "a history object of %zu bytes", len);
	if (evault_buf_put(b, &t, 1) < 0 || evault_buf_put(b, data, len) < 0)
		return error_oom();
	s->gitobjs++;
	return proto_end(&s->p);
}

static int on_fetch(session *s, reader *r)
{
	const uint8_t *have = reader_bytes(r, 20);
	uint32_t n = reader_u32(r);
	char have_hex[41] = "";
	int rc;
	if (r->bad || n > PROTO_MISSIONS_MAX)
		return refuse(s, EVAULT_ECORRUPT, "a FETCH that is not one");
	free(s->theirs);
	s->theirs = NULL;
	s->ntheirs = 0;
	if (n && !(s->theirs = calloc(n, sizeof(*s->theirs))))
		return error_oom();
	for (uint32_t i = 0; i < n; i++) {
		if (reader_cstring(r, s->theirs[i], sizeof(s->theirs[i])) < 0 ||
		    !mission_id_valid(s->theirs[i]))
			return refuse(s, EVAULT_ECORRUPT, "a FETCH names an invalid mission");
		s->ntheirs++;
	}
	if (r->left)
		return refuse(s, EVAULT_ECORRUPT, "a FETCH that is not one");
	bool zero = true;
	for (int i = 0; i < 20; i++)
		zero = zero && have[i] == 0;
	if (!zero)
		hex_encode(have_hex, have, 20);
	state *st = NULL;
	if ((rc = state_begin(&st, s->repo, false)) < 0)
		return refuse(s, rc, "the office cannot read its vault: %s", evault_error_last());
	char head[41];
	snprintf(head, sizeof(head), "%s", state_head_hex(st));
	uint64_t seq = state_seq(st);
	/* what the user holds may have changed since the session began */
	if ((rc = device_look(s, st)) < 0) {
		state_end(st);
		return rc;
	}
	if ((rc = held_scan_state(s, st)) < 0) {
		state_end(st);
		return refuse(s, rc, "cannot read the key store: %s", evault_error_last());
	}
	state_end(st);
	snprintf(s->seen_head, sizeof(s->seen_head), "%s", head);
	s->seen_seq = seq;
	bool any_new = false;
	for (size_t i = 0; i < s->nheld && !any_new; i++)
		any_new = newly_fn(s, s->held[i].mid);
	s->gitobjs = 0;
	rc = histx_export(s->repo, head, have_hex, held_fn, any_new ? newly_fn : NULL, s,
			  emit_gitobj, s);
	if (rc < 0)
		return refuse(s, rc, "cannot send the history: %s", evault_error_last());
	evault_buf *b = proto_begin(&s->p, MSG_FETCH_END);
	uint8_t h[20];
	hex_decode(h, sizeof(h), head, 40);
	uint8_t older = any_new && have_hex[0];
	if (evault_buf_put(b, h, 20) < 0 || buf_put_u64(b, seq) < 0 ||
	    buf_put_u64(b, s->gitobjs) < 0 || evault_buf_put(b, &older, 1) < 0)
		return error_oom();
	if (s->gitobjs)
		slog(s, "fetch: %llu history objects up to seq %llu",
		     (unsigned long long)s->gitobjs, (unsigned long long)seq);
	return proto_end(&s->p);
}

static int on_keys(session *s, reader *r)
{
	evault_buf k = EVAULT_BUF_INIT;
	int rc = 0;
	if (r->left)
		return refuse(s, EVAULT_ECORRUPT, "a KEYS that is not one");
	/* as of now: a push of this session may have registered the device, or
	 * recorded its holds and erasures */
	state *st = NULL;
	if ((rc = state_begin(&st, s->repo, false)) < 0)
		return refuse(s, rc, "the office cannot read its vault: %s", evault_error_last());
	if ((rc = device_look(s, st)) == 0 && (rc = held_scan_state(s, st)) < 0)
		rc = refuse(s, rc, "cannot read the key store: %s", evault_error_last());
	state_end(st);
	if (rc < 0)
		return rc;
	s->allowed_built = false;
	/* key copies go only to a device that recorded it holds the mission */
	for (size_t i = 0; i < s->nheld && rc == 0; i++)
		for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++) {
			if (!(s->held[i].classes & (1u << c)) || !s->held[i].device ||
			    s->dev != SYNC_DEVICE_ACTIVE)
				continue;
			k.size = 0;
			rc = s->repo->keys->ops->get(s->repo->keys, s->held[i].mid, (evault_class)c,
						     s->user, &k);
			if (rc == EVAULT_ENOTFOUND) { /* revoked meanwhile */
				evault_error_clear();
				rc = 0;
				continue;
			}
			evault_buf *b = proto_begin(&s->p, MSG_KEY);
			uint8_t cl = (uint8_t)c;
			if (rc == 0 &&
			    (buf_put_string(b, s->held[i].mid, strlen(s->held[i].mid)) < 0 ||
			     evault_buf_put(b, &cl, 1) < 0 || buf_put_string(b, k.ptr, k.size) < 0))
				rc = error_oom();
			if (rc == 0)
				rc = proto_end(&s->p);
		}
	sodium_memzero(k.ptr, k.size);
	evault_buf_dispose(&k);
	if (rc < 0)
		return refuse(s, rc, "cannot send key copies: %s", evault_error_last());
	return proto_send(&s->p, MSG_END, NULL, 0);
}

/* ---- objects ---- */

/* The objects the user may fetch, as of the current head: a revoke or a
 * close during the session takes effect at the next WANT. */
static int refresh_allowed(session *s)
{
	state *st = NULL;
	int rc;
	if ((rc = state_begin(&st, s->repo, false)) < 0)
		return rc;
	if (s->allowed_built && strcmp(state_head_hex(st), s->allowed_head) == 0) {
		state_end(st);
		return 0;
	}
	objset_clear(&s->allowed);
	s->allowed_built = false;
	snprintf(s->allowed_head, sizeof(s->allowed_head), "%s", state_head_hex(st));
	if ((rc = device_look(s, st)) < 0 || (rc = held_scan_state(s, st)) < 0) {
		state_end(st);
		return rc;
	}
	for (size_t i = 0; i < s->nheld && rc == 0; i++)
		for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++)
			if ((s->held[i].classes & (1u << c)) && s->held[i].device &&
			    s->dev == SYNC_DEVICE_ACTIVE)
				rc = layout_each_object(st, s->held[i].mid, (evault_class)c,
							objset_add, &s->allowed);
	state_end(st);
	objset_finish(&s->allowed);
	s->allowed_built = rc == 0;
	return rc;
}

static int on_want(session *s, reader *r)
{
	uint32_t n = reader_u32(r);
	const uint8_t *ids =
	    r->bad || n == 0 || n > PROTO_BATCH_MAX ? NULL : reader_bytes(r, (size_t)n * 32);
	int rc;
	if (!ids || r->left)
		return refuse(s, EVAULT_ECORRUPT, "a WANT that is not one (1 to %u ids)",
			      PROTO_BATCH_MAX);
	if ((rc = refresh_allowed(s)) < 0)
		return refuse(s, rc, "cannot list the objects of the missions held: %s",
			      evault_error_last());
	evault_buf obj = EVAULT_BUF_INIT;
	rc = 0;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *id = ids + (size_t)i * 32;
		/* an object of a mission the user does not hold is as absent as a missing one */
		int g = objset_has(&s->allowed, id)
			    ? s->repo->objects->ops->get(s->repo->objects, id, &obj, PROTO_OBJECT_MAX)
			    : EVAULT_ENOTFOUND;
		if (g == 0) {
			evault_buf *b = proto_begin(&s->p, MSG_OBJ);
			if (evault_buf_put(b, id, 32) < 0 || evault_buf_put(b, obj.ptr, obj.size) < 0)
				rc = error_oom();
			else
				rc = proto_end(&s->p);
		} else if (g == EVAULT_ENOTFOUND) {
			evault_error_clear();
			rc = proto_send(&s->p, MSG_MISSING, id, 32);
		} else {
			char hex[OBJECT_HEX_LEN + 1];
			object_id_hex(hex, id);
			rc = refuse(s, g, "cannot read object %s: %s", hex, evault_error_last());
		}
	}
	evault_buf_dispose(&obj);
	return rc;
}

static int on_have(session *s, reader *r)
{
	uint32_t n = reader_u32(r);
	const uint8_t *ids =
	    r->bad || n == 0 || n > PROTO_BATCH_MAX ? NULL : reader_bytes(r, (size_t)n * 32);
	uint8_t bits[PROTO_BATCH_MAX / 8] = {0};
	if (!ids || r->left)
		return refuse(s, EVAULT_ECORRUPT, "a HAVE that is not one (1 to %u ids)",
			      PROTO_BATCH_MAX);
	for (uint32_t i = 0; i < n; i++) {
		int e = s->repo->objects->ops->exists(s->repo->objects, ids + (size_t)i * 32);
		if (e < 0)
			return refuse(s, e, "cannot look up objects: %s", evault_error_last());
		if (e)
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	evault_buf *b = proto_begin(&s->p, MSG_HAVE_REPLY);
	if (buf_put_u32(b, n) < 0 || evault_buf_put(b, bits, (n + 7) / 8) < 0)
		return error_oom();
	return proto_end(&s->p);
}

static int publish(session *s)
{
	if (!s->nstaged)
		return 0;
	size_t n = s->nstaged;
	s->nstaged = 0;
	int rc = s->repo->objects->ops->publish(s->repo->objects, s->staged, n);
	if (rc == 0)
		s->stored += n;
	return rc;
}

static int on_obj(session *s, reader *r)
{
	const uint8_t *id = reader_bytes(r, 32);
	uint8_t got[32];
	if (!id || !r->left)
		return refuse(s, EVAULT_ECORRUPT, "an OBJ that is not one");
	size_t len = r->left;
	const uint8_t *data = reader_bytes(r, len);
	char hex[OBJECT_HEX_LEN + 1];
	object_id_hex(hex, id);
	if (len > PROTO_OBJECT_MAX)
		return refuse(s, EVAULT_ECORRUPT, "object %s refused: %zu bytes, at most %u", hex,
			      len, PROTO_OBJECT_MAX);
	if (object_hash(got, data, len) < 0 || sodium_memcmp(got, id, 32) != 0)
		return refuse(s, EVAULT_ECORRUPT,
			      "object %s refused: its bytes do not match its name", hex);
	backend_staged *st = NULL;
	/* from an aligned copy the backend writes directly (no page cache to flush) */
	size_t room = len;
	void *at = proto_aligned(&s->p, data, len, &room);
	int rc = s->repo->objects->ops->stage(s->repo->objects, id, at ? at : (void *)data, len,
					      at ? room : len, &st);
	if (rc < 0)
		return refuse(s, rc, "cannot store object %s: %s", hex, evault_error_last());
	evault_failpoint("serve-object-staged");
	if (st) {
		s->staged[s->nstaged++] = st;
		if (s->nstaged == STAGE_BATCH && (rc = publish(s)) < 0)
			return refuse(s, rc, "cannot store objects: %s", evault_error_last());
	}
	return 0;
}

static int on_flush(session *s, reader *r)
{
	int rc;
	if (r->left)
		return refuse(s, EVAULT_ECORRUPT, "a FLUSH that is not one");
	if ((rc = publish(s)) < 0)
		return refuse(s, rc, "cannot store objects: %s", evault_error_last());
	uint8_t b[8];
	put_u64(b, s->stored);
	if (s->stored)
		slog(s, "stored %llu objects", (unsigned long long)s->stored);
	s->stored = 0;
	return proto_send(&s->p, MSG_FLUSHED, b, sizeof(b));
}

/* ---- pushes ---- */

typedef struct push_check {
	session *s;
	uint64_t missing;
	char first[OBJECT_HEX_LEN + 1];
	int rc;
} push_check;

static int push_object_cb(void *payload, const uint8_t id[32])
{
	push_check *pc = payload;
	int e = pc->s->repo->objects->ops->exists(pc->s->repo->objects, id);
	if (e < 0)
		return e;
	if (!e && pc->missing++ == 0)
		object_id_hex(pc->first, id);
	return 0;
}

static int on_push(session *s, reader *r)
{
	const uint8_t *old = reader_bytes(r, 20), *nwp = reader_bytes(r, 20);
	uint8_t nw[20];
	char old_hex[41], new_hex[41], id[41];
	histx_q *q = NULL;
	state *st = NULL;
	uint64_t count = 0, bytes = 0;
	int rc;
	if (!old || !nwp || r->left)
		return refuse(s, EVAULT_ECORRUPT, "a PUSH that is not one");
	memcpy(nw, nwp, sizeof(nw)); /* the frame's buffer is reused by the next read */
	hex_encode(old_hex, old, 20);
	hex_encode(new_hex, nw, 20);
	if (memcmp(old, nw, 20) == 0)
		return refuse(s, EVAULT_ECORRUPT, "push refused: it holds no event");
	if ((rc = histx_q_open(&q, s->repo)) < 0)
		return refuse(s, rc, "cannot receive the push: %s", evault_error_last());
	for (;;) {
		uint8_t type;
		reader o;
		if ((rc = proto_read(&s->p, &type, &o, PROTO_GITOBJ_MAX + 2)) != 0) {
			rc = rc < 0 ? rc : evault_error_set(EVAULT_ECORRUPT, "the push was cut short");
			slog(s, "push broken off: %s", evault_error_last());
			goto done;
		}
		if (type == MSG_END && !o.left)
			break;
		uint8_t t = reader_u8(&o);
		if (type != MSG_GITOBJ || o.bad || ++count > PUSH_OBJECTS_MAX ||
		    (bytes += o.left) > PUSH_BYTES_MAX) {
			rc = refuse(s, EVAULT_ECORRUPT, "push refused: not a stream of history objects "
							"(or more than a push may hold)");
			goto done;
		}
		if ((rc = histx_q_write(q, t, o.p, o.left, id)) < 0) {
			rc = refuse(s, rc, "push refused: %s", evault_error_last());
			goto done;
		}
	}
	if (!histx_q_is_commit(q, new_hex)) {
		rc = refuse(s, EVAULT_ECORRUPT, "push refused: %.12s is not a commit it sent", new_hex);
		goto done;
	}
	/* one push at a time: the lock, then the head it must extend */
	if ((rc = state_begin(&st, s->repo, true)) < 0) {
		rc = refuse(s, rc, "push refused: %s", evault_error_last());
		goto done;
	}
	if (strcmp(state_head_hex(st), old_hex) != 0) {
		rc = refuse(s, EVAULT_ELOCKED,
			    "push refused: the office moved to %.12s meanwhile; sync again",
			    state_head_hex(st));
		goto done;
	}
	evault_verify_result res;
	if ((rc = histx_q_verify(q, new_hex, old_hex, s->repo->cfg.vault_id_hex, false, &res)) < 0) {
		rc = refuse(s, rc, "push refused: cannot verify it: %s", evault_error_last());
		goto done;
	}
	if (!res.ok) {
		rc = refuse(s, EVAULT_EDENIED, "push refused: event %.12s: %s",
			    res.bad_commit[0] ? res.bad_commit : new_hex, res.reason);
		goto done;
	}
	histx_push_rule pr = {.user = s->user,
			      .device = s->device,
			      .devices_only = s->role == EVAULT_ROLE_AUDITOR,
			      .erasures_only = s->dev == SYNC_DEVICE_REVOKED};
	if ((rc = histx_q_push_rules(q, new_hex, old_hex, &pr)) != 0) {
		rc = refuse(s, EVAULT_EDENIED, "push refused: %s", evault_error_last());
		goto done;
	}
	push_check pc = {.s = s};
	if ((rc = histx_q_new_objects(q, new_hex, old_hex, push_object_cb, &pc)) < 0) {
		rc = refuse(s, rc, "push refused: %s", evault_error_last());
		goto done;
	}
	if (pc.missing) {
		rc = refuse(s, EVAULT_ECORRUPT,
			    "push refused: its events name %llu objects the office does not hold "
			    "(the first: %s)",
			    (unsigned long long)pc.missing, pc.first);
		goto done;
	}
	if ((rc = histx_q_adopt(q, new_hex, old_hex)) < 0) {
		rc = refuse(s, rc, "push failed, nothing recorded: %s", evault_error_last());
		goto done;
	}
	evault_failpoint("serve-push-adopted");
	if ((rc = histx_move_ref(s->repo, "refs/heads/main", old_hex, new_hex, "sync: push")) < 0) {
		rc = refuse(s, rc, "push failed, nothing recorded: %s", evault_error_last());
		goto done;
	}
	evault_failpoint("serve-push-recorded");
	trust_made(s->repo, new_hex);
	snprintf(s->seen_head, sizeof(s->seen_head), "%s", new_hex);
	s->seen_seq = res.seq;
	slog(s, "push: %llu events, head %.12s (seq %llu)", (unsigned long long)res.events,
	     new_hex, (unsigned long long)res.seq);
	evault_buf *b = proto_begin(&s->p, MSG_PUSHED);
	if (evault_buf_put(b, nw, 20) < 0 || buf_put_u64(b, res.seq) < 0)
		rc = error_oom();
	else
		rc = proto_end(&s->p);
done:
	state_end(st);
	histx_q_free(q);
	return rc;
}

/* ---- the session ---- */

/* A session that ended well: when the device last synced, and what it has. */
static void note_contact(session *s)
{
	state *st = NULL;
	device_rec d;
	if (state_begin(&st, s->repo, false) == 0 && device_load(st, s->device, &d) == 0 &&
	    strcmp(d.user, s->user) == 0 &&
	    contact_note(s->repo->path, s->device, s->seen_head[0] ? s->seen_head : NULL,
			 s->seen_seq) < 0)
		slog(s, "cannot note the contact of device %s: %s", s->device,
		     evault_error_last());
	state_end(st);
	evault_error_clear();
}

int evault_serve(evault_repo *repo, const evault_serve_opts *opts)
{
	session s = {.repo = repo};
	evault_buf lp = EVAULT_BUF_INIT;
	int rc;
	if (!opts || opts->version != EVAULT_SERVE_OPTS_VERSION)
		return evault_error_set(EVAULT_EINVAL, "evault_serve: options of another version");
	if (opts->log_path)
		rc = evault_buf_printf(&lp, "%s", opts->log_path);
	else
		rc = evault_buf_printf(&lp, "%s/serve.log", repo->path);
	if (rc < 0)
		return rc;
	int lfd = open(lp.ptr, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (lfd < 0 || !(s.log = fdopen(lfd, "a"))) {
		rc = error_errno("cannot open the server's log", lp.ptr);
		if (lfd >= 0)
			close(lfd);
		evault_buf_dispose(&lp);
		return rc;
	}
	evault_buf_dispose(&lp);
	/* sshd hands what it decrypts over in pieces as large as the pipe takes */
	(void)fcntl(opts->in, F_SETPIPE_SZ, 1 << 20);
	(void)fcntl(opts->out, F_SETPIPE_SZ, 1 << 20);
	if ((rc = proto_init(&s.p, opts->in, opts->out, opts->timeout_s)) < 0)
		goto done;
	histx_q_tidy(repo); /* what a session killed before left */
	if ((rc = authenticate(&s)) < 0) {
		if (!s.told) /* broken framing, silence, a peer that left: said once */
			(void)refuse(&s, rc, "session ended before authentication: %s",
				     evault_error_last());
		goto done;
	}
	for (;;) {
		uint8_t type;
		reader r;
		rc = proto_read(&s.p, &type, &r, 0);
		if (rc == 1) {
			slog(&s, "the replica left without BYE");
			rc = 0;
			break;
		}
		if (rc < 0) {
			(void)refuse(&s, rc, "session ended: %s", evault_error_last());
			break;
		}
		switch (type) {
		case MSG_FETCH: rc = on_fetch(&s, &r); break;
		case MSG_KEYS: rc = on_keys(&s, &r); break;
		case MSG_WANT: rc = on_want(&s, &r); break;
		case MSG_HAVE: rc = on_have(&s, &r); break;
		case MSG_OBJ: rc = on_obj(&s, &r); break;
		case MSG_FLUSH: rc = on_flush(&s, &r); break;
		case MSG_PUSH: rc = on_push(&s, &r); break;
		case MSG_BYE:
			if (r.left)
				rc = refuse(&s, EVAULT_ECORRUPT, "a BYE that is not one");
			else
				note_contact(&s);
			goto done;
		default:
			rc = refuse(&s, EVAULT_ECORRUPT, "unknown message type 0x%02x", type);
			break;
		}
		if (rc < 0) {
			if (!s.told)
				(void)refuse(&s, rc, "session ended: %s", evault_error_last());
			break;
		}
	}
done:
	if (s.nstaged)
		repo->objects->ops->discard(repo->objects, s.staged, s.nstaged);
	if (rc == 0)
		(void)proto_flush(&s.p);
	slog(&s, "session closed (%llu bytes in, %llu out)", (unsigned long long)s.p.bytes_in,
	     (unsigned long long)s.p.bytes_out);
	proto_dispose(&s.p);
	objset_clear(&s.allowed);
	free(s.held);
	free(s.theirs);
	fclose(s.log);
	return rc;
}
