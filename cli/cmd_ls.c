/* evault ls: missions, a mission's classes, or a class's files. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct ls_opts {
	bool lng;
	const char *where; /* MID/CLASS[/DIR] listed */
	json *j;           /* --json, else NULL */
} ls_opts;

static int print_mission(const char *mid, const char *status, void *p)
{
	ls_opts *o = p;
	if (o->j) {
		json_object(o->j);
		json_kstr(o->j, "mission", mid);
		json_kstr(o->j, "status", status);
		json_end(o->j);
	} else if (o->lng)
		printf("%-8s %s/\n", status, mid);
	else
		printf("%s/\n", mid);
	return 0;
}

static int print_entry(const evault_entry *e, void *p)
{
	ls_opts *o = p;
	if (o->j) {
		json_object(o->j);
		json_kstr(o->j, "name", e->name);
		json_kstr(o->j, "type", e->damaged ? "damaged" : e->is_dir ? "dir" : "file");
		if (e->damaged) {
			json_kstr(o->j, "damaged", e->damaged);
		} else if (!e->is_dir) {
			char mode[8];
			snprintf(mode, sizeof(mode), "%04o", (unsigned)e->mode & 07777);
			json_kuint(o->j, "size", e->size);
			json_kstr(o->j, "mode", mode);
			json_ktime(o->j, "mtime", e->mtime);
			json_kstr(o->j, "content_type",
				  e->content_type && *e->content_type ? e->content_type : NULL);
		}
		json_end(o->j);
		if (!e->damaged)
			return 0;
	}
	if (e->damaged) {
		fprintf(stderr,
			"evault: damaged entry %s/%s: %s (evault fsck --keys names them; an admin "
			"removes one with evault rm --damaged %s/%s)\n",
			o->where, e->name, e->damaged, o->where, e->name);
		if (o->lng && !o->j)
			printf("?---- %12s %-20s %-24s %s\n", "-", "-", "damaged", e->name);
		return 0;
	}
	if (!o->lng) {
		printf("%s%s\n", e->name, e->is_dir ? "/" : "");
		return 0;
	}
	char when[32] = "-";
	if (!e->is_dir)
		cli_time(when, e->mtime);
	const char *ct = e->is_dir || !e->content_type || !*e->content_type ? "-" : e->content_type;
	printf("%c%04o %12llu %-20s %-24s %s%s\n", e->is_dir ? 'd' : '-', (unsigned)e->mode,
	       (unsigned long long)e->size, when, ct, e->name, e->is_dir ? "/" : "");
	return 0;
}

int cmd_ls(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {{"long", no_argument, NULL, 'l'}, {NULL, 0, NULL, 0}};
	ls_opts lo = {false, NULL, NULL};
	json j;
	json_init(&j, stdout);
	if (c->json)
		lo.j = &j;
	int o;
	CLI_GETOPT_RESET();
	while ((o = getopt_long(argc, argv, "l", opts, NULL)) != -1) {
		if (o != 'l')
			return cli_usage("usage: evault ls [-l] [MID[/CLASS[/DIR]]]");
		lo.lng = true;
	}
	if (argc - optind > 1)
		return cli_usage("usage: evault ls [-l] [MID[/CLASS[/DIR]]]");
	if (cli_open_repo(c, CLI_AS_UNLOCKED) < 0)
		return cli_fail();
	if (optind == argc) {
		if (lo.j)
			json_list_doc(lo.j, "missions");
		if (evault_mission_list(c->repo, print_mission, &lo) < 0)
			return cli_fail();
		if (lo.j)
			json_list_doc_end(lo.j);
		return EXIT_OK;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s", argv[optind]);
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	if (!strchr(path, '/')) {
		/* A mission: its classes the caller can read. */
		evault_mission_view *v = NULL;
		if (evault_mission_show(c->repo, path, &v) < 0)
			return cli_fail();
		if (lo.j) {
			json_object(lo.j);
			json_kstr(lo.j, "mission", v->mid);
			json_key(lo.j, "classes");
			json_array(lo.j);
		}
		for (int k = 0; k < 3; k++)
			if (v->readable[k]) {
				if (lo.j) {
					json_object(lo.j);
					json_kstr(lo.j, "class",
						  evault_class_name((evault_class)k));
					json_kuint(lo.j, "files", v->files[k]);
					json_end(lo.j);
				} else if (lo.lng)
					printf("%-8s %6zu files  %s/\n", "class", v->files[k],
					       evault_class_name((evault_class)k));
				else
					printf("%s/\n", evault_class_name((evault_class)k));
			}
		if (lo.j)
			json_list_doc_end(lo.j);
		evault_mission_view_free(v);
		return EXIT_OK;
	}
	lo.where = path;
	if (lo.j) {
		json_object(lo.j);
		json_kstr(lo.j, "path", path);
		json_key(lo.j, "entries");
		json_array(lo.j);
	}
	if (evault_file_list(c->repo, path, print_entry, &lo) < 0)
		return cli_fail();
	if (lo.j)
		json_list_doc_end(lo.j);
	return EXIT_OK;
}
