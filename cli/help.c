/*
 * The command line's documentation (help.h): the table, and its printers
 * for the terminal, for man(1) and for the shell's completion.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "help.h"

#define OPTS(...) ((const help_opt[]){__VA_ARGS__, {NULL, NULL}})
#define EXITS(...) ((const help_exit[]){__VA_ARGS__, {0, NULL}})
#define END                                                                                        \
	{                                                                                          \
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false                              \
	}

#define ROLES_TEXT                                                                                 \
	"Roles: admin creates missions and users, grants, closes and runs retention, and sees "    \
	"every mission. technician works in the missions granted to them: dossier, work and "      \
	"codes. auditor reads the history and, when granted a mission, its dossier, and writes "   \
	"nothing."

#define KDF_TEXT                                                                                   \
	"The passphrase protects the identity's secret key through argon2id. --kdf sets its "      \
	"cost: interactive (the default: 64 MiB of memory, 2 passes, about a third of a second), " \
	"moderate (256 MiB, 3 passes, about a second and a half) or sensitive (1 GiB, 4 passes, "  \
	"several seconds). A new passphrase has at least 8 characters."

static const help_sub init_subs[] = {
    {NULL,
     "init --admin NAME [--chunk-size BYTES] [--zstd-level N] [--kdf LEVEL] [--objects "
     "local|rados:POOL[/NAMESPACE]] [--rados-conf PATH] [--rados-user NAME] [--rados-keyring "
     "PATH] [--rados-timeout SECONDS]",
     "create a repository; the admin's identity is created if absent", NULL,
     "Creates the repository named by -R or EVAULT_REPO (an absent or empty directory). Its "
     "first user is NAME, an admin, whose identity is created first if the identity file does "
     "not exist (the passphrase is asked twice on a terminal).\n\n"
     "The chunking and compression settings and where the objects are kept are local settings "
     "of evault.conf; the vault's identity and its first admin are the first signed event of "
     "its history.",
     OPTS({"--admin NAME", "the first admin's user name"},
	  {"--chunk-size BYTES", "the largest chunk a file is cut into (default 4 MiB)"},
	  {"--zstd-level N", "compression level, 1 to 19 (default 3)"},
	  {"--kdf LEVEL", "interactive, moderate or sensitive: the new identity's passphrase cost"},
	  {"--objects LOCATION", "local (the default: objects/ in the repository) or "
				 "rados:POOL[/NAMESPACE], a Ceph pool"},
	  {"--rados-conf PATH", "the Ceph configuration file (default /etc/ceph/ceph.conf)"},
	  {"--rados-user NAME", "the Ceph client name (default admin)"},
	  {"--rados-keyring PATH", "the Ceph keyring"},
	  {"--rados-timeout SECONDS", "how long a Ceph operation may take before it fails"}),
     EXITS({0, "created"}, {2, "bad option or value, or no repository named"},
	   {4, "wrong passphrase for an existing identity"},
	   {7, "the directory is not empty, or the namespace is taken in the pool"},
	   {10, "no space left"}, {11, "the Ceph library is missing or not built in"}),
     "dir", false},
    END};

static const help_sub identity_subs[] = {
    {"new", "identity new --name NAME [--kdf interactive|moderate|sensitive]",
     "create your identity and print its public line", NULL,
     "Creates the identity file (--identity, EVAULT_IDENTITY or ~/.config/evault/identity): an "
     "Ed25519 key pair whose secret half is sealed under your passphrase, asked twice on a "
     "terminal. Prints the public line, ssh-ed25519 AAAA... NAME, which an admin adds with "
     "'evault user add'.\n\n" KDF_TEXT,
     OPTS({"--name NAME", "your user name, as the admin will add it"},
	  {"--kdf LEVEL", "the passphrase's cost: interactive (default), moderate or sensitive"}),
     EXITS({0, "created"}, {2, "bad name or level, or a passphrase that is too short"},
	   {7, "an identity already exists at that path"}),
     NULL, false},
    {"show", "identity show", "print your public line (no passphrase)", "the identity file", NULL,
     NULL, EXITS({0, "printed"}, {3, "no identity file"}, {5, "a damaged identity file"}), NULL,
     false},
    END};

static const help_sub user_subs[] = {
    {"add", "user add NAME --role admin|technician|auditor --pubkey KEY", "add a user",
     "admin, passphrase",
     "Adds a user with one role.\n\n" ROLES_TEXT
     "\n\nKEY is the public line 'evault identity show' prints.",
     OPTS({"--role ROLE", "admin, technician or auditor"},
	  {"--pubkey KEY", "the user's public line, \"ssh-ed25519 AAAA... NAME\""}),
     EXITS({0, "added"}, {2, "bad name, role or key"}, {6, "you are not an admin"},
	   {7, "the user or the key exists already"}),
     "user", false},
    {"disable", "user disable NAME", "a user who leaves: revoked everywhere, for good",
     "admin, passphrase",
     "Revokes the user from every open mission that lists them (one mission.revoke each, keys "
     "turned over), destroys every other copy of their mission keys, then records a signed "
     "user.disable. Their identity opens nothing from then on and verify refuses any event "
     "they sign. Not oneself; one-way: add them again under a new name and key.",
     NULL,
     EXITS({0, "disabled"}, {3, "no such user"}, {6, "you are not an admin, or NAME is you"},
	   {7, "disabled already"}),
     "user", false},
    {"list", "user list", "name, role, status and key fingerprint of every user", "identity", NULL,
     NULL, NULL, NULL, true},
    END};

static const help_sub mission_subs[] = {
    {"create",
     "mission create MID [--client C] [--site S] [--description D] [--member USER]... "
     "[--dossier-due YYYY-MM-DD]",
     "create a mission", "admin, passphrase",
     "Creates mission MID (letters, digits, '-', '_' and '.', such as M-2026-0042) with its "
     "three classes: dossier (what the client receives and the archive keeps), work (notes, "
     "erased at close) and codes (temporary access codes, erased at close). Client, site and "
     "description are encrypted under the dossier's key; the dossier's due date is in clear "
     "in the mission's record.",
     OPTS({"--client C", "the client's name"}, {"--site S", "the site"},
	  {"--description D", "what the mission is"},
	  {"--member USER", "a technician or admin who works in it (repeatable)"},
	  {"--dossier-due YYYY-MM-DD", "when the as-built dossier is due to the client"}),
     EXITS({0, "created"}, {2, "bad mission id or date"}, {3, "no such user"},
	   {6, "you are not an admin"}, {7, "the mission exists already"}),
     NULL, false},
    {"list", "mission list", "the missions you hold keys for (admins: all), with status",
     "identity", NULL, NULL, NULL, NULL, true},
    {"show", "mission show MID", "one mission: status, members, photo authorisation, files",
     "a key of the mission, passphrase",
     "Status, members, auditors, the dossier's due date and handovers (to whom: with the "
     "dossier's key), the photo authorisation, client, site and description (with the "
     "dossier's key) and file counts.",
     NULL, EXITS({0, "shown"}, {3, "no such mission, or not yours"}), "mission", true},
    {"grant", "mission grant MID USER", "give a user the mission's keys", "admin, passphrase",
     "Technicians and admins become members (all classes); auditors get the dossier, "
     "read-only.",
     NULL,
     EXITS({0, "granted"}, {3, "no such mission or user"}, {6, "you are not an admin"},
	   {7, "the user holds the mission already"}, {8, "the mission is closed"}),
     "mission user", false},
    {"revoke", "mission revoke MID USER", "take a user off a mission; their keys turn over",
     "admin, passphrase",
     "Removes the user and destroys their key copies; each key they held gets a new "
     "generation that only the remaining holders receive, so files written from then on are "
     "out of reach of any copy they kept.",
     NULL,
     EXITS({0, "revoked"}, {3, "no such mission or user, or the user holds no key of it"},
	   {6, "you are not an admin"}, {8, "the mission is closed"}),
     "mission user", false},
    {"set-due", "mission set-due MID YYYY-MM-DD",
     "set or change when the as-built dossier is due to the client", "admin, passphrase",
     "Records the date the mission's dossier is due to the client (a mission.due event): "
     "the handovers (evault dossier handover) are counted on time or late against it. The "
     "mission is open, closing or closed. A date is not rewritten after the fact: once the "
     "dossier is handed over it no longer changes, nor does a date that has passed (before "
     "today, UTC). A first date may be set at any time before the handover; a date still "
     "ahead may move.",
     NULL,
     EXITS({0, "set"},
	   {2, "not a date YYYY-MM-DD from 2000 to 2999, or on a replica (at the office)"},
	   {3, "no such mission"}, {4, "wrong passphrase"}, {6, "you are not an admin"},
	   {7, "due on that date already"}, {8, "the mission's dossier is expiring or expired"},
	   {9, "the repository is busy"},
	   {12, "the dossier is handed over, or its due date has passed"}),
     "mission", false},
    {"close", "mission close MID [--dry-run] [--force]",
     "close: work and codes erased, the dossier archived, a certificate issued",
     "admin, passphrase",
     "Prints the plan (what is kept, what is erased, the devices holding the mission, the "
     "refusals), then closes: the keys of work and codes are destroyed everywhere, which "
     "erases their files (cryptographic erasure), their objects are deleted, the dossier is "
     "kept until its retention date, and an erasure certificate is stored in the dossier.\n\n"
     "The charter's rules refuse a close (exit 12) while a codes entry is neither rotated nor "
     "reported (evault codes mark), while the dossier is empty (unless the policy says "
     "close-requires-dossier no), while a mount writes files of the mission, or while a "
     "device holding the mission has not synced since it last changed (unless --force).",
     OPTS({"--dry-run, -n", "print what would be kept and erased; change nothing"},
	  {"--force", "close although devices have not synced; the erasure record names them"}),
     EXITS({0, "closed (or, with --dry-run, could close)"}, {3, "no such mission"},
	   {6, "you are not an admin"}, {8, "closed already"}, {9, "the repository is busy"},
	   {12, "refused by a charter rule (the plan says which)"}),
     "mission", true},
    {"certificate", "mission certificate MID", "the erasure certificate of a closed mission",
     "admin or granted auditor, passphrase",
     "French and English, ending with each device that held the mission: erased (when), or "
     "pending (its last contact). Asked again later, it shows the confirmations that arrived "
     "since.",
     NULL, EXITS({0, "printed"}, {3, "no such mission, or not closed"}), "mission", false},
    {"authorize-photos", "mission authorize-photos MID --by \"NAME, ROLE\" --ref REF --scope SCOPE",
     "record the client's written authorisation to take photos", "admin, passphrase",
     "Records, once per mission, the client's prior written authorisation to take photos and "
     "videos: who signed it, its reference and its scope. Until then image and video content "
     "is refused (exit 12) by put, import and the mount; audio always is.",
     OPTS({"--by \"NAME, ROLE\"", "who authorised, for the client"},
	  {"--ref REF", "the letter's or contract's reference"},
	  {"--scope SCOPE", "what may be photographed"}),
     EXITS({0, "recorded"}, {3, "no such mission"}, {6, "you are not an admin"},
	   {7, "authorised already"}, {8, "the mission is closed"}),
     "mission", false},
    {"refuse",
     "mission refuse --client NAME --reason CATEGORY|TEXT [--category CATEGORY] [--details TEXT] "
     "[--ref REF] [--date YYYY-MM-DD]",
     "record a refused mission in the register of refusals", "admin or technician, passphrase",
     "Records, as one signed mission.refuse event, that the company refused a mission (the "
     "charter: no illegal surveillance of people, no mission it lacks the competence for; "
     "refusals are documented and traced). No mission is created and none is named.\n\n"
     "Categories: employee-surveillance (surveillance of employees without prior information; "
     "surveillance de salariés sans information préalable), private-filming (filming private "
     "spaces without right; filmage d'espaces privés sans droit), court-order (circumventing "
     "a court decision; contournement de décisions judiciaires), competence (the company lacks "
     "the competence; compétences insuffisantes), other.\n\n"
     "The date, the category and who recorded it are in clear in the history. The client, the "
     "details and the reference are sealed to each admin active now: no one else can read "
     "them, and an admin added later cannot either. Each field takes 1 to 256 bytes of UTF-8 "
     "text without control characters.",
     OPTS({"--client NAME", "the client who asked (sealed to the admins)"},
	  {"--reason CATEGORY|TEXT",
	   "the category, or the reason in words (then --category is needed, and the words are "
	   "the details)"},
	  {"--category CATEGORY", "the category of a reason given in words"},
	  {"--details TEXT", "what was asked and why it was refused (sealed)"},
	  {"--ref REF", "the request's reference (sealed)"},
	  {"--date YYYY-MM-DD", "the day the mission was refused, at most 31 days back "
				"(default: today, UTC)"}),
     EXITS({0, "recorded"},
	   {2, "a missing or unknown category, a field empty, too long or with control "
	       "characters, a bad date"},
	   {6, "you are an auditor"}),
     NULL, false},
    {"refusals", "mission refusals [--year YYYY]", "the register of refused missions",
     "any user; admins: passphrase",
     "Every refusal, oldest first: the day, its id (8 digits), the category and who recorded "
     "it. An admin also sees the client, the reference and the details of each refusal sealed "
     "to them, and '(sealed to other admins)' for one recorded before they were an admin. "
     "Works on a replica without the network.",
     OPTS({"--year YYYY", "only the refusals of that year"}),
     EXITS({0, "listed"}, {2, "a bad year"}), NULL, true},
    END};

static const help_sub codes_subs[] = {
    {"mark", "codes mark MID/codes/PATH --rotated | --reported-to CONTACT",
     "record that an access code was changed or handed back", "member or admin, passphrase",
     "Every entry of the codes class must be marked before the mission closes: rotated (the "
     "code was changed at the end of the intervention) or reported to a client contact (the "
     "contact is encrypted).",
     OPTS({"--rotated", "the code was changed"},
	  {"--reported-to CONTACT", "the code was handed back to CONTACT"}),
     EXITS({0, "recorded"}, {2, "not a codes path, or neither option"}, {3, "no such file"},
	   {8, "the mission is closed"}),
     "path", false},
    END};

static const help_sub dossier_subs[] = {
    {"handover", "dossier handover MID --to RECIPIENT --out DIR",
     "hand the dossier over to the client: its files, their SHA-256, a signed statement",
     "admin, passphrase",
     "Writes DIR (absent or empty) with every file of the mission's dossier under files/, "
     "SHA256SUMS, statement.txt (who hands over what to whom, when, and the SHA-256 of "
     "SHA256SUMS), its SSH signature statement.txt.sig (namespace evault-dossier), the "
     "signer's key in allowed_signers and a README.txt telling the client how to check it. "
     "Never a file of work or codes. A closed mission's erasure certificate is one of the "
     "dossier's files. One dossier.handover event records the handover; the recipient is "
     "encrypted under the dossier's key. The mission is open or closed. The package's modes "
     "are what your umask allows, like cp (umask 077: readable by you alone).",
     OPTS({"--to RECIPIENT", "who receives it (1 to 256 bytes, no control character)"},
	  {"--out DIR", "where to write the package"}),
     EXITS({0, "handed over"},
	   {1, "the package could not be written, or the rename failed after the handover was "
	       "recorded: the complete package is in DIR.tmp-XXXXXX"},
	   {2, "bad option or recipient, or on a replica (at the office)"}, {3, "no such mission"},
	   {4, "wrong passphrase"}, {5, "a dossier file does not read back as recorded"},
	   {6, "you are not an admin"}, {7, "DIR exists and is not empty"},
	   {8, "the mission is closing, expiring or expired"}, {9, "the repository is busy"},
	   {10, "no space left"}, {12, "the dossier is empty, or has more than 100,000 files"}),
     "mission", false},
    {"verify", "dossier verify DIR [--signers FILE]",
     "check a handed-over dossier: files, list, statement, signature", NULL,
     "Needs no vault, identity or passphrase. Checks that statement.txt.sig is the handed-by "
     "signer's signature of statement.txt, with the key in DIR/allowed_signers or, better, "
     "in FILE, the keys the company publishes (lines read as ssh-keygen -Y verify reads them: "
     "namespaces, valid-after and valid-before at the statement's time, no cert-authority); "
     "that statement.txt names SHA256SUMS's SHA-256 and its counts; and that SHA256SUMS lists "
     "every file under files/ and nothing else, each with its SHA-256, no more bytes than the "
     "statement says. The success line says where the key came from: from the package "
     "itself, compare it with the key the company publishes.",
     OPTS({"--signers FILE", "take the signer's key from FILE (allowed-signers format)"}),
     EXITS({0, "verified"}, {1, "the package fails a check (the message names the file)"},
	   {2, "bad usage, or DIR or FILE cannot be read"}),
     "dir", false},
    END};

static const help_sub mount_subs[] = {
    {NULL, "mount MOUNTPOINT [--foreground] [-o ro|rw|sync=SECONDS]",
     "the vault as a folder: your missions, plaintext only in memory", "passphrase",
     "Serves your missions as a folder until unmounted: MOUNTPOINT/MID/dossier, work and codes, "
     "with each mission's .mission file. Files are recorded when closed (one signed event per "
     "group of files); the charter's content rules apply as in put, and the last refusals, "
     "with their reasons, are listed in MOUNTPOINT/.evault/refused. Detaches once mounted "
     "unless --foreground. On a replica, syncs with the office every sync= seconds.",
     OPTS({"--foreground, -f", "stay in the foreground, log to standard error"},
	  {"-o ro", "read-only"}, {"-o rw", "read-write (the default)"},
	  {"-o sync=SECONDS", "on a replica: sync every SECONDS (default 60; 0: never)"}),
     EXITS({0, "unmounted cleanly (--foreground) or mounted (background)"},
	   {1, "/dev/fuse missing or not open to you, fusermount3 missing"},
	   {2, "bad option, or a mount point that is not a directory"}, {3, "no such mount point"},
	   {4, "wrong passphrase"}, {7, "the mount point is not empty"},
	   {9, "the mount point is a mount point already"}),
     "dir", false},
    END};

static const help_sub umount_subs[] = {
    {NULL, "umount MOUNTPOINT", "unmount once every file is recorded", NULL,
     "Unmounts (fusermount3 -u), then waits for the mount process to record what was closed "
     "and finish.",
     NULL, EXITS({0, "unmounted"}, {9, "files are open there"}), "dir", false},
    END};

static const help_sub import_subs[] = {
    {NULL, "import MID SOURCE_DIR [--to CLASS[/DIR]] [--wipe-source]",
     "copy a camera card in, prove every copy, then wipe the card", "member or admin, passphrase",
     "Stores every regular file under SOURCE_DIR (default destination dossier/photos/), proves "
     "each copy by reading it back and comparing its SHA-256, then, with --wipe-source and only "
     "if every file was proven, overwrites and removes the sources. One file.import event. "
     "Photos need the mission's photo authorisation; audio is refused.",
     OPTS({"--to CLASS[/DIR]", "where the files go (default dossier/photos)"},
	  {"--wipe-source", "overwrite and remove the sources once all are proven"}),
     EXITS({0, "imported"}, {3, "no such mission"}, {8, "the mission is closed"},
	   {12, "some files were refused (named on standard error)"}),
     "mission dir", false},
    END};

static const help_sub put_subs[] = {
    {NULL, "put [-f] SRC... MID/CLASS/[PATH]", "store files in a mission",
     "member or admin, passphrase",
     "Stores each SRC ('-': standard input, then PATH is required). Several sources, or a "
     "destination ending in '/' or naming only MID/CLASS, name a directory. CLASS is dossier, "
     "work or codes. The charter's content rules apply: image and video need the mission's "
     "photo authorisation, audio is always refused.",
     OPTS({"-f, --force", "replace a file that exists"}),
     EXITS({0, "stored"}, {2, "bad path"}, {3, "no such mission, or not yours"},
	   {7, "the file exists (without -f)"}, {8, "closed mission, or an auditor"},
	   {12, "refused by a charter rule"}),
     "file path", false},
    END};

static const help_sub get_subs[] = {
    {NULL, "get [-f] MID/CLASS/PATH [OUT]", "read a file back", "a key of the class, passphrase",
     "Writes the file to OUT (a file, or a directory to write into) or, when OUT is absent or "
     "'-', to standard output. Every chunk is authenticated: a damaged object is an error "
     "(exit 5), never wrong bytes.",
     OPTS({"-f, --force", "replace OUT if it exists"}),
     EXITS({0, "written"}, {3, "no such file, or not yours"}, {5, "corrupt data"},
	   {7, "OUT exists (without -f)"}),
     "path file", false},
    END};

static const help_sub ls_subs[] = {
    {NULL, "ls [-l] [MID[/CLASS[/DIR]]]", "list missions, classes or files",
     "a key (names are encrypted), passphrase",
     "Your missions, a mission's classes you can read, or a directory's entries (directories "
     "end in '/'). A damaged entry is named on standard error, and by -l as a '?' line with its "
     "file id.",
     OPTS({"-l, --long", "mode, size, time and content type"}),
     EXITS({0, "listed"}, {3, "no such mission or directory, or not yours"}), "path", true},
    END};

static const help_sub rm_subs[] = {
    {NULL, "rm MID/CLASS/PATH... | rm --damaged MID/CLASS/FID...", "remove files",
     "member or admin, passphrase",
     "Removes files; the history keeps the event. --damaged removes entries whose manifest "
     "does not open, named by the file id 'ls -l' shows; a healthy entry is refused.",
     OPTS({"--damaged", "remove damaged entries by file id"}),
     EXITS({0, "removed"}, {2, "bad path, or --damaged on a healthy entry"}, {3, "no such file"},
	   {8, "closed mission, or an auditor"}),
     "path", false},
    END};

static const help_sub log_subs[] = {
    {NULL, "log [--mission MID] [-n COUNT] [--names]", "show the signed history", "identity",
     "The history, newest first: seq, time (UTC), actor, action, mission, summary. An event "
     "whose signature does not verify is marked [SIGNATURE NOT VERIFIED]. Events of missions "
     "you hold no key for are not shown.",
     OPTS({"--mission MID", "only that mission's events"},
	  {"-n COUNT, --count COUNT", "at most COUNT events"},
	  {"--names", "add the decrypted paths of file events you may read (passphrase)"}),
     EXITS({0, "shown"}, {3, "no such mission, or not yours"}), NULL, true},
    END};

static const help_sub audit_subs[] = {
    {"verify", "audit verify [--objects] [--checkpoint FILE] [--signers FILE] [BUNDLE]",
     "replay and check the whole signed history", NULL,
     "Replays the history of the repository, or of an export's BUNDLE without any repository "
     "or key: every commit's signature, signer, role and scope, and every rule of the "
     "mission lifecycle. Prints 'OK vault ... head ... seq N, M events from ... to ...'.",
     OPTS({"--objects", "also check that every object a live file names exists"},
	  {"--checkpoint FILE", "the head must contain this signed checkpoint"},
	  {"--signers FILE", "trust these allowed signers for the vault's creation"}),
     EXITS({0, "verified"}, {1, "verification failure: the first bad commit and the rule"},
	   {2, "usage or unreadable input"}),
     NULL, true},
    {"checkpoint", "audit checkpoint", "print a checkpoint of the head, signed by you",
     "passphrase", "A signed note (C2SP format) naming the vault, the head and its sequence.", NULL,
     NULL, NULL, false},
    {"export", "audit export --out DIR [--mission MID]", "a self-contained export for auditors",
     NULL,
     "Writes DIR with history.bundle, allowed_signers and README.txt (and mission-log.txt with "
     "--mission), which 'evault audit verify DIR/history.bundle' and stock git check without "
     "the repository.",
     OPTS({"--out DIR", "the directory to write"}, {"--mission MID", "one mission's export"}),
     EXITS({0, "written"}, {2, "on a replica that lacks missions: export at the office"},
	   {3, "no such mission, or not yours"}, {7, "DIR exists"}),
     NULL, false},
    {"show", "audit show SEQ|COMMIT", "one event: verdict, message, trailers, changed paths", NULL,
     NULL, NULL, EXITS({0, "shown"}, {3, "no such event, or of a mission not yours"}), NULL, false},
    {"allowed-signers", "audit allowed-signers",
     "the allowed-signers file for git verify-commit and ssh-keygen -Y verify", NULL,
     "For example:\n\n"
     "evault audit allowed-signers > \"$PWD/allowed-signers\"; git -C \"$EVAULT_REPO/audit.git\" "
     "-c gpg.format=ssh -c gpg.ssh.allowedSignersFile=\"$PWD/allowed-signers\" log "
     "--show-signature",
     NULL, NULL, NULL, false},
    END};

static const help_sub policy_subs[] = {
    {"show", "policy show", "the vault's policy in force, from the signed history", NULL, NULL,
     NULL, NULL, NULL, false},
    {"set", "policy set KEY VALUE", "change one policy setting (one signed event)",
     "admin, passphrase",
     "KEY is one of: retention-years (how long a closed dossier is kept), "
     "close-requires-dossier (yes or no), open-days-max (when an open mission is overdue), "
     "device-erasure-days (how long a device may take to erase, 1 to 3650, default 7).",
     NULL, EXITS({0, "set"}, {2, "unknown key or bad value"}, {6, "you are not an admin"}), NULL,
     false},
    END};

static const help_sub retention_subs[] = {
    {"run", "retention run [--dry-run] [--now YYYY-MM-DD]",
     "the daily upkeep: expire dossiers, finish closes, report, collect, scrub", "admin",
     "Expires dossiers past their retention date, finishes interrupted closes, reports open "
     "missions older than the policy's open-days-max and devices that owe an erasure for "
     "longer than device-erasure-days, collects garbage and scrubs. Meant for a daily timer; "
     "exit 1 means a person must look.",
     OPTS({"--dry-run", "say what would be done; change nothing"},
	  {"--now YYYY-MM-DD", "the date to judge by (default today)"}),
     EXITS({0, "all good"}, {1, "needs a person (the lines say why)"}, {2, "could not run"}), NULL,
     true},
    END};

static const help_sub gc_subs[] = {
    {NULL, "gc [--dry-run]", "delete objects no live file names", "nothing: keyless",
     "Deletes unreferenced objects older than gc-grace-minutes (evault.conf) and stale staging "
     "files, then packs the history's loose objects.",
     OPTS({"--dry-run", "say what would be deleted; delete nothing"}), NULL, NULL, true},
    END};

static const help_sub fsck_subs[] = {
    {NULL, "fsck [--full] [--keys]", "check the store against the state",
     "nothing: keyless (--keys: passphrase)",
     "Checks that every object a live file names exists. On a replica, an object not fetched "
     "yet is counted at the office, not missing.",
     OPTS({"--full", "also read every stored object and check it hashes to its name"},
	  {"--keys", "also open every manifest you can, and match each file's object list"}),
     EXITS({0, "clean"}, {1, "problems (listed)"}, {2, "could not run"}), NULL, true},
    END};

static const help_sub clone_subs[] = {
    {NULL, "clone ssh://[USER@]HOST[:PORT]/PATH DIR [--device NAME] [--ssh CMD]",
     "make a replica of your missions from the office vault", "passphrase",
     "Makes DIR (absent or empty) a replica of the office vault for your missions: the history "
     "cut to them and verified, and your key copies. Objects come when read, or with 'sync "
     "--offline'. The replica is registered as your device NAME (default: the host name up to "
     "its first dot). A failed clone leaves no DIR behind.",
     OPTS({"--device NAME", "this laptop's device name"},
	  {"--ssh CMD", "the command that reaches the office (default ssh, or EVAULT_SSH)"}),
     EXITS({0, "cloned"}, {2, "bad address or device name"}, {4, "authentication failed"},
	   {6, "the device name belongs to another user, or was revoked"},
	   {7, "DIR is not empty, or the device is registered to you already"},
	   {11, "the office speaks another protocol version"}),
     "dir", false},
    END};

static const help_sub sync_subs[] = {
    {NULL, "sync [--dry-run] [--offline MID] [--ssh CMD]",
     "send what this replica recorded, receive what changed at the office", "a replica, passphrase",
     "Pushes the events and objects recorded here, pulls what changed at the office and your "
     "key copies, erases each mission this device may no longer hold and signs its "
     "device.erased, then prints one summary line and what it did for this device.",
     OPTS({"--dry-run", "say what would move and be erased; do nothing"},
	  {"--offline MID", "keep MID's objects whole on this laptop"},
	  {"--ssh CMD", "the command that reaches the office"}),
     EXITS({0, "synced"}, {6, "this device was revoked (what it held is erased)"},
	   {9, "a replay is needed while a mount runs here"},
	   {12, "an event recorded here cannot be replayed"}),
     "mission", false},
    END};

static const help_sub status_subs[] = {{NULL, "status",
					"a replica: its office, last sync, what waits to go up",
					"a replica", NULL, NULL, NULL, NULL, true},
				       END};

static const help_sub device_subs[] = {
    {"list", "device list", "every device: user, status, contact, missions held, erasures",
     "admin (identity)", NULL, NULL, EXITS({0, "listed"}, {6, "you are not an admin"}), NULL,
     false},
    {"revoke", "device revoke NAME", "a lost or stolen laptop: erase and refuse it",
     "admin, passphrase",
     "One signed device.revoke: the office answers that device only to let it erase what it "
     "holds and confirm it, then never again.",
     NULL,
     EXITS({0, "revoked"}, {3, "no such device"}, {6, "you are not an admin"},
	   {7, "revoked already"}),
     "device", false},
    END};

static const help_sub serve_subs[] = {
    {NULL, "serve -R REPO [--timeout SECONDS] [--log FILE]",
     "the office's side of sync, run by sshd as a forced command", NULL,
     "Speaks the sync protocol on standard input and output for one connection. It is not "
     "meant to be run by hand: sshd runs it for each laptop's connection, forced by the "
     "command= of the technician's authorized_keys line.",
     OPTS({"--timeout SECONDS", "close an idle connection after SECONDS"},
	  {"--log FILE", "where to log (default REPO/serve.log)"}),
     NULL, NULL, false},
    END};

static const help_sub objects_subs[] = {
    {"where", "objects where", "where the objects are kept", NULL, NULL, NULL, NULL, NULL, false},
    {"migrate",
     "objects migrate --to local|rados:POOL[/NAMESPACE] [--rados-conf PATH] [--rados-user NAME] "
     "[--rados-keyring PATH] [--rados-timeout SECONDS] [--keep-source]",
     "move the objects to a Ceph pool or back, each proven", "admin, passphrase",
     "Copies every object, proves each by reading it back and hashing it, then, under the "
     "lock, copies what was stored meanwhile, records a signed objects.migrate event, switches "
     "evault.conf and removes the old copies. Resumes after an interruption.",
     OPTS({"--to LOCATION", "local, or rados:POOL[/NAMESPACE]"},
	  {"--keep-source", "leave the old copies in place"},
	  {"--rados-conf PATH", "the Ceph configuration file"},
	  {"--rados-user NAME", "the Ceph client name"}, {"--rados-keyring PATH", "the keyring"},
	  {"--rados-timeout SECONDS", "how long a Ceph operation may take"}),
     EXITS({0, "moved"}, {5, "an object could not be proven"}, {7, "already there"},
	   {9, "a mount is live"}, {10, "the pool or disk is full"}),
     NULL, false},
    END};

static const help_sub help_subs[] = {
    {NULL, "help [COMMAND [SUBCOMMAND]] | help --man [COMMAND]",
     "this help; a command's page; a manual page", NULL,
     "'evault COMMAND [SUBCOMMAND] --help' prints the same page as 'evault help COMMAND "
     "[SUBCOMMAND]'. 'help --man' prints the manual page in roff, as installed.",
     NULL, NULL, NULL, false},
    END};

static const help_sub report_subs[] = {
    {"indicators", "report indicators --year YYYY [--client NAME] [--explain] [--html] [EXPORT]",
     "the year's trust indicators, counted from the verified history",
     "any user; --client: admin, passphrase",
     "Counts, for one calendar year (UTC), what the company promises its clients: dossiers "
     "due, handed over on time, late, overdue or pending (against each mission's dossier due "
     "date), the median days from close to handover, missions created and closed, access "
     "codes rotated or reported at close, photos and recordings refused and photo "
     "authorisations recorded, missions refused by category, erasures and their confirmation "
     "by every device, dossiers destroyed at the end of retention.\n\n"
     "Only the verified history is read: the repository's, verified first as every command's "
     "is, or an EXPORT (a directory made by 'evault audit export', or its history.bundle) "
     "verified in full without any key. Every figure comes from signed events and clear "
     "records, so the office and an auditor's export print the same report. 'Pending' and "
     "'overdue' are as of the head's time, not the clock: two runs on one history print the "
     "same bytes.\n\n"
     "The report is Markdown, in French and English; --html prints it as one HTML page, "
     "--json as one JSON document. --client NAME limits every figure to that client's "
     "missions and refused missions (an admin reads the encrypted client names) and names no "
     "other client or mission.",
     OPTS({"--year YYYY", "the calendar year, 2000 to 2999"},
	  {"--client NAME", "only this client's missions and refusals (admin)"},
	  {"--explain", "list, per figure, the events it was counted from (seq, commit, mission)"},
	  {"--html", "an HTML page instead of Markdown"}),
     EXITS({0, "reported"}, {1, "the history or the export does not verify"},
	   {2, "usage, no year, a replica (run it at the office or on an export), or --client "
	       "on an export"},
	   {4, "wrong passphrase"},
	   {6, "--client by a user who is not an admin, --explain by a technician"}),
     "dir", true},
    END};

static const help_group groups[] = {
    {"init", "create a repository", NULL, init_subs},
    {"identity", "create or show your identity (key pair)", KDF_TEXT, identity_subs},
    {"user", "manage users (admin)", ROLES_TEXT, user_subs},
    {"mission", "manage missions; close erases work and codes (admin)",
     "A mission holds three classes: dossier (kept until its retention date), work and codes "
     "(erased when the mission closes).",
     mission_subs},
    {"codes", "record that an access code was changed or handed back", NULL, codes_subs},
    {"dossier", "hand the dossier over to the client, signed; check a handed-over dossier", NULL,
     dossier_subs},
    {"mount", "the vault as a folder: your missions, plaintext only in memory", NULL, mount_subs},
    {"umount", "unmount once every file is recorded", NULL, umount_subs},
    {"import", "copy a camera card in, prove every copy, then wipe the card", NULL, import_subs},
    {"put", "store files in a mission", NULL, put_subs},
    {"get", "read a file back", NULL, get_subs},
    {"ls", "list missions, classes or files", NULL, ls_subs},
    {"rm", "remove files", NULL, rm_subs},
    {"log", "show the signed history", NULL, log_subs},
    {"audit", "verify the history, checkpoints, exports for auditors", NULL, audit_subs},
    {"report", "the yearly trust indicators, from the verified history", NULL, report_subs},
    {"policy", "the vault's retention policy, in the signed history (set: admin)", NULL,
     policy_subs},
    {"retention", "expire dossiers, finish closes, collect, scrub (admin; for a daily timer)", NULL,
     retention_subs},
    {"gc", "delete objects no live file names (keyless)", NULL, gc_subs},
    {"fsck", "check the store against the state (keyless)", NULL, fsck_subs},
    {"clone", "make a replica of your missions from the office vault", NULL, clone_subs},
    {"sync", "send what this replica recorded, receive what changed at the office", NULL,
     sync_subs},
    {"status", "a replica: its office, last sync, what waits to go up", NULL, status_subs},
    {"device", "the replicas: what each holds and erased; revoke a lost one (admin)", NULL,
     device_subs},
    {"serve", "the office's side of sync, run by sshd as a forced command", NULL, serve_subs},
    {"objects", "where the objects are; move them to a Ceph pool or back (admin)", NULL,
     objects_subs},
    {"help", "this help, a command's page or a manual page", NULL, help_subs},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static const help_opt global_opts[] = {
    {"-R PATH, --repo PATH", "the repository (default: $EVAULT_REPO)"},
    {"--identity FILE",
     "your identity file (default: $EVAULT_IDENTITY, else ~/.config/evault/identity)"},
    {"--passphrase-file FILE", "read the passphrase from FILE's first line (default: "
			       "$EVAULT_PASSPHRASE_FILE, else ask on the terminal)"},
    {"-h, --help", "help; 'evault COMMAND [SUBCOMMAND] --help' for one command"},
    {"--version", "print the version"},
    {NULL, NULL}};

static const help_opt environment[] = {
    {"EVAULT_REPO", "the repository, as -R"},
    {"EVAULT_IDENTITY", "the identity file, as --identity"},
    {"EVAULT_PASSPHRASE_FILE", "the passphrase file, as --passphrase-file"},
    {"EVAULT_SSH", "the command that reaches the office for clone and sync (default ssh)"},
    {"EVAULT_THREADS", "cores to use for chunk work and for audit verify (default: the online "
		       "cores)"},
    {NULL, NULL}};

static const help_exit common_exits[] = {{0, "success"},
					 {1, "other error (I/O, a library failure)"},
					 {2, "usage, or an invalid name or value"},
					 {3, "not found, or not yours"},
					 {4, "wrong passphrase or failed authentication"},
					 {5, "corrupt data"},
					 {6, "not allowed for your role"},
					 {7, "already exists"},
					 {8, "read-only (a closed mission, an auditor)"},
					 {9, "busy (the repository lock, a live mount)"},
					 {10, "no space left"},
					 {11, "a newer format, or a missing capability"},
					 {12, "refused by a charter rule"},
					 {0, NULL}};

const help_group *help_group_find(const char *name)
{
	for (size_t i = 0; name && i < NGROUPS; i++)
		if (strcmp(groups[i].name, name) == 0)
			return &groups[i];
	return NULL;
}

const help_sub *help_lookup(int argc, char **argv)
{
	const help_group *g = argc > 0 ? help_group_find(argv[0]) : NULL;
	if (!g)
		return NULL;
	return help_sub_find(g, g->subs[0].name && argc > 1 ? argv[1] : NULL);
}

static const help_opt json_opt[] = {
    {"--json", "print one JSON document instead (docs/cli.md, \"--json\")"}, {NULL, NULL}};

const help_sub *help_sub_find(const help_group *g, const char *word)
{
	if (!g->subs[0].name)
		return &g->subs[0];
	for (const help_sub *s = g->subs; word && s->synopsis; s++)
		if (strcmp(s->name, word) == 0)
			return s;
	return NULL;
}

/*
 * Prints text wrapped to 78 columns, each line indented by indent; the
 * first line continues at column col when col > 0 (something is printed
 * there already).
 */
