/*
 * The dossier's handover to the client (docs/lifecycle.md, "The dossier's
 * handover"; formats in docs/format.md): evault dossier handover writes a
 * directory the client keeps, evault dossier verify checks one.
 *
 * The package, DIR:
 *   files/<path>        each live file of the dossier class, decrypted through
 *                       the verified read path, its recorded mtime
 *   SHA256SUMS          "<64 hex>  files/<path>\n", sorted bytewise by path
 *   statement.txt       what was handed over, by whom, to whom, when
 *   statement.txt.sig   SSHSIG of statement.txt, namespace evault-dossier
 *   allowed_signers     the admin's key, in ssh-keygen's allowed-signers form
 *   README.txt          how to check it, French and English
 *
 * Invariants:
 *  1. Nothing is recorded before the whole package is durable in a sibling
 *     temporary directory (mode 0700); it takes DIR's name only after the
 *     dossier.handover event is recorded. A failure before the event leaves
 *     nothing behind.
 *  2. The same dossier gives the same bytes (files/, SHA256SUMS, README.txt,
 *     allowed_signers); only statement.txt and its signature carry the time.
 *     Modes are what the umask allows, as cp gives: files 0666 and
 *     directories 0777 less the umask (decrypted client documents are no
 *     more readable than the user's own files).
 *  3. The checker treats every byte of a package as hostile: each count and
 *     length is bounded before use, no symbolic link is followed, nothing
 *     but a regular file is opened, and a package passes only if its list,
 *     its files, its statement and its signature all agree. The cheap
 *     checks come first: the statement, its signature and signer, then the
 *     list against the statement, then the files, read no further than the
 *     statement's byte count.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "close.h"
#include "dossier.h"
#include "files.h"
#include "identity.h"
#include "repo.h"
#include "sshkey.h"
#include "util.h"

#define SIG_NS "evault-dossier"
#define HANDOVER_MAGIC "EVHO"
#define STATEMENT_MAX 16384
#define SIG_MAX 8192
#define SIGNERS_MAX (1u << 20)
/* "<64 hex>  files/<path>": a path is at most EVAULT_PATH_MAX bytes */
#define SUMS_LINE_MAX (64 + 2 + 6 + EVAULT_PATH_MAX)
#define WALK_DEPTH_MAX (EVAULT_PATH_MAX / 2 + 1)

/* ---- the handover record ---- */

void handover_rec_clear(handover_rec *r)
{
	free(r->files);
	memset(r, 0, sizeof(*r));
}

static bool lower_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* A decimal without sign or leading zero; false on overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static int rec_line(void *rec, char *line, unsigned *seen)
{
	handover_rec *r = rec;
	uint64_t v;
	char *sp = strchr(line, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	const char *k = line, *val = sp + 1;
	if (strcmp(k, "handover") == 0) {
		if (!parse_u64(val, &v) || v != r->n)
			return -1;
		*seen |= 1;
	} else if (strcmp(k, "by") == 0) {
		if (!user_name_valid(val))
			return -1;
		snprintf(r->by, sizeof(r->by), "%s", val);
		*seen |= 2;
	} else if (strcmp(k, "time") == 0) {
		if (!parse_u64(val, &v) || v == 0 || v > INT64_MAX)
			return -1;
		r->time = (int64_t)v;
		*seen |= 4;
	} else if (strcmp(k, "manifest") == 0 || strcmp(k, "statement") == 0) {
		if (strncmp(val, "sha256 ", 7) != 0 || !lower_hex(val + 7, 64))
			return -1;
		memcpy(k[0] == 'm' ? r->manifest : r->statement, val + 7, 65);
		*seen |= k[0] == 'm' ? 8 : 16;
	} else if (strcmp(k, "file") == 0) {
		char fid[LAYOUT_FID_LEN + 2], sha[66], size[24];
		int used = 0;
		if (sscanf(val, "%33s sha256 %65s size %23s%n", fid, sha, size, &used) != 3 ||
		    val[used] || !lower_hex(fid, LAYOUT_FID_LEN) || !lower_hex(sha, 64) ||
		    !parse_u64(size, &v) || r->nfiles >= HANDOVER_FILES_MAX)
			return -1;
		if ((r->nfiles & (r->nfiles - 1)) == 0) {
			void *p =
			    realloc(r->files, (r->nfiles ? r->nfiles * 2 : 1) * sizeof(*r->files));
			if (!p)
				return -1;
			r->files = p;
		}
		handover_file *f = &r->files[r->nfiles++];
		memcpy(f->fid, fid, LAYOUT_FID_LEN + 1);
		memcpy(f->sha256, sha, 65);
		f->size = v;
	} else {
		return -1;
	}
	return 0;
}

int handover_parse(handover_rec *out, unsigned n, const char *text, size_t len)
{
	unsigned seen = 0;
	memset(out, 0, sizeof(*out));
	out->n = n;
	int rc = text_each_line(text, len, rec_line, out, &seen);
	bool ok = rc == 0 && seen == 31 && out->nfiles > 0;
	for (size_t i = 1; ok && i < out->nfiles; i++)
		ok = strcmp(out->files[i - 1].fid, out->files[i].fid) < 0;
	if (ok) { /* one record, one text */
		evault_buf again = EVAULT_BUF_INIT;
		ok = handover_format(&again, out) == 0 && again.size == len &&
		     memcmp(again.ptr, text, len) == 0;
		evault_buf_dispose(&again);
	}
	if (!ok) {
		handover_rec_clear(out);
		return rc == EVAULT_ERROR
			   ? rc
			   : evault_error_set(EVAULT_ECORRUPT, "handover record %u is damaged", n);
	}
	return 0;
}

int handover_format(evault_buf *out, const handover_rec *r)
{
	int rc = evault_buf_printf(out,
				   "handover %u\nby %s\ntime %lld\nmanifest sha256 %s\n"
				   "statement sha256 %s\n",
				   r->n, r->by, (long long)r->time, r->manifest, r->statement);
	for (size_t i = 0; i < r->nfiles && rc == 0; i++)
		rc = evault_buf_printf(out, "file %s sha256 %s size %llu\n", r->files[i].fid,
				       r->files[i].sha256, (unsigned long long)r->files[i].size);
	return rc;
}

/* UTF-8 (no overlong form, surrogate or code point above U+10FFFF), without
 * C0 or C1 control characters nor DEL. */
bool handover_recipient_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	if (len == 0 || len > EVAULT_RECIPIENT_MAX)
		return false;
	for (size_t i = 0; i < len;) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t j = 1; j < n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

/* ---- the statement ---- */

typedef struct statement {
	char vault[33];
	char mid[EVAULT_MID_MAX + 1];
	unsigned n;
	char by[EVAULT_USER_MAX + 1];
	char to[EVAULT_RECIPIENT_MAX + 1];
	int64_t time;
	char due[MISSION_DATE_LEN + 1]; /* "" none */
	size_t files;
	uint64_t bytes;
	char manifest[65];
	char cert[6 + EVAULT_PATH_MAX + 1]; /* "files/<path>", "" none */
} statement;

static void iso_time(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "?");
}

