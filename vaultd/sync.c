/*
 * The replica's side (evault/remote.h, docs/protocol.md, docs/deploy.md):
 * clone, sync, status. The office is reached through the system's ssh
 * client; what it sends is hostile until verified: history objects wait in
 * a quarantine until the chain they form passes audit verify's rules,
 * objects are checked against their names, key copies are only ever this
 * user's own (sealed to their key: the office cannot make one up that
 * opens).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chunk.h"
#include "device.h"
#include "deviceops.h"
#include "evault/remote.h"
#include "histxfer.h"
#include "identity.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "mounts.h"
#include "proto.h"
#include "repo.h"
#include "state.h"
#include "sync.h"
#include "user.h"
#include "util.h"

#define OFFICE_REF "refs/evault/office"
#define REMOTE_FILE "remote"
#define REMOTE_MAGIC "evault-remote 1\n"
#define SYNC_STATE_FILE "sync-state"
/* History objects one fetch may bring. */
#define FETCH_OBJECTS_MAX (UINT64_C(64) << 20)
/* Object ids asked for per WANT, and WANTs in flight. */
#define WANT_BATCH 256u
#define WANTS_IN_FLIGHT 4u
#define STAGE_BATCH 64

int sync_auth_message(evault_buf *out, const char *vault_hex, const uint8_t nonce[32],
		      const uint8_t pk[32], const char *device)
{
	char n[65], fp[SSH_FINGERPRINT_LEN];
	hex_encode(n, nonce, 32);
	sshkey_fingerprint(fp, pk);
	out->size = 0;
	return evault_buf_printf(out, "evault-session %d\nvault %s\nnonce %s\nkey %s\ndevice %s\n",
				 PROTO_VERSION, vault_hex, n, fp, device);
}

/* ---- the connection ---- */

static int remote_read(evault_repo *repo, char *url, size_t urllen, char *user, size_t userlen,
		       char *device, size_t devlen);

typedef struct conn {
	pid_t pid;
	int in, out;
	proto p;
	bool open;
	char vault_hex[33];
	uint8_t nonce[32];
	char user[EVAULT_USER_MAX + 1];
	char role[32];
	char head[41];
	uint64_t seq;
	char device[EVAULT_USER_MAX + 1];
	uint8_t dev; /* enum sync_device_state, as the office said */
} conn;

typedef struct url_parts {
	char host[512]; /* [user@]host */
	char port[8];
	char path[1024];
} url_parts;

static int url_parse(url_parts *u, const char *url)
{
	memset(u, 0, sizeof(*u));
	const char *p = url;
	if (strncmp(p, "ssh://", 6) != 0)
		return evault_error_set(EVAULT_EINVAL,
					"%.200s: not an office address (ssh://[user@]host[:port]/path)",
					url);
	p += 6;
	const char *slash = strchr(p, '/');
	if (!slash || slash == p || strlen(slash) >= sizeof(u->path) ||
	    (size_t)(slash - p) >= sizeof(u->host))
		return evault_error_set(EVAULT_EINVAL, "%.200s: no host or path", url);
	snprintf(u->host, sizeof(u->host), "%.*s", (int)(slash - p), p);
	snprintf(u->path, sizeof(u->path), "%s", slash);
	char *colon = strrchr(u->host, ':');
	if (colon && !strchr(colon, ']')) {
		*colon = '\0';
		snprintf(u->port, sizeof(u->port), "%.7s", colon + 1);
		char *end;
		long n = strtol(u->port, &end, 10);
		if (*end || n < 1 || n > 65535)
			return evault_error_set(EVAULT_EINVAL, "%.200s: not a port number", url);
	}
	/* the host and path go to ssh and a remote shell: nothing they could read as more */
	for (const char *c = u->host; *c; c++)
		if (!(*c == '.' || *c == '-' || *c == '_' || *c == '@' || *c == '[' || *c == ']' ||
		      *c == ':' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= 'A' && *c <= 'Z')) ||
		    u->host[0] == '-')
			return evault_error_set(EVAULT_EINVAL, "%.200s: not a host name", url);
	for (const char *c = u->path; *c; c++)
		if (*c == '\'' || (unsigned char)*c < 0x20)
			return evault_error_set(EVAULT_EINVAL, "%.200s: not a usable path", url);
	return 0;
}

/* Starts ssh: sh -c '<ssh> "$@"' ssh [-p PORT] HOST "evault serve -R 'PATH'". */
static int conn_spawn(conn *c, const url_parts *u, const char *ssh)
{
	int to[2] = {-1, -1}, from[2] = {-1, -1};
	evault_buf cmd = EVAULT_BUF_INIT, remote = EVAULT_BUF_INIT;
	int rc = 0;
	if (!ssh || !*ssh)
		ssh = getenv("EVAULT_SSH");
	if (!ssh || !*ssh)
		ssh = "ssh";
	if (evault_buf_printf(&cmd, "%s \"$@\"", ssh) < 0 ||
	    evault_buf_printf(&remote, "evault serve -R '%s'", u->path) < 0) {
		rc = error_oom();
		goto done;
	}
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		rc = error_errno("cannot start ssh", NULL);
		goto done;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = error_errno("cannot start ssh", NULL);
		goto done;
	}
	if (pid == 0) {
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (u->port[0])
			execl("/bin/sh", "sh", "-c", cmd.ptr, "ssh", "-p", u->port, u->host,
			      remote.ptr, (char *)NULL);
		else
			execl("/bin/sh", "sh", "-c", cmd.ptr, "ssh", u->host, remote.ptr,
			      (char *)NULL);
		_exit(127);
	}
	c->pid = pid;
	/* ssh writes what it receives in pieces as large as the pipe takes, and
	 * moves the rest of its buffer each time: large pipes, fewer moves */
	(void)fcntl(from[0], F_SETPIPE_SZ, 1 << 20);
	(void)fcntl(to[1], F_SETPIPE_SZ, 1 << 20);
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	c->out = to[1];
	c->in = from[0];
	to[1] = from[0] = -1;
done:
	for (int i = 0; i < 2; i++) {
		if (to[i] >= 0)
			close(to[i]);
		if (from[i] >= 0)
			close(from[i]);
	}
	evault_buf_dispose(&cmd);
	evault_buf_dispose(&remote);
	return rc;
}

static void conn_close(conn *c, bool bye)
{
	if (c->open && bye) {
		(void)proto_send(&c->p, MSG_BYE, NULL, 0);
		(void)proto_flush(&c->p);
	}
	if (c->open)
		proto_dispose(&c->p);
	c->open = false;
	if (c->out >= 0)
		close(c->out);
	if (c->in >= 0)
		close(c->in);
	c->in = c->out = -1;
	if (c->pid > 0) {
		/* ssh ends when its input closes; a stuck one is not waited for long */
		for (int i = 0; i < 500; i++) {
			if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
				c->pid = 0;
				return;
			}
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		kill(c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
	}
}

/* The next frame from the office; an ERROR becomes this side's error. */
static int conn_read(conn *c, uint8_t *type, reader *r, size_t max)
{
	if (max && max < 4096) /* room for an ERROR, whatever was due */
		max = 4096;
	int rc = proto_read(&c->p, type, r, max);
	if (rc == 1)
		return evault_error_set(EVAULT_ERROR,
					"the office closed the connection (see ssh's message above)");
	if (rc < 0)
		return rc;
	if (*type == MSG_ERROR) {
		uint32_t code = reader_u32(r);
		size_t n;
		const uint8_t *m = reader_string(r, &n);
		char msg[600];
		snprintf(msg, sizeof(msg), "%.*s", m ? (int)(n < 500 ? n : 500) : 0,
			 m ? (const char *)m : "");
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		int e = code > 0 && code < 64 ? -(int)code : EVAULT_ERROR;
		return evault_error_set(e, "the office: %s", msg);
	}
	return 0;
}

/*
 * A write failed because the office stopped reading: it ended the session,
 * usually with an ERROR saying why (a full disk, a refused object). That
 * reason, when it came, replaces "broken pipe".
 */
static int conn_salvage(conn *c, int rc)
{
	if (!c->open || !c->p.broken)
		return rc;
	char why[600];
	snprintf(why, sizeof(why), "%s", evault_error_last());
	c->p.wbuf.size = 0;
	c->p.timeout_ms = 5000;
	for (int i = 0; i < 1000000; i++) { /* what was in flight, then its last word */
		uint8_t type;
		reader r;
		int e = conn_read(c, &type, &r, 0);
		if (e < 0 && strncmp(evault_error_last(), "the office: ", 12) == 0)
			return e;
		if (e < 0)
			break;
	}
	return evault_error_set(rc, "%s", why);
}

static int unexpected(uint8_t type, const char *want)
{
	return evault_error_set(EVAULT_ECORRUPT, "the office sent message 0x%02x where %s was due",
				type, want);
}

/* Connects and proves who this identity is. */
/* ssh started and HELLO sent: what takes time at the office (ssh's
 * handshake, its evault starting) runs while this side does its own. */
static int conn_start(conn *c, const char *url, const evault_sync_opts *opts)
{
	url_parts u;
	int rc;
	memset(c, 0, sizeof(*c));
	c->in = c->out = -1;
	if ((rc = url_parse(&u, url)) < 0 || (rc = conn_spawn(c, &u, opts ? opts->ssh : NULL)) < 0)
		return rc;
	if ((rc = proto_init(&c->p, c->in, c->out, opts ? opts->timeout_s : 0)) < 0)
		return rc;
	c->open = true;
	evault_buf *b = proto_begin(&c->p, MSG_HELLO);
	if (evault_buf_put(b, PROTO_MAGIC, strlen(PROTO_MAGIC)) < 0 ||
	    buf_put_u32(b, PROTO_VERSION) < 0 || (rc = proto_end(&c->p)) < 0)
		return rc < 0 ? rc : error_oom();
	return proto_flush(&c->p);
}

/* A connection started early (evault_sync_start), waiting for its sync. */
static conn early;
static char early_url[1024];

int evault_sync_start(evault_repo *repo, const evault_sync_opts *opts)
{
	char user[EVAULT_USER_MAX + 1];
	if (!repo->replica || early.open)
		return 0;
	if (remote_read(repo, early_url, sizeof(early_url), user, sizeof(user), NULL, 0) < 0 ||
	    conn_start(&early, early_url, opts) < 0) {
		conn_close(&early, false);
		early_url[0] = '\0';
		evault_error_clear(); /* the sync itself will say what is wrong */
	}
	return 0;
}

static int conn_open(conn *c, const char *url, const evault_sync_opts *opts,
		     const evault_identity *id, const char *expect_vault, const char *device)
{
	uint8_t type;
	reader r;
	int rc;
	if (early.open && strcmp(early_url, url) == 0) {
		*c = early;
		memset(&early, 0, sizeof(early));
		early.in = early.out = -1;
	} else if ((rc = conn_start(c, url, opts)) < 0)
		return rc;
	if ((rc = conn_read(c, &type, &r, 4096)) < 0)
		return evault_error_set(rc, "cannot reach the office: %s%s", evault_error_last(),
					rc == EVAULT_ECORRUPT
					    ? " (does the office account's shell print something "
					      "when it starts?)"
					    : "");
	uint32_t version = reader_u32(&r);
	const uint8_t *vid = reader_bytes(&r, 16), *nonce = reader_bytes(&r, 32);
	if (type != MSG_CHALLENGE || !vid || !nonce || r.left)
		return unexpected(type, "its challenge");
	if (version != PROTO_VERSION)
		return evault_error_set(EVAULT_EFORMAT, "the office speaks protocol %u, not %d",
					version, PROTO_VERSION);
	hex_encode(c->vault_hex, vid, 16);
	memcpy(c->nonce, nonce, 32);
	if (expect_vault && strcmp(expect_vault, c->vault_hex) != 0)
		return evault_error_set(EVAULT_ECORRUPT,
					"the office at %s holds vault %s, this replica is of %s",
					url, c->vault_hex, expect_vault);
	evault_buf msg = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT;
	const uint8_t *pk = identity_public_key(id);
	snprintf(c->device, sizeof(c->device), "%s", device);
	if ((rc = sync_auth_message(&msg, c->vault_hex, c->nonce, pk, device)) == 0 &&
	    (rc = identity_sign(&sig, id, SYNC_AUTH_NAMESPACE, msg.ptr, msg.size)) == 0) {
		evault_buf *b = proto_begin(&c->p, MSG_AUTH);
		rc = evault_buf_put(b, pk, SSH_ED25519_PK_LEN) < 0 ||
			     buf_put_string(b, sig.ptr, sig.size) < 0 ||
			     buf_put_string(b, device, strlen(device)) < 0
			 ? error_oom()
			 : proto_end(&c->p);
	}
	evault_buf_dispose(&msg);
	evault_buf_dispose(&sig);
	if (rc < 0)
		return rc;
	if ((rc = conn_read(c, &type, &r, 4096)) < 0)
		return rc;
	const uint8_t *head;
	if (type != MSG_WELCOME || reader_cstring(&r, c->user, sizeof(c->user)) < 0 ||
	    reader_cstring(&r, c->role, sizeof(c->role)) < 0 || !(head = reader_bytes(&r, 20)) ||
	    (c->seq = reader_u64(&r), c->dev = reader_u8(&r), r.bad) || r.left ||
	    !user_name_valid(c->user) || c->dev > SYNC_DEVICE_REVOKED)
		return unexpected(type, "its welcome");
	bool zero = true;
	for (int i = 0; i < 20; i++)
		zero = zero && !head[i];
	c->head[0] = '\0';
	if (!zero)
		hex_encode(c->head, head, 20);
	return 0;
}

/* ---- history ---- */

typedef struct held_list {
	char (*mid)[EVAULT_MID_MAX + 1];
	size_t n, cap;
} held_list;

static int held_list_cb(const char *name, bool is_dir, void *payload)
{
	held_list *h = payload;
	if (!is_dir || !mission_id_valid(name))
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		void *m = realloc(h->mid, cap * sizeof(*h->mid));
		if (!m)
			return error_oom();
		h->mid = m;
		h->cap = cap;
	}
	snprintf(h->mid[h->n++], sizeof(h->mid[0]), "%s", name);
	return 0;
}

