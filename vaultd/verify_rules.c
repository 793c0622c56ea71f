/*
 * The check of one commit against its parent (verify.h), and the table of
 * actions that says what each event may do. Invariants checked for every
 * commit C with parent P (root: no P):
 *  1. C has at most one parent; only the root has none (verify_walk.c).
 *  2. Evault-Seq(C) = Evault-Seq(P) + 1; the root's is 0.
 *  3. time(C) >= time(P) - TIME_TOLERANCE, and time(C) <= now + TIME_TOLERANCE
 *     (no event is dated after the verification); an Evault-Replayed time
 *     (a replica's event, first recorded then) is at most time(C) + TIME_TOLERANCE.
 *  4. C carries an SSHSIG (namespace git) in its gpgsig header, equal to
 *     what git_commit_extract_signature finds, made by the key that the
 *     actor had in P's state (the root: in its own state).
 *  5. The actor is an active user in P whose role allows the action.
 *  6. The tree of C differs from P's exactly as the action allows.
 *
 * 5 and 6 come from the table: an action's entry names who may record it,
 * what it touches (the state, or its mission's directory) and its rule,
 * one function; the prologue verify_commit runs before every rule gathers
 * what they all read (verify_event) and frees it after. A new action is
 * one entry and one function. An action the table does not know breaks
 * invariant 6.
 *
 * On a replica (v->partial) the trees of a mission its user holds no key
 * for stayed at the office: for an event of such a mission, 1-5 are
 * checked as for any event, and of 6 only the event's scope (check_scope).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <sodium.h>

#include "config.h"
#include "verify.h"

/* ---- rules of the vault and its users ---- */

/* user.add: users/<name> added with the role the event names, active. */
static int rule_user_add(verify_event *ev)
{
	verifier *v = ev->v;
	char user[64], role[32];
	delta d;
	git_tree *pu = NULL, *cu = NULL;
	user_rec u;
	int r = only_top(v, &ev->top, "users");
	if (r)
		return r;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    trailer_get(role, sizeof(role), v->message, "Evault-Role") < 0)
		return verify_bad(v, "user.add without Evault-User and Evault-Role");
	pu = change_tree(v->git, ev->top.c[0].old);
	cu = change_tree(v->git, ev->top.c[0].new);
	tree_delta(&d, pu, cu);
	if (!cu || d.more || d.n != 1 || d.c[0].old || !is_blob(d.c[0].new) ||
	    strcmp(git_tree_entry_name(d.c[0].new), user) != 0)
		r = verify_bad(v, "user.add must add exactly users/%s and change nothing else",
			       user);
	else if (load_user(&u, v->git, ev->ct, user) < 0)
		r = verify_bad(v, "user.add: the record of %s is not valid", user);
	else if (strcmp(evault_role_name(u.role), role) != 0 || strcmp(u.status, "active") != 0)
		r = verify_bad(v, "user.add: the record of %s disagrees with the event", user);
	git_tree_free(pu);
	git_tree_free(cu);
	return r;
}

/* user.disable: users/<name> of an active user other than the actor turns
 * disabled, nothing else changes. */
static int rule_user_disable(verify_event *ev)
{
	verifier *v = ev->v;
	char user[EVAULT_USER_MAX + 1];
	delta d;
	git_tree *pu = NULL, *cu = NULL;
	user_rec o, n;
	int r = only_top(v, &ev->top, "users");
	if (r)
		return r;
	if (trailer_get(user, sizeof(user), v->message, "Evault-User") < 0)
		return verify_bad(v, "user.disable without Evault-User");
	pu = change_tree(v->git, ev->top.c[0].old);
	cu = change_tree(v->git, ev->top.c[0].new);
	tree_delta(&d, pu, cu);
	if (!cu || d.more || d.n != 1 || !d.c[0].old || !is_blob(d.c[0].new) ||
	    strcmp(git_tree_entry_name(d.c[0].new), user) != 0)
		r = verify_bad(v, "user.disable must change exactly users/%s and nothing else",
			       user);
	else if (load_user(&o, v->git, ev->pt, user) < 0 || load_user(&n, v->git, ev->ct, user) < 0)
		r = verify_bad(v, "user.disable: the record of %s is not valid", user);
	else if (strcmp(o.status, "active") != 0 || strcmp(n.status, "disabled") != 0 ||
		 o.role != n.role || strcmp(o.key_line, n.key_line) != 0)
		r = verify_bad(v, "user.disable must only turn %s from active to disabled", user);
	else if (strcmp(user, v->actor) == 0)
		r = verify_bad(v, "user.disable of %s by %s themselves", user, v->actor);
	git_tree_free(pu);
	git_tree_free(cu);
	return r;
}

