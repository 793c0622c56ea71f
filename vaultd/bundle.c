/*
 * Export bundles (evault/audit.h, docs/auditing.md): audit export writes a
 * directory an auditor verifies without any key or repository (the whole
 * history as a git bundle, the allowed signers, a README, a mission's
 * events), and audit verify of such a bundle reads its pack as hostile
 * input (packscan.h) before replaying it with the verifier (verify.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include "evault/log.h"
#include "mission.h"
#include "packscan.h"
#include "repo.h"
#include "state.h"
#include "util.h"
#include "verify.h"

#define BUNDLE_HEADER "# v2 git bundle\n"

int bundle_verify_then(const char *path, const evault_verify_opts *opts, evault_verify_result *res,
		       bundle_use_fn use, void *payload)
{
	evault_verify_opts defaults = EVAULT_VERIFY_OPTS_INIT;
	evault_buf file = EVAULT_BUF_INIT;
	git_repository *git = NULL;
	git_odb *odb = NULL;
	git_odb_writepack *wp = NULL;
	git_reference *ref = NULL;
	char tmp[4096];
	bool made = false;
	struct stat sb;
	int rc = 0, fd = -1;
	enum { PIECE = 65536 };
	char *tmp_piece = NULL;
	memset(res, 0, sizeof(*res));
	if (!opts)
		opts = &defaults;
	if (opts->objects)
		return evault_error_set(EVAULT_EINVAL,
					"a bundle holds no objects: --objects needs a "
					"repository");
	if (!(tmp_piece = malloc(PIECE)))
		return error_oom();
	if ((rc = evault_global_init()) < 0)
		return rc;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		rc = evault_buf_printf(&file, "%s/history.bundle", path);
	else
		rc = evault_buf_printf(&file, "%s", path);
	if (rc < 0)
		goto done;
	if ((fd = open(file.ptr, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) < 0) {
		rc = error_errno("cannot read", file.ptr);
		goto done;
	}
	/* header: "# v2 git bundle", "<id> refs/heads/main", "<id> HEAD", blank line */
	size_t hl = strlen(BUNDLE_HEADER);
	char hdr[256];
	git_oid head, other;
	ssize_t hn = read_full(fd, hdr, hl + 104);
	if (hn != (ssize_t)(hl + 104) || memcmp(hdr, BUNDLE_HEADER, hl) != 0 ||
	    git_oid_fromstrn(&head, hdr + hl, 40) < 0 ||
	    strncmp(hdr + hl + 40, " refs/heads/main\n", 17) != 0 ||
	    git_oid_fromstrn(&other, hdr + hl + 57, 40) < 0 ||
	    strncmp(hdr + hl + 97, " HEAD\n\n", 7) != 0 || !git_oid_equal(&head, &other)) {
		rc = evault_error_set(EVAULT_ECORRUPT, "%s is not an evault history bundle",
				      file.ptr);
		goto done;
	}
	/* The pack is untrusted: bounded before anything expands it. An object
	 * (or a delta's result) of at most 256 MiB, and all of them together at
	 * most 1 GiB plus 256 times the pack's own size. */
	uint64_t pack_len = (uint64_t)sb.st_size - (hl + 104);
	packscan_limits lim = {256u << 20, ((uint64_t)1 << 30) + 256 * pack_len, 1000};
	packscan_stats ps;
	if ((rc = packscan_fd(fd, &lim, &ps)) < 0) {
		char why[400];
		snprintf(why, sizeof(why), "%s", evault_error_last());
		rc = evault_error_set(rc, "%s: %s", file.ptr, why);
		goto done;
	}
	if (lseek(fd, (off_t)(hl + 104), SEEK_SET) < 0) {
		rc = error_errno("cannot read", file.ptr);
		goto done;
	}
	git_libgit2_opts(GIT_OPT_SET_PACK_MAX_OBJECTS, (size_t)ps.objects);
	const char *tmpdir = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/evault-bundle-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(tmp)) {
		rc = error_errno("cannot create a directory in", tmpdir ? tmpdir : "/tmp");
		goto done;
	}
	made = true;
	git_transfer_progress stats;
	memset(&stats, 0, sizeof(stats));
	if (git_repository_init(&git, tmp, 1) < 0 || git_repository_odb(&odb, git) < 0 ||
	    git_odb_write_pack(&wp, odb, NULL, NULL) < 0) {
		rc = verify_git_fail("cannot index the bundle");
		goto done;
	}
	/* streamed in pieces, as from a network, never read whole */
	for (;;) {
		ssize_t n = read(fd, tmp_piece, PIECE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = error_errno("cannot read", file.ptr);
			goto done;
		}
		if (n == 0)
			break;
		if (wp->append(wp, tmp_piece, (size_t)n, &stats) < 0) {
			rc = verify_git_fail("the bundle's pack is unreadable");
			goto done;
		}
	}
	if (wp->commit(wp, &stats) < 0) {
		rc = verify_git_fail("the bundle's pack is unreadable");
		goto done;
	}
	if (git_reference_create(&ref, git, MAIN_REF, &head, 1, NULL) < 0) {
		rc = verify_git_fail("the bundle's head is not in its pack");
		goto done;
	}
	rc = verify_git(git, NULL, opts, res);
	if (rc == 0 && res->ok && use)
		rc = use(git, &head, payload);