static void wrap_at(FILE *f, const char *text, int indent, int col)
{
	const char *p = text;
	while (*p) {
		if (p[0] == '\n' && p[1] == '\n') {
			fputc('\n', f);
			p += 2;
			continue;
		}
		if (col <= 0) {
			fprintf(f, "%*s", indent, "");
			col = indent;
		}
		bool first = true;
		while (*p && !(p[0] == '\n' && p[1] == '\n')) {
			const char *w = p;
			while (*w == ' ' || *w == '\n')
				w++;
			const char *e = w;
			while (*e && *e != ' ' && *e != '\n')
				e++;
			if (e == w) {
				p = e;
				break;
			}
			int len = (int)(e - w);
			if (!first && col + 1 + len > 78)
				break;
			fprintf(f, "%s%.*s", first ? "" : " ", len, w);
			col += (first ? 0 : 1) + len;
			first = false;
			p = e;
		}
		fputc('\n', f);
		col = 0;
		while (*p == ' ')
			p++;
		if (p[0] == '\n' && p[1] != '\n')
			p++;
	}
}

static void wrap(FILE *f, const char *text, int indent)
{
	wrap_at(f, text, indent, 0);
}

static void opt_lines(FILE *f, const help_opt *o)
{
	for (; o && o->flag; o++) {
		if (strlen(o->flag) <= 24) {
			fprintf(f, "  %-24s ", o->flag);
			wrap_at(f, o->text, 27, 27);
		} else {
			fprintf(f, "  %s\n", o->flag);
			wrap(f, o->text, 27);
		}
	}
}