static bool listed(const held_list *l, const char *mid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->mid[i], mid) == 0)
			return true;
	return false;
}

/* The missions this replica holds (their trees are here). */
static int held_missions(evault_repo *repo, held_list *h)
{
	state *st = NULL;
	int rc = state_begin(&st, repo, false);
	if (rc == 0)
		rc = state_list(st, "missions", held_list_cb, h);
	state_end(st);
	return rc;
}

typedef struct fetched {
	histx_q *q;
	char head[41];
	uint64_t seq, objects;
	bool older;
} fetched;

/* FETCH: the office's history after have, into a quarantine. */
static int fetch(conn *c, evault_repo *repo, const char *have, const held_list *h, fetched *f)
{
	uint8_t type, hv[20] = {0};
	reader r;
	int rc;
	memset(f, 0, sizeof(*f));
	if (have && *have)
		hex_decode(hv, sizeof(hv), have, 40);
	evault_buf *b = proto_begin(&c->p, MSG_FETCH);
	if (evault_buf_put(b, hv, 20) < 0 || buf_put_u32(b, h ? (uint32_t)h->n : 0) < 0)
		return error_oom();
	for (size_t i = 0; h && i < h->n; i++)
		if (buf_put_string(b, h->mid[i], strlen(h->mid[i])) < 0)
			return error_oom();
	if ((rc = proto_end(&c->p)) < 0 || (rc = histx_q_open(&f->q, repo)) < 0)
		return rc;
	uint64_t n = 0;
	for (;;) {
		if ((rc = conn_read(c, &type, &r, PROTO_GITOBJ_MAX + 2)) < 0)
			return rc;
		if (type == MSG_FETCH_END)
			break;
		uint8_t t = reader_u8(&r);
		char id[41];
		if (type != MSG_GITOBJ || r.bad)
			return unexpected(type, "history");
		if (++n > FETCH_OBJECTS_MAX)
			return evault_error_set(EVAULT_ECORRUPT,
						"the office sends more history than any vault holds");
		if ((rc = histx_q_write(f->q, t, r.p, r.left, id)) < 0)
			return rc;
	}
	const uint8_t *hd = reader_bytes(&r, 20);
	f->seq = reader_u64(&r);
	f->objects = reader_u64(&r);
	f->older = reader_u8(&r) != 0;
	if (!hd || r.bad || r.left || f->objects != n)
		return unexpected(type, "the end of the history");
	hex_encode(f->head, hd, 20);
	return 0;
}

/* The fetched history, verified; then adopted. */
static int fetch_verify_adopt(fetched *f, const char *have, const char *vault_hex,
			      evault_sync_result *res)
{
	evault_verify_result vr;
	int rc;
	if (have && *have && strcmp(f->head, have) == 0 && !f->objects)
		return 0;
	if (!histx_q_is_commit(f->q, f->head))
		return evault_error_set(EVAULT_ECORRUPT,
					"the office's head %.12s is not in the history it sent",
					f->head);
	rc = histx_q_verify(f->q, f->head, f->older ? NULL : have, vault_hex, true, &vr);
	if (rc < 0)
		return rc;
	if (!vr.ok)
		return evault_error_set(EVAULT_ECORRUPT,
					"the office's history does not verify, nothing changed here: "
					"commit %.12s: %s",
					vr.bad_commit[0] ? vr.bad_commit : f->head, vr.reason);
	if (res && !(f->older))
		res->events_pulled = vr.events;
	return histx_q_adopt(f->q, f->head, f->older ? NULL : have);
}

/* ---- key copies ---- */

static int fetch_keys(conn *c, evault_repo *repo, evault_sync_result *res)
{
	uint8_t type;
	reader r;
	int rc;
	if ((rc = proto_send(&c->p, MSG_KEYS, NULL, 0)) < 0)
		return rc;
	for (;;) {
		if ((rc = conn_read(c, &type, &r, 65536)) < 0)
			return rc;
		if (type == MSG_END && !r.left)
			return 0;
		char mid[EVAULT_MID_MAX + 1];
		size_t n;
		const uint8_t *k;
		uint8_t cls;
		if (type != MSG_KEY || reader_cstring(&r, mid, sizeof(mid)) < 0 ||
		    !mission_id_valid(mid) || (cls = reader_u8(&r), r.bad) ||
		    cls >= EVAULT_CLASS_COUNT || !(k = reader_string(&r, &n)) || r.left || !n ||
		    n > 16384)
			return unexpected(type, "a key copy");
		if ((rc = repo->keys->ops->put(repo->keys, mid, (evault_class)cls, repo->actor, k,
					       n)) < 0)
			return rc;
		res->keys++;
	}
}

/* ---- objects ---- */

typedef struct want_scan {
	evault_repo *repo;
	objset want;
} want_scan;

static int want_cb(const uint8_t id[32], void *payload)
{
	want_scan *w = payload;
	int e = w->repo->objects->ops->exists(w->repo->objects, id);
	if (e < 0)
		return e;
	return e ? 0 : objset_add(id, &w->want);
}

/* The objects of the missions listed (held here, classes whose keys are
 * here) that are not here yet. */
static int objects_wanted(evault_repo *repo, const held_list *only, objset *out)
{
	want_scan w = {.repo = repo};
	held_list h = {0};
	state *st = NULL;
	evault_buf k = EVAULT_BUF_INIT;
	int rc = held_missions(repo, &h);
	if (rc == 0)
		rc = state_begin(&st, repo, false);
	for (size_t i = 0; rc == 0 && i < h.n; i++) {
		if (!only || !listed(only, h.mid[i]))
			continue;
		for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++) {
			k.size = 0;
			int g = repo->keys->ops->get(repo->keys, h.mid[i], (evault_class)c,
						     repo->actor, &k);
			if (g == EVAULT_ENOTFOUND) {
				evault_error_clear();
				continue;
			}
			if ((rc = g) == 0)
				rc = layout_each_object(st, h.mid[i], (evault_class)c, want_cb, &w);
		}
	}
	state_end(st);
	sodium_memzero(k.ptr, k.size);
	evault_buf_dispose(&k);
	free(h.mid);
	objset_finish(&w.want);
	*out = w.want;
	return rc;
}

static int publish_local(evault_repo *repo, backend_staged **staged, size_t *n)
{
	if (!*n)
		return 0;
	int rc = repo->objects->ops->publish(repo->objects, staged, *n);
	*n = 0;
	return rc;
}