/* vault.policy: the POLICY record, and only it, changed to a valid policy. */
static int rule_policy(verify_event *ev)
{
	verifier *v = ev->v;
	const delta *top = &ev->top;
	policy p;
	char what[128];
	if (top->more || top->n != 1 || strcmp(change_name(&top->c[0]), POLICY_PATH) != 0 ||
	    !top->c[0].new || !is_blob(top->c[0].new) || policy_at(&p, v->git, ev->ct) < 0 ||
	    trailer_get(what, sizeof(what), v->message, "Evault-Policy") < 0)
		return verify_bad(v, "vault.policy must change the POLICY record, and only it, to "
				     "a valid policy");
	return 0;
}

/* retention.run: traced, no state change. */
static int rule_retention_run(verify_event *ev)
{
	if (ev->top.n || ev->top.more)
		return verify_bad(ev->v, "retention.run may not change the state");
	return 0;
}

/* objects.migrate: traced, no state change, naming a valid objects location. */
static int rule_objects_migrate(verify_event *ev)
{
	char where[CONFIG_OBJECTS_MAX + 1];
	if (ev->top.n || ev->top.more)
		return verify_bad(ev->v, "objects.migrate may not change the state");
	if (trailer_get(where, sizeof(where), ev->v->message, "Evault-Objects") < 0 ||
	    config_objects_check(where) < 0) {
		evault_error_clear();
		return verify_bad(ev->v, "objects.migrate must name where the objects went "
					 "(Evault-Objects)");
	}
	return 0;
}

/* vault.init: the root commit (check_root), never another. */
static int rule_not_root(verify_event *ev)
{
	return verify_bad(ev->v, "vault.init is only allowed as the root commit");
}

/* ---- the table ---- */

/* Who may record an action (invariant 5). */
enum rule_who {
	ANY_USER, /* any active user: the rule may ask more (a member, an admin) */
	ADMINS,   /* active admins only */
};

/* What an action touches, and so what the prologue reads for its rule. */
enum rule_scope {
	IN_STATE,   /* the rule judges the state's top-level changes (ev->top) */
	ON_MISSION, /* names its mission (Evault-Mission), changes no state itself */
	IN_MISSION, /* names its mission and may change only missions/<mid>
		       (ev->pm, ev->cm, ev->d) */
};

typedef struct action_rule {
	const char *action; /* Evault-Action */
	enum rule_who who;
	enum rule_scope scope;
	verify_check check; /* invariant 6 */
} action_rule;

/* Every action evault records; any other breaks invariant 6. */
static const action_rule rules[] = {
    {"vault.init", ANY_USER, IN_STATE, rule_not_root},
    {"vault.policy", ADMINS, IN_STATE, rule_policy},
    {"retention.run", ADMINS, IN_STATE, rule_retention_run},
    {"objects.migrate", ADMINS, IN_STATE, rule_objects_migrate},
    {"user.add", ADMINS, IN_STATE, rule_user_add},
    {"user.disable", ADMINS, IN_STATE, rule_user_disable},
    {"mission.create", ADMINS, IN_MISSION, rule_mission_create},
    {"mission.grant", ADMINS, IN_MISSION, rule_membership},
    {"mission.revoke", ADMINS, IN_MISSION, rule_membership},
    {"mission.authorize-photos", ADMINS, IN_MISSION, rule_authorize_photos},
    {"mission.due", ADMINS, IN_MISSION, rule_mission_due},
    {"dossier.handover", ADMINS, IN_MISSION, rule_dossier_handover},
    {"mission.closing", ADMINS, IN_MISSION, rule_closing},
    {"mission.close", ADMINS, IN_MISSION, rule_close},
    {"mission.expiring", ADMINS, IN_MISSION, rule_expiring},
    {"mission.expire", ADMINS, IN_MISSION, rule_expire},
    {"file.add", ANY_USER, IN_MISSION, rule_file_event},
    {"file.replace", ANY_USER, IN_MISSION, rule_file_event},
    {"file.remove", ANY_USER, IN_MISSION, rule_file_event},
    {"file.commit", ANY_USER, IN_MISSION, rule_file_commit},
    {"file.import", ANY_USER, ON_MISSION, rule_import},
    {"codes.mark", ANY_USER, IN_MISSION, rule_codes_mark},
    {"content.refused", ANY_USER, ON_MISSION, rule_refused},
    {"device.add", ANY_USER, IN_STATE, rule_device_add},
    {"device.revoke", ADMINS, IN_STATE, rule_device_revoke},
    {"device.hold", ANY_USER, IN_MISSION, rule_device_hold},
    {"device.erased", ANY_USER, IN_MISSION, rule_device_erased},
    {"mission.refuse", ANY_USER, IN_STATE, rule_mission_refuse},
};

