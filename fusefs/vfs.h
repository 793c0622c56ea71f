/*
 * The mount's shared state (docs/mount.md), used by the files of fusefs/:
 *
 *   index.c    the missions, and per class the files (decrypted manifests)
 *              and directories; brought up to date from the history
 *   inode.c    the kernel's inodes: numbers, names, lookup counts
 *   ofile.c    open files: chunk tables, buffers, read, write, size, sealing
 *   commits.c  group commits: the files closed (and removed) within a short
 *              window recorded as one signed event per mission
 *   workers.c  the threads that seal and read ahead chunks; buffer pool
 *   ops.c      the FUSE operations (libfuse low-level API): they translate
 *   mount.c    the mount's life: checks before mounting, start, flusher
 *              thread, the refusals .evault/refused lists, stop
 *
 * Locks, always taken in this order:
 *   1. V->mu   the index, the inodes, every ofile's binding and users, and
 *              every engine call that touches the history;
 *   2. of->mu  one open file's chunk table, size, times and references;
 *   3. V->jmu, pool_mu, V->imu: leaf locks of the job queue, the buffer
 *              pool and the flusher's queue; nothing is taken under them.
 * The read and write paths take of->mu only; workers take of->mu only.
 *
 * Lifetime of an open file (ofile), the one rule everything follows:
 *   - An ofile has USERS: the open handles on it and operations that
 *     hold it for a moment (truncate or chmod of a file not open). Users
 *     are counted under V->mu. While it has users it is BOUND to its
 *     inode (in->of == of, of->in == in), so every open of the path shares
 *     it and sees the latest content. When the last user goes (under
 *     V->mu) it is unbound: the inode forgets it, in the same critical
 *     section. A file unlinked or replaced while open stays bound to its
 *     (now nameless) inode, so fstat and friends still answer; a refused
 *     file is unbound at once (its old version, if any, stays visible).
 *   - Its memory has REFERENCES (of->refs, under of->mu): one for the
 *     binding, one per job in flight (sealing, reading ahead). Jobs only
 *     touch the ofile's own memory; the last reference frees it. Nothing
 *     frees an ofile the index still points to: the binding is a reference.
 *   - Its mission (vmission) lives while any ofile of it does (nfiles).
 */
#ifndef EVAULT_FUSEFS_VFS_H
#define EVAULT_FUSEFS_VFS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "chunk.h"
#include "content.h"
#include "layout.h"
#include "manifest.h"
#include "mission.h"
#include "mounts.h"
#include "names.h"
#include "repo.h"

#define OF_MAX_BUFFERS 10 /* plaintext chunk buffers per open file */
#define OF_MAX_INFLIGHT 6 /* chunks being sealed or read ahead per open file */
#define READAHEAD 5       /* chunks decrypted ahead of a sequential reader */
#define STAGE_BATCH 64    /* staged objects made durable together */
#define REFRESH_NS 1000000000LL
#define TIMEOUT_S 1.0 /* the kernel caches names and attributes this long */
#define REFUSAL_FLUSH_S 2
#define REFUSED_KEPT 100 /* refusals .evault/refused lists, the last ones */
#define REFUSAL_WHY_MAX 256

typedef struct ofile ofile;
typedef struct inode inode;
typedef struct vmission vmission;

/* ---- index.c ---- */

typedef struct tlink { /* a member of a table: first in its struct */
	struct tlink *next;
	const char *key;
} tlink;

typedef struct fnode {                /* a file of a class, as the history (or this mount) has it */
	tlink l;                      /* key: m.path */
	char fid[LAYOUT_FID_LEN + 1]; /* "" while created here and not yet committed */
	manifest m;                   /* m.path: the path inside the class */
	struct timespec atime;        /* set by utimensat; not recorded (zero: mtime) */
	bool seen;
} fnode;

typedef struct vdir { /* a directory of a class: made by its files, or by mkdir here */
	tlink l;      /* key: path */
	char *path;   /* "" for the class itself */
	uint32_t nfiles, nsubdirs;
	bool session; /* made by mkdir here: kept while the mount lives, even empty */
	uint32_t mode;
	struct timespec atime, mtime, ctime;
} vdir;

typedef struct table { /* a hash table by path, grown as it fills */
	tlink **b;
	size_t nb, n;
} table;

typedef struct vclass {
	bool readable;
	class_keys *k;
	char tree[41];
	table files; /* fnode by path */
	table dirs;  /* vdir by path */
	uint64_t keys_run; /* the group commit (V->run) that last read its keys */
} vclass;