/* WANT in batches, a few in flight; every object checked against its name. */
static int fetch_objects(conn *c, evault_repo *repo, const objset *want, evault_sync_result *res)
{
	backend_staged *staged[STAGE_BATCH];
	size_t nstaged = 0, sent = 0, got = 0;
	int rc = 0;
	while (rc == 0 && got < want->n) {
		while (sent < want->n && sent - got < (size_t)WANT_BATCH * WANTS_IN_FLIGHT) {
			size_t k = want->n - sent < WANT_BATCH ? want->n - sent : WANT_BATCH;
			evault_buf *b = proto_begin(&c->p, MSG_WANT);
			if (buf_put_u32(b, (uint32_t)k) < 0 || evault_buf_put(b, want->id[sent], k * 32) < 0)
				return error_oom();
			if ((rc = proto_end(&c->p)) < 0)
				return rc;
			sent += k;
		}
		uint8_t type;
		reader r;
		if ((rc = conn_read(c, &type, &r, 0)) < 0)
			break;
		const uint8_t *id = reader_bytes(&r, 32);
		if ((type != MSG_OBJ && type != MSG_MISSING) || !id ||
		    memcmp(id, want->id[got], 32) != 0 || (type == MSG_MISSING && r.left)) {
			rc = unexpected(type, "an object asked for");
			break;
		}
		got++;
		progress_report("sync: objects received", got, want->n, false);
		if (type == MSG_MISSING) {
			res->objects_missing++;
			continue;
		}
		uint8_t h[32];
		size_t len = r.left;
		const uint8_t *data = reader_bytes(&r, len);
		if (object_hash(h, data, len) < 0 || sodium_memcmp(h, id, 32) != 0) {
			char hex[OBJECT_HEX_LEN + 1];
			object_id_hex(hex, id);
			rc = evault_error_set(EVAULT_ECORRUPT,
					      "object %s from the office does not match its name", hex);
			break;
		}
		backend_staged *s = NULL;
		size_t room = len;
		void *at = proto_aligned(&c->p, data, len, &room);
		if ((rc = repo->objects->ops->stage(repo->objects, id, at ? at : (void *)data, len,
						    at ? room : len, &s)) < 0)
			break;
		if (s)
			staged[nstaged++] = s;
		res->objects_received++;
		if (nstaged == STAGE_BATCH)
			rc = publish_local(repo, staged, &nstaged);
	}
	progress_report(NULL, 0, 0, false);
	if (rc == 0)
		rc = publish_local(repo, staged, &nstaged);
	else if (nstaged)
		repo->objects->ops->discard(repo->objects, staged, nstaged);
	return rc;
}

/* ---- push ---- */

typedef struct push_scan {
	objset ids;
} push_scan;

static int push_scan_cb(void *payload, const uint8_t id[32])
{
	push_scan *p = payload;
	return objset_add(id, &p->ids);
}

/* Objects named by the events to push, sent where the office lacks them. */
static int push_objects(conn *c, evault_repo *repo, const objset *ids, bool dry_run,
			evault_sync_result *res)
{
	evault_buf obj = EVAULT_BUF_INIT;
	int rc = 0;
	for (size_t at = 0; rc == 0 && at < ids->n; at += PROTO_BATCH_MAX) {
		size_t k = ids->n - at < PROTO_BATCH_MAX ? ids->n - at : PROTO_BATCH_MAX;
		uint8_t type;
		reader r;
		evault_buf *b = proto_begin(&c->p, MSG_HAVE);
		if (buf_put_u32(b, (uint32_t)k) < 0 || evault_buf_put(b, ids->id[at], k * 32) < 0) {
			rc = error_oom();
			break;
		}
		if ((rc = proto_end(&c->p)) < 0 || (rc = conn_read(c, &type, &r, 0)) < 0)
			break;
		uint32_t n = reader_u32(&r);
		const uint8_t *bits = reader_bytes(&r, (k + 7) / 8);
		if (type != MSG_HAVE_REPLY || n != k || !bits || r.left) {
			rc = unexpected(type, "the objects it has");
			break;
		}
		size_t now = 0;
		for (size_t i = 0; i < k && rc == 0; i++) {
			if (bits[i / 8] & (1u << (i % 8)))
				continue;
			res->objects_sent++;
			if (dry_run)
				continue;
			progress_report("sync: objects sent", at + i + 1, ids->n, false);
			if ((rc = repo->objects->ops->get(repo->objects, ids->id[at + i], &obj,
							  PROTO_OBJECT_MAX)) < 0)
				break;
			b = proto_begin(&c->p, MSG_OBJ);
			if (evault_buf_put(b, ids->id[at + i], 32) < 0 ||
			    evault_buf_put(b, obj.ptr, obj.size) < 0)
				rc = error_oom();
			else
				rc = proto_end(&c->p);
			now++;
		}
		if (rc == 0 && now) {
			if ((rc = proto_send(&c->p, MSG_FLUSH, NULL, 0)) < 0 ||
			    (rc = conn_read(c, &type, &r, 64)) < 0)
				break;
			if (type != MSG_FLUSHED)
				rc = unexpected(type, "FLUSHED");
		}
	}
	progress_report(NULL, 0, 0, false);
	evault_buf_dispose(&obj);
	return rc;
}

static bool all_missions(void *payload, const char *mid)
{
	(void)payload;
	(void)mid;
	return true;
}

static int emit_push(void *payload, int type, const void *data, size_t len)
{
	conn *c = payload;
	evault_buf *b = proto_begin(&c->p, MSG_GITOBJ);
	uint8_t t = (uint8_t)type;
	if (evault_buf_put(b, &t, 1) < 0 || evault_buf_put(b, data, len) < 0)
		return error_oom();
	return proto_end(&c->p);
}

/* Sends the events after office up to main; the office verifies them. */
static int push_events(conn *c, evault_repo *repo, const char *office, const char *main_hex,
		       evault_sync_result *res)
{
	uint8_t type, o[20], m[20];
	reader r;
	int rc;
	hex_decode(o, 20, office, 40);
	hex_decode(m, 20, main_hex, 40);
	evault_buf *b = proto_begin(&c->p, MSG_PUSH);
	if (evault_buf_put(b, o, 20) < 0 || evault_buf_put(b, m, 20) < 0)
		return error_oom();
	if ((rc = proto_end(&c->p)) < 0 ||
	    (rc = histx_export(repo, main_hex, office, all_missions, NULL, NULL, emit_push, c)) < 0 ||
	    (rc = proto_send(&c->p, MSG_END, NULL, 0)) < 0)
		return rc;
	if ((rc = conn_read(c, &type, &r, 64)) < 0) {
		snprintf(res->refused, sizeof(res->refused), "%s", evault_error_last());
		return rc;
	}
	const uint8_t *h = reader_bytes(&r, 20);
	uint64_t seq = reader_u64(&r);
	if (type != MSG_PUSHED || !h || r.bad || memcmp(h, m, 20) != 0)
		return unexpected(type, "PUSHED");
	res->seq = seq;
	snprintf(res->head, sizeof(res->head), "%s", main_hex);
	return histx_move_ref(repo, OFFICE_REF, office, main_hex, "sync: pushed");
}

/* ---- the replica's files ---- */

static int remote_read(evault_repo *repo, char *url, size_t urllen, char *user, size_t userlen,
		       char *device, size_t devlen)
{
	char dev[EVAULT_USER_MAX + 1];
	evault_buf p = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&p, "%s/%s", repo->path, REMOTE_FILE);
	if (rc == 0)
		rc = file_read_all(&t, p.ptr, 4096);
	if (rc == EVAULT_ENOTFOUND)
		rc = evault_error_set(EVAULT_EINVAL, "%s is not a replica (no %s file): "
						     "evault clone makes one",
				      repo->path, REMOTE_FILE);
	else if (rc == 0 && (t.size < strlen(REMOTE_MAGIC) ||
			     memcmp(t.ptr, REMOTE_MAGIC, strlen(REMOTE_MAGIC)) != 0 ||
			     text_get(url, urllen, t.ptr, t.size, "url") < 0 ||
			     text_get(user, userlen, t.ptr, t.size, "user") < 0))
		rc = evault_error_set(EVAULT_ECORRUPT, "%s/%s is not valid", repo->path, REMOTE_FILE);
	else if (rc == 0 && (text_get(dev, sizeof(dev), t.ptr, t.size, "device") < 0 ||
			     !device_name_valid(dev)))
		rc = evault_error_set(EVAULT_EFORMAT,
				      "%s was cloned by an older evault (it names no device): clone "
				      "it again",
				      repo->path);
	else if (rc == 0 && device)
		snprintf(device, devlen, "%s", dev);
	evault_buf_dispose(&p);
	evault_buf_dispose(&t);
	return rc;
}

static int write_small(evault_repo *repo, const char *name, const char *text)
{
	evault_buf p = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&p, "%s/%s", repo->path, name);
	if (rc == 0)
		rc = file_write_atomic(p.ptr, text, strlen(text), 0600);
	evault_buf_dispose(&p);
	return rc;
}

/* sync-state: "last-sync <time>" and one "offline <mission>" line per
 * mission kept whole here (sync --offline). */
static int offline_list(evault_repo *repo, held_list *out)
{
	evault_buf p = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&p, "%s/%s", repo->path, SYNC_STATE_FILE);
	if (rc == 0 && (rc = file_read_all(&t, p.ptr, 1u << 20)) == EVAULT_ENOTFOUND) {
		evault_error_clear();
		rc = 0;
	} else if (rc == 0) {
		for (const char *l = t.ptr; l && l < t.ptr + t.size && rc == 0;) {
			const char *e = memchr(l, '\n', (size_t)(t.ptr + t.size - l));
			size_t n = e ? (size_t)(e - l) : (size_t)(t.ptr + t.size - l);
			char mid[EVAULT_MID_MAX + 1];
			if (n > 8 && n - 8 <= EVAULT_MID_MAX && memcmp(l, "offline ", 8) == 0) {
				memcpy(mid, l + 8, n - 8);
				mid[n - 8] = '\0';
				if (mission_id_valid(mid))
					rc = held_list_cb(mid, true, out);
			}
			l = e ? e + 1 : NULL;
		}
	}
	evault_buf_dispose(&p);
	evault_buf_dispose(&t);
	return rc;
}

static void note_sync(evault_repo *repo, const held_list *offline)
{
	evault_buf t = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&t, "last-sync %lld\n", (long long)time(NULL));
	for (size_t i = 0; offline && i < offline->n && rc == 0; i++)
		rc = evault_buf_printf(&t, "offline %s\n", offline->mid[i]);
	if (rc == 0)
		(void)write_small(repo, SYNC_STATE_FILE, t.ptr);
	evault_buf_dispose(&t);
	evault_error_clear();
}

/* ---- replay: files of the same path written here and at the office ---- */

/* What this device erases (below, "this device"): the events recorded here
 * of those missions are dropped from a replay. */
typedef struct erase_item {
	char mid[EVAULT_MID_MAX + 1];
	char reason[16];
	uint64_t dropped; /* events recorded here the history refuses */
} erase_item;

typedef struct erase_plan {
	erase_item *v;
	size_t n, cap;
	bool revoked; /* the device was revoked: every mission and key copy goes */
	char revoked_by[EVAULT_USER_MAX + 1];
	int64_t revoked_at;
} erase_plan;

static erase_item *plan_find(erase_plan *p, const char *mid)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->v[i].mid, mid) == 0)
			return &p->v[i];
	return NULL;
}

