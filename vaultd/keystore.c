/*
 * Local key store: one file per sealed key under REPO/keys/. Files are
 * created mode 0600 by atomic rename; destroy overwrites the bytes before
 * unlinking (which does not guarantee erasure on flash: see
 * docs/threat-model.md).
 */
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "keystore.h"
#include "names.h"
#include "util.h"

#define KEY_MAGIC "EVK1"
#define KEY_FILE_MAX 1024

typedef struct local_keystore {
	keystore base;
	char *root; /* REPO/keys/missions */
} local_keystore;

static int entry_dir(evault_buf *out, local_keystore *ks, const char *mid, evault_class cls)
{
	if (!mission_id_valid(mid))
		return evault_error_set(EVAULT_EINVAL, "invalid mission id");
	out->size = 0;
	return evault_buf_printf(out, "%s/%s/%s", ks->root, mid, evault_class_name(cls));
}

static int entry_path(evault_buf *out, local_keystore *ks, const char *mid, evault_class cls,
		      const char *user)
{
	int rc = entry_dir(out, ks, mid, cls);
	if (rc < 0)
		return rc;
	if (!user_name_valid(user))
		return evault_error_set(EVAULT_EINVAL, "invalid user name");
	return evault_buf_printf(out, "/%s.sealed", user);
}

static int local_put(keystore *base, const char *mid, evault_class cls, const char *user,
		     const uint8_t *sealed, size_t len)
{
	local_keystore *ks = (local_keystore *)base;
	evault_buf path = EVAULT_BUF_INIT, data = EVAULT_BUF_INIT;
	int rc;
	if ((rc = entry_dir(&path, ks, mid, cls)) < 0 || (rc = mkdir_p(path.ptr, 0700)) < 0 ||
	    (rc = entry_path(&path, ks, mid, cls, user)) < 0)
		goto done;
	if ((rc = evault_buf_put(&data, KEY_MAGIC, 4)) < 0 ||
	    (rc = evault_buf_put(&data, sealed, len)) < 0)
		goto done;
	rc = file_write_atomic(path.ptr, data.ptr, data.size, 0600);
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&data);
	return rc;
}

static int local_get(keystore *base, const char *mid, evault_class cls, const char *user,
		     evault_buf *out)
{
	local_keystore *ks = (local_keystore *)base;
	evault_buf path = EVAULT_BUF_INIT, data = EVAULT_BUF_INIT;
	int rc;
	if ((rc = entry_path(&path, ks, mid, cls, user)) < 0)
		goto done;
	if ((rc = file_read_all(&data, path.ptr, KEY_FILE_MAX)) < 0) {
		if (rc == EVAULT_ENOTFOUND)
			evault_error_set(rc, "no key");
		goto done;
	}
	if (data.size < 4 || memcmp(data.ptr, KEY_MAGIC, 4) != 0) {
		rc = evault_error_set(EVAULT_ECORRUPT, "key file %s is damaged", path.ptr);
		goto done;
	}
	rc = evault_buf_put(out, data.ptr + 4, data.size - 4);
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&data);
	return rc;
}

/* "<user>.sealed", or "<user>.sealed.tmp-<8 hex>" left by an interrupted write. */
static bool entry_user(const char *name, char user[EVAULT_USER_MAX + 1])
{
	const char *dot = strstr(name, ".sealed");
	size_t ul = dot ? (size_t)(dot - name) : 0;
	const char *rest = dot ? dot + 7 : NULL;
	if (!dot || ul == 0 || ul > EVAULT_USER_MAX ||
	    (*rest && !(strncmp(rest, ".tmp-", 5) == 0 && strlen(rest) == 13)))
		return false;
	memcpy(user, name, ul);
	user[ul] = '\0';
	return user_name_valid(user);
}

/* A user's copy, and any a write interrupted earlier left beside it. */
static int local_destroy(keystore *base, const char *mid, evault_class cls, const char *user)
{
	local_keystore *ks = (local_keystore *)base;
	evault_buf path = EVAULT_BUF_INIT, dir = EVAULT_BUF_INIT;
	int rc = entry_path(&path, ks, mid, cls, user);
	if (rc == 0)
		rc = file_shred(path.ptr);
	DIR *d = NULL;
	if (rc == 0 && (rc = entry_dir(&dir, ks, mid, cls)) == 0 && (d = opendir(dir.ptr))) {
		struct dirent *e;
		char who[EVAULT_USER_MAX + 1];
		while (rc == 0 && (e = readdir(d)))
			if (strstr(e->d_name, ".tmp-") && entry_user(e->d_name, who) &&
			    strcmp(who, user) == 0) {
				path.size = 0;
				if ((rc = evault_buf_printf(&path, "%s/%s", dir.ptr, e->d_name)) == 0)
					rc = file_shred(path.ptr);
			}
		closedir(d);
	}
	evault_buf_dispose(&path);
	evault_buf_dispose(&dir);
	return rc;
}

static int local_list(keystore *base, const char *mid, evault_class cls, keystore_list_cb cb,
		      void *payload)
{
	local_keystore *ks = (local_keystore *)base;
	evault_buf path = EVAULT_BUF_INIT;
	int rc = entry_dir(&path, ks, mid, cls);
	DIR *d = NULL;
	if (rc < 0)
		goto done;
	if (!(d = opendir(path.ptr))) {
		rc = errno == ENOENT ? 0 : error_errno("cannot list", path.ptr);
		goto done;
	}
	struct dirent *e;
	/* a copy an interrupted write left is a copy too: close destroys it,
	 * verify counts it (a user may be reported twice) */
	while ((e = readdir(d))) {
		char user[EVAULT_USER_MAX + 1];
		if (!entry_user(e->d_name, user))
			continue;
		if ((rc = cb(user, payload)) != 0)
			break;
	}
done:
	if (d)
		closedir(d);
	evault_buf_dispose(&path);
	return rc;
}

static void local_free(keystore *base)
{
	local_keystore *ks = (local_keystore *)base;
	if (!ks)
		return;
	free(ks->root);
	free(ks);
}

static const struct keystore_ops local_ops = {
    .put = local_put,
    .get = local_get,
    .destroy = local_destroy,
    .list = local_list,
    .free = local_free,
};

int keystore_local_open(keystore **out, const char *repo_path)
{
	evault_buf root = EVAULT_BUF_INIT;
	local_keystore *ks = calloc(1, sizeof(*ks));
	int rc;
	*out = NULL;
	if (!ks)
		return error_oom();
	if ((rc = evault_buf_printf(&root, "%s/keys/missions", repo_path)) < 0) {
		free(ks);
		return rc;
	}
	ks->base.ops = &local_ops;
	ks->root = root.ptr;
	*out = &ks->base;
	return 0;
}