struct vmission {
	vmission *next;
	char mid[EVAULT_MID_MAX + 1];
	mission_rec rec;
	char rec_id[41]; /* the git id of the MISSION record rec was read from */
	char *photos;    /* the photo authorisation's text once read for .mission (client
			  * data, wiped), until the record changes; NULL: not read */
	bool writable, gone;
	atomic_bool photos_ok; /* for the write path, which does not hold V->mu */
	int writers;           /* handles open for writing: close of the mission waits for them */
	atomic_int nfiles;     /* ofiles alive: the mission is kept while any */
	vclass c[EVAULT_CLASS_COUNT];
	content_tally refused;
};

int refresh(bool force);
/* V->mu held: vm's keys of class cls gain the generations its record names
 * in the newest state (a revoke made elsewhere). */
int refresh_keys(vmission *vm, evault_class cls);
vmission *find_mission(const char *mid);
void forget_mission(vmission *vm);
fnode *find_file(vclass *c, const char *path);
vdir *find_dir(vclass *c, const char *path);
/* Adds n to c (and the directories above it); touch: their times are now. */
int link_file(vclass *c, fnode *n, bool touch);
void unlink_file(vclass *c, fnode *n, bool touch);
void free_node(fnode *n);
int make_dir(vclass *c, const char *path, uint32_t mode);
/* Removes an empty directory made here (a directory of files goes with them). */
void remove_dir(vclass *c, vdir *d);
/* d is no longer kept for itself: it goes when nothing is under it. */
void dir_release(vclass *c, vdir *d);
void touch_dir(vclass *c, const char *path_of_entry);
/* Calls fn for each file and directory directly in dir. */
typedef int (*dir_entry_fn)(const char *name, bool is_dir, void *p);
int each_entry(vclass *c, const char *dir, dir_entry_fn fn, void *p);
bool dir_empty(vclass *c, const vdir *d);
void free_name(char *s);
/* Every member of a table; n is only used to step on (it may be removed). */
#define TABLE_EACH(t, type, n)                                                                     \
	for (size_t _b = 0; (t)->b && _b < (t)->nb; _b++)                                          \
		for (type *n = (type *)(t)->b[_b], *_nx; n && ((_nx = (type *)n->l.next), 1);      \
		     n = _nx)

/* ---- inode.c ---- */

enum {
	I_ROOT = 1,
	I_EVDIR,   /* .evault */
	I_STATUS,  /* .evault/status */
	I_MISSION, /* MID */
	I_MFILE,   /* MID/.mission */
	I_CLASS,   /* MID/CLASS */
	I_DIR,     /* a directory inside a class */
	I_FILE,    /* a file inside a class */
	I_REFUSED, /* .evault/refused */
};

struct inode {
	uint64_t ino;
	int kind;
	inode *parent; /* NULL for the root and once unlinked */
	char *name;
	uint64_t nlookup;   /* the kernel's references */
	uint32_t nchildren; /* linked inodes below: they keep their parent */
	uint32_t nopen;     /* handles on it */
	bool unlinked;
	ofile *of;                           /* I_FILE: bound while it has users */
	char cached_fid[LAYOUT_FID_LEN + 1]; /* the version the kernel's page cache holds */
	inode *ino_next, *name_next;
};

/* Where an inode is: resolved from its names, checked against the index. */
typedef struct vpath {
	int kind;
	vmission *vm;
	evault_class cls;
	vclass *c;
	char rel[EVAULT_PATH_MAX + 1]; /* inside the class ("" for the class) */
} vpath;

int inodes_init(void);
/* At the end of the mount: files still open are recorded (V->mu held), then
 * everything is freed, open files' buffers wiped (no worker runs then). */
void inodes_commit_open(void);
void inodes_free(void);
inode *inode_get(fuse_ino_t ino);
inode *inode_child(inode *parent, const char *name);
/* The inode for name in parent, made if new, with one more kernel reference. */
inode *inode_lookup(inode *parent, const char *name, int kind);
void inode_forget(inode *in, uint64_t n);
/* Detaches in from its name (unlink, replaced by a rename, refused). */
void inode_unlink(inode *in);
int inode_move(inode *in, inode *newparent, const char *newname);
void inode_release(inode *in); /* frees it when nothing holds it */
int inode_resolve(inode *in, vpath *p);
/* The child path of p's directory (p->rel + "/" + name), checked. */
int child_path(const vpath *dir, const char *name, char out[EVAULT_PATH_MAX + 1]);
/* The inode of a file of a class, if the kernel knows it. */
inode *inode_of_path(vmission *vm, evault_class cls, const char *rel);

/* ---- ofile.c ---- */

enum { C_OBJ = 1, C_DIRTY, C_SEALING };