static int note(evault_sync_result *res, const char *fmt, ...) EVAULT_PRINTF(2, 3);
static int note(evault_sync_result *res, const char *fmt, ...)
{
	size_t at = strlen(res->notes);
	va_list ap;
	va_start(ap, fmt);
	if (at + 2 < sizeof(res->notes)) {
		vsnprintf(res->notes + at, sizeof(res->notes) - at - 1, fmt, ap);
		at = strlen(res->notes);
		res->notes[at] = '\n';
		res->notes[at + 1] = '\0';
	}
	va_end(ap);
	return 0;
}

struct replay_fix;
static void refused_event(evault_repo *repo, struct replay_fix *x, const char *id, char *out,
			  size_t outlen);

/* A file the office's new events added, with its path. */
typedef struct office_file {
	char mid[EVAULT_MID_MAX + 1];
	evault_class cls;
	char fid[LAYOUT_FID_LEN + 1];
	char *path;
} office_file;

struct replay_fix {
	evault_repo *repo;
	const char *head; /* the office's head */
	office_file *f;
	size_t n, cap;
	/* class keys opened so far, one per mission and class */
	struct {
		char mid[EVAULT_MID_MAX + 1];
		evault_class cls;
		class_keys *k; /* NULL: this user holds none */
	} keys[32];
	size_t nkeys;
	int rc;
	/* missions this device erases: their events recorded here are dropped */
	erase_plan *plan;
	evault_sync_result *res;
};
typedef struct replay_fix replay_fix;

static class_keys *fix_keys(replay_fix *x, const char *mid, evault_class cls)
{
	for (size_t i = 0; i < x->nkeys; i++)
		if (x->keys[i].cls == cls && strcmp(x->keys[i].mid, mid) == 0)
			return x->keys[i].k;
	class_keys *k = NULL;
	state *st = NULL;
	mission_rec m;
	memset(&m, 0, sizeof(m));
	if (state_begin(&st, x->repo, false) == 0 && mission_load(st, mid, &m) == 0 &&
	    mission_class_keys(x->repo, &m, cls, &k) < 0)
		k = NULL;
	mission_rec_clear(&m);
	state_end(st);
	evault_error_clear();
	if (x->nkeys < ARRAY_SIZE(x->keys)) {
		snprintf(x->keys[x->nkeys].mid, sizeof(x->keys[0].mid), "%s", mid);
		x->keys[x->nkeys].cls = cls;
		x->keys[x->nkeys++].k = k;
	}
	return k;
}

/* The path of file fid in the state of commit at (NULL when it is not there
 * or does not open here). */
static char *fix_path(replay_fix *x, const char *at, bool parent, const char *mid,
		      evault_class cls, const char *fid)
{
	evault_buf p = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT;
	manifest m;
	char *path = NULL;
	class_keys *k = fix_keys(x, mid, cls);
	memset(&m, 0, sizeof(m));
	if (k && layout_file_path(&p, mid, cls, fid, ".enc") == 0 &&
	    state_read_at(x->repo, at, parent, p.ptr, &enc) == 0 &&
	    blob_open(&plain, k, OBJ_KIND_MANIFEST, fid, enc.ptr, enc.size) == 0 &&
	    manifest_decode(&m, plain.ptr, plain.size) == 0 && m.path)
		path = strdup(m.path);
	manifest_clear(&m);
	evault_buf_dispose(&p);
	evault_buf_dispose(&enc);
	if (plain.ptr)
		sodium_memzero(plain.ptr, plain.size);
	evault_buf_dispose(&plain);
	evault_error_clear();
	return path;
}

static void fix_add_office(replay_fix *x, const char *mid, const char *cls_name, const char *fid)
{
	evault_class cls;
	if (x->rc < 0 || evault_class_parse(&cls, cls_name) < 0 || strlen(fid) != LAYOUT_FID_LEN ||
	    !mission_id_valid(mid)) {
		evault_error_clear();
		return;
	}
	char *path = fix_path(x, x->head, false, mid, cls, fid); /* only files still there count */
	if (!path)
		return;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		office_file *f = realloc(x->f, cap * sizeof(*f));
		if (!f) {
			free(path);
			x->rc = error_oom();
			return;
		}
		x->f = f;
		x->cap = cap;
	}
	office_file *o = &x->f[x->n++];
	snprintf(o->mid, sizeof(o->mid), "%s", mid);
	o->cls = cls;
	snprintf(o->fid, sizeof(o->fid), "%s", fid);
	o->path = path;
}

/* The files the office's events since the replica's base added. */
static int fix_office_cb(void *payload, const char *id_hex, const char *msg)
{
	replay_fix *x = payload;
	char action[40], mid[EVAULT_MID_MAX + 1], cls[16], fid[40];
	(void)id_hex;
	if (trailer_get(action, sizeof(action), msg, "Evault-Action") < 0 ||
	    trailer_get(mid, sizeof(mid), msg, "Evault-Mission") < 0) {
		evault_error_clear();
		return 0;
	}
	if ((strcmp(action, "file.add") == 0 || strcmp(action, "file.replace") == 0) &&
	    trailer_get(cls, sizeof(cls), msg, "Evault-Class") == 0 &&
	    trailer_get(fid, sizeof(fid), msg, "Evault-File") == 0)
		fix_add_office(x, mid, cls, fid);
	else if (strcmp(action, "file.commit") == 0)
		for (const char *l = msg; (l = strstr(l, "\nEvault-Put: ")); l++) {
			char c[16], f[40];
			if (sscanf(l + 13, "%15s %39s", c, f) == 2)
				fix_add_office(x, mid, c, f);
		}
	evault_error_clear();
	return x->rc;
}

/* The office's file of the same mission, class and path, still in onto. */
static const char *fix_same_path(replay_fix *x, const char *onto, const char *mid,
				 evault_class cls, const char *path)
{
	for (size_t i = 0; i < x->n; i++) {
		office_file *o = &x->f[i];
		if (o->cls != cls || strcmp(o->mid, mid) != 0 || strcmp(o->path, path) != 0)
			continue;
		evault_buf p = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
		bool there = layout_file_path(&p, mid, cls, o->fid, ".enc") == 0 &&
			     state_read_at(x->repo, onto, false, p.ptr, &b) == 0;
		evault_buf_dispose(&p);
		evault_buf_dispose(&b);
		evault_error_clear();
		if (there)
			return o->fid;
	}
	return NULL;
}

static bool fix_in(replay_fix *x, const char *at, const char *mid, evault_class cls,
		   const char *fid)
{
	evault_buf p = EVAULT_BUF_INIT, b = EVAULT_BUF_INIT;
	bool there = layout_file_path(&p, mid, cls, fid, ".enc") == 0 &&
		     state_read_at(x->repo, at, false, p.ptr, &b) == 0;
	evault_buf_dispose(&p);
	evault_buf_dispose(&b);
	evault_error_clear();
	return there;
}

static int fix_remove_file(histx_remove_fn remove, void *ctx, const char *mid, evault_class cls,
			   const char *fid)
{
	evault_buf p = EVAULT_BUF_INIT;
	int rc = layout_file_path(&p, mid, cls, fid, ".enc");
	if (rc == 0)
		rc = remove(ctx, p.ptr);
	p.size = 0;
	if (rc == 0 && (rc = layout_file_path(&p, mid, cls, fid, ".objs")) == 0)
		rc = remove(ctx, p.ptr);
	evault_buf_dispose(&p);
	return rc;
}

/*
 * One file a replayed event writes (fid, replacing `replaces`, "" for
 * none) or removes (fid, when remove_only): the office may have added,
 * replaced or removed the same path meanwhile. The later push wins in the
 * state and the history keeps both versions: the office's entry of that
 * path goes, and the event names it as what it replaces or removes.
 * out: what the event replaces (or removes) now; "" for nothing.
 */
static int fix_one(replay_fix *x, const char *orig, const char *onto, const char *mid,
		   evault_class cls, const char *fid, const char *replaces, bool remove_only,
		   histx_remove_fn remove, void *ctx, char out[LAYOUT_FID_LEN + 1])
{
	const char *named = remove_only ? fid : replaces;
	char *path = NULL;
	const char *g = NULL;
	snprintf(out, LAYOUT_FID_LEN + 1, "%s", named);
	if (*named && fix_in(x, onto, mid, cls, named))
		return 0; /* still there: the event applies as it is */
	if (*named) /* gone there: the path it had before the event */
		path = fix_path(x, orig, true, mid, cls, named);
	else /* a new file: its own path */
		path = fix_path(x, orig, false, mid, cls, fid);
	if (path)
		g = fix_same_path(x, onto, mid, cls, path);
	free(path);
	snprintf(out, LAYOUT_FID_LEN + 1, "%s", g ? g : "");
	return g ? fix_remove_file(remove, ctx, mid, cls, g) : 0;
}

