/* Name rules: see names.h and docs/format.md §Names. */
#include <string.h>

#include "names.h"

static bool mid_char(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

bool mission_id_valid(const char *mid)
{
	size_t n = mid ? strlen(mid) : 0;
	if (n == 0 || n > EVAULT_MID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!mid_char(mid[i], i == 0))
			return false;
	return true;
}

bool user_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > EVAULT_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '.' || c == '_' || c == '-'));
		if (!ok)
			return false;
	}
	return true;
}

bool file_path_valid(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	if (n == 0 || n > EVAULT_PATH_MAX)
		return false;
	const char *p = path;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 0 || len > EVAULT_COMPONENT_MAX)
			return false;
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				return false;
		if (!slash)
			break;
		p = slash + 1;
		if (!*p)
			return false;
	}
	return true;
}

int check_mission_id(const char *mid)
{
	if (mission_id_valid(mid))
		return 0;
	return evault_error_set(EVAULT_EINVAL,
				"invalid mission id '%.80s': letters, digits, '.', '_', '-', "
				"starting with a letter or digit, at most 64",
				mid ? mid : "");
}

int check_user_name(const char *name)
{
	if (user_name_valid(name))
		return 0;
	return evault_error_set(EVAULT_EINVAL,
				"invalid user name '%.80s': lowercase letters, digits, '.', '_', "
				"'-', starting with a letter or digit, at most 32",
				name ? name : "");
}

int check_file_path(const char *path)
{
	if (file_path_valid(path))
		return 0;
	return evault_error_set(EVAULT_EINVAL,
				"invalid file path '%.80s': no empty, '.' or '..' part, no "
				"control characters, parts of at most 255 bytes",
				path ? path : "");
}

static const char *const role_names[] = {NULL, "admin", "technician", "auditor"};
static const char *const class_names[] = {"dossier", "work", "codes"};

const char *evault_role_name(evault_role role)
{
	if (role >= EVAULT_ROLE_ADMIN && role <= EVAULT_ROLE_AUDITOR)
		return role_names[role];
	return "unknown";
}

int evault_role_parse(evault_role *out, const char *name)
{
	for (int r = EVAULT_ROLE_ADMIN; r <= EVAULT_ROLE_AUDITOR; r++)
		if (name && strcmp(name, role_names[r]) == 0) {
			*out = (evault_role)r;
			return 0;
		}
	return evault_error_set(EVAULT_EINVAL, "unknown role '%.40s': admin, technician or auditor",
				name ? name : "");
}

const char *evault_class_name(evault_class cls)
{
	if ((int)cls >= 0 && cls < EVAULT_CLASS_COUNT)
		return class_names[cls];
	return "unknown";
}

int evault_class_parse(evault_class *out, const char *name)
{
	for (int c = 0; c < EVAULT_CLASS_COUNT; c++)
		if (name && strcmp(name, class_names[c]) == 0) {
			*out = (evault_class)c;
			return 0;
		}
	return evault_error_set(EVAULT_EINVAL, "unknown class '%.40s': dossier, work or codes",
				name ? name : "");
}