typedef struct centry { /* a chunk that is not a hole */
	uint64_t idx;
	uint8_t st;
	bool pending; /* C_OBJ whose object is staged, not yet durable and named */
	bool loading; /* C_OBJ being read ahead by a worker */
	uint8_t gen;  /* sealed here with this many key generations (0: not sealed here) */
	uint8_t id[OBJECT_ID_LEN];
	uint8_t *buf; /* C_DIRTY / C_SEALING: plaintext; C_OBJ: a clean copy or NULL */
} centry;

struct ofile {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs; /* of->mu */
	/* V->mu: */
	int users;
	inode *in;
	vmission *vm;
	evault_class cls;
	const class_keys *k;
	char fid[LAYOUT_FID_LEN + 1]; /* the committed version, "" if none yet */
	bool queued; /* waits for a group commit (the queue holds a user) */
	int crc;     /* the last group commit's result for it */
	int whandles; /* handles open for writing on it */
	/* of->mu: */
	uint32_t cs;
	uint64_t size;
	uint32_t mode;
	struct timespec mtime, ctime, atime;
	char ctype[MANIFEST_CTYPE_MAX];
	char why[REFUSAL_WHY_MAX]; /* refused: the rule's words, for .evault/refused */
	centry *ch; /* ascending by idx; holes have none */
	size_t nch, ach, hint;
	size_t nbufs, inflight;
	uint64_t lowbuf; /* no chunk below this index holds a buffer */
	bool dirty, unlinked, refused, classified;
	bool committing; /* a commit takes its snapshot: writers wait */
	bool publishing; /* its staged objects are with a group commit: readers of them wait */
	bool moving;     /* moved to another class (of_hold): writers wait */
	int err;         /* a sealing failure, reported at the next write/flush */
	backend_staged *staged[STAGE_BATCH];
	size_t nstaged;
};

/* V->mu held: the open file of in (shared if bound), one more user. */
int ofile_open(inode *in, const vpath *p, ofile **out);
/* V->mu held: one user less; the last unbinds it. */
void ofile_close(ofile *of);
void of_ref(ofile *of); /* one more reference to its memory */
void ofile_unref(ofile *of);
void ofile_discard(ofile *of); /* frees it whatever holds it: the mount's end only */
int of_read(ofile *of, char *out, size_t len, off_t off);
int of_write(ofile *of, const char *data, size_t len, off_t off);
int of_truncate(ofile *of, uint64_t size);
/* V->mu held: the file sealed for a commit (0), nothing to commit (1), or an
 * error (-EACCES: refused). Its objects stay staged until a group commit. */
int of_prepare(ofile *of);
/* The steps of a group commit (commits.c), V->mu held. of_snapshot: the
 * file sealed, its manifest taken (path p->rel), its staged objects moved
 * to sl; writers and readers of those objects wait until of_snapshot_end
 * (after the publish; publish_rc < 0: they were lost). 1: nothing to do. */
typedef struct stage_list {
	backend_staged **v;
	size_t n, a;
} stage_list;
int of_snapshot(ofile *of, vpath *p, manifest *m, size_t *sealed_gens, stage_list *sl);
void of_snapshot_end(ofile *of, int publish_rc);
/* After the event: the file and the index follow entry fid (m's arrays are
 * taken); rc < 0: not recorded, the file stays dirty. */
void of_recorded(ofile *of, const vpath *p, manifest *m, const char *fid, int rc);
void of_drop_refused(ofile *of); /* V->mu held */
/* Writers wait from of_hold to of_unhold: an open file moved to another
 * class (committed, re-encrypted, then of_rekey: it takes the new version). */
void of_hold(ofile *of);
void of_unhold(ofile *of);
int of_rekey(ofile *of, evault_class cls, const manifest *m, const char *fid); /* V->mu held */
void of_unlinked(ofile *of); /* V->mu held */
void fill_file(struct stat *st, const fnode *n, ofile *of, bool writable);

/* ---- commits.c ---- */

#define COMMIT_WINDOW_NS 500000000LL /* a closed file is recorded within this */
#define COMMIT_SOON_N 128 /* queued changes that start a commit at once */
#define COMMIT_QUEUE_MAX 512         /* a close records the queue itself past this */

/* V->mu held. The file prepared (sealed) and, if it changed, queued for the
 * next group commit. COMMIT_SOON: the queue recorded here if it is long;
 * COMMIT_QUEUE: never here (callers that walk the inodes); COMMIT_NOW:
 * recorded before returning (fsync, rename, reopened for writing), its own
 * result. -EACCES: refused (dropped). Other than COMMIT_QUEUE, ofiles and
 * inodes held only by the queue may be freed: callers look them up again. */