static void exit_lines(FILE *f, const help_exit *e)
{
	for (; e->why; e++)
		fprintf(f, "  %-3d %s\n", e->code, e->why);
}

void help_overview(FILE *f)
{
	fprintf(f, "usage: evault [-R REPO] [--identity FILE] [--passphrase-file FILE] COMMAND "
		   "[ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NGROUPS; i++)
		fprintf(f, "  %-10s %s\n", groups[i].name, groups[i].summary);
	fprintf(f, "\nglobal options (anywhere on the line):\n");
	opt_lines(f, global_opts);
	fprintf(f, "\nenvironment:\n");
	opt_lines(f, environment);
	fprintf(f, "\nexit codes (each command's page says which it uses):\n");
	exit_lines(f, common_exits);
	fprintf(f, "\n'evault help COMMAND' or 'evault COMMAND --help' for a command; "
		   "man evault-COMMAND.\n");
}

static void sub_page(FILE *f, const help_group *g, const help_sub *s)
{
	fprintf(f, "usage: evault ");
	wrap(f, s->synopsis, 0);
	fprintf(f, "\n");
	wrap(f, s->summary, 2);
	if (s->needs)
		fprintf(f, "  needs: %s\n", s->needs);
	if (s->text) {
		fputc('\n', f);
		wrap(f, s->text, 2);
	}
	if (!s->name && g->text) {
		fputc('\n', f);
		wrap(f, g->text, 2);
	}
	if (s->opts || s->json) {
		fprintf(f, "\noptions:\n");
		opt_lines(f, s->opts);
		if (s->json)
			opt_lines(f, json_opt);
	}
	fprintf(f, "\nexit codes:\n");
	exit_lines(f, s->exits ? s->exits : common_exits);
	if (s->exits)
		fprintf(f, "  and the common codes of 'evault --help'\n");
}

int help_page(FILE *f, const char *group, const char *sub)
{
	const help_group *g = help_group_find(group);
	if (!g)
		return -1;
	const help_sub *s = help_sub_find(g, sub);
	if (s) {
		sub_page(f, g, s);
		return 0;
	}
	if (sub)
		return -1;
	fprintf(f, "usage:");
	for (s = g->subs; s->synopsis; s++) {
		fprintf(f, "%s", s == g->subs ? " evault " : "       evault ");
		wrap(f, s->synopsis, 0);
	}
	fprintf(f, "\n");
	wrap(f, g->summary, 2);
	if (g->text) {
		fputc('\n', f);
		wrap(f, g->text, 2);
	}
	fprintf(f, "\n");
	for (s = g->subs; s->synopsis; s++)
		fprintf(f, "  %-18s %s\n", s->name, s->summary);
	fprintf(f, "\n'evault %s SUBCOMMAND --help' for its options and exit codes.\n", g->name);
	return 0;
}

/* roff: text with its special characters escaped; a line never starts with
 * '.' or '\''. */
static void roff(FILE *f, const char *s)
{
	bool bol = true;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = false;
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n') {
			fputc('\n', f);
			bol = true;
		} else
			fputc(*s, f);
	}
}