done:
	if (wp)
		wp->free(wp);
	git_reference_free(ref);
	git_odb_free(odb);
	git_repository_free(git);
	if (made)
		remove_tree(tmp); /* a temporary copy of public history */
	if (fd >= 0)
		close(fd);
	free(tmp_piece);
	evault_buf_dispose(&file);
	return rc;
}

int evault_audit_verify_bundle(const char *path, const evault_verify_opts *opts,
			       evault_verify_result *res)
{
	return bundle_verify_then(path, opts, res, NULL, NULL);
}

static int write_bundle(git_repository *git, const char *path)
{
	git_packbuilder *pb = NULL;
	git_revwalk *walk = NULL;
	git_buf pack = GIT_BUF_INIT_CONST(NULL, 0);
	evault_buf out = EVAULT_BUF_INIT;
	git_oid head;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = 0;
	if (git_reference_name_to_id(&head, git, MAIN_REF) < 0 ||
	    git_packbuilder_new(&pb, git) < 0 || git_revwalk_new(&walk, git) < 0 ||
	    git_revwalk_push(walk, &head) < 0 || git_packbuilder_insert_walk(pb, walk) < 0 ||
	    git_packbuilder_write_buf(&pack, pb) < 0) {
		rc = verify_git_fail("cannot pack the history");
		goto done;
	}
	git_oid_tostr(hex, sizeof(hex), &head);
	if ((rc = evault_buf_printf(&out, "%s%s refs/heads/main\n%s HEAD\n\n", BUNDLE_HEADER, hex,
				    hex)) < 0 ||
	    (rc = evault_buf_put(&out, pack.ptr, pack.size)) < 0)
		goto done;
	rc = file_write_new(path, out.ptr, out.size, 0644);
done:
	git_buf_dispose(&pack);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	evault_buf_dispose(&out);
	return rc;
}

static const char export_readme[] =
    "evault audit export\n"
    "===================\n\n"
    "history.bundle    the vault's whole signed history (a git bundle)\n"
    "allowed_signers   every user's public key, for git and ssh-keygen\n"
    "mission-log.txt   (with --mission) the events of one mission\n\n"
    "Verify with evault, without any key or repository:\n\n"
    "    evault audit verify DIR [--checkpoint CHECKPOINT]\n\n"
    "The year's trust indicators, counted from this verified history:\n\n"
    "    evault report indicators --year YYYY DIR\n\n"
    "Verify with stock git and OpenSSH only:\n\n"
    "    git clone --bare DIR/history.bundle vault.git\n"
    "    git -C vault.git -c gpg.format=ssh \\\n"
    "        -c gpg.ssh.allowedSignersFile=\"$PWD/DIR/allowed_signers\" \\\n"
    "        log --show-signature\n\n"
    "Stock git proves each commit was signed by a key in allowed_signers and\n"
    "that the chain of commits is intact. Only 'evault audit verify' also\n"
    "proves that each signer held that key and a role allowing the action at\n"
    "that point, and that each event changed the state only as its action\n"
    "allows. Take allowed_signers from the company, not only from this\n"
    "directory, and keep a signed checkpoint to detect a rewritten history.\n"
    "Client data is encrypted in the history; mission ids are references.\n";