static int statement_format(evault_buf *out, const statement *s)
{
	char when[32];
	iso_time(when, s->time);
	return evault_buf_printf(
	    out,
	    "evault-dossier-handover 1\n"
	    "vault %s\n"
	    "mission %s\n"
	    "handover %u\n"
	    "handed-by %s\n"
	    "to %s\n"
	    "time %lld (%s)\n"
	    "dossier-due %s\n"
	    "files %zu\n"
	    "bytes %llu\n"
	    "manifest sha256 %s\n"
	    "certificate %s\n"
	    "\n"
	    "FR: %s remet à %s le dossier de la mission %s : les %zu fichiers listés dans "
	    "SHA256SUMS, dont l'empreinte SHA-256 figure ci-dessus.\n"
	    "EN: %s hands over to %s the dossier of mission %s: the %zu files listed in "
	    "SHA256SUMS, whose SHA-256 is given above.\n",
	    s->vault, s->mid, s->n, s->by, s->to, (long long)s->time, when,
	    s->due[0] ? s->due : "none", s->files, (unsigned long long)s->bytes, s->manifest,
	    s->cert[0] ? s->cert : "none", s->by, s->to, s->mid, s->files, s->by, s->to, s->mid,
	    s->files);
}

/* The value of the next line if it starts with key and a space; NULL if not. */
static char *next_value(char **p, const char *key)
{
	char *line = *p, *nl = strchr(line, '\n');
	size_t kl = strlen(key);
	if (!nl)
		return NULL;
	*nl = '\0';
	*p = nl + 1;
	if (strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return NULL;
	return line + kl + 1;
}

/* Exactly what statement_format writes, or EVAULT_ECORRUPT. */
static int statement_parse(statement *s, const char *text, size_t len)
{
	evault_buf copy = EVAULT_BUF_INIT, again = EVAULT_BUF_INIT;
	uint64_t v;
	char *p, *x;
	int rc = EVAULT_ECORRUPT;
	memset(s, 0, sizeof(*s));
	if (memchr(text, '\0', len) || evault_buf_put(&copy, text, len) < 0 ||
	    evault_buf_put(&copy, "", 1) < 0)
		goto done;
	p = copy.ptr;
	if (strncmp(p, "evault-dossier-handover 1\n", 26) != 0)
		goto done;
	p += 26;
	if (!(x = next_value(&p, "vault")) || !lower_hex(x, 32))
		goto done;
	memcpy(s->vault, x, 33);
	if (!(x = next_value(&p, "mission")) || !mission_id_valid(x))
		goto done;
	snprintf(s->mid, sizeof(s->mid), "%s", x);
	if (!(x = next_value(&p, "handover")) || !parse_u64(x, &v) || v == 0 || v > UINT32_MAX)
		goto done;
	s->n = (unsigned)v;
	if (!(x = next_value(&p, "handed-by")) || !user_name_valid(x))
		goto done;
	snprintf(s->by, sizeof(s->by), "%s", x);
	if (!(x = next_value(&p, "to")) || !handover_recipient_valid(x, strlen(x)))
		goto done;
	memcpy(s->to, x, strlen(x) + 1);
	if (!(x = next_value(&p, "time")))
		goto done;
	char *paren = strchr(x, ' ');
	if (!paren)
		goto done;
	*paren = '\0';
	if (!parse_u64(x, &v) || v == 0 || v > INT64_MAX)
		goto done;
	s->time = (int64_t)v;
	if (!(x = next_value(&p, "dossier-due")) ||
	    (strcmp(x, "none") != 0 && !mission_date_valid(x)))
		goto done;
	if (strcmp(x, "none") != 0)
		memcpy(s->due, x, MISSION_DATE_LEN + 1);
	if (!(x = next_value(&p, "files")) || !parse_u64(x, &v) || v > HANDOVER_FILES_MAX)
		goto done;
	s->files = (size_t)v;
	if (!(x = next_value(&p, "bytes")) || !parse_u64(x, &v))
		goto done;
	s->bytes = v;
	if (!(x = next_value(&p, "manifest")) || strncmp(x, "sha256 ", 7) != 0 ||
	    !lower_hex(x + 7, 64))
		goto done;
	memcpy(s->manifest, x + 7, 65);
	if (!(x = next_value(&p, "certificate")))
		goto done;
	if (strcmp(x, "none") != 0) {
		if (strncmp(x, "files/", 6) != 0 || !file_path_valid(x + 6))
			goto done;
		snprintf(s->cert, sizeof(s->cert), "%s", x);
	}
	/* the rest, the sentences included: what these fields give, byte for byte */
	if (statement_format(&again, s) < 0)
		goto done;
	if (again.size == len && memcmp(again.ptr, text, len) == 0)
		rc = 0;
done:
	evault_buf_dispose(&copy);
	evault_buf_dispose(&again);
	if (rc < 0)
		evault_error_set(
		    EVAULT_ECORRUPT,
		    "statement.txt: not a handover statement (evault-dossier-handover 1)");
	return rc;
}

/* ---- the handovers of a mission (mission show) ---- */

typedef struct names_ctx {
	unsigned *n;
	size_t count;
	bool bad;
} names_ctx;

static int handover_name(const char *name, bool is_dir, void *p)
{
	names_ctx *c = p;
	uint64_t v;
	size_t l = strlen(name);
	if (!is_dir && l > 4 && strcmp(name + l - 4, ".enc") == 0)
		return 0;
	if (is_dir || !parse_u64(name, &v) || v == 0 || v > UINT32_MAX) {
		c->bad = true;
		return 0;
	}
	if (c->count >= HANDOVER_FILES_MAX)
		return evault_error_set(EVAULT_ECORRUPT, "too many handovers");
	if ((c->count & (c->count - 1)) == 0) {
		void *q = realloc(c->n, (c->count ? c->count * 2 : 1) * sizeof(*c->n));
		if (!q)
			return error_oom();
		c->n = q;
	}
	c->n[c->count++] = (unsigned)v;
	return 0;
}

static int uint_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

/* The numbers of mission mid's handover records in st, ascending. */
static int handover_numbers(const state *st, const char *mid, unsigned **out, size_t *count)
{
	evault_buf path = EVAULT_BUF_INIT;
	names_ctx c = {NULL, 0, false};
	int rc = evault_buf_printf(&path, "missions/%s/handovers", mid);
	*out = NULL;
	*count = 0;
	if (rc == 0 && state_exists(st, path.ptr))
		rc = state_list(st, path.ptr, handover_name, &c);
	if (rc == 0 && c.bad)
		rc = evault_error_set(EVAULT_ECORRUPT, "missions/%s/handovers holds a stray entry",
				      mid);
	if (rc == 0 && c.count)
		qsort(c.n, c.count, sizeof(*c.n), uint_cmp);
	for (size_t i = 0; rc == 0 && i < c.count; i++)
		if (c.n[i] != i + 1)
			rc = evault_error_set(EVAULT_ECORRUPT,
					      "the handovers of %s are not numbered 1 to %zu", mid,
					      c.count);
	evault_buf_dispose(&path);
	if (rc < 0) {
		free(c.n);
		return rc;
	}
	*out = c.n;
	*count = c.count;
	return 0;
}

static int recipient_open(char **out, const state *st, const class_keys *dk, const char *mid,
			  unsigned n)
{
	evault_buf path = EVAULT_BUF_INIT, enc = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT;
	char ad[32];
	int rc;
	*out = NULL;
	snprintf(ad, sizeof(ad), "handover %u", n);
	if ((rc = evault_buf_printf(&path, "missions/%s/handovers/%u.enc", mid, n)) < 0 ||
	    (rc = state_read(st, path.ptr, &enc)) < 0 ||
	    (rc = blob_open(&plain, dk, OBJ_KIND_RECORD, ad, enc.ptr, enc.size)) < 0)
		goto done;
	reader r;
	size_t tl;
	reader_init(&r, plain.ptr, plain.size);
	const uint8_t *magic = reader_bytes(&r, 4);
	const uint8_t *to = reader_string(&r, &tl);
	if (!magic || memcmp(magic, HANDOVER_MAGIC, 4) != 0 || !to || r.left ||
	    !handover_recipient_valid((const char *)to, tl)) {
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "the recipient of handover %u of %s is damaged", n, mid);
		goto done;
	}
	if (!(*out = malloc(tl + 1))) {
		rc = error_oom();
		goto done;
	}
	memcpy(*out, to, tl);
	(*out)[tl] = '\0';
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&enc);
	evault_buf_dispose(&plain);
	return rc;
}