/* Paragraphs of text, each a .PP. */
static void roff_text(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *e = strstr(p, "\n\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char para[2048];
		snprintf(para, sizeof(para), "%.*s", (int)n, p);
		for (char *q = para; *q; q++)
			if (*q == '\n')
				*q = ' ';
		fputs(".PP\n", f);
		roff(f, para);
		fputc('\n', f);
		p += n;
		while (*p == '\n')
			p++;
	}
}

static void roff_opts(FILE *f, const help_opt *o)
{
	for (; o && o->flag; o++) {
		fputs(".TP\n.B ", f);
		roff(f, o->flag);
		fputc('\n', f);
		roff(f, o->text);
		fputc('\n', f);
	}
}

static void roff_exits(FILE *f, const help_exit *e)
{
	for (; e->why; e++) {
		fprintf(f, ".TP\n.B %d\n", e->code);
		roff(f, e->why);
		fputc('\n', f);
	}
}

static void man_header(FILE *f, const char *name, const char *summary)
{
	char date[16];
	time_t t = 0;
	/* reproducible builds set the date; else today */
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	t = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	fprintf(f, ".TH ");
	for (const char *p = name; *p; p++)
		fputc(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p, f);
	fprintf(f, " 1 \"%s\" \"evault %s\" \"evault manual\"\n.SH NAME\n", date, EVAULT_VERSION);
	roff(f, name);
	fputs(" \\- ", f);
	roff(f, summary);
	fputc('\n', f);
}