static const action_rule *rule_of(const char *action)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].action, action) == 0)
			return &rules[i];
	return NULL;
}

/* ---- one commit ---- */

/*
 * Invariant 6 for an event of a mission not held on this replica, whose
 * rule needs trees that are not here: what the table says it may touch.
 * ON_MISSION: nothing in the state. IN_MISSION: missions/<mid> alone, a
 * directory, added by mission.create and only changed by every other
 * action (as their rules require; no action removes a mission). And what
 * every rule of a mission event asks of the actor's role alone: the
 * ADMINS actions were checked before; the others change a mission's
 * content, which only an admin or a technician member may (may_write):
 * never an auditor, except for the device entries of their own laptop.
 */
static int check_scope(verify_event *ev, const action_rule *rule)
{
	verifier *v = ev->v;
	const delta *top = &ev->top;
	/* a device's hold and erasure are the device's own, an auditor's too */
	if (ev->actor->role == EVAULT_ROLE_AUDITOR && strncmp(rule->action, "device.", 7) != 0)
		return verify_bad(v, "%s by %s, an auditor: auditors change no mission", v->action,
				  v->actor);
	if (rule->scope == ON_MISSION)
		return top->n || top->more ? verify_bad(v, "%s may not change the state", v->action)
					   : 0;
	int r = only_top(v, top, "missions");
	if (r)
		return r;
	git_tree *pms = change_tree(v->git, top->c[0].old);
	git_tree *cms = change_tree(v->git, top->c[0].new);
	bool create = strcmp(rule->action, "mission.create") == 0;
	delta d;
	if ((top->c[0].old && !pms) || !cms) {
		r = verify_bad(v, "%s: the missions directory is unreadable", v->action);
		goto done;
	}
	tree_delta(&d, pms, cms);
	if (d.more || d.n != 1 || strcmp(change_name(&d.c[0]), v->mission) != 0)
		r = verify_bad(v, "%s may change only missions/%s", v->action, v->mission);
	else if (!d.c[0].new)
		r = verify_bad(v, "%s removes missions/%s", v->action, v->mission);
	else if (git_tree_entry_type(d.c[0].new) != GIT_OBJECT_TREE)
		r = verify_bad(v, "%s: missions/%s is not a directory", v->action, v->mission);
	else if (create && d.c[0].old)
		r = verify_bad(v, "mission.create of %s, which already exists", v->mission);
	else if (!create && !d.c[0].old)
		r = verify_bad(v, "%s of mission %s, which does not exist", v->action, v->mission);
done:
	git_tree_free(pms);
	git_tree_free(cms);
	return r;
}