/* Rewrites the lines of a replayed file event for what the office did meanwhile. */
static int fix_event(void *payload, const char *orig, const char *onto, evault_buf *msg,
		     histx_remove_fn remove, void *ctx)
{
	replay_fix *x = payload;
	char action[40], mid[EVAULT_MID_MAX + 1], cls_name[16], fid[40], repl[40] = "";
	char out[LAYOUT_FID_LEN + 1];
	evault_class cls;
	evault_buf nm = EVAULT_BUF_INIT;
	int rc = 0;
	if (trailer_get(action, sizeof(action), msg->ptr, "Evault-Action") < 0 ||
	    trailer_get(mid, sizeof(mid), msg->ptr, "Evault-Mission") < 0) {
		evault_error_clear();
		return 0;
	}
	/* an event of a mission this device must erase cannot enter the history:
	 * shown to its user, dropped, and erased with the rest */
	erase_item *drop = strncmp(action, "device.", 7) != 0 ? plan_find(x->plan, mid) : NULL;
	if (drop) {
		char what[400];
		refused_event(x->repo, x, orig, what, sizeof(what));
		drop->dropped++;
		x->res->dropped++;
		note(x->res, "refused and erased: %s (%s)", what,
		     strcmp(drop->reason, "closed") == 0 ? "the mission was closed meanwhile"
		     : strcmp(drop->reason, "revoked") == 0
			 ? "you were revoked from the mission meanwhile"
			 : "this device was revoked");
		return HISTX_DROP;
	}
	bool one = strcmp(action, "file.add") == 0 || strcmp(action, "file.replace") == 0 ||
		   strcmp(action, "file.remove") == 0;
	if (one) {
		if (trailer_get(cls_name, sizeof(cls_name), msg->ptr, "Evault-Class") < 0 ||
		    trailer_get(fid, sizeof(fid), msg->ptr, "Evault-File") < 0 ||
		    evault_class_parse(&cls, cls_name) < 0) {
			evault_error_clear();
			return 0;
		}
		bool rm = strcmp(action, "file.remove") == 0;
		if (!rm && trailer_get(repl, sizeof(repl), msg->ptr, "Evault-Replaces") < 0)
			repl[0] = '\0';
		evault_error_clear();
		if ((rc = fix_one(x, orig, onto, mid, cls, fid, repl, rm, remove, ctx, out)) < 0)
			return rc;
		if (strcmp(out, rm ? fid : repl) == 0 || (rm && !*out))
			return 0;
		/* the lines again, with what it replaces (or removes) now */
		for (const char *l = msg->ptr; *l && rc == 0;) {
			const char *e = strchr(l, '\n');
			size_t n = e ? (size_t)(e - l + 1) : strlen(l);
			if (strncmp(l, "Evault-Action: ", 15) == 0 && !rm)
				rc = evault_buf_printf(&nm, "Evault-Action: %s\n",
						       *out ? "file.replace" : "file.add");
			else if (strncmp(l, "Evault-Replaces: ", 17) == 0)
				; /* written below */
			else if (strncmp(l, "Evault-File: ", 13) == 0 && rm)
				rc = evault_buf_printf(&nm, "Evault-File: %s\n", out);
			else
				rc = evault_buf_put(&nm, l, n);
			l += n;
		}
		if (rc == 0 && !rm && *out)
			rc = evault_buf_printf(&nm, "Evault-Replaces: %s\n", out);
	} else if (strcmp(action, "file.commit") == 0) {
		for (const char *l = msg->ptr; *l && rc == 0;) {
			const char *e = strchr(l, '\n');
			size_t n = e ? (size_t)(e - l + 1) : strlen(l);
			char c[16], f[40], r[40] = "";
			unsigned long long objs = 0;
			bool put = strncmp(l, "Evault-Put: ", 12) == 0;
			bool rem = strncmp(l, "Evault-Remove: ", 15) == 0;
			int k = put ? sscanf(l + 12, "%15s %39s %llu %39s", c, f, &objs, r)
				    : rem ? sscanf(l + 15, "%15s %39s", c, f)
					  : 0;
			if ((put && k >= 3) || (rem && k == 2)) {
				if (put && k == 3)
					r[0] = '\0';
				if (evault_class_parse(&cls, c) < 0) {
					evault_error_clear();
					rc = evault_buf_put(&nm, l, n);
				} else if ((rc = fix_one(x, orig, onto, mid, cls, f, r, rem, remove, ctx,
							 out)) == 0) {
					if (put && *out)
						rc = evault_buf_printf(&nm, "Evault-Put: %s %s %llu %s\n", c,
								       f, objs, out);
					else if (put)
						rc = evault_buf_printf(&nm, "Evault-Put: %s %s %llu\n", c,
								       f, objs);
					else
						rc = evault_buf_printf(&nm, "Evault-Remove: %s %s\n", c,
								       *out ? out : f);
				}
			} else
				rc = evault_buf_put(&nm, l, n);
			l += n;
		}
	} else
		return 0;
	if (rc == 0) {
		msg->size = 0;
		rc = evault_buf_put(msg, nm.ptr, nm.size);
	}
	evault_buf_dispose(&nm);
	return rc;
}

static void fix_free(replay_fix *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->f[i].path);
	free(x->f);
	for (size_t i = 0; i < x->nkeys; i++)
		class_keys_free(x->keys[i].k);
}

/*
 * audit verify keeps the last head it verified (REPO/audit-verified) and
 * refuses a history that no longer contains it. A replay replaces events
 * that were only ever here: a head among them becomes the newest one both
 * histories share, which the replay kept.
 */
static void replayed_verified(evault_repo *repo, histx_q *q, const char *tip, const char *base)
{
	evault_buf p = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT, m = EVAULT_BUF_INIT;
	char head[64], seq[32];
	if (evault_buf_printf(&p, "%s/audit-verified", repo->path) == 0 &&
	    file_read_all(&t, p.ptr, 4096) == 0 &&
	    text_get(head, sizeof(head), t.ptr, t.size, "head") == 0 &&
	    !histx_q_contains(q, tip, head) && histx_message(repo, base, &m) == 0 &&
	    trailer_get(seq, sizeof(seq), m.ptr, "Evault-Seq") == 0) {
		t.size = 0;
		if (evault_buf_printf(&t, "seq %s\nhead %s\n", seq, base) == 0)
			(void)file_write_atomic(p.ptr, t.ptr, t.size, 0644);
	}
	evault_error_clear();
	evault_buf_dispose(&p);
	evault_buf_dispose(&t);
	evault_buf_dispose(&m);
}

/* What a refused event held, for the user: action, mission, when it was
 * recorded here, and the paths of the files it wrote that this user can read. */
static void refused_event(evault_repo *repo, struct replay_fix *x, const char *id, char *out,
			  size_t outlen)
{
	evault_buf m = EVAULT_BUF_INIT;
	char action[40] = "?", mid[EVAULT_MID_MAX + 1] = "", when[32] = "", t[32];
	size_t at = 0;
	if (histx_message(repo, id, &m) == 0) {
		(void)trailer_get(action, sizeof(action), m.ptr, "Evault-Action");
		(void)trailer_get(mid, sizeof(mid), m.ptr, "Evault-Mission");
		/* when it was first recorded: a replayed event says, the others are
		 * dated by their author line (git's "author NAME <EMAIL> TIME TZ") */
		int64_t first = histx_author_time(repo, id);
		if (trailer_get(t, sizeof(t), m.ptr, "Evault-Replayed") == 0)
			first = strtoll(t, NULL, 10);
		time_t tt = (time_t)first;
		struct tm tm;
		if (first > 0 && gmtime_r(&tt, &tm))
			strftime(when, sizeof(when), ", recorded %Y-%m-%d %H:%M:%SZ", &tm);
	}
	at = (size_t)snprintf(out, outlen, "%s%s%s%s", action, mid[0] ? " in " : "", mid, when);
	for (const char *l = m.ptr; l && at < outlen; l = strchr(l + 1, '\n')) {
		char c[16], f[40];
		evault_class cls;
		bool one = strncmp(l, "\nEvault-File: ", 14) == 0;
		bool put = strncmp(l, "\nEvault-Put: ", 13) == 0;
		if ((!one && !put) ||
		    (one && (trailer_get(c, sizeof(c), m.ptr, "Evault-Class") < 0 ||
			     sscanf(l + 14, "%39s", f) != 1)) ||
		    (put && sscanf(l + 13, "%15s %39s", c, f) != 2) ||
		    evault_class_parse(&cls, c) < 0)
			continue;
		char *p = fix_path(x, id, false, mid, cls, f);
		if (p)
			at += (size_t)snprintf(out + at, outlen - at, ", %s/%s", c, p);
		free(p);
	}
	evault_buf_dispose(&m);
	evault_error_clear();
}

/* ---- sync ---- */

/* ---- this device: its holds, its erasures ---- */




static int plan_add(erase_plan *p, const char *mid, const char *reason)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		erase_item *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return error_oom();
		p->v = v;
		p->cap = cap;
	}
	erase_item *e = &p->v[p->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->mid, sizeof(e->mid), "%s", mid);
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	return 0;
}

/* A record at path in commit head, from the quarantine; 1 when absent. */
static int q_read(histx_q *q, const char *head, const char *path, evault_buf *out)
{
	out->size = 0;
	int rc = histx_q_read(q, head, path, out);
	if (rc == EVAULT_ENOTFOUND) {
		evault_error_clear();
		return 1;
	}
	return rc;
}

/* What the office's history at head says this device must erase, among the
 * missions whose trees are here. Nothing before the history says so. */
static int plan_erasures(histx_q *q, const char *head, const char *device, const char *user,
			 const held_list *hl, erase_plan *p)
{
	evault_buf b = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	device_rec d;
	user_rec u;
	int rc;
	bool have_user = false;
	if ((rc = evault_buf_printf(&path, "devices/%s", device)) < 0 ||
	    (rc = q_read(q, head, path.ptr, &b)) != 0 ||
	    (rc = device_parse(&d, device, b.ptr, b.size)) < 0)
		goto done; /* 1: not registered, so it holds nothing */
	p->revoked = d.revoked;
	snprintf(p->revoked_by, sizeof(p->revoked_by), "%s", d.revoked_by);
	p->revoked_at = d.revoked_at;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "users/%s", user)) < 0 ||
	    (rc = q_read(q, head, path.ptr, &b)) < 0)
		goto done;
	have_user = rc == 0 && user_parse(&u, user, b.ptr, b.size) == 0;
	evault_error_clear();
	rc = 0;
	for (size_t i = 0; i < hl->n && rc == 0; i++) {
		device_hold h;
		mission_rec m;
		if ((rc = hold_path(&path, hl->mid[i], device)) < 0 ||
		    (rc = q_read(q, head, path.ptr, &b)) < 0)
			break;
		if (rc == 1) {
			rc = 0;
			continue;
		}
		if ((rc = hold_parse(&h, device, b.ptr, b.size)) < 0)
			break;
		if (h.erased)
			continue;
		path.size = 0;
		if ((rc = evault_buf_printf(&path, "missions/%s/MISSION", hl->mid[i])) < 0 ||
		    (rc = q_read(q, head, path.ptr, &b)) != 0 ||
		    (rc = mission_parse(&m, hl->mid[i], b.ptr, b.size)) < 0) {
			if (rc == 1)
				rc = evault_error_set(EVAULT_ECORRUPT, "mission %s has no record",
						      hl->mid[i]);
			break;
		}
		const char *why = device_erasure_due(&d, &m, have_user ? &u : NULL);
		if (why)
			rc = plan_add(p, hl->mid[i], why);
		mission_rec_clear(&m);
	}
done:
	evault_buf_dispose(&b);
	evault_buf_dispose(&path);
	return rc < 0 ? rc : 0;
}


typedef struct names_ctx {
	char (*v)[EVAULT_USER_MAX + 1];
	size_t n, cap;
	int rc;
} names_ctx;

static int names_cb(const char *user, void *payload)
{
	names_ctx *c = payload;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		void *v = realloc(c->v, cap * sizeof(*c->v));
		if (!v)
			return c->rc = error_oom();
		c->v = v;
		c->cap = cap;
	}
	snprintf(c->v[c->n++], sizeof(c->v[0]), "%s", user);
	return 0;
}