int handover_list(evault_repo *repo, const state *st, const mission_rec *m,
		  evault_handover_view **out, size_t *n)
{
	unsigned *nums = NULL;
	size_t count = 0;
	class_keys *dk = NULL;
	evault_handover_view *v = NULL;
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	int rc;
	*out = NULL;
	*n = 0;
	if ((rc = handover_numbers(st, m->mid, &nums, &count)) < 0 || count == 0)
		goto done;
	if ((rc = mission_class_keys(repo, m, EVAULT_CLASS_DOSSIER, &dk)) == EVAULT_ENOTFOUND) {
		evault_error_clear();
		rc = 0;
	}
	if (rc < 0)
		goto done;
	if (!(v = calloc(count, sizeof(*v)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < count; i++) {
		handover_rec r;
		path.size = text.size = 0;
		if ((rc = evault_buf_printf(&path, "missions/%s/handovers/%u", m->mid, nums[i])) <
			0 ||
		    (rc = state_read(st, path.ptr, &text)) < 0 ||
		    (rc = handover_parse(&r, nums[i], text.ptr, text.size)) < 0)
			goto done;
		v[i].n = r.n;
		v[i].time = r.time;
		snprintf(v[i].by, sizeof(v[i].by), "%s", r.by);
		v[i].files = r.nfiles;
		handover_rec_clear(&r);
		if (dk && (rc = recipient_open(&v[i].to, st, dk, m->mid, nums[i])) < 0)
			goto done;
	}
	*out = v;
	*n = count;
	v = NULL;
done:
	for (size_t i = 0; v && i < count; i++) {
		if (v[i].to)
			sodium_memzero(v[i].to, strlen(v[i].to));
		free(v[i].to);
	}
	free(v);
	free(nums);
	class_keys_free(dk);
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
	return rc;
}

/* ---- evault dossier handover ---- */

static int path_cmp(const void *a, const void *b)
{
	return strcmp(((const file_entry *)a)->m.path, ((const file_entry *)b)->m.path);
}

static int hfile_cmp(const void *a, const void *b)
{
	return strcmp(((const handover_file *)a)->fid, ((const handover_file *)b)->fid);
}

typedef struct write_ctx {
	int fd;
	crypto_hash_sha256_state sha;
	uint64_t bytes;
	const char *path;
} write_ctx;

static int write_sink(const void *data, size_t len, void *p)
{
	write_ctx *w = p;
	crypto_hash_sha256_update(&w->sha, data, len);
	w->bytes += len;
	if (write_full(w->fd, data, len) < 0)
		return error_errno("cannot write", w->path);
	return 0;
}

/* The parents of files/<path> inside the package (rooted at filesfd), mode
 * 0777 less the umask, as cp makes them. */
static int make_parents(int filesfd, const char *path)
{
	char buf[EVAULT_PATH_MAX + 1];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(filesfd, buf, 0777) < 0 && errno != EEXIST) {
			return error_errno("cannot make the directory", buf);
		}
		*s = '/';
	}
	return 0;
}

