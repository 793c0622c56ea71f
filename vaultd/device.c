/*
 * Device records (device.h, docs/format.md "Devices"). Every record is
 * canonical: parsed, it formats back to exactly the bytes read, or it is
 * damaged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "util.h"

#define CONTACT_MAGIC "evault-contact 1\n"

bool device_name_valid(const char *name)
{
	return user_name_valid(name);
}

bool device_reason_valid(const char *reason)
{
	return strcmp(reason, "closed") == 0 || strcmp(reason, "revoked") == 0 ||
	       strcmp(reason, "device-revoked") == 0;
}

const char *device_erasure_due(const device_rec *d, const mission_rec *m, const user_rec *u)
{
	if (d->revoked)
		return "device-revoked";
	if (strcmp(m->status, "open") != 0)
		return "closed";
	if (!u || strcmp(u->status, "active") != 0 ||
	    (u->role != EVAULT_ROLE_ADMIN && !mission_is_member(m, u->name) &&
	     !mission_is_auditor(m, u->name)))
		return "revoked";
	return NULL;
}

static int parse_i64(int64_t *out, const char *s)
{
	char *end;
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* text is exactly what the record formats to */
static bool canonical(int (*fmt)(evault_buf *, const void *), const void *rec, const char *text,
		      size_t len)
{
	evault_buf b = EVAULT_BUF_INIT;
	bool ok = fmt(&b, rec) == 0 && b.size == len && memcmp(b.ptr, text, len) == 0;
	evault_buf_dispose(&b);
	return ok;
}

int device_format(evault_buf *out, const device_rec *d)
{
	int rc = evault_buf_printf(out, "device %s\nuser %s\nstatus %s\n", d->name, d->user,
				   d->revoked ? "revoked" : "active");
	if (rc == 0 && d->revoked)
		rc = evault_buf_printf(out, "revoked-by %s\nrevoked %lld\n", d->revoked_by,
				       (long long)d->revoked_at);
	return rc;
}

static int device_fmt(evault_buf *out, const void *d)
{
	return device_format(out, d);
}

int device_parse(device_rec *out, const char *name, const char *text, size_t len)
{
	char n[DEVICE_NAME_MAX + 2], status[16], t[32];
	memset(out, 0, sizeof(*out));
	if (len > 4096 || !device_name_valid(name) || text_get(n, sizeof(n), text, len, "device") < 0 ||
	    strcmp(n, name) != 0 || text_get(out->user, sizeof(out->user), text, len, "user") < 0 ||
	    !user_name_valid(out->user) ||
	    text_get(status, sizeof(status), text, len, "status") < 0)
		goto bad;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->revoked = strcmp(status, "revoked") == 0;
	if ((!out->revoked && strcmp(status, "active") != 0) ||
	    (out->revoked &&
	     (text_get(out->revoked_by, sizeof(out->revoked_by), text, len, "revoked-by") < 0 ||
	      !user_name_valid(out->revoked_by) ||
	      text_get(t, sizeof(t), text, len, "revoked") < 0 ||
	      parse_i64(&out->revoked_at, t) < 0)) ||
	    !canonical(device_fmt, out, text, len))
		goto bad;
	return 0;
bad:
	evault_error_clear();
	return evault_error_set(EVAULT_ECORRUPT, "the record of device %.40s is damaged", name);
}

int device_load(const state *st, const char *name, device_rec *out)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!device_name_valid(name))
		return evault_error_set(EVAULT_ENOTFOUND, "no such device: %.40s", name);
	if ((rc = evault_buf_printf(&path, "devices/%s", name)) == 0 &&
	    (rc = state_read(st, path.ptr, &text)) == 0)
		rc = device_parse(out, name, text.ptr, text.size);
	else if (rc == EVAULT_ENOTFOUND)
		evault_error_set(rc, "no such device: %s", name);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

typedef struct each_ctx {
	const state *st;
	const char *mid;
	device_each_cb dcb;
	hold_each_cb hcb;
	void *payload;
} each_ctx;

