/* Name rules: mission ids, user names, paths. */
#include "helpers.h"

#include "names.h"

static void mission_ids(void **s)
{
	assert_true(mission_id_valid("M-2026-0042"));
	assert_true(mission_id_valid("a"));
	assert_true(mission_id_valid("A1._-z"));
	assert_false(mission_id_valid(""));
	assert_false(mission_id_valid("-M"));
	assert_false(mission_id_valid(".."));
	assert_false(mission_id_valid("M/1"));
	assert_false(mission_id_valid("M 1"));
	assert_false(mission_id_valid("Mé"));
	char longid[80];
	memset(longid, 'a', 65);
	longid[65] = '\0';
	assert_false(mission_id_valid(longid));
	longid[64] = '\0';
	assert_true(mission_id_valid(longid));
	assert_int_equal(check_mission_id("../x"), EVAULT_EINVAL);
}

static void user_names(void **s)
{
	assert_true(user_name_valid("bob"));
	assert_true(user_name_valid("j.doe-2"));
	assert_false(user_name_valid("Bob"));
	assert_false(user_name_valid("-bob"));
	assert_false(user_name_valid("bo b"));
	assert_false(user_name_valid("../bob"));
	assert_false(user_name_valid("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void paths(void **s)
{
	assert_true(file_path_valid("rapport.pdf"));
	assert_true(file_path_valid("photos/2026/img 1.jpg"));
	assert_true(file_path_valid("été.txt"));
	assert_false(file_path_valid(""));
	assert_false(file_path_valid("/abs"));
	assert_false(file_path_valid("a//b"));
	assert_false(file_path_valid("a/"));
	assert_false(file_path_valid("../etc/passwd"));
	assert_false(file_path_valid("a/../b"));
	assert_false(file_path_valid("a/./b"));
	assert_false(file_path_valid("tab\there"));
	char comp[300];
	memset(comp, 'x', 256);
	comp[256] = '\0';
	assert_false(file_path_valid(comp));
	comp[255] = '\0';
	assert_true(file_path_valid(comp));
}

static void roles_and_classes(void **s)
{
	evault_role r;
	evault_class c;
	assert_int_equal(evault_role_parse(&r, "auditor"), 0);
	assert_int_equal(r, EVAULT_ROLE_AUDITOR);
	assert_int_equal(evault_role_parse(&r, "root"), EVAULT_EINVAL);
	assert_int_equal(evault_class_parse(&c, "codes"), 0);
	assert_int_equal(c, EVAULT_CLASS_CODES);
	assert_int_equal(evault_class_parse(&c, "Dossier"), EVAULT_EINVAL);
	assert_string_equal(evault_class_name(EVAULT_CLASS_WORK), "work");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mission_ids),
	    cmocka_unit_test(user_names),
	    cmocka_unit_test(paths),
	    cmocka_unit_test(roles_and_classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
