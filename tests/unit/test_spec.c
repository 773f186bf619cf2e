/* SPDX-License-Identifier: ISC */
/* Chain spec parsing, formatting and the parameter tables. */
#include "tests/fxtest.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dsp/spec.h"

START_TEST(parses_the_default_chain)
{
	const char *text = "hpf:highpass cutoff=80 order=2 | eq:peaking "
			   "cutoff=1000 q=0.7 gain=0 | lpf:lowpass cutoff=12000 "
			   "order=2 | vol:gain db=0";
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_int_eq(fx_spec_parse(text, "chain", &spec, &err), FX_OK);
	ck_assert_int_eq(spec.n_slots, 4);
	ck_assert_str_eq(spec.slots[0].label, "hpf");
	ck_assert_str_eq(spec.slots[0].cls->name, "highpass");
	ck_assert(spec.slots[1].values[1] == 0.7);
	ck_assert(spec.slots[2].values[0] == 12000);
	ck_assert_str_eq(spec.slots[3].cls->name, "gain");
	ck_assert_int_eq(fx_spec_find_slot(&spec, "eq"), 1);
	ck_assert_int_eq(fx_spec_find_slot(&spec, "3"), 3);
	ck_assert_int_eq(fx_spec_find_slot(&spec, "4"), -1);
	ck_assert_int_eq(fx_spec_find_slot(&spec, "nope"), -1);
}
END_TEST

START_TEST(defaults_fill_unset_parameters)
{
	FxChainSpec spec;
	ck_assert_int_eq(fx_spec_parse("lowpass", NULL, &spec, NULL), FX_OK);
	const FxEffectClass *cls = spec.slots[0].cls;
	for (int i = 0; i < cls->n_params; i++)
		ck_assert(spec.slots[0].values[i] == cls->params[i].def);
	ck_assert_str_eq(spec.slots[0].label, "");
	ck_assert_int_eq(fx_spec_parse("", NULL, &spec, NULL), FX_OK);
	ck_assert_int_eq(spec.n_slots, 0);
	ck_assert_int_eq(
		fx_spec_parse("  # only a comment\n", NULL, &spec, NULL), FX_OK);
	ck_assert_int_eq(spec.n_slots, 0);
}
END_TEST