/* Every key copy of mid here destroyed (overwritten, unlinked, synced). */
static int erase_keys(evault_repo *repo, const char *mid)
{
	int rc = 0;
	for (int c = 0; c < EVAULT_CLASS_COUNT && rc == 0; c++) {
		names_ctx n = {0};
		rc = repo->keys->ops->list(repo->keys, mid, (evault_class)c, names_cb, &n);
		if (rc == EVAULT_ENOTFOUND) {
			evault_error_clear();
			rc = 0;
		}
		if (rc == 0)
			rc = n.rc;
		for (size_t i = 0; i < n.n && rc == 0; i++) {
			rc = repo->keys->ops->destroy(repo->keys, mid, (evault_class)c, n.v[i]);
			if (rc == 0)
				evault_failpoint("device-erase-keys");
		}
		free(n.v);
	}
	return rc;
}

typedef struct del_ctx {
	evault_repo *repo;
	uint64_t n;
} del_ctx;

static int del_object(void *payload, const uint8_t id[32])
{
	del_ctx *d = payload;
	/* counted once, and only when it was here: a file's objects may be named
	 * by both histories walked, and a replica holds only what it read */
	int e = d->repo->objects->ops->exists(d->repo->objects, id);
	if (e <= 0)
		return e;
	int rc = d->repo->objects->ops->del(d->repo->objects, id);
	if (rc == 0 && d->n++ == 0)
		evault_failpoint("device-erase-objects");
	return rc;
}

/* The mission's key copies, then every object any version of its files
 * named, in the histories given (the replica's, and the events it drops). */
static int erase_local(evault_repo *repo, const char *const *heads, size_t nheads, const char *mid,
		       uint64_t *objects)
{
	del_ctx d = {.repo = repo};
	int rc = erase_keys(repo, mid);
	for (size_t i = 0; i < nheads && rc == 0; i++)
		if (heads[i] && *heads[i])
			rc = histx_mission_objects(repo, heads[i], mid, del_object, &d);
	if (rc == 0)
		rc = repo->objects->ops->sync(repo->objects);
	if (objects)
		*objects += d.n;
	return rc;
}

typedef struct wipe_ctx {
	evault_repo *repo;
	objset ids;
} wipe_ctx;

static int wipe_list_cb(const uint8_t id[OBJECT_ID_LEN], void *payload)
{
	return objset_add(id, &((wipe_ctx *)payload)->ids);
}

/* A revoked device: every key copy of every mission whose trees are here,
 * and every object here, whatever it is. */
static int wipe_device(evault_repo *repo, const held_list *hl)
{
	wipe_ctx w = {.repo = repo};
	int rc = 0;
	for (size_t i = 0; i < hl->n && rc == 0; i++)
		rc = erase_keys(repo, hl->mid[i]);
	if (rc == 0)
		rc = repo->objects->ops->list(repo->objects, wipe_list_cb, &w);
	for (size_t i = 0; i < w.ids.n && rc == 0; i++) {
		rc = repo->objects->ops->del(repo->objects, w.ids.id[i]);
		if (rc == EVAULT_ENOTFOUND) {
			evault_error_clear();
			rc = 0;
		}
	}
	if (rc == 0)
		rc = repo->objects->ops->sync(repo->objects);
	objset_clear(&w.ids);
	return rc;
}

/* Erases here what the plan says, then records each confirmation. */
static int erase_planned(evault_repo *repo, const erase_plan *p, const char *device,
			 const char *const *heads, size_t nheads, evault_sync_result *res)
{
	int rc = 0;
	for (size_t i = 0; i < p->n && rc == 0; i++) {
		uint64_t objs = 0;
		if ((rc = erase_local(repo, heads, nheads, p->v[i].mid, &objs)) < 0)
			break;
		evault_failpoint("device-erased-before-event");
		if ((rc = device_commit_erased(repo, device, p->v[i].mid, p->v[i].reason,
					       p->v[i].dropped)) < 0)
			break;
		evault_failpoint("device-erased-recorded");
		res->erased++;
		note(res, "erased %s (%s): its key copies and %llu objects on this device", p->v[i].mid,
		     strcmp(p->v[i].reason, "closed") == 0	   ? "the mission was closed"
		     : strcmp(p->v[i].reason, "revoked") == 0 ? "you were revoked from it"
							       : "this device was revoked",
		     (unsigned long long)objs);
	}
	return rc;
}

typedef struct hold_ctx {
	evault_repo *repo;
	const state *st;
	const device_rec *d;
	const user_rec *u;
	held_list want;
	int rc;
} hold_ctx;

static int hold_scan_cb(const char *mid, bool is_dir, void *payload)
{
	hold_ctx *h = payload;
	device_hold dh;
	mission_rec m;
	if (!is_dir || !mission_id_valid(mid))
		return 0;
	int rc = hold_load(h->st, mid, h->d->name, &dh);
	if (rc == 0 && !dh.erased)
		return 0;
	if (rc < 0 && rc != EVAULT_ENOTFOUND)
		return rc;
	evault_error_clear();
	if ((rc = mission_load(h->st, mid, &m)) < 0)
		return rc;
	if (!device_erasure_due(h->d, &m, h->u))
		rc = held_list_cb(mid, true, &h->want);
	mission_rec_clear(&m);
	return rc;
}

/* Registers the device if the office does not know it yet, and records a
 * hold for each open mission its user holds a role on and it does not
 * hold yet: the office hands key copies only to a device that did. */
static int record_holds(evault_repo *repo, const char *device, evault_sync_result *res)
{
	state *st = NULL;
	device_rec d;
	user_rec u;
	hold_ctx h = {.repo = repo};
	int rc = state_begin(&st, repo, false);
	if (rc == 0 && (rc = device_load(st, device, &d)) == EVAULT_ENOTFOUND) {
		evault_error_clear();
		state_end(st);
		st = NULL;
		if ((rc = device_commit_add(repo, device)) == 0 &&
		    (rc = state_begin(&st, repo, false)) == 0)
			rc = device_load(st, device, &d);
	}
	if (rc == 0 && !d.revoked && (rc = user_load(st, repo->actor, &u)) == 0) {
		h.st = st;
		h.d = &d;
		h.u = &u;
		rc = state_list(st, "missions", hold_scan_cb, &h);
	}
	state_end(st);
	for (size_t i = 0; i < h.want.n && rc == 0; i++)
		if ((rc = device_commit_hold(repo, device, h.want.mid[i])) == 0)
			res->holds++;
	free(h.want.mid);
	return rc;
}