enum { COMMIT_QUEUE, COMMIT_SOON, COMMIT_NOW };
int commit_file(ofile *of, int when);
/* The removal of entry fid, queued for the next group commit. */
int commit_removal(vmission *vm, evault_class cls, const char *fid);
/* Records everything queued: one event per mission. The first error. */
int commit_run(void);
/* The flusher's commit when the window is over: as commit_run, except that
 * a queued file that is empty and still open for writing is left out (the
 * shell's `>`: its content comes next); its next close queues it again. */
int commit_window(void);
/* V->mu held: is of queued with no content (size 0)? Such a version is
 * not forced out by a reopen for writing: a refusal would lose nothing of
 * it, and what is written next is the version to record (`: > f; echo x
 * >> f`). */
bool commit_queued_empty(ofile *of);
/* For the flusher: the time the oldest queued change is due (0: none). */
int64_t commit_due_ns(void);
void commits_free(void);

/* ---- workers.c ---- */

typedef struct job {
	struct job *next;
	ofile *of;
	uint64_t idx;
	bool load; /* read ahead (decrypt) rather than seal */
} job;

typedef struct tworker { /* per FUSE thread, for chunks decrypted in place */
	chunk_worker *cw;
	evault_buf obj;
	uint32_t cs;
} tworker;

int workers_start(void);
void workers_stop(void);
void enqueue(job *j);
tworker *thread_worker(uint32_t cs);
uint8_t *buf_get(uint32_t cs, bool zero);
void buf_put(uint8_t *b, uint32_t cs);
void pool_drain(void);
void seal_job(chunk_worker *cw, evault_buf *obj, job *j);
void load_job(chunk_worker *cw, evault_buf *rd, job *j);

/* ---- mount.c ---- */

/* A refused file, as .evault/refused lists it (mount.c). */
typedef struct refusal {
	time_t when;
	char mid[EVAULT_MID_MAX + 1];
	evault_class cls;
	char path[EVAULT_PATH_MAX + 1]; /* inside the class; "" if it had no name left */
	char why[REFUSAL_WHY_MAX];
} refusal;

typedef struct vfs {
	evault_repo *repo;
	bool ro;
	pthread_mutex_t mu;
	vmission *missions;
	char head[41];
	int64_t checked_ns;
	uid_t uid;
	gid_t gid;
	struct timespec started;
	char mountpoint[4096];
	struct fuse_session *se;
	/* jobs for the workers */
	pthread_mutex_t jmu;
	pthread_cond_t jcv;
	job *jhead, *jtail;
	bool jstop;
	pthread_t *threads;
	size_t nthreads;
	/* names the kernel may still cache after a refused file went: told by the flusher */
	pthread_mutex_t imu;
	pthread_cond_t icv;
	struct {
		fuse_ino_t parent;
		char *name;
	} inval[64];
	size_t ninval;
	bool istop;
	pthread_t flusher;
	bool flusher_started;
	/* a replica's background sync (mount.c): its thread, every sync_interval s */
	pthread_t syncer;
	bool syncer_started;
	unsigned sync_interval;
	char sync_status[400]; /* V->mu: the last sync's outcome, for .evault/status */
	mount_reg reg;    /* REPO/mounts/<pid>: missions being written */
	refusal *refusals; /* V->mu: a ring of the last REFUSED_KEPT (NULL: none yet) */
	size_t nrefusals, refusal_next;
	/* group commits (commits.c), V->mu: */
	ofile **cq;
	size_t ncq, acq;
	struct cremoval {
		char mid[EVAULT_MID_MAX + 1];
		evault_class cls;
		char fid[LAYOUT_FID_LEN + 1];
	} *rq;
	size_t nrq, arq;
	uint64_t run;     /* group commits so far */
	int64_t cq_since; /* V->imu: when the oldest queued change came (0: none) */
	bool cq_soon;     /* V->imu: enough queued to record now */
	chunk_worker *cw; /* V->mu: commit-time work */
	evault_buf obj;
} vfs;

extern vfs *V;

int64_t now_ns(void);
struct timespec now_ts(void);
int to_errno(int rc);
int fail(int rc, const char *what);
void writers_changed(vmission *vm, int delta);
void queue_invalidation(fuse_ino_t parent, const char *name);
/* A refusal kept for .evault/refused (path NULL: unknown). V->mu held. */
void note_refusal(vmission *vm, evault_class cls, const char *path, const char *why);
/* .evault/refused: the refusals of the missions this mount shows. V->mu held. */
int refused_text(evault_buf *b);
extern const struct fuse_lowlevel_ops vfs_ops;
/* At the mount's end: the handles the kernel never released. V->mu held. */
void handles_end_all(void);

#endif
