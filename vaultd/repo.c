/*
 * The repository handle (docs/format.md): opening a repository, making the
 * directories and history of a new one (init.c writes its first state),
 * the acting user's name and role once user.c has bound an identity. A
 * repository is usable once evault.conf exists: init writes it last, so an
 * interrupted init leaves a directory that open refuses rather than a
 * half-made vault.
 */
#include <stdio.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "pipeline.h"
#include "repo.h"
#include "state.h"
#include "util.h"

#define CONF_MAX 4096

int evault_global_init(void)
{
	static int done;
	if (done)
		return 0;
	if (sodium_init() < 0)
		return evault_error_set(EVAULT_ERROR, "libsodium failed to initialise");
	if (state_global_init() < 0)
		return EVAULT_ERROR;
	done = 1;
	return 0;
}

void evault_global_shutdown(void)
{
	state_global_shutdown();
}

static int dir_empty_or_absent(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return error_errno("cannot use", path);
	}
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			rc = evault_error_set(EVAULT_EEXISTS, "%s exists and is not empty", path);
			break;
		}
	closedir(d);
	return rc;
}

static int open_parts(evault_repo *repo)
{
	evault_buf p = EVAULT_BUF_INIT;
	int rc;
	if ((rc = evault_buf_printf(&p, "%s/audit.git", repo->path)) < 0 ||
	    (rc = state_db_open(&repo->db, p.ptr)) < 0 ||
	    (rc = backend_open(&repo->objects, repo->path, &repo->cfg)) < 0 ||
	    (rc = keystore_local_open(&repo->keys, repo->path)) < 0)
		goto done;
	p.size = 0;
	if ((rc = evault_buf_printf(&p, "%s/remote", repo->path)) < 0)
		goto done;
	repo->replica = access(p.ptr, F_OK) == 0;
done:
	evault_buf_dispose(&p);
	return rc;
}

static int probe_one(const uint8_t id[OBJECT_ID_LEN], void *payload)
{
	(void)id, (void)payload;
	return 1; /* one is enough */
}

static evault_repo *repo_alloc(const char *path)
{
	evault_repo *repo = calloc(1, sizeof(*repo));
	if (!repo || !(repo->path = strdup(path))) {
		free(repo);
		error_oom();
		return NULL;
	}
	size_t n = strlen(repo->path);
	while (n > 1 && repo->path[n - 1] == '/')
		repo->path[--n] = '\0';
	repo->nworkers = pipeline_default_workers();
	return repo;
}

int repo_create(evault_repo **out, const char *path, const evault_init_opts *opts)
{
	evault_repo *repo = NULL;
	evault_buf p = EVAULT_BUF_INIT;
	int rc;
	static const char *const dirs[] = {"objects", "keys", "keys/missions", "tmp"};

	*out = NULL;
	if ((rc = dir_empty_or_absent(path)) < 0)
		return rc;
	if (!(repo = repo_alloc(path)))
		return EVAULT_ERROR;
	config_defaults(&repo->cfg);
	if (opts && opts->chunk_size) {
		if (opts->chunk_size < EVAULT_CHUNK_MIN || opts->chunk_size > EVAULT_CHUNK_MAX) {
			rc = evault_error_set(EVAULT_EINVAL,
					      "chunk size must be between %u and %u bytes",
					      EVAULT_CHUNK_MIN, EVAULT_CHUNK_MAX);
			goto done;
		}
		repo->cfg.chunk_size = opts->chunk_size;
	}
	if (opts && opts->zstd_level) {
		if (opts->zstd_level < 1 || opts->zstd_level > 19) {
			rc = evault_error_set(EVAULT_EINVAL, "zstd level must be between 1 and 19");
			goto done;
		}
		repo->cfg.zstd_level = opts->zstd_level;
	}
	if (opts && opts->server_settings &&
	    (rc = config_apply_local(&repo->cfg, opts->server_settings)) < 0)
		goto done;
	if (strcmp(repo->cfg.objects, "local") != 0) {
		/* the pool reachable and the vault's namespace empty, before anything is made */
		backend *probe = NULL;
		if ((rc = backend_open(&probe, repo->path, &repo->cfg)) == 0)
			rc = probe->ops->list(probe, probe_one, NULL);
		if (rc == 1)
			rc = evault_error_set(EVAULT_EEXISTS,
					      "%s already holds objects of this vault id", repo->cfg.objects);
		if (probe)
			probe->ops->free(probe);
		if (rc < 0)
			goto done;
	}
	if ((rc = mkdir_p(repo->path, 0700)) < 0)
		goto done;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		p.size = 0;
		if ((rc = evault_buf_printf(&p, "%s/%s", repo->path, dirs[i])) < 0 ||
		    (rc = mkdir_p(p.ptr, 0700)) < 0)
			goto done;
	}
	p.size = 0;
	if ((rc = evault_buf_printf(&p, "%s/audit.git", repo->path)) < 0 ||
	    (rc = state_db_create(p.ptr)) < 0 || (rc = open_parts(repo)) < 0)
		goto done;
	*out = repo;
	repo = NULL;
done:
	evault_repo_free(repo);
	evault_buf_dispose(&p);
	return rc;
}