/* One session: pull, replay, erasures, holds, push, keys, objects. */
static int sync_session(conn *c, evault_repo *repo, const evault_sync_opts *opts,
			evault_sync_result *res, held_list *off)
{
	char office[41], main_hex[41], old_main[41];
	held_list hl = {0};
	fetched f = {0};
	objset want = {0};
	push_scan ps = {0};
	erase_plan plan = {0};
	int rc, failed = 0;
	bool dry = opts && opts->dry_run;
	if ((rc = histx_ref(repo, OFFICE_REF, office)) < 0 ||
	    (rc = histx_ref(repo, "refs/heads/main", main_hex)) < 0 ||
	    (rc = held_missions(repo, &hl)) < 0)
		goto done;
	snprintf(old_main, sizeof(old_main), "%s", main_hex);
	snprintf(res->device, sizeof(res->device), "%s", c->device);
	if (!office[0] || !main_hex[0]) {
		rc = evault_error_set(EVAULT_ECORRUPT, "this replica has no office head: clone again");
		goto done;
	}
	/* pull */
	if ((rc = fetch(c, repo, office, &hl, &f)) < 0)
		goto done;
	bool moved = strcmp(f.head, office) != 0;
	if (moved || f.objects) {
		evault_verify_result vr;
		if (dry) {
			if ((rc = histx_q_verify(f.q, f.head, f.older ? NULL : office,
						 repo->cfg.vault_id_hex, true, &vr)) < 0)
				goto done;
			res->events_pulled = vr.events;
		} else if ((rc = fetch_verify_adopt(&f, office, repo->cfg.vault_id_hex, res)) < 0 ||
			   (moved &&
			    (rc = histx_move_ref(repo, OFFICE_REF, office, f.head, "sync: pull")) < 0))
			goto done;
	}
	snprintf(res->head, sizeof(res->head), "%s", f.head);
	res->seq = f.seq;
	const char *h = f.head;
	/* what the office's history, verified, says this device must erase */
	if ((rc = plan_erasures(f.q, h, c->device, repo->actor, &hl, &plan)) < 0)
		goto done;
	if (dry) {
		res->erased = plan.n;
		for (size_t i = 0; i < plan.n; i++)
			note(res, "would erase %s (%s)", plan.v[i].mid, plan.v[i].reason);
	}
	/* where this replica stands against the office's head H */
	if (strcmp(main_hex, h) == 0) {
		/* nothing recorded here, nothing new there */
	} else if (histx_q_contains(f.q, h, main_hex)) {
		/* H extends this replica (or already holds what it pushed): forward */
		if (!dry) {
			if ((rc = histx_move_ref(repo, "refs/heads/main", main_hex, h, "sync: pull")) < 0)
				goto done;
			trust_made(repo, h);
			snprintf(main_hex, sizeof(main_hex), "%s", h);
		}
	} else {
		char base[41];
		evault_verify_result vr;
		if ((rc = histx_q_merge_base(f.q, main_hex, h, base)) < 0)
			goto done;
		if (strcmp(base, h) != 0) {
			/* both moved: the events recorded here are replayed on H */
			if (dry) {
				if ((rc = histx_q_verify(f.q, main_hex, base, repo->cfg.vault_id_hex, true,
							 &vr)) < 0)
					goto done;
				res->events_replayed = vr.events;
				goto keys;
			}
			/* a mount of this replica (another process) keeps the head it verified
			 * among the events about to be replaced: its own background sync replays */
			long mpid;
			if (mounts_live(repo, (long)getpid(), &mpid)) {
				failed = evault_error_set(
				    EVAULT_ELOCKED,
				    "this replica is mounted (process %ld) and its events must be "
				    "replayed on the office's: the mount syncs by itself (sync=), or "
				    "unmount it and sync again",
				    mpid);
				goto erase_anyway;
			}
			char replayed[41];
			uint64_t n = 0;
			replay_fix fx = {.repo = repo, .head = h, .plan = &plan, .res = res};
			rc = histx_each_commit(repo, h, base, fix_office_cb, &fx);
			if (rc == 0)
				rc = fx.rc;
			if (rc == 0)
				rc = histx_replay(repo, base, main_hex, h, fix_event, &fx, replayed, &n);
			if (rc == 0 && strcmp(replayed, h) != 0)
				rc = histx_q_verify(f.q, replayed, h, repo->cfg.vault_id_hex, true, &vr);
			else if (rc == 0)
				vr.ok = true;
			if (rc < 0) {
				fix_free(&fx);
				goto done;
			}
			if (!vr.ok) {
				char what[400];
				refused_event(repo, &fx, vr.bad_commit, what, sizeof(what));
				snprintf(res->refused, sizeof(res->refused), "%s", vr.reason);
				failed = evault_error_set(
				    EVAULT_EREFUSED,
				    "an event recorded here (%s) cannot be replayed on the office's "
				    "history: %s; it stays on this replica, nothing was sent (evault log "
				    "shows it; ask an admin)",
				    what, vr.reason);
				fix_free(&fx);
				goto erase_anyway;
			}
			fix_free(&fx);
			/* the heads this replica verified may be among the events replaced:
			 * both become the newest one the two histories share, on disk, before
			 * main moves (a sync killed in between leaves a replica that opens) */
			trust_made(repo, base);
			trust_save(repo);
			replayed_verified(repo, f.q, replayed, base);
			if ((rc = histx_move_ref(repo, "refs/heads/main", main_hex, replayed,
						 "sync: replay")) < 0)
				goto done;
			trust_made(repo, replayed);
			res->events_replayed = n;
			snprintf(main_hex, sizeof(main_hex), "%s", replayed);
		}
	}
	if (dry)
		goto push;
	/* erasures: the keys and objects here, then the signed confirmations */
	const char *heads[2] = {main_hex, old_main};
	if ((rc = erase_planned(repo, &plan, c->device, heads, 2, res)) < 0)
		goto done;
	if (plan.revoked) {
		if ((rc = wipe_device(repo, &hl)) < 0)
			goto done;
		res->device_revoked = true;
	} else if ((rc = record_holds(repo, c->device, res)) < 0)
		goto done;
	if ((rc = histx_ref(repo, "refs/heads/main", main_hex)) < 0)
		goto done;
push:
	if (strcmp(main_hex, h) != 0 && !histx_q_contains(f.q, h, main_hex)) {
		evault_verify_result vr;
		/* push: the objects first, then the events that name them */
		if ((rc = histx_q_new_objects(f.q, main_hex, h, push_scan_cb, &ps)) == 0)
			objset_finish(&ps.ids);
		if (rc < 0 || (rc = push_objects(c, repo, &ps.ids, dry, res)) < 0)
			goto done;
		if ((rc = histx_q_verify(f.q, main_hex, h, repo->cfg.vault_id_hex, true, &vr)) < 0)
			goto done;
		res->events_pushed = vr.events;
		if (!dry && (rc = push_events(c, repo, h, main_hex, res)) < 0)
			goto done;
	}
	if (res->device_revoked) {
		rc = evault_error_set(
		    EVAULT_EDENIED,
		    "this device (%s) was revoked by %s: every mission and key copy it held was "
		    "erased (%zu missions); the office will not answer it again",
		    c->device, plan.revoked_by, res->erased);
		goto done;
	}
keys:
	/* keys and objects of what is held here */
	if (!dry && (rc = fetch_keys(c, repo, res)) < 0)
		goto done;
	/* missions kept whole here: those asked before, and this one */
	free(hl.mid);
	hl = (held_list){0};
	if ((rc = held_missions(repo, &hl)) < 0 || (rc = offline_list(repo, off)) < 0)
		goto done;
	if (opts && opts->offline && !listed(off, opts->offline)) {
		if (!listed(&hl, opts->offline)) {
			rc = evault_error_set(EVAULT_ENOTFOUND, "no such mission: %.64s",
					      opts->offline);
			goto done;
		}
		if ((rc = held_list_cb(opts->offline, true, off)) < 0)
			goto done;
	}
	/* a mission no longer held here is no longer kept whole */
	for (size_t i = 0; i < off->n;)
		if (!listed(&hl, off->mid[i]) || plan_find(&plan, off->mid[i]))
			memcpy(off->mid[i], off->mid[--off->n], sizeof(off->mid[0]));
		else
			i++;
	if ((rc = objects_wanted(repo, off, &want)) < 0)
		goto done;
	if (dry)
		res->objects_received = want.n;
	else if ((rc = fetch_objects(c, repo, &want, res)) < 0)
		goto done;
	res->missions = hl.n;
	res->bytes_sent = c->p.bytes_out;
	res->bytes_received = c->p.bytes_in;
	goto done;
erase_anyway:
	/* the events recorded here wait, but what the office's history says
	 * must go from this device goes now; the confirmations follow at the
	 * next sync that can record them */
	if (!dry) {
		char why[1024];
		const char *hs[2] = {main_hex, old_main};
		snprintf(why, sizeof(why), "%s", evault_error_last());
		for (size_t i = 0; i < plan.n; i++)
			if (erase_local(repo, hs, 2, plan.v[i].mid, NULL) < 0)
				break;
		if (plan.revoked)
			(void)wipe_device(repo, &hl);
		evault_error_set(failed, "%s", why);
	}
	rc = failed;
done:
	histx_q_free(f.q);
	free(hl.mid);
	free(plan.v);
	objset_clear(&want);
	objset_clear(&ps.ids);
	return rc;
}

int evault_sync(evault_repo *repo, const evault_sync_opts *opts, evault_sync_result *res)
{
	char url[1024], user[EVAULT_USER_MAX + 1], device[EVAULT_USER_MAX + 1];
	conn c = {.in = -1, .out = -1};
	held_list off = {0};
	int rc;
	memset(res, 0, sizeof(*res));
	if ((rc = repo_require_actor(repo)) < 0 ||
	    (rc = remote_read(repo, url, sizeof(url), user, sizeof(user), device,
			      sizeof(device))) < 0)
		return rc;
	if (strcmp(user, repo->actor) != 0)
		return evault_error_set(EVAULT_EDENIED, "this replica is %s's; you are %s", user,
					repo->actor);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	rc = conn_open(&c, url, opts, repo->id, repo->cfg.vault_id_hex, device);
	if (rc == 0 && strcmp(c.user, repo->actor) != 0)
		rc = evault_error_set(EVAULT_ECORRUPT, "the office knows this identity as %s", c.user);
	if (rc == 0)
		rc = sync_session(&c, repo, opts, res, &off);
	if (rc < 0)
		rc = conn_salvage(&c, rc);
	/* a dry run adopted nothing: without BYE the office does not note this
	 * contact as the device's (close compares what it has); a revoked
	 * device that erased everything did adopt what it was sent */
	conn_close(&c, (rc == 0 || res->device_revoked) && !(opts && opts->dry_run));
	signal(SIGPIPE, old);
	if (rc == 0 && !(opts && opts->dry_run))
		note_sync(repo, &off);
	free(off.mid);
	return rc;
}

/* ---- clone ---- */

/* This machine's name, as a device name: lower case, a-z 0-9 . _ - only. */
static void default_device(char out[EVAULT_USER_MAX + 1])
{
	char host[256] = "";
	size_t n = 0;
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	for (const char *c = host; *c && *c != '.' && n < EVAULT_USER_MAX; c++) {
		char ch = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			  (n > 0 && (ch == '-' || ch == '_'));
		out[n] = ok ? ch : (n > 0 ? '-' : 'x');
		n++;
	}
	out[n] = '\0';
	if (!device_name_valid(out))
		snprintf(out, EVAULT_USER_MAX + 1, "laptop");
}

int evault_clone(const char *url, const char *path, evault_identity *id, const char *trust_dir,
		 const evault_sync_opts *opts, evault_sync_result *res)
{
	conn c = {.in = -1, .out = -1};
	evault_repo *repo = NULL;
	fetched f = {0};
	evault_buf conf = EVAULT_BUF_INIT, remote = EVAULT_BUF_INIT;
	int rc;
	bool made = false;
	memset(res, 0, sizeof(*res));
	char device[EVAULT_USER_MAX + 1];
	held_list off = {0};
	if (!evault_identity_unlocked(id))
		return evault_error_set(EVAULT_EAUTH, "the identity is locked");
	if (opts && opts->device) {
		if (!device_name_valid(opts->device))
			return evault_error_set(EVAULT_EINVAL,
						"not a device name: '%.40s' (1 to 32 of a-z 0-9 . _ -, "
						"starting with a letter or digit)",
						opts->device);
		snprintf(device, sizeof(device), "%s", opts->device);
	} else
		default_device(device);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	if ((rc = conn_open(&c, url, opts, id, NULL, device)) < 0)
		goto done;
	if (!c.head[0]) {
		rc = evault_error_set(EVAULT_ECORRUPT, "the office's vault has no history");
		goto done;
	}
	/* one replica, one device: a name in use stays with the replica that has it */
	if (c.dev == SYNC_DEVICE_REVOKED) {
		rc = evault_error_set(EVAULT_EDENIED,
				      "device %s was revoked: name this replica otherwise (--device)",
				      device);
		goto done;
	}
	if (c.dev != SYNC_DEVICE_NEW) {
		rc = evault_error_set(EVAULT_EEXISTS,
				      "device %s is already registered to you (another replica): name "
				      "this one otherwise (--device), or have an admin revoke the old "
				      "one if it is lost",
				      device);
		goto done;
	}
	if ((rc = repo_create(&repo, path, NULL)) < 0)
		goto done;
	made = true;
	if ((rc = fetch(&c, repo, NULL, NULL, &f)) < 0 ||
	    (rc = fetch_verify_adopt(&f, NULL, c.vault_hex, res)) < 0)
		goto done;
	/* the settings in force are the signed root's */
	if ((rc = histx_q_read(f.q, f.head, "VAULT", &conf)) < 0 ||
	    (rc = config_parse(&repo->cfg, conf.ptr, conf.size)) < 0 ||
	    strcmp(repo->cfg.vault_id_hex, c.vault_hex) != 0) {
		rc = rc < 0 ? rc
			    : evault_error_set(EVAULT_ECORRUPT, "the office's VAULT record is not "
								"of the vault it named");
		goto done;
	}
	if ((rc = evault_buf_printf(&remote, "%surl %s\nuser %s\ndevice %s\n", REMOTE_MAGIC, url,
				    c.user, device)) < 0 ||
	    (rc = histx_move_ref(repo, "refs/heads/main", NULL, f.head, "clone")) < 0 ||
	    (rc = histx_move_ref(repo, OFFICE_REF, NULL, f.head, "clone")) < 0 ||
	    (rc = write_small(repo, REMOTE_FILE, remote.ptr)) < 0)
		goto done;
	evault_buf p = EVAULT_BUF_INIT;
	rc = evault_buf_printf(&p, "%s/evault.conf", repo->path);
	if (rc == 0)
		rc = file_write_new(p.ptr, conf.ptr, conf.size, 0600);
	evault_buf_dispose(&p);
	if (rc < 0)
		goto done;
	histx_q_free(f.q);
	f.q = NULL;
	/* from here on an ordinary repository: reopened, its head trusted as verified */
	evault_repo_free(repo);
	repo = NULL;
	if ((rc = evault_repo_open(&repo, path)) < 0 ||
	    (trust_dir && (rc = evault_repo_trust(repo, trust_dir, true)) < 0))
		goto done;
	trust_made(repo, f.head);
	if ((rc = evault_repo_set_identity(repo, id)) < 0)
		goto done;
	res->seq = c.seq;
	snprintf(res->head, sizeof(res->head), "%s", f.head);
	/* the device registered, its holds recorded and pushed, then its key
	 * copies: a sync from here (objects: on demand, or sync --offline) */
	uint64_t pulled = res->events_pulled;
	if ((rc = sync_session(&c, repo, opts, res, &off)) == 0) {
		res->events_pulled += pulled;
		note_sync(repo, NULL);
	}
done:
	if (rc < 0)
		rc = conn_salvage(&c, rc);
	conn_close(&c, rc == 0);
	signal(SIGPIPE, old);
	histx_q_free(f.q);
	evault_repo_free(repo);
	evault_buf_dispose(&conf);
	evault_buf_dispose(&remote);
	free(off.mid);
	if (rc < 0 && made) { /* a failed clone leaves no half replica */
		int keep = rc;
		char msg[600];
		snprintf(msg, sizeof(msg), "%s", evault_error_last());
		remove_tree(path);
		evault_error_set(keep, "%s", msg);
	}
	return rc;
}

