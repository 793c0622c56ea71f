/*
 * Creating a vault (docs/format.md): repo_create makes the directories and the
 * empty history; here the signed root commit records the vault's settings
 * (VAULT), its policy (POLICY) and its first admin, then evault.conf is
 * written, last, which makes the repository usable.
 */
#include <stdio.h>
#include <string.h>

#include "identity.h"
#include "policy.h"
#include "repo.h"
#include "state.h"
#include "user.h"
#include "util.h"

int evault_repo_init(evault_repo **out, const char *path, const evault_init_opts *opts,
		     evault_identity *admin, const char *admin_name)
{
	evault_repo *repo = NULL;
	evault_buf p = EVAULT_BUF_INIT, conf = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT,
		   tr = EVAULT_BUF_INIT;
	state *st = NULL;
	user_rec u;
	int rc;

	*out = NULL;
	if ((rc = evault_global_init()) < 0 || (rc = check_user_name(admin_name)) < 0)
		return rc;
	if (!evault_identity_unlocked(admin))
		return evault_error_set(EVAULT_EAUTH, "the admin identity must be unlocked");
	/* an existing directory: its owner's account makes the vault (util.h) */
	if ((rc = check_repo_owner(path)) < 0 || (rc = repo_create(&repo, path, opts)) < 0)
		return rc;

	/* Root commit: the vault's settings and its first admin. */
	repo->id = admin;
	snprintf(repo->actor, sizeof(repo->actor), "%s", admin_name);
	repo->role = EVAULT_ROLE_ADMIN;
	repo->have_actor = true;
	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", admin_name);
	u.role = EVAULT_ROLE_ADMIN;
	snprintf(u.status, sizeof(u.status), "active");
	memcpy(u.pk, identity_public_key(admin), sizeof(u.pk));
	if ((rc = sshkey_format_public(&text, u.pk, admin_name)) < 0)
		goto done;
	snprintf(u.key_line, sizeof(u.key_line), "%s", text.ptr);
	text.size = 0;
	policy pol;
	policy_defaults(&pol);
	if ((rc = config_format(&conf, &repo->cfg)) < 0 ||
	    (rc = state_begin(&st, repo, true)) < 0 ||
	    (rc = state_put(st, "VAULT", conf.ptr, conf.size)) < 0 ||
	    (rc = policy_format(&text, &pol)) < 0 ||
	    (rc = state_put(st, POLICY_PATH, text.ptr, text.size)) < 0)
		goto done;
	text.size = 0;
	if ((rc = user_format(&text, &u)) < 0)
		goto done;
	char upath[64];
	snprintf(upath, sizeof(upath), "users/%s", admin_name);
	if ((rc = state_put(st, upath, text.ptr, text.size)) < 0 ||
	    (rc = evault_buf_printf(&tr, "Evault-Vault: %s\nEvault-User: %s\nEvault-Role: admin\n",
				    repo->cfg.vault_id_hex, admin_name)) < 0)
		goto done;
	state_event ev = {admin_name, "vault.init", NULL, "Create vault", tr.ptr};
	if ((rc = state_commit(st, &ev)) < 0)
		goto done;
	p.size = 0;
	/* evault.conf: the recorded settings, then this server's own */
	if ((rc = evault_buf_printf(&p, "%s/evault.conf", repo->path)) < 0 ||
	    (rc = config_format_local(&conf, &repo->cfg)) < 0 ||
	    (rc = file_write_atomic(p.ptr, conf.ptr, conf.size, 0644)) < 0)
		goto done;
	*out = repo;
	repo = NULL;
done:
	state_end(st);
	evault_repo_free(repo);
	evault_buf_dispose(&p);
	evault_buf_dispose(&conf);
	evault_buf_dispose(&text);
	evault_buf_dispose(&tr);
	return rc;
}
