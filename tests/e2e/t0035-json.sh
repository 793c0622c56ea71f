#!/usr/bin/env bash
# --json on the listings and reports: one JSON document on standard output,
# parsed here by Python's json module and checked field by field against
# what the vault holds (the schemas are in docs/cli.md, "--json").
. "$(dirname "$0")/lib.sh"
standard_vault
# a client name with every character JSON escapes, and non-ASCII
CLIENT=$'Caf\u00e9 "Le Quai" \\ Sud\tSA'
as alice mission create M-2 --client "$CLIENT" --site "Lyon 7e" --member bob >/dev/null
printf 'report\n' | as bob put - M-1/dossier/rapport.txt >/dev/null
printf 'notes\n' | as bob put - M-1/work/sub/notes.txt >/dev/null
as bob put - M-1/codes/door.txt </dev/null >/dev/null

# jcheck WHAT PYTHON-EXPRESSION: $T/out parses as JSON (d) and the
# expression holds; the error says which failed
jcheck() {
	local what=$1 expr=$2
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
client = sys.argv[3]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/out" "$expr" "$CLIENT" 2>"$T/pyerr"; then
		ok "$what"
	else
		ko "$what: $(head -c 300 "$T/pyerr") in: $(head -c 300 "$T/out")"
	fi
}

expect 0 "ls --json (missions)" as bob ls --json
jcheck "  ... bob's missions and their status" \
	'd == {"missions": [{"mission": "M-1", "status": "open"}, {"mission": "M-2", "status": "open"}]}'
expect 0 "ls --json M-1 (classes)" as bob ls --json M-1
jcheck "  ... each class with its file count" \
	'd["mission"] == "M-1" and [(c["class"], c["files"]) for c in d["classes"]] == [("dossier", 1), ("work", 1), ("codes", 1)]'
expect 0 "ls --json M-1/dossier (entries)" as bob ls --json M-1/dossier
jcheck "  ... name, type, size, mode, time and content type" \
	'd["path"] == "M-1/dossier" and len(d["entries"]) == 1 and d["entries"][0]["name"] == "rapport.txt" and d["entries"][0]["type"] == "file" and d["entries"][0]["size"] == 7 and d["entries"][0]["mode"] == "0644" and d["entries"][0]["mtime"].endswith("Z") and d["entries"][0]["content_type"].startswith("text/plain")'
expect 0 "ls --json M-1/work (a directory)" as bob ls --json M-1/work
jcheck "  ... the directory typed dir" 'd["entries"] == [{"name": "sub", "type": "dir"}]'
expect 0 "ls --json as carol: no mission of bob's" as carol ls --json
jcheck "  ... an empty list, not an error" 'd == {"missions": []}'

expect 0 "mission list --json" as alice mission list --json
jcheck "  ... every mission for an admin" '[m["mission"] for m in d["missions"]] == ["M-1", "M-2"]'
expect 0 "mission show --json M-2" as bob mission show --json M-2
jcheck "  ... the client name with quotes, backslash, tab and accents, exactly" \
	'd["client"] == client and d["site"] == "Lyon 7e" and d["members"] == ["bob"] and d["status"] == "open" and d["photos_authorised"] is False and d["files"] == {"dossier": 0, "work": 0, "codes": 0}'
expect 0 "mission show --json as the auditor granted the dossier" \
	bash -c "'$EVAULT_BIN' --identity '$T/alice.id' --passphrase-file '$T/alice.pass' mission grant M-1 dave >/dev/null &&
		'$EVAULT_BIN' --identity '$T/dave.id' --passphrase-file '$T/dave.pass' mission show --json M-1"
jcheck "  ... only the dossier's count" 'd["files"] == {"dossier": 1} and d["auditors"] == ["dave"]'

expect 0 "user list --json" as alice user list --json
jcheck "  ... each user's role, status, fingerprint and key" \
	'[(u["name"], u["role"], u["status"]) for u in d["users"]] == [("alice", "admin", "active"), ("bob", "technician", "active"), ("carol", "technician", "active"), ("dave", "auditor", "active")] and all(u["fingerprint"].startswith("SHA256:") and u["key"].startswith("ssh-ed25519 ") for u in d["users"])'

expect 0 "audit verify --json" "$EVAULT_BIN" audit verify --json --objects
jcheck "  ... ok, the head, the events and the objects" \
	'd["ok"] is True and len(d["head"]) == 40 and d["events"] == d["seq"] + 1 and d["objects_intact"] >= 2 and d["first"] <= d["last"]'
expect 0 "fsck --json" "$EVAULT_BIN" fsck --json --full
jcheck "  ... clean: no problem, every count" \
	'd["ok"] is True and d["problems"] == [] and d["missing"] == 0 and d["stored"] == d["referenced"] and d["rehashed"] == d["stored"] and d["keys"] is None'