static void man_group(FILE *f, const help_group *g)
{
	char name[64];
	snprintf(name, sizeof(name), "evault-%s", g->name);
	man_header(f, name, g->summary);
	fputs(".SH SYNOPSIS\n", f);
	for (const help_sub *s = g->subs; s->synopsis; s++) {
		fputs(".nf\n\\fBevault\\fR ", f);
		roff(f, s->synopsis);
		fputs("\n.fi\n", f);
	}
	fputs(".SH DESCRIPTION\n", f);
	if (g->text)
		roff_text(f, g->text);
	for (const help_sub *s = g->subs; s->synopsis; s++) {
		if (s->name) {
			fputs(".SS ", f);
			roff(f, s->name);
			fputc('\n', f);
		}
		roff_text(f, s->summary);
		if (s->needs) {
			fputs(".PP\nNeeds: ", f);
			roff(f, s->needs);
			fputs(".\n", f);
		}
		if (s->text)
			roff_text(f, s->text);
		if (s->opts || s->json) {
			fputs(".PP\nOptions:\n", f);
			roff_opts(f, s->opts);
			if (s->json)
				roff_opts(f, json_opt);
		}
		fputs(".PP\nExit status:\n", f);
		roff_exits(f, s->exits ? s->exits : common_exits);
	}
	fputs(".SH SEE ALSO\n.BR evault (1)\n", f);
}