int evault_repo_open(evault_repo **out, const char *path)
{
	evault_repo *repo = NULL;
	evault_buf p = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	state *st = NULL;
	config recorded;
	int rc;

	*out = NULL;
	if ((rc = evault_global_init()) < 0)
		return rc;
	if (!(repo = repo_alloc(path)))
		return EVAULT_ERROR;
	if ((rc = evault_buf_printf(&p, "%s/evault.conf", repo->path)) < 0)
		goto done;
	if ((rc = file_read_all(&text, p.ptr, CONF_MAX)) < 0) {
		if (rc == EVAULT_ENOTFOUND)
			evault_error_set(rc, "%s is not an evault repository (no evault.conf)",
					 path);
		goto done;
	}
	if ((rc = config_parse(&repo->cfg, text.ptr, text.size)) < 0 || (rc = open_parts(repo)) < 0)
		goto done;
	/* The settings in force are those the signed root recorded. */
	if ((rc = state_begin(&st, repo, false)) < 0)
		goto done;
	text.size = 0;
	if (state_is_empty(st) || state_read(st, "VAULT", &text) < 0 ||
	    config_parse(&recorded, text.ptr, text.size) < 0) {
		rc = evault_error_set(EVAULT_ECORRUPT, "%s: the history has no valid VAULT record",
				      path);
		goto done;
	}
	if (memcmp(recorded.vault_id, repo->cfg.vault_id, sizeof(recorded.vault_id)) != 0 ||
	    recorded.chunk_size != repo->cfg.chunk_size) {
		rc = evault_error_set(EVAULT_ECORRUPT,
				      "%s: evault.conf does not match the vault's history", path);
		goto done;
	}
	*out = repo;
	repo = NULL;
done:
	state_end(st);
	evault_repo_free(repo);
	evault_buf_dispose(&p);
	evault_buf_dispose(&text);
	return rc;
}

/* Is evault.conf still naming the store this handle opened? (state.c, under the lock) */
int repo_objects_unchanged(evault_repo *repo)
{
	evault_buf p = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	config now;
	int rc = evault_buf_printf(&p, "%s/evault.conf", repo->path);
	if (rc == 0 && (rc = file_read_all(&text, p.ptr, 4096)) == 0 &&
	    config_parse(&now, text.ptr, text.size) == 0 &&
	    strcmp(now.objects, repo->cfg.objects) != 0)
		rc = evault_error_set(EVAULT_ELOCKED,
				      "the vault's objects moved to %s while this command ran (evault "
				      "objects migrate): nothing was recorded; run it again",
				      now.objects);
	if (rc == EVAULT_ENOTFOUND) /* being made (init, clone): nothing moved */
		rc = 0, evault_error_clear();
	evault_buf_dispose(&p);
	evault_buf_dispose(&text);
	return rc < 0 ? rc : 0;
}

int repo_require_actor(evault_repo *repo)
{
	if (!repo->have_actor || !repo->id)
		return evault_error_set(EVAULT_EDENIED, "no identity given for this operation");
	return 0;
}

int repo_require_admin(evault_repo *repo, const char *what)
{
	int rc = repo_require_actor(repo);
	if (rc == 0 && repo->role != EVAULT_ROLE_ADMIN)
		rc = evault_error_set(EVAULT_EDENIED, "only an admin can %s", what);
	return rc;
}

const char *evault_repo_actor(const evault_repo *repo)
{
	return repo->have_actor ? repo->actor : NULL;
}

evault_role evault_repo_actor_role(const evault_repo *repo)
{
	return repo->role;
}

const char *evault_repo_vault_id(const evault_repo *repo)
{
	return repo->cfg.vault_id_hex;
}

const char *evault_repo_objects(const evault_repo *repo)
{
	return repo->cfg.objects;
}

uint32_t evault_repo_chunk_size(const evault_repo *repo)
{
	return repo->cfg.chunk_size;
}

void evault_repo_set_workers(evault_repo *repo, size_t n)
{
	repo->nworkers = n ? (n > 64 ? 64 : n) : pipeline_default_workers();
}

void evault_repo_free(evault_repo *repo)
{
	if (!repo)
		return;
	trust_save(repo);
	free(repo->trust_file);
	state_db_free(repo->db);
	if (repo->objects)
		repo->objects->ops->free(repo->objects);
	if (repo->keys)
		repo->keys->ops->free(repo->keys);
	free(repo->path);
	free(repo);
}

/* ---- the trusted head (trust.h): kept on the handle, saved when it is freed ---- */

static int trust_write(evault_repo *repo)
{
	evault_buf text = EVAULT_BUF_INIT;
	char where[PATH_MAX];
	if (!realpath(repo->path, where))
		snprintf(where, sizeof(where), "%s", repo->path);
	int rc = evault_buf_printf(&text, TRUST_MAGIC "vault %s\nhead %s\nrepository %s\n",
				   repo->cfg.vault_id_hex, repo->trusted, where);
	if (rc == 0)
		rc = file_write_atomic(repo->trust_file, text.ptr, text.size, 0600);
	evault_buf_dispose(&text);
	if (rc == 0)
		repo->trust_dirty = false;
	return rc;
}

void trust_save(evault_repo *repo)
{
	if (repo->trust_file && repo->trust_dirty && repo->trusted[0] && trust_write(repo) < 0)
		evault_error_clear(); /* the next open verifies those commits again */
}

void trust_made(evault_repo *repo, const char *head_hex)
{
	if (!repo->trust_file)
		return;
	snprintf(repo->trusted, sizeof(repo->trusted), "%s", head_hex);
	repo->trust_dirty = true;
}