static int device_entry(const char *name, bool is_dir, void *p)
{
	each_ctx *c = p;
	device_rec d;
	if (is_dir)
		return evault_error_set(EVAULT_ECORRUPT, "unexpected directory devices/%.40s", name);
	int rc = device_load(c->st, name, &d);
	return rc < 0 ? rc : c->dcb(&d, c->payload);
}

int devices_each(const state *st, device_each_cb cb, void *payload)
{
	each_ctx c = {.st = st, .dcb = cb, .payload = payload};
	return state_list(st, "devices", device_entry, &c);
}

int hold_format(evault_buf *out, const device_hold *h)
{
	int rc = evault_buf_printf(out, "device %s\nuser %s\nstatus %s\nheld %lld\n", h->name,
				   h->user, h->erased ? "erased" : "held", (long long)h->held);
	if (rc == 0 && h->erased)
		rc = evault_buf_printf(out, "erased %lld\nreason %s\ndropped %llu\n",
				       (long long)h->erased_at, h->reason,
				       (unsigned long long)h->dropped);
	return rc;
}

static int hold_fmt(evault_buf *out, const void *h)
{
	return hold_format(out, h);
}

int hold_parse(device_hold *out, const char *name, const char *text, size_t len)
{
	char n[DEVICE_NAME_MAX + 2], status[16], t[32], dropped[32];
	memset(out, 0, sizeof(*out));
	if (len > 4096 || !device_name_valid(name) || text_get(n, sizeof(n), text, len, "device") < 0 ||
	    strcmp(n, name) != 0 || text_get(out->user, sizeof(out->user), text, len, "user") < 0 ||
	    !user_name_valid(out->user) ||
	    text_get(status, sizeof(status), text, len, "status") < 0 ||
	    text_get(t, sizeof(t), text, len, "held") < 0 || parse_i64(&out->held, t) < 0)
		goto bad;
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->erased = strcmp(status, "erased") == 0;
	if (!out->erased && strcmp(status, "held") != 0)
		goto bad;
	if (out->erased) {
		int64_t d;
		if (text_get(t, sizeof(t), text, len, "erased") < 0 ||
		    parse_i64(&out->erased_at, t) < 0 ||
		    text_get(out->reason, sizeof(out->reason), text, len, "reason") < 0 ||
		    !device_reason_valid(out->reason) ||
		    text_get(dropped, sizeof(dropped), text, len, "dropped") < 0 ||
		    parse_i64(&d, dropped) < 0)
			goto bad;
		out->dropped = (uint64_t)d;
	}
	if (!canonical(hold_fmt, out, text, len))
		goto bad;
	return 0;
bad:
	evault_error_clear();
	return evault_error_set(EVAULT_ECORRUPT, "the device entry %.40s of a mission is damaged",
				name);
}

int hold_path(evault_buf *out, const char *mid, const char *name)
{
	out->size = 0;
	return evault_buf_printf(out, "missions/%s/devices/%s", mid, name);
}

int hold_load(const state *st, const char *mid, const char *name, device_hold *out)
{
	evault_buf text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!device_name_valid(name) || !mission_id_valid(mid))
		return evault_error_set(EVAULT_ENOTFOUND, "no such device: %.40s", name);
	if ((rc = hold_path(&path, mid, name)) == 0 && (rc = state_read(st, path.ptr, &text)) == 0)
		rc = hold_parse(out, name, text.ptr, text.size);
	else if (rc == EVAULT_ENOTFOUND)
		evault_error_set(rc, "device %s never held %s", name, mid);
	evault_buf_dispose(&text);
	evault_buf_dispose(&path);
	return rc;
}

static int hold_entry(const char *name, bool is_dir, void *p)
{
	each_ctx *c = p;
	device_hold h;
	if (is_dir)
		return evault_error_set(EVAULT_ECORRUPT, "unexpected directory in missions/%s/devices",
					c->mid);
	int rc = hold_load(c->st, c->mid, name, &h);
	return rc < 0 ? rc : c->hcb(&h, c->payload);
}