/* The root: vault.init, holding VAULT, POLICY and one admin, its actor. */
static int check_root(verifier *v, git_tree *ct)
{
	evault_buf text = EVAULT_BUF_INIT;
	config cfg;
	char vid[64], user[64];
	user_rec u;
	delta d;
	git_tree *users = NULL;
	int r = 0;
	if (strcmp(v->action, "vault.init") != 0) {
		r = verify_bad(v, "the root commit is not vault.init");
		goto done;
	}
	if (blob_at(&text, v->git, ct, "VAULT") < 0 ||
	    config_parse(&cfg, text.ptr, text.size) < 0) {
		r = verify_bad(v, "the root commit has no valid VAULT record");
		goto done;
	}
	if (trailer_get(vid, sizeof(vid), v->message, "Evault-Vault") < 0 ||
	    strcmp(vid, cfg.vault_id_hex) != 0) {
		r = verify_bad(v, "the root commit's Evault-Vault is not the VAULT record's id");
		goto done;
	}
	snprintf(v->res->vault_id, sizeof(v->res->vault_id), "%s", cfg.vault_id_hex);
	if (v->expected_vault && strcmp(v->expected_vault, cfg.vault_id_hex) != 0) {
		r = verify_bad(v, "the history is of vault %s, evault.conf says %s",
			       cfg.vault_id_hex, v->expected_vault);
		goto done;
	}
	policy pol;
	text.size = 0;
	if (blob_at(&text, v->git, ct, POLICY_PATH) < 0 ||
	    policy_parse(&pol, text.ptr, text.size) < 0) {
		r = verify_bad(v, "the root commit has no valid POLICY record");
		goto done;
	}
	git_tree_entry *ue = NULL;
	if (git_tree_entry_bypath(&ue, ct, "users") == 0) {
		users = change_tree(v->git, ue);
		git_tree_entry_free(ue);
	}
	tree_delta(&d, NULL, users);
	if (git_tree_entrycount(ct) != 3 || !users || d.n != 1 ||
	    trailer_get(user, sizeof(user), v->message, "Evault-User") < 0 ||
	    strcmp(user, v->actor) != 0 || load_user(&u, v->git, ct, user) < 0 ||
	    u.role != EVAULT_ROLE_ADMIN) {
		r = verify_bad(v,
			       "the root commit must hold VAULT, POLICY and exactly one admin, its "
			       "actor");
		goto done;
	}
done:
	git_tree_free(users);
	evault_buf_dispose(&text);
	return r;
}

/* Invariant 4: the signature, from the header only, by the actor's key in state. */
static int check_signature(verifier *v, git_commit *c, const user_rec *u)
{
	git_buf hdr = GIT_BUF_INIT_CONST(NULL, 0), sig = GIT_BUF_INIT_CONST(NULL, 0),
		data = GIT_BUF_INIT_CONST(NULL, 0);
	uint8_t signer[SSH_ED25519_PK_LEN];
	int r = 0;
	git_oid id = *git_commit_id(c);
	if (git_commit_header_field(&hdr, c, "gpgsig") < 0) {
		r = verify_bad(v, "the commit is not signed (no gpgsig header)");
		goto done;
	}
	if (git_commit_extract_signature(&sig, &data, v->git, &id, "gpgsig") < 0 ||
	    sig.size != hdr.size || memcmp(sig.ptr, hdr.ptr, hdr.size) != 0) {
		r = verify_bad(v, "the signature is not where git looks for it (gpgsig header)");
		goto done;
	}
	if (sshsig_verify(signer, sig.ptr, sig.size, "git", data.ptr, data.size) < 0) {
		r = verify_bad(v, "the signature does not verify (%s)", evault_error_last());
		goto done;
	}
	if (sodium_memcmp(signer, u->pk, sizeof(signer)) != 0) {
		r = verify_bad(v, "signed by a key that is not %s's", v->actor);
		goto done;
	}
	if (v->pins) {
		bool listed = false;
		for (size_t i = 0; i < v->npins && !listed; i++)
			listed = strcmp(v->pins[i].name, v->actor) == 0 &&
				 sodium_memcmp(v->pins[i].pk, signer, sizeof(signer)) == 0;
		if (!listed)
			r = verify_bad(
			    v, "%s's signing key is not the one the allowed signers given list",
			    v->actor);
	}
done:
	git_buf_dispose(&hdr);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return r;
}