/* Writes one dossier file into the package; its SHA-256 (hex) to sha. */
static int write_file(evault_repo *repo, const class_keys *dk, int filesfd, const manifest *m,
		      char sha[65])
{
	write_ctx w;
	uint8_t h[32];
	int rc;
	memset(&w, 0, sizeof(w));
	w.path = m->path;
	if (!file_path_valid(m->path))
		return evault_error_set(EVAULT_ECORRUPT, "a dossier file has a bad path");
	if ((rc = make_parents(filesfd, m->path)) < 0)
		return rc;
	w.fd = openat(filesfd, m->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (w.fd < 0)
		return error_errno("cannot create files/", m->path);
	crypto_hash_sha256_init(&w.sha);
	rc = file_read(repo, dk, m, write_sink, &w);
	crypto_hash_sha256_final(&w.sha, h);
	if (rc == 0 && w.bytes != m->size)
		rc = evault_error_set(EVAULT_ECORRUPT, "dossier file %s: %llu bytes read of %llu",
				      m->path, (unsigned long long)w.bytes,
				      (unsigned long long)m->size);
	struct timespec ts[2] = {{m->mtime, (long)m->mtime_nsec}, {m->mtime, (long)m->mtime_nsec}};
	if (rc == 0 && (futimens(w.fd, ts) < 0 || fsync(w.fd) < 0))
		rc = error_errno("cannot write files/", m->path);
	if (close(w.fd) < 0 && rc == 0)
		rc = error_errno("cannot write files/", m->path);
	hex_encode(sha, h, sizeof(h));
	sodium_memzero(&w, sizeof(w)); /* it held the tail of a plaintext block */
	return rc;
}

static int write_small(int dirfd, const char *name, const void *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	int rc = 0;
	if (fd < 0)
		return error_errno("cannot create", name);
	if (write_full(fd, data, len) < 0 || fsync(fd) < 0)
		rc = error_errno("cannot write", name);
	if (close(fd) < 0 && rc == 0)
		rc = error_errno("cannot write", name);
	return rc;
}

static int readme(evault_buf *out, const char *mid)
{
	return evault_buf_printf(
	    out,
	    "Dossier de la mission %s / Dossier of mission %s\n"
	    "\n"
	    "FRANÇAIS\n"
	    "\n"
	    "Ce répertoire contient le dossier des ouvrages exécutés de la mission %s,\n"
	    "remis par l'entreprise :\n"
	    "  files/             les fichiers du dossier ;\n"
	    "  SHA256SUMS         l'empreinte SHA-256 de chacun ;\n"
	    "  statement.txt      la déclaration de remise : qui, à qui, quand, combien,\n"
	    "                     et l'empreinte de SHA256SUMS ;\n"
	    "  statement.txt.sig  la signature de la déclaration (SSH, espace evault-dossier) ;\n"
	    "  allowed_signers    la clé publique de la personne qui remet le dossier.\n"
	    "\n"
	    "Comparez la clé de allowed_signers avec celle que l'entreprise publie : la\n"
	    "signature ne prouve quelque chose que si la clé est bien la sienne.\n"
	    "\n"
	    "Vérifier, avec les outils standard (coreutils, OpenSSH 8.1 ou plus) :\n"
	    "  cd CE_REPERTOIRE\n"
	    "  sha256sum -c SHA256SUMS\n"
	    "  sha256sum SHA256SUMS      (égal à la ligne \"manifest sha256\" de statement.txt)\n"
	    "  ssh-keygen -Y verify -f allowed_signers -I NOM -n evault-dossier \\\n"
	    "      -s statement.txt.sig < statement.txt\n"
	    "où NOM est le nom de la ligne \"handed-by\" de statement.txt. Aucun autre fichier\n"
	    "que ceux de SHA256SUMS ne doit se trouver sous files/.\n"
	    "Ou, avec evault : evault dossier verify CE_REPERTOIRE [--signers FICHIER]\n"
	    "Sans --signers, evault prend la clé dans allowed_signers, celui du dossier :\n"
	    "il le dit (\"from the package itself\") et ne prouve alors que l'intégrité du\n"
	    "dossier ; avec --signers FICHIER (les clés que l'entreprise publie), il prouve\n"
	    "aussi qui l'a remis.\n"
	    "\n"
	    "ENGLISH\n"
	    "\n"
	    "This directory holds the as-built dossier of mission %s, handed over by the\n"
	    "company:\n"
	    "  files/             the dossier's files;\n"
	    "  SHA256SUMS         the SHA-256 of each;\n"
	    "  statement.txt      the handover statement: by whom, to whom, when, how many,\n"
	    "                     and the SHA-256 of SHA256SUMS;\n"
	    "  statement.txt.sig  the statement's signature (SSH, namespace evault-dossier);\n"
	    "  allowed_signers    the public key of the person who handed it over.\n"
	    "\n"
	    "Compare the key in allowed_signers with the one the company publishes: the\n"
	    "signature proves something only if the key is theirs.\n"
	    "\n"
	    "To check it with stock tools (coreutils, OpenSSH 8.1 or later):\n"
	    "  cd THIS_DIRECTORY\n"
	    "  sha256sum -c SHA256SUMS\n"
	    "  sha256sum SHA256SUMS      (equal to the \"manifest sha256\" line of statement.txt)\n"
	    "  ssh-keygen -Y verify -f allowed_signers -I NAME -n evault-dossier \\\n"
	    "      -s statement.txt.sig < statement.txt\n"
	    "where NAME is the name on the \"handed-by\" line of statement.txt. No file but\n"
	    "those of SHA256SUMS may be under files/.\n"
	    "Or, with evault: evault dossier verify THIS_DIRECTORY [--signers FILE]\n"
	    "Without --signers, evault takes the key from allowed_signers, the package's\n"
	    "own: it says so (\"from the package itself\") and then proves only that the\n"
	    "package is whole; with --signers FILE (the keys the company publishes) it\n"
	    "also proves who handed it over.\n",
	    mid, mid, mid, mid);
}

static void sha_hex(char out[65], const void *data, size_t len)
{
	uint8_t h[32];
	crypto_hash_sha256(h, data, len);
	hex_encode(out, h, sizeof(h));
}

/* dir: absent, or an empty directory (not a symbolic link). */
static int check_target(const char *dir)
{
	struct stat sb;
	if (lstat(dir, &sb) < 0)
		return errno == ENOENT ? 0 : error_errno("cannot look at", dir);
	if (!S_ISDIR(sb.st_mode))
		return evault_error_set(EVAULT_EEXISTS, "%s exists and is not a directory", dir);
	DIR *d = opendir(dir);
	if (!d)
		return error_errno("cannot read", dir);
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty ? 0 : evault_error_set(EVAULT_EEXISTS, "%s exists and is not empty", dir);
}

int evault_dossier_handover(evault_repo *repo, const char *mid, const char *to, const char *dir,
			    evault_handover_result *out)
{
	state *st = NULL;
	mission_rec m;
	close_rec cr;
	class_keys *dk = NULL;
	file_list list = {0};
	handover_file *hf = NULL;
	unsigned *nums = NULL;
	size_t nprev = 0;
	statement s;
	handover_rec rec;
	evault_buf target = EVAULT_BUF_INIT, tmp = EVAULT_BUF_INIT, sums = EVAULT_BUF_INIT,
		   stmt = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT, signers = EVAULT_BUF_INIT,
		   text = EVAULT_BUF_INIT, path = EVAULT_BUF_INIT, plain = EVAULT_BUF_INIT,
		   enc = EVAULT_BUF_INIT, sum = EVAULT_BUF_INIT, tr = EVAULT_BUF_INIT;
	int tmpfd = -1, filesfd = -1, rc;
	struct stat fsb;
	mode_t dirmode = 0700;
	bool made = false, recorded = false;
	memset(&m, 0, sizeof(m));
	memset(&cr, 0, sizeof(cr));
	memset(&s, 0, sizeof(s));
	memset(&rec, 0, sizeof(rec));
	memset(out, 0, sizeof(*out));
	if (!to || !handover_recipient_valid(to, strlen(to)))
		return evault_error_set(EVAULT_EINVAL,
					"--to needs 1 to %d bytes of UTF-8 text without control "
					"characters",
					EVAULT_RECIPIENT_MAX);
	if ((rc = check_mission_id(mid)) < 0 ||
	    (rc = repo_require_admin(repo, "hand over a dossier")) < 0)
		return rc;
	if (repo->replica) /* dated by the office's history: never replayed */
		return evault_error_set(EVAULT_EINVAL,
					"a dossier is handed over at the office, not from a replica");
	/* DIR without its trailing slashes: the temporary directory is its sibling */
	if (!dir || !*dir || (rc = evault_buf_put(&target, dir, strlen(dir))) < 0) {
		rc = rc < 0 ? rc : evault_error_set(EVAULT_EINVAL, "--out needs a directory");
		goto done;
	}
	while (target.size > 1 && target.ptr[target.size - 1] == '/')
		target.size--;
	target.ptr[target.size] = '\0';
	if ((rc = check_target(target.ptr)) < 0 || (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = mission_load_visible(repo, st, mid, &m)) < 0)
		goto done;
	bool closed = strcmp(m.status, "closed") == 0;
	if (!closed && strcmp(m.status, "open") != 0) {
		rc = evault_error_set(EVAULT_EREADONLY,
				      "mission %s is %s: a dossier is handed over from an open or "
				      "closed mission",
				      mid, m.status);
		goto done;
	}
	if ((rc = mission_class_keys(repo, &m, EVAULT_CLASS_DOSSIER, &dk)) < 0 ||
	    (rc = file_scan(&list, repo, st, mid, EVAULT_CLASS_DOSSIER, dk, NULL)) < 0)
		goto done;
	if (list.nbad) {
		rc = evault_error_set(EVAULT_ECORRUPT, "dossier entry %s of %s is damaged (%s)",
				      list.bad[0].fid, mid, list.bad[0].why);
		goto done;
	}
	if (list.n == 0 || list.n > HANDOVER_FILES_MAX) {
		rc = evault_error_set(EVAULT_EREFUSED,
				      list.n ? "the dossier of %s has more than 100000 files"
					     : "the dossier of %s is empty: nothing to hand over",
				      mid);
		goto done;
	}
	if (closed) {
		if ((rc = evault_buf_printf(&path, "missions/%s/CLOSE", mid)) < 0 ||
		    (rc = state_read(st, path.ptr, &text)) < 0 ||
		    (rc = close_parse(&cr, mid, text.ptr, text.size)) < 0)
			goto done;
	}
	qsort(list.e, list.n, sizeof(*list.e), path_cmp);
	for (size_t i = 1; i < list.n; i++)
		if (strcmp(list.e[i - 1].m.path, list.e[i].m.path) == 0) {
			rc = evault_error_set(EVAULT_ECORRUPT, "the dossier of %s names %s twice",
					      mid, list.e[i].m.path);
			goto done;
		}
	/* the package, in a sibling directory no one else can enter */
	if ((rc = evault_buf_printf(&tmp, "%s.tmp-XXXXXX", target.ptr)) < 0)
		goto done;
	if (!mkdtemp(tmp.ptr)) {
		rc = error_errno("cannot make a directory beside", target.ptr);
		goto done;
	}
	made = true;
	if ((tmpfd = open(tmp.ptr, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mkdirat(tmpfd, "files", 0777) < 0 ||
	    (filesfd = openat(tmpfd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
		0 ||
	    fstat(filesfd, &fsb) < 0) {
		rc = error_errno("cannot write", tmp.ptr);
		goto done;
	}
	/* files/ has what the umask allows a new directory (read here, not with
	 * umask(), which would change it for every thread): DIR gets the same */
	dirmode = fsb.st_mode & 07777;
	if (!(hf = calloc(list.n, sizeof(*hf)))) {
		rc = error_oom();
		goto done;
	}
	for (size_t i = 0; i < list.n; i++) {
		const file_entry *e = &list.e[i];
		if ((rc = write_file(repo, dk, filesfd, &e->m, hf[i].sha256)) < 0)
			goto done;
		memcpy(hf[i].fid, e->fid, sizeof(hf[i].fid));
		hf[i].size = e->m.size;
		s.bytes += e->m.size;
		if (closed && strcmp(cr.certificate, e->fid) != 0) {
			/* what close fingerprinted, read back the same (the certificate,
			 * stored after, is not among them) */
			bool same = false;
			for (size_t k = 0; k < cr.nkept; k++)
				if (strcmp(cr.kept[k].fid, e->fid) == 0)
					same = strcmp(cr.kept[k].sha256, hf[i].sha256) == 0 &&
					       cr.kept[k].size == e->m.size;
			if (!same) {
				rc = evault_error_set(
				    EVAULT_ECORRUPT,
				    "dossier file %s of %s is not what the erasure "
				    "record kept",
				    e->m.path, mid);
				goto done;
			}
		}
		if (closed && strcmp(cr.certificate, e->fid) == 0)
			snprintf(s.cert, sizeof(s.cert), "files/%s", e->m.path);
		if ((rc = evault_buf_printf(&sums, "%s  files/%s\n", hf[i].sha256, e->m.path)) < 0)
			goto done;
	}
	if ((rc = handover_numbers(st, mid, &nums, &nprev)) < 0)
		goto done;
	snprintf(s.vault, sizeof(s.vault), "%s", repo->cfg.vault_id_hex);
	snprintf(s.mid, sizeof(s.mid), "%s", mid);
	s.n = (unsigned)nprev + 1;
	snprintf(s.by, sizeof(s.by), "%s", repo->actor);
	snprintf(s.to, sizeof(s.to), "%s", to);
	s.time = (int64_t)time(NULL);
	snprintf(s.due, sizeof(s.due), "%s", m.dossier_due);
	s.files = list.n;
	sha_hex(s.manifest, sums.ptr, sums.size);
	if ((rc = statement_format(&stmt, &s)) < 0 ||
	    (rc = identity_sign(&sig, repo->id, SIG_NS, stmt.ptr, stmt.size)) < 0 ||
	    (rc = evault_buf_put(&sig, "\n", 1)) < 0 ||
	    (rc = evault_buf_printf(&signers, "%s namespaces=\"%s\" ", repo->actor, SIG_NS)) < 0 ||
	    (rc = sshkey_format_public(&signers, identity_public_key(repo->id), NULL)) < 0 ||
	    (rc = evault_buf_put(&signers, "\n", 1)) < 0)
		goto done;
	if ((rc = write_small(tmpfd, "SHA256SUMS", sums.ptr, sums.size)) < 0 ||
	    (rc = write_small(tmpfd, "statement.txt", stmt.ptr, stmt.size)) < 0 ||
	    (rc = write_small(tmpfd, "statement.txt.sig", sig.ptr, sig.size)) < 0 ||
	    (rc = write_small(tmpfd, "allowed_signers", signers.ptr, signers.size)) < 0)
		goto done;
	text.size = 0;
	if ((rc = readme(&text, mid)) < 0 ||
	    (rc = write_small(tmpfd, "README.txt", text.ptr, text.size)) < 0 ||
	    (rc = syncfs_path(tmp.ptr, "the dossier's package")) < 0)
		goto done;
	/* the record: what was handed over, by fid; the recipient under the dossier key */
	rec.n = s.n;
	snprintf(rec.by, sizeof(rec.by), "%s", repo->actor);
	rec.time = s.time;
	memcpy(rec.manifest, s.manifest, 65);
	sha_hex(rec.statement, stmt.ptr, stmt.size);
	qsort(hf, list.n, sizeof(*hf), hfile_cmp);
	rec.files = hf;
	rec.nfiles = list.n;
	char ad[32];
	snprintf(ad, sizeof(ad), "handover %u", rec.n);
	text.size = path.size = 0;
	if ((rc = handover_format(&text, &rec)) < 0 ||
	    (rc = evault_buf_printf(&path, "missions/%s/handovers/%u", mid, rec.n)) < 0 ||
	    (rc = state_put(st, path.ptr, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_put(&plain, HANDOVER_MAGIC, 4)) < 0 ||
	    (rc = buf_put_string(&plain, to, strlen(to))) < 0 ||
	    (rc = blob_seal(&enc, dk, OBJ_KIND_RECORD, ad, plain.ptr, plain.size)) < 0 ||
	    (rc = evault_buf_put(&path, ".enc", 4)) < 0 ||
	    (rc = evault_buf_put(&path, "", 1)) < 0 ||
	    (rc = state_put(st, path.ptr, enc.ptr, enc.size)) < 0 ||
	    (rc = evault_buf_printf(&sum, "Hand over the dossier of %s (%zu file%s)", mid, list.n,
				    list.n == 1 ? "" : "s")) < 0 ||
	    (rc = evault_buf_printf(&tr,
				    "Evault-Handover: %u\nEvault-Handover-Files: %zu\n"
				    "Evault-Handover-Manifest: %s\n",
				    rec.n, list.n, rec.manifest)) < 0)
		goto done;
	evault_failpoint("handover-before-commit");
	state_event ev = {NULL, "dossier.handover", mid, sum.ptr, tr.ptr};
	if ((rc = state_commit(st, &ev)) < 0)
		goto done;
	recorded = true;
	out->n = rec.n;
	out->files = list.n;
	out->bytes = s.bytes;
	if (rename(tmp.ptr, target.ptr) < 0) {
		rc = evault_error_set(EVAULT_ERROR,
				      "handover %u of %s is recorded, but its package could not be "
				      "renamed to %s (%s): it is complete in %s",
				      rec.n, mid, target.ptr, strerror(errno), tmp.ptr);
		goto done;
	}
	if (fchmod(tmpfd, dirmode) < 0 || fsync_parent(target.ptr) < 0)
		rc = error_errno("cannot finish", target.ptr);
done:
	if (filesfd >= 0)
		close(filesfd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (made && !recorded)
		remove_tree(tmp.ptr);
	free(nums);
	free(hf);
	sodium_memzero(s.to, sizeof(s.to));
	sodium_memzero(plain.ptr, plain.size);
	file_list_clear(&list);
	class_keys_free(dk);
	close_rec_clear(&cr);
	mission_rec_clear(&m);
	state_end(st);
	evault_buf *bufs[] = {&target, &tmp,  &sums,  &stmt, &sig, &signers,
			      &text,   &path, &plain, &enc,  &sum, &tr};
	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
		evault_buf_dispose(bufs[i]);
	return rc;
}

/* ---- evault dossier verify ---- */

/* Every failure of the package: one line naming the file and what failed. */
#define BAD(...) evault_error_set(EVAULT_ECORRUPT, __VA_ARGS__)

/* A regular file of the package (no symbolic link followed), at most max bytes. */
static int read_member(evault_buf *out, int dirfd, const char *name, size_t max)
{
	struct stat sb;
	int rc = 0, fd;
	/* never open what is not a regular file: a fifo or a device could block
	 * or act on being opened */
	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? BAD("%s: missing", name)
				       : BAD("%s: cannot be read (%s)", name, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return BAD("%s: not a regular file", name);
	if ((uint64_t)sb.st_size > max)
		return BAD("%s: larger than %zu bytes", name, max);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? BAD("%s: missing", name)
				       : BAD("%s: cannot be read (%s)", name, strerror(errno));
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		rc = BAD("%s: not a regular file", name);
	else if ((uint64_t)sb.st_size > max)
		rc = BAD("%s: larger than %zu bytes", name, max);
	else if ((rc = buf_reserve(out, (size_t)sb.st_size + 1)) == 0) {
		ssize_t n = read_full(fd, out->ptr, (size_t)sb.st_size + 1);
		if (n < 0 || (size_t)n != (size_t)sb.st_size)
			rc = BAD("%s: cannot be read whole", name);
		else
			out->size = (size_t)n;
	}
	close(fd);
	return rc;
}

typedef struct sums_entry {
	char sha[65];
	const char *path; /* inside the copy of SHA256SUMS: after "files/" */
} sums_entry;

static int sums_cmp(const void *a, const void *b)
{
	return strcmp(((const sums_entry *)a)->path, ((const sums_entry *)b)->path);
}

/* SHA256SUMS as handover writes it; entries point into text (changed: NULs). */
static int sums_parse(sums_entry **out, size_t *count, char *text, size_t len)
{
	sums_entry *e = NULL;
	size_t n = 0, line = 0;
	*out = NULL;
	*count = 0;
	if (len == 0 || memchr(text, '\0', len) || text[len - 1] != '\n')
		return BAD("SHA256SUMS: empty, or not lines of text");
	for (char *p = text, *end = text + len; p < end; line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)(nl - p);
		*nl = '\0';
		if (n >= HANDOVER_FILES_MAX) {
			free(e);
			return BAD("SHA256SUMS: more than %d lines", HANDOVER_FILES_MAX);
		}
		if (ll > SUMS_LINE_MAX || ll < 64 + 2 + 7 || strspn(p, "0123456789abcdef") != 64 ||
		    strncmp(p + 64, "  files/", 8) != 0 || !file_path_valid(p + 72)) {
			free(e);
			return BAD("SHA256SUMS: line %zu is not \"<sha256>  files/<path>\" with a "
				   "safe relative path",
				   line + 1);
		}
		if ((n & (n - 1)) == 0) {
			void *q = realloc(e, (n ? n * 2 : 1) * sizeof(*e));
			if (!q) {
				free(e);
				return error_oom();
			}
			e = q;
		}
		memcpy(e[n].sha, p, 64);
		e[n].sha[64] = '\0';
		e[n].path = p + 72;
		if (n && strcmp(e[n - 1].path, e[n].path) >= 0) {
			free(e);
			return BAD("SHA256SUMS: line %zu is out of order or repeats a path",
				   line + 1);
		}
		n++;
		p = nl + 1;
	}
	*out = e;
	*count = n;
	return 0;
}

/* Opens files/<path> under filesfd without following any symbolic link. */
static int open_listed(int filesfd, const char *path, int *fdout)
{
	char buf[EVAULT_PATH_MAX + 1];
	int dfd = dup(filesfd), fd;
	*fdout = -1;
	if (dfd < 0)
		return error_errno("cannot read", "files");
	snprintf(buf, sizeof(buf), "%s", path);
	char *part = buf;
	for (char *s; (s = strchr(part, '/')); part = s + 1) {
		*s = '\0';
		fd = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		if (fd < 0)
			return BAD("files/%s: missing, or a parent is not a directory", path);
		dfd = fd;
	}
	struct stat sb;
	if (fstatat(dfd, part, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode)) {
		close(dfd);
		return BAD("files/%s: missing or not a regular file", path);
	}
	fd = openat(dfd, part, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return BAD("files/%s: missing or not a regular file", path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return BAD("files/%s: not a regular file", path);
	}
	*fdout = fd;
	return 0;
}

/* Hashes fd, adding what it reads to *bytes; refuses as soon as *bytes would
 * pass max (the statement's total), before hashing a byte too many. */
static int hash_fd(int fd, char sha[65], uint64_t *bytes, uint64_t max, const char *path)
{
	crypto_hash_sha256_state st;
	uint8_t buf[65536], h[32];
	ssize_t n;
	struct stat sb;
	if (fstat(fd, &sb) < 0 || (uint64_t)sb.st_size > max - *bytes)
		return BAD("files/%s: more bytes than statement.txt says the files hold", path);
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return BAD("files/%s: cannot be read (%s)", path, strerror(errno));
		}
		if ((uint64_t)n > max - *bytes)
			return BAD("files/%s: more bytes than statement.txt says the files hold",
				   path);
		crypto_hash_sha256_update(&st, buf, (size_t)n);
		*bytes += (uint64_t)n;
	}
	crypto_hash_sha256_final(&st, h);
	hex_encode(sha, h, sizeof(h));
	return 0;
}

typedef struct walk_ctx {
	const sums_entry *e;
	size_t n;
	size_t found;
	char path[EVAULT_PATH_MAX + 2];
} walk_ctx;

/* Every entry under files/ is a directory or a listed regular file. */
static int walk_files(walk_ctx *w, int dfd, size_t plen, int depth)
{
	int rc = 0;
	if (depth > WALK_DEPTH_MAX)
		return BAD("files/%s: too deep", w->path);
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return BAD("files/%s: cannot be read", w->path);
	}
	struct dirent *de;
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		size_t nl = strlen(name);
		if (plen + nl + 1 > EVAULT_PATH_MAX) {
			rc = BAD("files/%.*s%s: a path longer than any listed", (int)plen, w->path,
				 name);
			break;
		}
		memcpy(w->path + plen, name, nl + 1);
		struct stat sb;
		if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = BAD("files/%s: cannot be read", w->path);
		} else if (S_ISDIR(sb.st_mode)) {
			int sub =
			    openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				rc = BAD("files/%s: cannot be read", w->path);
			else {
				w->path[plen + nl] = '/';
				w->path[plen + nl + 1] = '\0';
				rc = walk_files(w, sub, plen + nl + 1, depth + 1);
			}
		} else if (!S_ISREG(sb.st_mode)) {
			rc = BAD("files/%s: not a regular file, and not in SHA256SUMS", w->path);
		} else {
			sums_entry key = {{0}, w->path};
			if (!bsearch(&key, w->e, w->n, sizeof(*w->e), sums_cmp))
				rc = BAD("files/%s: not in SHA256SUMS", w->path);
			else
				w->found++;
		}
		w->path[plen] = '\0';
	}
	if (rc == 0 && errno)
		rc = BAD("files/%s: cannot be read", w->path);
	closedir(d);
	return rc;
}

/* ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (ssh-keygen(1), ALLOWED SIGNERS): UTC
 * with the Z, local time without it, as ssh-keygen reads it. */
static bool signer_time(const char *s, size_t len, int64_t *out)
{
	struct tm tm;
	bool utc = len && s[len - 1] == 'Z';
	char d[15] = "00000000000000";
	if (utc)
		len--;
	if ((len != 8 && len != 12 && len != 14) || strspn(s, "0123456789") < len)
		return false;
	memcpy(d, s, len);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year =
	    (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0') - 1900;
	tm.tm_mon = (d[4] - '0') * 10 + (d[5] - '0') - 1;
	tm.tm_mday = (d[6] - '0') * 10 + (d[7] - '0');
	tm.tm_hour = (d[8] - '0') * 10 + (d[9] - '0');
	tm.tm_min = (d[10] - '0') * 10 + (d[11] - '0');
	tm.tm_sec = (d[12] - '0') * 10 + (d[13] - '0');
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_isdst = -1;
	time_t t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return false;
	*out = (int64_t)t;
	return true;
}

/* A quoted option value at *p ("..."), NUL-terminated in place; NULL if the
 * quote does not close. */
static char *quoted(char **p)
{
	char *v = *p + 1, *q;
	if (**p != '"' || !(q = strchr(v, '"')))
		return NULL;
	*q = '\0';
	*p = q + 1;
	return v;
}

/* The options of one allowed-signers line, as ssh-keygen reads them. */
typedef struct signer_opts {
	bool ca;
	bool has_ns, ns_ok;
	int64_t after, before; /* 0: none */
} signer_opts;

/* Parses opts (a comma-separated list); false on an unknown or bad option,
 * which makes the line unusable. */
static bool signer_options(signer_opts *o, char *opts)
{
	memset(o, 0, sizeof(*o));
	for (char *p = opts; *p;) {
		char *v;
		if (strncasecmp(p, "cert-authority", 14) == 0 && (p[14] == ',' || !p[14])) {
			o->ca = true;
			p += 14;
		} else if (strncasecmp(p, "namespaces=", 11) == 0) {
			p += 11;
			if (!(v = quoted(&p)))
				return false;
			o->has_ns = true;
			for (char *n = v, *c; n && !o->ns_ok; n = c ? c + 1 : NULL) {
				if ((c = strchr(n, ',')))
					*c = '\0';
				o->ns_ok = strcmp(n, SIG_NS) == 0;
			}
		} else if (strncasecmp(p, "valid-after=", 12) == 0 ||
			   strncasecmp(p, "valid-before=", 13) == 0) {
			bool after = (p[6] | 0x20) == 'a';
			p += after ? 12 : 13;
			if (!(v = quoted(&p)) ||
			    !signer_time(v, strlen(v), after ? &o->after : &o->before))
				return false;
		} else {
			return false;
		}
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return false;
	}
	return true;
}

int dossier_signer_key(uint8_t pk[SSH_ED25519_PK_LEN], char *text, const char *name,
		       const uint8_t signer[SSH_ED25519_PK_LEN], int64_t when, const char **why)
{
	bool found = false;
	*why = "no line names that signer with that key";
	for (char *line = text, *next; line && *line && !found; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		char *sp = strpbrk(line, " \t");
		if (!sp)
			continue;
		*sp = '\0';
		char *rest = sp + 1;
		/* principals: a comma-separated list */
		bool named = false;
		for (char *p = line, *c; p && !named; p = c ? c + 1 : NULL) {
			if ((c = strchr(p, ',')))
				*c = '\0';
			named = strcmp(p, name) == 0;
		}
		if (!named)
			continue;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		signer_opts o;
		memset(&o, 0, sizeof(o));
		/* options (a quoted value may hold blanks), then the key */
		if (strncmp(rest, "ssh-", 4) != 0) {
			char *opts = rest, *k = rest;
			bool inq = false;
			for (; *k && (inq || (*k != ' ' && *k != '\t')); k++)
				if (*k == '"')
					inq = !inq;
			if (!*k)
				continue;
			*k = '\0';
			rest = k + 1;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if (!signer_options(&o, opts)) {
				*why = "a line for that signer has an option ssh-keygen does not "
				       "know, "
				       "or a bad one";
				continue;
			}
		}
		if (sshkey_parse_public(pk, rest) < 0) {
			evault_error_clear();
			continue;
		}
		if (sodium_memcmp(pk, signer, SSH_ED25519_PK_LEN) != 0)
			continue;
		if (o.ca)
			*why = "the line for that key is a cert-authority, not a signer's key";
		else if (o.has_ns && !o.ns_ok)
			*why = "the line for that key does not allow namespace " SIG_NS;
		else if (o.after && when < o.after)
			*why = "the key was not yet valid at the statement's time (valid-after)";
		else if (o.before && when > o.before)
			*why = "the key had expired at the statement's time (valid-before)";
		else
			found = true;
	}
	return found ? 0 : -1;
}

int evault_dossier_verify(const char *dir, const char *signers_path, evault_dossier_check *out)
{
	evault_buf sums = EVAULT_BUF_INIT, stmt = EVAULT_BUF_INIT, sig = EVAULT_BUF_INIT,
		   signers = EVAULT_BUF_INIT;
	sums_entry *e = NULL;
	size_t n = 0;
	statement s;
	int dfd = -1, filesfd = -1, rc;
	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return evault_error_set(errno == ENOENT ? EVAULT_ENOTFOUND : EVAULT_ERROR,
					"cannot open %s: %s", dir, strerror(errno));
	if (signers_path && (rc = file_read_all(&signers, signers_path, SIGNERS_MAX)) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", evault_error_last());
		rc = evault_error_set(EVAULT_EINVAL, "--signers: %s", why);
		goto done;
	}
	/* the cheap checks first: the statement, its signature and its signer,
	 * small files, before any byte of the list or the files is read */
	uint8_t signer[SSH_ED25519_PK_LEN], pk[SSH_ED25519_PK_LEN];
	if ((rc = read_member(&stmt, dfd, "statement.txt", STATEMENT_MAX)) < 0 ||
	    (rc = statement_parse(&s, stmt.ptr, stmt.size)) < 0 ||
	    (rc = read_member(&sig, dfd, "statement.txt.sig", SIG_MAX)) < 0)
		goto done;
	size_t sl = sig.size;
	while (sl && (sig.ptr[sl - 1] == '\n' || sig.ptr[sl - 1] == '\r'))
		sl--;
	if (sshsig_verify(signer, sig.ptr, sl, SIG_NS, stmt.ptr, stmt.size) < 0) {
		rc = evault_error_set(EVAULT_EAUTH,
				      "statement.txt.sig: the signature does not verify over "
				      "statement.txt (namespace %s): %s",
				      SIG_NS, evault_error_last());
		goto done;
	}
	if (!signers_path && (rc = read_member(&signers, dfd, "allowed_signers", SIGNERS_MAX)) < 0)
		goto done;
	if ((rc = evault_buf_put(&signers, "", 1)) < 0)
		goto done;
	const char *why;
	if (dossier_signer_key(pk, signers.ptr, s.by, signer, s.time, &why) < 0) {
		rc = evault_error_set(EVAULT_EAUTH,
				      "statement.txt.sig: not signed by a key %s lists for %s "
				      "(namespace %s): %s",
				      signers_path ? signers_path : "allowed_signers", s.by, SIG_NS,
				      why);
		goto done;
	}
	/* the list: the statement's manifest, its count */
	char list_sha[65];
	uint64_t bytes = 0;
	if ((rc = read_member(&sums, dfd, "SHA256SUMS", s.files * (SUMS_LINE_MAX + 1))) < 0)
		goto done;
	sha_hex(list_sha, sums.ptr, sums.size);
	if (strcmp(s.manifest, list_sha) != 0) {
		rc = BAD("statement.txt: its manifest sha256 is not the SHA-256 of SHA256SUMS");
		goto done;
	}
	if ((rc = sums_parse(&e, &n, sums.ptr, sums.size)) < 0)
		goto done;
	if (s.files != n) {
		rc = BAD("statement.txt: says %zu files where SHA256SUMS lists %zu", s.files, n);
		goto done;
	}
	if (s.cert[0]) {
		sums_entry key = {{0}, s.cert + 6};
		if (!bsearch(&key, e, n, sizeof(*e), sums_cmp)) {
			rc = BAD("statement.txt: its certificate %s is not in SHA256SUMS", s.cert);
			goto done;
		}
	}
	/* the files: each listed one hashed, no more bytes than the statement says */
	if ((filesfd = openat(dfd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = BAD("files: missing or not a directory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		int fd;
		char sha[65];
		if ((rc = open_listed(filesfd, e[i].path, &fd)) < 0)
			goto done;
		rc = hash_fd(fd, sha, &bytes, s.bytes, e[i].path);
		close(fd);
		if (rc < 0)
			goto done;
		if (strcmp(sha, e[i].sha) != 0) {
			rc =
			    BAD("files/%s: its SHA-256 is not the one SHA256SUMS lists", e[i].path);
			goto done;
		}
	}
	if (s.bytes != bytes) {
		rc = BAD("statement.txt: says %llu bytes where the files hold %llu",
			 (unsigned long long)s.bytes, (unsigned long long)bytes);
		goto done;
	}
	walk_ctx w = {e, n, 0, ""};
	int wfd = dup(filesfd);
	if (wfd < 0) {
		rc = error_errno("cannot read", "files");
		goto done;
	}
	if ((rc = walk_files(&w, wfd, 0, 0)) < 0)
		goto done;
	if (w.found != n) {
		rc = BAD("files: %zu files where SHA256SUMS lists %zu", w.found, n);
		goto done;
	}
	snprintf(out->mid, sizeof(out->mid), "%s", s.mid);
	snprintf(out->by, sizeof(out->by), "%s", s.by);
	snprintf(out->to, sizeof(out->to), "%s", s.to);
	sshkey_fingerprint(out->key, pk);
	out->own_signers = !signers_path;
	out->time = s.time;
	out->handover = s.n;
	out->files = n;
	out->bytes = bytes;
	rc = 0;
done:
	if (filesfd >= 0)
		close(filesfd);
	if (dfd >= 0)
		close(dfd);
	free(e);
	evault_buf_dispose(&sums);
	evault_buf_dispose(&stmt);
	evault_buf_dispose(&sig);
	evault_buf_dispose(&signers);
	return rc;
}

/* ---- the package's decoders, for the fuzz targets ---- */

int dossier_statement_check(const char *text, size_t len, size_t *files)
{
	statement s;
	int rc = statement_parse(&s, text, len);
	*files = rc == 0 ? s.files : 0;
	return rc;
}

int dossier_sums_check(char *text, size_t len, size_t *n)
{
	sums_entry *e = NULL;
	int rc = sums_parse(&e, n, text, len);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if (!file_path_valid(e[i].path) || strlen(e[i].sha) != 64 ||
		    (i && strcmp(e[i - 1].path, e[i].path) >= 0))
			rc =
			    evault_error_set(EVAULT_ERROR, "SHA256SUMS: an entry passed unchecked");
	free(e);
	return rc;
}