typedef struct mission_log_ctx {
	evault_buf *out;
	const char *mission;
} mission_log_ctx;

static int mission_log_line(const state_commit_info *ci, void *p)
{
	mission_log_ctx *c = p;
	char mid[80], seq[32], actor[64], action[64], when[32];
	if (trailer_get(mid, sizeof(mid), ci->message, "Evault-Mission") < 0 ||
	    strcmp(mid, c->mission) != 0)
		return 0;
	trailer_get(seq, sizeof(seq), ci->message, "Evault-Seq");
	trailer_get(actor, sizeof(actor), ci->message, "Evault-Actor");
	trailer_get(action, sizeof(action), ci->message, "Evault-Action");
	time_t t = (time_t)ci->time;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return evault_buf_printf(c->out, "%s %s %s %s %s\n", seq, when, ci->id_hex, actor, action);
}

/* Does the head's state name a mission whose trees are not here (a replica
 * of missions its user holds no key for: held or not, a mission is so for
 * the whole history)? */
static bool lacks_missions(git_repository *git)
{
	git_object *o = NULL;
	git_tree *missions = NULL;
	bool lacks = false;
	if (git_revparse_single(&o, git, MAIN_REF ":missions") == 0 &&
	    git_object_peel((git_object **)&missions, o, GIT_OBJECT_TREE) == 0)
		for (size_t i = 0; !lacks && i < git_tree_entrycount(missions); i++)
			lacks = tree_absent(git, git_tree_entry_byindex(missions, i));
	git_tree_free(missions);
	git_object_free(o);
	return lacks;
}

int evault_audit_export(evault_repo *repo, const char *dir, const char *mission)
{
	evault_buf path = EVAULT_BUF_INIT, text = EVAULT_BUF_INIT;
	int rc;
	if (mission && (rc = check_mission_id(mission)) < 0)
		return rc;
	if (mission && !audit_reader_sees(repo, mission))
		return mission_hidden(mission);
	if (repo->replica && lacks_missions(state_db_git(repo->db)))
		return evault_error_set(
		    EVAULT_EINVAL, "this replica's history lacks the missions it does not hold: "
				   "export the whole history from the office");
	if (mkdir(dir, 0755) < 0) {
		if (errno == EEXIST)
			return evault_error_set(EVAULT_EEXISTS, "%s already exists", dir);
		return error_errno("cannot create", dir);
	}
	if ((rc = evault_buf_printf(&path, "%s/history.bundle", dir)) < 0 ||
	    (rc = write_bundle(state_db_git(repo->db), path.ptr)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_audit_allowed_signers(repo, &text)) < 0 ||
	    (rc = evault_buf_printf(&path, "%s/allowed_signers", dir)) < 0 ||
	    (rc = file_write_new(path.ptr, text.ptr, text.size, 0644)) < 0)
		goto done;
	path.size = 0;
	if ((rc = evault_buf_printf(&path, "%s/README.txt", dir)) < 0 ||
	    (rc = file_write_new(path.ptr, export_readme, strlen(export_readme), 0644)) < 0)
		goto done;
	if (mission) {
		text.size = 0;
		mission_log_ctx c = {&text, mission};
		path.size = 0;
		if ((rc = evault_buf_printf(&text,
					    "# events of mission %s, newest first: seq time "
					    "commit actor action\n",
					    mission)) < 0 ||
		    (rc = state_walk(repo, mission_log_line, &c)) < 0 ||
		    (rc = evault_buf_printf(&path, "%s/mission-log.txt", dir)) < 0 ||
		    (rc = file_write_new(path.ptr, text.ptr, text.size, 0644)) < 0)
			goto done;
	}
done:
	evault_buf_dispose(&path);
	evault_buf_dispose(&text);
	return rc;
}
