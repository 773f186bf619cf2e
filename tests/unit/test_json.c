/* SPDX-License-Identifier: ISC */
/* The JSON writer (daemon/base/json.h): escaping, nesting, numbers and
 * a buffer too small. */
#include "tests/fxtest.h"

#include <math.h>
#include <string.h>

#include "daemon/base/json.h"

static const char *finish_ok(FxJson *j)
{
	size_t len;
	char err[128] = "";
	ck_assert_msg(fx_json_finish(j, &len, err, sizeof err) == FX_OK, "%s",
	              err);
	ck_assert_uint_eq(len, strlen(j->buf));
	return j->buf;
}

START_TEST(strings_are_escaped)
{
	char buf[256];
	FxJson j;
	fx_json_init(&j, buf, sizeof buf);
	fx_json_array(&j);
	fx_json_string(&j, "plain");
	fx_json_string(&j, "a\"b\\c");
	fx_json_string(&j, "tab\there\nnl\x01");
	fx_json_string(&j, "");
	fx_json_string(&j, "caf\xc3\xa9");
	fx_json_string(&j, NULL);
	fx_json_array_end(&j);
	ck_assert_str_eq(finish_ok(&j), "[\"plain\",\"a\\\"b\\\\c\","
	                                "\"tab\\u0009here\\u000anl\\u0001\",\"\","
	                                "\"caf\xc3\xa9\",null]");
}
END_TEST

START_TEST(objects_and_arrays_nest_with_commas)
{
	char buf[256];
	FxJson j;
	fx_json_init(&j, buf, sizeof buf);
	fx_json_object(&j);
	fx_json_key(&j, "a");
	fx_json_int(&j, 1);
	fx_json_key(&j, "list");
	fx_json_array(&j);
	fx_json_object(&j);
	fx_json_object_end(&j);
	fx_json_array(&j);
	fx_json_array_end(&j);
	fx_json_bool(&j, 1);
	fx_json_bool(&j, 0);
	fx_json_null(&j);
	fx_json_array_end(&j);
	fx_json_key(&j, "k\"ey");
	fx_json_object(&j);
	fx_json_key(&j, "x");
	fx_json_int(&j, -7);
	fx_json_object_end(&j);
	fx_json_object_end(&j);
	ck_assert_str_eq(finish_ok(&j), "{\"a\":1,\"list\":[{},[],true,false,"
	                                "null],\"k\\\"ey\":{\"x\":-7}}");
}
END_TEST

START_TEST(unbalanced_nesting_is_reported)
{
	char buf[64], err[128] = "";
	FxJson j;
	fx_json_init(&j, buf, sizeof buf);
	fx_json_object(&j);
	ck_assert_int_eq(fx_json_finish(&j, NULL, err, sizeof err),
	                 FX_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(err, "closed"));
	fx_json_init(&j, buf, sizeof buf);
	fx_json_array_end(&j);
	ck_assert_int_eq(fx_json_finish(&j, NULL, NULL, 0), FX_ERR_INVALID);
	fx_json_init(&j, buf, sizeof buf);
	fx_json_object(&j);
	fx_json_key(&j, "dangling");
	fx_json_object_end(&j);
	ck_assert_int_eq(fx_json_finish(&j, NULL, NULL, 0), FX_ERR_INVALID);
	fx_json_init(&j, buf, sizeof buf);
	for (int i = 0; i <= FX_JSON_MAX_DEPTH; i++)
		fx_json_array(&j);
	ck_assert_int_eq(fx_json_finish(&j, NULL, NULL, 0), FX_ERR_INVALID);
}
END_TEST

START_TEST(numbers_are_shortest_and_exact)
{
	char buf[256];
	FxJson j;
	fx_json_init(&j, buf, sizeof buf);
	fx_json_array(&j);
	fx_json_number(&j, 0.3);
	fx_json_number(&j, 1000);
	fx_json_number(&j, -2.5);
	fx_json_number(&j, (double)0.3f);
	fx_json_number(&j, NAN);
	fx_json_number(&j, INFINITY);
	fx_json_number(&j, 1e300);
	fx_json_int(&j, -9007199254740993LL);
	fx_json_array_end(&j);
	const char *t = finish_ok(&j);
	ck_assert_str_eq(t, "[0.3,1000,-2.5,0.30000001192092896,null,null,"
	                    "1e+300,-9007199254740993]");
	/* Each number reads back as the same double. */
	ck_assert(strtod("0.30000001192092896", NULL) == (double)0.3f);
}
END_TEST

static void write_sample(FxJson *j)
{
	fx_json_object(j);
	fx_json_key(j, "name");
	fx_json_string(j, "a longer string than fits");
	fx_json_object_end(j);
}

START_TEST(overflow_is_reported_with_the_size_needed)
{
	char full[256];
	FxJson j;
	fx_json_init(&j, full, sizeof full);
	write_sample(&j);
	size_t need;
	ck_assert_int_eq(fx_json_finish(&j, &need, NULL, 0), FX_OK);
	for (size_t size = 0; size <= need; size++) {
		char small[64];
		memset(small, 'x', sizeof small);
		FxJson s;
		fx_json_init(&s, size ? small : NULL, size);
		fx_json_object(&s);
		fx_json_key(&s, "name");
		fx_json_string(&s, "a longer string than fits");
		fx_json_object_end(&s);
		size_t len;
		char err[128] = "";
		ck_assert_int_eq(fx_json_finish(&s, &len, err, sizeof err),
		                 FX_ERR_FULL);
		ck_assert_uint_eq(len, need);
		ck_assert_ptr_nonnull(strstr(err, "does not fit"));
		if (size) {
			/* What fitted is a string, and never past the end. */
			ck_assert_uint_lt(strlen(small), size);
			ck_assert(!strncmp(small, full, strlen(small)));
			ck_assert_int_eq(small[size], 'x');
		}
	}
	/* One byte more than the text is exactly enough. */
	char exact[64];
	fx_json_init(&j, exact, need + 1);
	write_sample(&j);
	ck_assert_str_eq(finish_ok(&j), full);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"writer", 0, .tests = {
			{strings_are_escaped, 0},
			{objects_and_arrays_nest_with_commas, 0},
			{unbalanced_nesting_is_reported, 0},
			{numbers_are_shortest_and_exact, 0},
			{overflow_is_reported_with_the_size_needed, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("json", cases));
}
