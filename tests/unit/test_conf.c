/* SPDX-License-Identifier: ISC */
/* The config-file walker (daemon/base/conf.h) on its own: sections,
 * comments, the text section at its lines, a key given the same text,
 * a section passed over, errors at FILE:LINE, and keys applied through an
 * option table with a suggestion for a near miss. */
#define _GNU_SOURCE
#include "tests/fxtest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/base/conf.h"

static const char *const sections[] = {"main", "text", "other", NULL};

/* What the walk handed over, one "section:key=value@line" a line. */
typedef struct {
	char seen[1024];
	const char *refuse; ///< a key the callback refuses
} Log;

static FxStatus on_entry(void *ctx, const FxConfEntry *e, char *err,
                         size_t err_size)
{
	Log *log = ctx;
	if (log->refuse && !strcmp(e->key, log->refuse)) {
		snprintf(err, err_size, "'%s' refused", e->key);
		return FX_ERR_RANGE;
	}
	size_t n = strlen(log->seen);
	snprintf(log->seen + n, sizeof log->seen - n, "%s:%s=%s@%d\n",
	         e->section, e->key, e->value, e->line);
	return FX_OK;
}

static char path[64];

static void write_conf(const char *text)
{
	snprintf(path, sizeof path, "/tmp/fxd-test-conf-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static FxStatus walk(const char *text, Log *log, const char *skip,
                     FxConfText *out, char *err, size_t err_size)
{
	write_conf(text);
	FxConfFormat fmt = {.sections = sections,
	                    .skip = skip,
	                    .text_name = "text",
	                    .on_entry = on_entry,
	                    .ctx = log};
	FxStatus st = fx_conf_load(path, &fmt, out, err, err_size);
	unlink(path);
	return st;
}

START_TEST(keys_sections_and_comments)
{
	Log log = {0};
	FxConfText t;
	char err[256] = "";
	FxStatus st = walk("# a comment\n"
	                   "a = 1\n"
	                   "; another\n"
	                   "\n"
	                   "[ other ]  # trailing\n"
	                   "  b=two words ; cut here\n"
	                   "c = x#not a comment\n"
	                   "[main]\n"
	                   "d =\n",
	                   &log, NULL, &t, err, sizeof err);
	ck_assert_msg(st == FX_OK, "%s", err);
	ck_assert_str_eq(log.seen, "main:a=1@2\n"
	                           "other:b=two words@6\n"
	                           "other:c=x#not a comment@7\n"
	                           "main:d=@9\n");
	ck_assert_ptr_null(t.text);
	ck_assert_int_eq(t.line, 0);
}
END_TEST

START_TEST(text_section_keeps_its_lines)
{
	Log log = {0};
	FxConfText t;
	char err[256] = "";
	ck_assert_int_eq(walk("a = 1\n"
	                      "[text]\n"
	                      "  first | # its own comment\n"
	                      "; left out\n"
	                      "second\n"
	                      "[main]\n"
	                      "b = 2\n",
	                      &log, NULL, &t, err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(t.line, 2);
	ck_assert_str_eq(t.text, "\n\n  first | # its own comment\n\nsecond\n"
	                         "\n\n\n");
	ck_assert_str_eq(log.seen, "main:a=1@1\nmain:b=2@7\n");
	free(t.text);

	/* The key gives the text at its line and column. */
	ck_assert_int_eq(walk("\n  text =  one | two\n", &log, NULL, &t, err,
	                      sizeof err),
	                 FX_OK);
	ck_assert_int_eq(t.line, 2);
	ck_assert_str_eq(t.text, "\n          one | two");
	free(t.text);
}
END_TEST

START_TEST(a_skipped_section_is_not_read)
{
	Log log = {0};
	FxConfText t;
	char err[256] = "";
	ck_assert_int_eq(walk("[other]\nnot a key line\nx = 1\n[main]\ny = 2\n",
	                      &log, "other", &t, err, sizeof err),
	                 FX_OK);
	ck_assert_str_eq(log.seen, "main:y=2@5\n");
}
END_TEST

START_TEST(errors_name_the_file_and_line)
{
	static const struct {
		const char *text, *want;
		FxStatus st;
	} cases[] = {
		{"a = 1\nno equals\n",
	         ":2: expected 'key = value', found "
	         "'no equals'",
	         FX_ERR_SYNTAX},
		{"[main\n", ":1: expected '[section]', found '[main'",
	         FX_ERR_SYNTAX},
		{"\n[textt]\n",
	         ":2: unknown section '[textt]' (did you mean "
	         "'[text]'?)",
	         FX_ERR_SYNTAX},
		{"[zzzzzzzz]\n",
	         ":1: unknown section '[zzzzzzzz]' (known: "
	         "[main], [text], [other])",
	         FX_ERR_SYNTAX},
		{"text = a\n[text]\nb\n",
	         ":2: the text is given twice (see "
	         "line 1)",
	         FX_ERR_SYNTAX},
		{"[text]\nb\n[main]\ntext = a\n",
	         ":4: the text is given twice "
	         "(see line 1)",
	         FX_ERR_SYNTAX},
		{"a = 1\n\nbad = 3\n", ":3: 'bad' refused", FX_ERR_RANGE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Log log = {.refuse = "bad"};
		FxConfText t = {(char *)"x", 9};
		char err[256] = "", want[256];
		FxStatus st = walk(cases[i].text, &log, NULL, &t, err,
		                   sizeof err);
		ck_assert_int_eq(st, cases[i].st);
		snprintf(want, sizeof want, "%s%s", path, cases[i].want);
		ck_assert_str_eq(err, want);
		ck_assert_ptr_null(t.text);
		ck_assert_int_eq(t.line, 0);
	}
}
END_TEST

START_TEST(section_names_in_any_case_when_asked)
{
	Log log = {0};
	FxConfText t;
	char err[256] = "";
	write_conf("[OTHER]\nk = v\n");
	FxConfFormat fmt = {.sections = sections,
	                    .text_name = "text",
	                    .on_entry = on_entry,
	                    .ctx = &log};
	ck_assert_int_eq(fx_conf_load(path, &fmt, &t, err, sizeof err),
	                 FX_ERR_SYNTAX);
	fmt.any_case = 1;
	ck_assert_int_eq(fx_conf_load(path, &fmt, &t, err, sizeof err), FX_OK);
	ck_assert_str_eq(log.seen, "other:k=v@2\n");
	unlink(path);
}
END_TEST

START_TEST(files_that_are_not_config_files)
{
	char err[256] = "", want[256];
	char *text = NULL;
	write_conf(" \n\t\n");
	ck_assert_int_eq(fx_conf_read(path, &text, err, sizeof err),
	                 FX_ERR_SYNTAX);
	snprintf(want, sizeof want, "config file '%s' is empty", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(text);
	unlink(path);
	ck_assert_int_eq(fx_conf_read(path, &text, err, sizeof err), FX_ERR_IO);
	ck_assert_msg(strstr(err, "No such file"), "%s", err);
	ck_assert_int_eq(fx_conf_read("/dev/null", &text, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_msg(strstr(err, "a character device"), "%s", err);
}
END_TEST

/* ---- keys through an option table ----------------------------------------- */

typedef struct {
	int level;
	char *name;
	int force;
} Opts;

static const FxOptInfo table[] = {
	{"level", 0, FX_OPT_INT, offsetof(Opts, level), 1, 10, 0, NULL, "N",
         "a level", NULL},
	{"name", 0, FX_OPT_STRING, offsetof(Opts, name), 0, 0, 0, NULL, "S",
         "a name", NULL},
	{"force", 0, FX_OPT_FLAG, offsetof(Opts, force), 0, 0, FX_OPT_CLI_ONLY,
         NULL, NULL, "command line only", NULL},
};

START_TEST(apply_through_the_table)
{
	Opts o = {0};
	char err[256];
	const int n = sizeof table / sizeof table[0];
	FxConfEntry e = {
		.section = "main", .key = "level", .value = "7", .line = 3};
	ck_assert_int_eq(fx_conf_apply(&o, table, n, &e, err, sizeof err), FX_OK);
	ck_assert_int_eq(o.level, 7);
	e.value = "70";
	ck_assert_int_eq(fx_conf_apply(&o, table, n, &e, err, sizeof err),
	                 FX_ERR_RANGE);
	ck_assert_str_eq(err, "level: 70 is out of range 1..10");
	e.value = "seven";
	ck_assert_int_eq(fx_conf_apply(&o, table, n, &e, err, sizeof err),
	                 FX_ERR_SYNTAX);
	e = (FxConfEntry){
		.section = "main", .key = "levl", .value = "1", .line = 1};
	ck_assert_int_eq(fx_conf_apply(&o, table, n, &e, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_str_eq(err, "unknown key 'levl' (did you mean 'level'?)");
	e.key = "qqqqqqqqqq";
	ck_assert_int_ne(fx_conf_apply(&o, table, n, &e, err, sizeof err), FX_OK);
	ck_assert_str_eq(err, "unknown key 'qqqqqqqqqq'");
	e.key = "force";
	ck_assert_int_ne(fx_conf_apply(&o, table, n, &e, err, sizeof err), FX_OK);
	ck_assert_str_eq(err, "'force' cannot be set in a config file");
	e = (FxConfEntry){
		.section = "main", .key = "name", .value = "", .line = 1};
	ck_assert_int_ne(fx_conf_apply(&o, table, n, &e, err, sizeof err), FX_OK);
	ck_assert_str_eq(err, "name: empty value");
	e.value = "fx";
	ck_assert_int_eq(fx_conf_apply(&o, table, n, &e, err, sizeof err), FX_OK);
	ck_assert_str_eq(o.name, "fx");
	free(o.name);
}
END_TEST

START_TEST(padded_text_lines_up)
{
	char *s = fx_conf_padded(3, 4, "abc");
	ck_assert_str_eq(s, "\n\n   abc");
	free(s);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"walk", 0, .tests = {
			{keys_sections_and_comments, 0},
			{text_section_keeps_its_lines, 0},
			{a_skipped_section_is_not_read, 0},
			{errors_name_the_file_and_line, 0},
			{section_names_in_any_case_when_asked, 0},
			{files_that_are_not_config_files, 0},
		}},
		{"table", 0, .tests = {
			{apply_through_the_table, 0},
			{padded_text_lines_up, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("conf", cases));
}