int holds_each(const state *st, const char *mid, hold_each_cb cb, void *payload)
{
	each_ctx c = {.st = st, .mid = mid, .hcb = cb, .payload = payload};
	evault_buf path = EVAULT_BUF_INIT;
	int rc = evault_buf_printf(&path, "missions/%s/devices", mid);
	if (rc == 0)
		rc = state_list(st, path.ptr, hold_entry, &c);
	evault_buf_dispose(&path);
	return rc;
}

/* ---- the office's contacts ---- */

static int contact_path(evault_buf *out, const char *repo_path, const char *name)
{
	if (!device_name_valid(name))
		return evault_error_set(EVAULT_EINVAL, "not a device name: %.40s", name);
	return evault_buf_printf(out, "%s/contacts/%s", repo_path, name);
}

int contact_read(const char *repo_path, const char *name, device_contact *out)
{
	evault_buf p = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	char v[64];
	int64_t seq = 0;
	memset(out, 0, sizeof(*out));
	int rc = contact_path(&p, repo_path, name);
	if (rc == 0)
		rc = file_read_all(&t, p.ptr, 4096);
	if (rc == 0 &&
	    (t.size < strlen(CONTACT_MAGIC) ||
	     memcmp(t.ptr, CONTACT_MAGIC, strlen(CONTACT_MAGIC)) != 0 ||
	     text_get(v, sizeof(v), t.ptr, t.size, "first") < 0 || parse_i64(&out->first, v) < 0 ||
	     text_get(v, sizeof(v), t.ptr, t.size, "last") < 0 || parse_i64(&out->last, v) < 0 ||
	     text_get(v, sizeof(v), t.ptr, t.size, "seq") < 0 || parse_i64(&seq, v) < 0 ||
	     text_get(out->head, sizeof(out->head), t.ptr, t.size, "head") < 0 ||
	     (strcmp(out->head, "-") != 0 && (strlen(out->head) != 40 || !is_hex(out->head, 40))))) {
		evault_error_clear();
		rc = evault_error_set(EVAULT_ECORRUPT, "%s is damaged", p.ptr);
	}
	if (rc == 0 && strcmp(out->head, "-") == 0)
		out->head[0] = '\0';
	out->seq = (uint64_t)seq;
	evault_buf_dispose(&p);
	evault_buf_dispose(&t);
	return rc;
}

int contact_note(const char *repo_path, const char *name, const char *head, uint64_t seq)
{
	device_contact c;
	evault_buf p = EVAULT_BUF_INIT, d = EVAULT_BUF_INIT, t = EVAULT_BUF_INIT;
	int64_t now = (int64_t)time(NULL);
	int rc = contact_read(repo_path, name, &c);
	if (rc < 0) { /* new, or damaged: start again */
		evault_error_clear();
		memset(&c, 0, sizeof(c));
		c.first = now;
	}
	c.last = now;
	if (head) {
		snprintf(c.head, sizeof(c.head), "%s", head);
		c.seq = seq;
	}
	if ((rc = evault_buf_printf(&d, "%s/contacts", repo_path)) == 0 &&
	    (rc = mkdir_p(d.ptr, 0700)) == 0 && (rc = contact_path(&p, repo_path, name)) == 0 &&
	    (rc = evault_buf_printf(&t, "%sfirst %lld\nlast %lld\nhead %s\nseq %llu\n",
				    CONTACT_MAGIC, (long long)c.first, (long long)c.last,
				    c.head[0] ? c.head : "-", (unsigned long long)c.seq)) == 0)
		rc = file_write_atomic(p.ptr, t.ptr, t.size, 0600);
	evault_buf_dispose(&p);
	evault_buf_dispose(&d);
	evault_buf_dispose(&t);
	return rc;
}
