/*
 * Validation of every name that comes from a user or from disk: mission
 * ids, user names, file paths inside a class, and the MID/CLASS/PATH form
 * the front ends accept. Anything not valid is EVAULT_EINVAL with a message
 * that says which rule failed.
 */
#ifndef EVAULT_NAMES_H
#define EVAULT_NAMES_H

#include <stdbool.h>

#include "evault/common.h"

#define EVAULT_MID_MAX 64
#define EVAULT_USER_MAX 32
#define EVAULT_PATH_MAX 1024
#define EVAULT_COMPONENT_MAX 255

bool mission_id_valid(const char *mid);
bool user_name_valid(const char *name);
/* A relative path inside a class: components separated by '/', no empty,
 * '.' or '..' component, no control characters, length limits. */
bool file_path_valid(const char *path);

int check_mission_id(const char *mid);
int check_user_name(const char *name);
int check_file_path(const char *path);

#endif