START_TEST(format_round_trips)
{
	const char *text = "a:lowpass cutoff=1234.5 order=3 bypass=1 |\n"
			   "  notch q=0.333333333333 # comment\n | gain db=-96";
	FxChainSpec spec, again;
	FxSpecError err;
	ck_assert_int_eq(fx_spec_parse(text, "t", &spec, &err), FX_OK);
	char buf[1024];
	size_t len = fx_spec_format(&spec, buf, sizeof buf);
	ck_assert_uint_eq(len, strlen(buf));
	ck_assert_msg(fx_spec_parse(buf, "t", &again, &err) == FX_OK, "%s: %s",
	              buf, err.message);
	ck_assert_int_eq(again.n_slots, 3);
	for (int s = 0; s < 3; s++) {
		ck_assert_str_eq(again.slots[s].label, spec.slots[s].label);
		ck_assert_ptr_eq(again.slots[s].cls, spec.slots[s].cls);
		ck_assert_int_eq(again.slots[s].bypass, spec.slots[s].bypass);
		ck_assert_mem_eq(again.slots[s].values, spec.slots[s].values,
		                 sizeof spec.slots[s].values);
	}
	ck_assert_int_eq(spec.slots[0].bypass, 1);
	/* A short buffer gets the needed length and a terminated prefix. */
	char small[8];
	ck_assert_uint_eq(fx_spec_format(&spec, small, sizeof small), len);
	ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

static const struct {
	const char *text;
	FxStatus status;
	const char *message; /* the whole message */
} bad[] = {
	{"hpf:highpass cutoff=80 | lpf:lowpass cutof=8000", FX_ERR_UNKNOWN_PARAM,
         "chain:1:38: lowpass: unknown parameter 'cutof' (did you mean "
         "'cutoff'?)"},
	{"lowpas", FX_ERR_UNKNOWN_EFFECT,
         "chain:1:1: unknown effect 'lowpas' (did you mean 'lowpass'?)"},
	{"x:zzzzzzzz", FX_ERR_UNKNOWN_EFFECT,
         "chain:1:1: unknown effect 'zzzzzzzz' (fxd --list-effects lists them)"},
	{"lowpass\n  frobnicate=1", FX_ERR_UNKNOWN_PARAM,
         "chain:2:3: lowpass: unknown parameter 'frobnicate'"},
	{"lowpass cutoff=abc", FX_ERR_SYNTAX,
         "chain:1:9: lowpass: cutoff=abc is not a number"},
	{"lowpass cutoff=", FX_ERR_SYNTAX,
         "chain:1:9: lowpass: cutoff= is not a number"},
	{"lowpass cutoff=nan", FX_ERR_NONFINITE,
         "chain:1:9: lowpass: cutoff=nan is not a finite number"},
	{"lowpass cutoff=inf", FX_ERR_NONFINITE,
         "chain:1:9: lowpass: cutoff=inf is not a finite number"},
	{"lowpass cutoff=30000", FX_ERR_RANGE,
         "chain:1:9: lowpass: cutoff=30000 is out of range 20..20000 Hz"},
	{"lowpass order=2.5", FX_ERR_RANGE,
         "chain:1:9: lowpass: order must be a whole number, not 2.5"},
	{"lowpass order=17", FX_ERR_RANGE,
         "chain:1:9: lowpass: order=17 is out of range 1..16"},
	{"lowpass cutoff=100 cutoff=200", FX_ERR_SYNTAX,
         "chain:1:20: lowpass: cutoff is given twice"},
	{"lowpass cutoff", FX_ERR_SYNTAX,
         "chain:1:9: lowpass: expected name=value, found 'cutoff'"},
	{"lowpass =3", FX_ERR_SYNTAX,
         "chain:1:9: lowpass: expected name=value, found '=3'"},
	{"gain | | gain", FX_ERR_SYNTAX, "chain:1:8: empty effect slot"},
	{"gain |", FX_ERR_SYNTAX, "chain:1:7: empty effect slot"},
	{"| gain", FX_ERR_SYNTAX, "chain:1:1: empty effect slot"},
	{"a:gain | a:gain", FX_ERR_SYNTAX, "chain:1:10: label 'a' is used twice"},
	{"1a:gain", FX_ERR_SYNTAX,
         "chain:1:1: bad label '1a' (use a letter, then letters, digits, '_' "
         "or '-')"},
	{"x:", FX_ERR_SYNTAX, "chain:1:1: missing effect name after 'x:'"},
	{"gain bypass=maybe", FX_ERR_SYNTAX,
         "chain:1:6: gain: bypass must be 0 or 1, not 'maybe'"},
	{"abcdefghijabcdefghijabcdefghijabcdefghij:gain", FX_ERR_SYNTAX,
         "chain:1:1: label 'abcdefghijabcdefghijabcdefghijabcdefghij' is longer "
         "than 31 characters"},
};

START_TEST(bad_specs_say_where_and_why)
{
	FxChainSpec spec;
	FxSpecError err;
	memset(&err, 0, sizeof err);
	FxStatus st = fx_spec_parse(bad[_i].text, "chain", &spec, &err);
	ck_assert_int_eq(st, bad[_i].status);
	ck_assert_int_eq(err.status, bad[_i].status);
	ck_assert_str_eq(err.message, bad[_i].message);
}
END_TEST

START_TEST(too_many_slots_is_an_error)
{
	char text[FX_MAX_SLOTS * 8 + 16] = "gain";
	for (int i = 1; i <= FX_MAX_SLOTS; i++)
		strcat(text, " | gain");
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_int_eq(fx_spec_parse(text, "chain", &spec, &err), FX_ERR_FULL);
	ck_assert_str_eq(err.message, "chain:1:225: more than 32 effects in one "
	                              "chain");
	char huge[600];
	memset(huge, 'a', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	ck_assert_int_eq(fx_spec_parse(huge, "chain", &spec, &err),
	                 FX_ERR_SYNTAX);
	ck_assert_str_eq(err.message,
	                 "chain:1:1: word longer than 255 characters");
}
END_TEST

/* xorshift: deterministic fuzz input. */
static uint32_t rng = 2463534242u;
static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

START_TEST(fuzz_never_crashes)
{
	static const char *const pieces[] = {
		"lowpass", "highpass", "gain", "peaking", "bandpass", "a:",
		"b:",      "cutoff=",  "q=",   "order=",  "db=",      "gain=",
		"bypass=", "1",        "0.5",  "-3",      "1e9",      "nan",
		"20000",   "|",        " ",    "\n",      "#",        "=",
		":",       "x",        "\t",   "2",       "16",       "notch",
	};
	char text[512];
	int parsed = 0;
	for (int iter = 0; iter < 20000; iter++) {
		int len = 0, mode = iter & 1;
		int target = (int)(next() % (sizeof text - 40));
		while (len < target) {
			if (mode) {
				const char *p =
					pieces[next() % (sizeof pieces /
				                         sizeof pieces[0])];
				size_t n = strlen(p);
				memcpy(text + len, p, n);
				len += (int)n;
			} else {
				text[len++] = (char)(1 + next() % 255);
			}
		}
		text[len] = '\0';
		FxChainSpec spec;
		FxSpecError err;
		memset(&err, 0, sizeof err);
		FxStatus st = fx_spec_parse(text, "fuzz", &spec, &err);
		if (st != FX_OK) {
			ck_assert(!strncmp(err.message, "fuzz:", 5));
			ck_assert(err.line >= 1 && err.column >= 1);
			continue;
		}
		parsed++;
		char out[8192];
		fx_spec_format(&spec, out, sizeof out);
		FxChainSpec again;
		ck_assert_msg(fx_spec_parse(out, "fuzz", &again, &err) == FX_OK,
		              "%s", err.message);
		ck_assert_int_eq(again.n_slots, spec.n_slots);
	}
	ck_assert_int_gt(parsed, 100); /* the token soup does parse sometimes */
}
END_TEST

START_TEST(parameter_tables_are_consistent)
{
	int n_effects = 0;
	for (const FxEffectClass *const *c = fx_effects; *c; c++, n_effects++) {
		const FxEffectClass *cls = *c;
		ck_assert_ptr_eq(fx_effect_find(cls->name), cls);
		ck_assert(cls->n_params <= FX_MAX_PARAMS);
		ck_assert(cls->init && cls->reset && cls->update && cls->process);
		for (int i = 0; i < cls->n_params; i++) {
			const FxParamInfo *p = &cls->params[i];
			ck_assert_int_eq(fx_param_find(cls, p->name), i);
			ck_assert_msg(p->min <= p->def && p->def <= p->max,
			              "%s.%s", cls->name, p->name);
			ck_assert(p->unit && p->doc && *p->doc);
			if (p->scale == FX_SCALE_LOG)
				ck_assert(p->min > 0);
			if (p->flags & FX_PARAM_STRUCTURAL)
				ck_assert(!(p->flags & FX_PARAM_SMOOTHED));
			/* norm maps the range onto 0..1 and back */
			ck_assert(fabs(fx_param_to_norm(p, p->min)) < 1e-12);
			ck_assert(fabs(fx_param_to_norm(p, p->max) - 1) < 1e-12);
			double mid = fx_param_from_norm(p, 0.5);
			ck_assert(fabs(fx_param_to_norm(p, mid) - 0.5) < 1e-9 ||
			          (p->flags & FX_PARAM_INTEGER));
		}
	}
	ck_assert_int_ge(n_effects, 10);
	ck_assert_ptr_null(fx_effect_find("nope"));
}
END_TEST

START_TEST(param_scales_map_as_documented)
{
	const FxEffectClass *lp = fx_effect_find("lowpass");
	const FxParamInfo *cutoff = &lp->params[fx_param_find(lp, "cutoff")];
	/* log: 20..20000 Hz, the middle of the knob is the geometric mean */
	ck_assert(fabs(fx_param_from_norm(cutoff, 0.5) - sqrt(20 * 20000.0)) <
	          1e-9);
	ck_assert(fx_param_from_norm(cutoff, -1) == 20);
	ck_assert(fx_param_from_norm(cutoff, 7) == 20000);
	ck_assert(fx_param_clamp(cutoff, 1e9) == 20000);
	ck_assert(fx_param_clamp(cutoff, NAN) == cutoff->def);
	const FxParamInfo *order = &lp->params[fx_param_find(lp, "order")];
	ck_assert(fx_param_clamp(order, 2.4) == 2);
	const FxEffectClass *g = fx_effect_find("gain");
	const FxParamInfo *db = &g->params[0];
	ck_assert(fabs(fx_param_from_norm(db, 0.8) - (-96 + 0.8 * 120)) < 1e-9);
	double v;
	ck_assert_int_eq(fx_param_parse(db, "-3.5", &v), FX_OK);
	ck_assert(v == -3.5);
	ck_assert_int_eq(fx_param_parse(db, "3x", &v), FX_ERR_SYNTAX);
	ck_assert_int_eq(fx_param_parse(db, "-inf", &v), FX_ERR_NONFINITE);
	char buf[32];
	fx_param_format(db, 0.1, buf, sizeof buf);
	ck_assert_str_eq(buf, "0.1");
	/* fx_format_number: shortest round trip, no exponent on whole
	 * numbers below 1e17. */
	static const struct {
		double v;
		const char *text;
	} shortest[] = {
		{93.3, "93.3"},
		{100, "100"},
		{1875000, "1875000"},
		{0.1 + 0.2, "0.30000000000000004"},
		{1e-05, "1e-05"},
		{-2.5e-300, "-2.5e-300"},
		{1e21, "1e+21"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{0, "0"},
		{INFINITY, "inf"},
		{NAN, "nan"},
	};
	for (size_t i = 0; i < sizeof shortest / sizeof shortest[0]; i++) {
		ck_assert_str_eq(fx_format_number(shortest[i].v, buf, sizeof buf),
		                 shortest[i].text);
		if (isfinite(shortest[i].v))
			ck_assert(strtod(buf, NULL) == shortest[i].v);
	}
	ck_assert_str_eq(fx_scale_name(FX_SCALE_LOG), "log");
	ck_assert_str_eq(fx_strerror(FX_ERR_STRUCTURAL),
	                 "parameter is structural: the chain must be rebuilt");
	ck_assert_str_eq(fx_strerror((FxStatus)999), "unknown error");
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"spec", 120, .tests = {
			{parses_the_default_chain, 0},
			{defaults_fill_unset_parameters, 0},
			{format_round_trips, 0},
			{bad_specs_say_where_and_why,
			 sizeof bad / sizeof bad[0]},
			{too_many_slots_is_an_error, 0},
			{fuzz_never_crashes, 0},
			{parameter_tables_are_consistent, 0},
			{param_scales_map_as_documented, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("spec", cases));
}