int help_man(FILE *f, const char *group)
{
	if (group) {
		const help_group *g = help_group_find(group);
		if (!g)
			return -1;
		man_group(f, g);
		return 0;
	}
	man_header(f, "evault", "the secure evidence vault");
	fputs(".SH SYNOPSIS\n.B evault\n[\\fB\\-R\\fR \\fIREPO\\fR] [\\fB\\-\\-identity\\fR "
	      "\\fIFILE\\fR] [\\fB\\-\\-passphrase\\-file\\fR \\fIFILE\\fR] \\fICOMMAND\\fR "
	      "[\\fIARGS\\fR]\n",
	      f);
	roff_text(f,
		  "evault keeps the photos, reports, notes and access codes of a mission encrypted "
		  "in a content-addressed store, records every change as a signed commit that "
		  "stock git can verify, and erases what the archived dossier does not need when "
		  "the mission closes.\n\nGlobal options may stand anywhere on the line before "
		  "'--'. Every command that reads a repository first verifies what is new in its "
		  "history since the head this identity last verified, and does nothing on a "
		  "history that does not verify.");
	fputs(".SH OPTIONS\n", f);
	roff_opts(f, global_opts);
	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; i < NGROUPS; i++) {
		fprintf(f, ".TP\n.BR evault\\-%s (1)\n", groups[i].name);
		roff(f, groups[i].summary);
		fputc('\n', f);
	}
	fputs(".SH ENVIRONMENT\n", f);
	roff_opts(f, environment);
	fputs(".SH EXIT STATUS\n", f);
	roff_exits(f, common_exits);
	fputs(".SH FILES\n.TP\n.I ~/.config/evault/identity\nyour identity: the key pair, its "
	      "secret half sealed under your passphrase\n.TP\n.I "
	      "~/.config/evault/identity.verified/\nthe history heads this identity verified\n",
	      f);
	fputs(".SH SEE ALSO\n", f);
	for (size_t i = 0; i < NGROUPS; i++)
		fprintf(f, ".BR evault\\-%s (1)%s\n", groups[i].name, i + 1 < NGROUPS ? "," : "");
	return 0;
}