/* ---- objects on demand ---- */

/*
 * A replica's object backend: what is here is read here; an object that is
 * not is asked of the office, checked against its name, stored, and then
 * read. One ssh session serves the process's requests (the mount's worker
 * threads take turns); when the office does not answer, it is not asked
 * again for a while, and the error says what to do.
 */
#define ONDEMAND_RETRY_S 30

typedef struct ondemand {
	backend base;
	backend *inner;
	evault_repo *repo;
	char url[1024];
	evault_sync_opts opts;
	char ssh[512];
	pthread_mutex_t mu;
	conn c;
	bool connected;
	int64_t down_until;
	char down_why[300];
	char device[EVAULT_USER_MAX + 1];
} ondemand;

static int od_connect(ondemand *o)
{
	int64_t now = (int64_t)time(NULL);
	if (o->connected)
		return 0;
	if (now < o->down_until)
		return evault_error_set(EVAULT_ERROR, "%s", o->down_why);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	(void)old;
	int rc = conn_open(&o->c, o->url, &o->opts, o->repo->id, o->repo->cfg.vault_id_hex,
			   o->device);
	if (rc == 0 && strcmp(o->c.user, o->repo->actor) != 0)
		rc = evault_error_set(EVAULT_ECORRUPT, "the office knows this identity as %s",
				      o->c.user);
	if (rc < 0) {
		snprintf(o->down_why, sizeof(o->down_why),
			 "not on this replica, and the office cannot be asked (%s): evault sync "
			 "--offline MISSION fetches a mission's files before working offline",
			 evault_error_last());
		conn_close(&o->c, false);
		o->down_until = now + ONDEMAND_RETRY_S;
		return evault_error_set(EVAULT_ERROR, "%s", o->down_why);
	}
	o->connected = true;
	return 0;
}

/* One object from the office, checked and stored here; out holds its bytes. */
static int od_fetch(ondemand *o, const uint8_t id[OBJECT_ID_LEN], evault_buf *out, size_t max)
{
	uint8_t type, h[32];
	reader r;
	int rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((rc = od_connect(o)) < 0)
			return rc;
		evault_buf *b = proto_begin(&o->c.p, MSG_WANT);
		if (buf_put_u32(b, 1) < 0 || evault_buf_put(b, id, 32) < 0)
			return error_oom();
		if ((rc = proto_end(&o->c.p)) == 0 && (rc = conn_read(&o->c, &type, &r, 0)) == 0)
			break;
		/* a session the office ended meanwhile (timeout): once more, afresh */
		conn_close(&o->c, false);
		o->connected = false;
	}
	if (rc < 0)
		return rc;
	const uint8_t *got = reader_bytes(&r, 32);
	char hex[OBJECT_HEX_LEN + 1];
	object_id_hex(hex, id);
	if ((type != MSG_OBJ && type != MSG_MISSING) || !got || memcmp(got, id, 32) != 0) {
		conn_close(&o->c, false);
		o->connected = false;
		return unexpected(type, "an object asked for");
	}
	if (type == MSG_MISSING)
		return evault_error_set(EVAULT_ENOTFOUND,
					"object %s is neither on this replica nor at the office", hex);
	size_t len = r.left;
	const uint8_t *data = reader_bytes(&r, len);
	if (len > max || object_hash(h, data, len) < 0 || sodium_memcmp(h, id, 32) != 0)
		return evault_error_set(EVAULT_ECORRUPT,
					"object %s from the office does not match its name", hex);
	if ((rc = o->inner->ops->put(o->inner, id, data, len)) < 0)
		return rc;
	out->size = 0;
	return evault_buf_put(out, data, len);
}

static int od_get(backend *b, const uint8_t id[OBJECT_ID_LEN], evault_buf *out, size_t max)
{
	ondemand *o = (ondemand *)b;
	int rc = o->inner->ops->get(o->inner, id, out, max);
	if (rc != EVAULT_ENOTFOUND)
		return rc;
	evault_error_clear();
	pthread_mutex_lock(&o->mu);
	rc = od_fetch(o, id, out, max);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

static int od_put(backend *b, const uint8_t id[OBJECT_ID_LEN], const void *d, size_t l)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->put(o->inner, id, d, l);
}
static int od_exists(backend *b, const uint8_t id[OBJECT_ID_LEN])
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->exists(o->inner, id);
}
static int od_stat(backend *b, const uint8_t id[OBJECT_ID_LEN], uint64_t *size, int64_t *mt)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->stat(o->inner, id, size, mt);
}
static int od_del(backend *b, const uint8_t id[OBJECT_ID_LEN])
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->del(o->inner, id);
}
static int od_list(backend *b, backend_list_cb cb, void *payload)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->list(o->inner, cb, payload);
}
static int od_stage(backend *b, const uint8_t id[OBJECT_ID_LEN], void *data, size_t len,
		    size_t room, backend_staged **out)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->stage(o->inner, id, data, len, room, out);
}
static int od_publish(backend *b, backend_staged **staged, size_t n)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->publish(o->inner, staged, n);
}
static void od_discard(backend *b, backend_staged **staged, size_t n)
{
	ondemand *o = (ondemand *)b;
	o->inner->ops->discard(o->inner, staged, n);
}
static int od_sync(backend *b)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->sync(o->inner);
}
static int od_tidy(backend *b, int64_t older_than, bool dry_run, size_t *removed)
{
	ondemand *o = (ondemand *)b;
	return o->inner->ops->tidy(o->inner, older_than, dry_run, removed);
}
static void od_free(backend *b)
{
	ondemand *o = (ondemand *)b;
	if (o->connected)
		conn_close(&o->c, true);
	o->inner->ops->free(o->inner);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

static const struct backend_ops ondemand_ops = {
    od_put, od_get, od_exists, od_stat, od_del, od_list, od_stage, od_publish, od_discard,
    od_sync, od_tidy, od_free,
};

int evault_replica_attach(evault_repo *repo, const evault_sync_opts *opts)
{
	char user[EVAULT_USER_MAX + 1];
	if (!repo->replica || repo->objects->ops == &ondemand_ops)
		return 0;
	if (!repo->id || !evault_identity_unlocked(repo->id) || !repo->have_actor)
		return 0; /* nothing to sign a session with: what is here is all there is */
	ondemand *o = calloc(1, sizeof(*o));
	if (!o)
		return error_oom();
	int rc = remote_read(repo, o->url, sizeof(o->url), user, sizeof(user), o->device,
			     sizeof(o->device));
	if (rc < 0) {
		free(o);
		return rc;
	}
	o->opts = opts ? *opts : (evault_sync_opts){.version = EVAULT_SYNC_OPTS_VERSION};
	if (o->opts.ssh) {
		snprintf(o->ssh, sizeof(o->ssh), "%s", o->opts.ssh);
		o->opts.ssh = o->ssh;
	}
	o->opts.timeout_s = o->opts.timeout_s ? o->opts.timeout_s : 30;
	o->c.in = o->c.out = -1;
	o->base.ops = &ondemand_ops;
	o->inner = repo->objects;
	o->repo = repo;
	pthread_mutex_init(&o->mu, NULL);
	repo->objects = &o->base;
	return 0;
}

/* ---- status ---- */

static int size_cb(void *payload, const uint8_t id[32])
{
	return objset_add(id, payload);
}

int evault_replica_status_get(evault_repo *repo, evault_replica_status *st)
{
	char main_hex[41];
	evault_buf p = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	held_list h = {0};
	histx_q *q = NULL;
	int rc;
	memset(st, 0, sizeof(*st));
	if ((rc = remote_read(repo, st->url, sizeof(st->url), st->user, sizeof(st->user),
			      st->device, sizeof(st->device))) < 0 ||
	    (rc = histx_ref(repo, OFFICE_REF, st->office_head)) < 0 ||
	    (rc = histx_ref(repo, "refs/heads/main", main_hex)) < 0 ||
	    (rc = held_missions(repo, &h)) < 0)
		goto done;
	st->missions = h.n;
	char v[32];
	if (evault_buf_printf(&p, "%s/%s", repo->path, SYNC_STATE_FILE) == 0 &&
	    file_read_all(&t, p.ptr, 4096) == 0 &&
	    text_get(v, sizeof(v), t.ptr, t.size, "last-sync") == 0)
		st->last_sync = strtoll(v, NULL, 10);
	evault_error_clear();
	if (st->office_head[0] && strcmp(main_hex, st->office_head) != 0) {
		evault_verify_result vr;
		objset ids = {0};
		if ((rc = histx_q_open(&q, repo)) < 0 ||
		    (rc = histx_q_verify(q, main_hex, st->office_head, repo->cfg.vault_id_hex, true,
					 &vr)) < 0 ||
		    (rc = histx_q_new_objects(q, main_hex, st->office_head, size_cb, &ids)) < 0) {
			objset_clear(&ids);
			goto done;
		}
		objset_finish(&ids);
		st->events_waiting = vr.events;
		st->objects_waiting = ids.n;
		for (size_t i = 0; i < ids.n; i++) {
			uint64_t size = 0;
			int64_t mt;
			if (repo->objects->ops->stat(repo->objects, ids.id[i], &size, &mt) == 0)
				st->bytes_waiting += size;
			evault_error_clear();
		}
		objset_clear(&ids);
	}
done:
	histx_q_free(q);
	free(h.mid);
	evault_buf_dispose(&p);
	evault_buf_dispose(&t);
	return rc;
}