int verify_commit(verifier *v, git_commit *c, git_commit *parent)
{
	git_tree *ct = NULL, *pt = NULL;
	char seq[32];
	int r = 0;
	v->message = git_commit_message(c);
	v->mission[0] = '\0';
	v->not_held = false;
	if (trailer_get(seq, sizeof(seq), v->message, "Evault-Seq") < 0 ||
	    trailer_get(v->actor, sizeof(v->actor), v->message, "Evault-Actor") < 0 ||
	    trailer_get(v->action, sizeof(v->action), v->message, "Evault-Action") < 0 ||
	    !user_name_valid(v->actor))
		return verify_bad(v, "the commit lacks Evault-Seq, Evault-Actor or Evault-Action");
	char *end;
	errno = 0;
	uint64_t s = strtoull(seq, &end, 10);
	if (*end || !*seq || errno)
		return verify_bad(v, "Evault-Seq is not a number");
	uint64_t want = 0;
	if (parent) {
		char ps[32];
		if (trailer_get(ps, sizeof(ps), git_commit_message(parent), "Evault-Seq") == 0)
			want = strtoull(ps, NULL, 10) + 1;
	}
	if (s != want)
		return verify_bad(v, "Evault-Seq is %llu where %llu follows", (unsigned long long)s,
				  (unsigned long long)want);
	if (parent && git_commit_time(c) + TIME_TOLERANCE < git_commit_time(parent))
		return verify_bad(v, "commit time goes back %lld s, more than the %d s tolerated",
				  (long long)(git_commit_time(parent) - git_commit_time(c)),
				  TIME_TOLERANCE);
	/* an event replayed by a replica keeps when it was first recorded, never later */
	char first[32];
	if (trailer_get(first, sizeof(first), v->message, "Evault-Replayed") == 0) {
		char *fe;
		errno = 0;
		long long t0 = strtoll(first, &fe, 10);
		if (*fe || !*first || errno || t0 < 0 ||
		    t0 > (long long)git_commit_time(c) + TIME_TOLERANCE)
			return verify_bad(v, "Evault-Replayed is not a time before the commit's");
	}
	if (git_commit_time(c) > v->now + TIME_TOLERANCE)
		return verify_bad(v,
				  "dated %lld s after the time of verification: a clock was wrong",
				  (long long)(git_commit_time(c) - v->now));
	if (commit_tree(&ct, v->git, c) < 0 || (parent && commit_tree(&pt, v->git, parent) < 0)) {
		r = verify_bad(v, "the commit's tree is unreadable");
		goto done;
	}
	/* the actor's record in the state the commit was made on (the root: its own) */
	user_rec actor;
	if (load_user(&actor, v->git, parent ? pt : ct, v->actor) < 0) {
		r = verify_bad(v, "actor %s is not a user of the vault at that point", v->actor);
		goto done;
	}
	if ((r = check_signature(v, c, &actor)) != 0)
		goto done;
	if (!parent) {
		r = check_root(v, ct);
		goto done;
	}
	/* invariant 5: an active user whose role allows the action; a disabled
	 * user's laptop may still confirm what it erased (device.erased) */
	if (strcmp(actor.status, "active") != 0 && strcmp(v->action, "device.erased") != 0) {
		r = verify_bad(v, "actor %s is not an active user at that point", v->actor);
		goto done;
	}
	const action_rule *rule = rule_of(v->action);
	if (rule && rule->who == ADMINS && actor.role != EVAULT_ROLE_ADMIN) {
		r = verify_bad(v, "%s by %s, a %s: only admins may", v->action, v->actor,
			       evault_role_name(actor.role));
		goto done;
	}
	/* an action unknown here still owes a mission if its name says it has one */
	bool mission_event =
	    rule ? rule->scope != IN_STATE
		 : strncmp(v->action, "mission.", 8) == 0 || strncmp(v->action, "file.", 5) == 0;
	if (mission_event &&
	    (trailer_get(v->mission, sizeof(v->mission), v->message, "Evault-Mission") < 0 ||
	     !mission_id_valid(v->mission))) {
		r = verify_bad(v, "%s without a valid Evault-Mission", v->action);
		goto done;
	}
	/* invariant 6: the rule of the action, after the prologue they share */
	verify_event ev = {.v = v, .commit = c, .pt = pt, .ct = ct, .actor = &actor};
	tree_delta(&ev.top, pt, ct);
	if (!rule)
		r = verify_bad(v, "unknown action %.40s", v->action);
	else if (v->partial && mission_event &&
		 (mission_not_held(v, pt) || mission_not_held(v, ct)))
		v->not_held = (r = check_scope(&ev, rule)) == 0;
	else if (rule->scope != IN_MISSION || (r = event_mission_change(&ev)) == 0)
		r = rule->check(&ev);
	event_clear(&ev);
done:
	git_tree_free(ct);
	git_tree_free(pt);
	return r;
}