/* The option words of s: "-f, --force X" gives "-f" and "--force". */
static void option_words(FILE *f, const help_opt *o)
{
	for (; o && o->flag; o++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", o->flag);
		for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", "))
			if (tok[0] == '-')
				fprintf(f, "%s\n", tok);
	}
}

void help_complete(FILE *f, int argc, char **argv)
{
	/* argv: the words typed after "evault", the last one being completed */
	int i = 0;
	const help_group *g = NULL;
	/* skip global options and their values */
	for (; i < argc - 1; i++) {
		if (strcmp(argv[i], "-R") == 0 || strcmp(argv[i], "--repo") == 0 ||
		    strcmp(argv[i], "--identity") == 0 ||
		    strcmp(argv[i], "--passphrase-file") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			break;
	}
	if (i >= argc - 1) {
		for (size_t k = 0; k < NGROUPS; k++)
			fprintf(f, "%s\n", groups[k].name);
		option_words(f, global_opts);
		return;
	}
	if (!(g = help_group_find(argv[i])))
		return;
	const help_sub *s = NULL;
	if (!g->subs[0].name)
		s = &g->subs[0];
	else if (i + 1 >= argc - 1) {
		for (s = g->subs; s->synopsis; s++)
			fprintf(f, "%s\n", s->name);
		return;
	} else if (!(s = help_sub_find(g, argv[i + 1])))
		return;
	option_words(f, s->opts);
	if (s->json)
		option_words(f, json_opt);
	option_words(f, global_opts);
	if (s->complete)
		fprintf(f, "@%s\n", s->complete);
}