expect 0 "fsck --json --keys" as bob fsck --json --keys
jcheck "  ... the key check's counts" 'd["keys"]["user"] == "bob" and d["keys"]["files"] == 3 and d["keys"]["damaged"] == 0'

# problems: one object gone
victim=$(store_list "$EVAULT_REPO" | head -1)
cp -a "$EVAULT_REPO" "$T/before"
store_rm "$EVAULT_REPO" "$victim"
expect 1 "fsck --json with an object missing: exit 1" "$EVAULT_BIN" fsck --json
jcheck "  ... ok false, the object named in problems" \
	'd["ok"] is False and d["missing"] == 1 and len(d["problems"]) == 1 and "'"$victim"'" in d["problems"][0]'
expect 1 "audit verify --json --objects with it missing: exit 1" "$EVAULT_BIN" audit verify --json --objects
jcheck "  ... ok false with the reason" 'd["ok"] is False and "'"$victim"'"[:12] in d["reason"] + (d["bad_commit"] or "") or "missing" in d["reason"]'
rm -rf "$EVAULT_REPO" && mv "$T/before" "$EVAULT_REPO"

# a forged commit: verify's JSON says where (then the history put back)
good=$(git -C "$EVAULT_REPO/audit.git" rev-parse main)
git -C "$EVAULT_REPO/audit.git" -c user.name=x -c user.email=x@x commit-tree \
	"$(git -C "$EVAULT_REPO/audit.git" rev-parse 'main^{tree}')" -p main -m forged >"$T/forged"
git -C "$EVAULT_REPO/audit.git" update-ref refs/heads/main "$(cat "$T/forged")"
expect 1 "audit verify --json on a forged commit: exit 1" "$EVAULT_BIN" audit verify --json
jcheck "  ... ok false, the forged commit named" 'd["ok"] is False and "'"$(cat "$T/forged")"'" in (d["bad_commit"] or "") + d["reason"]'
check "  ... and the one-line error on stderr as without --json" \
	bash -c "[ \$(wc -l <'$T/err') -eq 1 ] && grep -q '^evault: verification FAILED' '$T/err'"
git -C "$EVAULT_REPO/audit.git" update-ref refs/heads/main "$good"

expect 0 "log --json" as bob log --json
jcheck "  ... every event bob may see, newest first, each signature verified" \
	'len(d["events"]) >= 8 and [e["seq"] for e in d["events"]] == sorted([e["seq"] for e in d["events"]], reverse=True) and all(e["signature_verified"] for e in d["events"]) and d["events"][-1]["action"] == "vault.init" and d["events"][-1]["mission"] is None and all(len(e["commit"]) == 40 and e["time"].endswith("Z") for e in d["events"])'
expect 0 "log --json --names -n 5 --mission M-1" as bob log --json --names -n 5 --mission M-1
jcheck "  ... five events of M-1, the file names bob may read" \
	'len(d["events"]) == 5 and all(e["mission"] == "M-1" for e in d["events"]) and "dossier/rapport.txt" in [e["names"] for e in d["events"]]'
expect 0 "gc --json --dry-run" "$EVAULT_BIN" gc --json --dry-run
jcheck "  ... the figures of the run" 'd["dry_run"] is True and d["stored"] == d["referenced"] and d["collected"] == 0 and "history_loose" in d'
expect 0 "retention run --dry-run --json" as alice retention run --dry-run --json
jcheck "  ... all good: attention false, its lines and figures" \
	'd["attention"] is False and d["dry_run"] is True and d["missions"] == 2 and all(l["level"] == "info" for l in d["lines"]) and "collected" in d["gc"]'
expect 1 "retention run --json years later: exit 1, needs a person" as alice retention run --dry-run --json --now 2036-01-01
jcheck "  ... attention, the overdue missions as attention lines" \
	'd["attention"] is True and d["overdue"] == 2 and sum(l["level"] == "attention" and l["text"].startswith("overdue: ") for l in d["lines"]) == 2'
expect 12 "mission close --dry-run --json with an unmarked code: exit 12" as alice mission close --dry-run --json M-1
jcheck "  ... the plan as lines and why it is refused" \
	'd["mission"] == "M-1" and d["dry_run"] is True and d["closed"] is False and d["refused"] and any(l.startswith("would erase codes") for l in d["plan"]) and any("door.txt is neither marked" in l for l in d["plan"])'
as bob codes mark M-1/codes/door.txt --rotated >/dev/null
expect 0 "mission close --json, the code marked" as alice mission close --json M-1
jcheck "  ... closed, nothing refused" 'd["closed"] is True and d["refused"] is None and d["dry_run"] is False and d["plan"]'

expect_error 2 "--json on a command without JSON output" as bob put --json - M-1/work/x.txt
check "  ... names the command" grep -q "'evault put' has no JSON output" "$T/err"
expect_error 2 "  ... and on a subcommand without it" as alice mission grant --json M-1 carol
finish
