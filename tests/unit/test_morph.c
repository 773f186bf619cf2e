/* SPDX-License-Identifier: ISC */
/* Scene morphing (daemon/engine/morph.h): the endpoints are the presets to
 * the bit, the midpoint is right in each scale's domain, switches flip at
 * 0.5, equal parameters are left out, structural parameters switch at 0.5
 * in the spec but are never listed for the worker, and presets of another
 * structure are refused naming the first difference. */
#include "tests/fxtest.h"

#include <math.h>
#include <string.h>

#include "daemon/engine/morph.h"

/* Every kind of entry: log (cutoff), dB (db), lin (mix), enum (division),
 * integer (pingpong), enum+integer (detect) and bypass (comp). The
 * parameters left equal (order, q, room, feedback...) are no entries. */
static const char *const scene_a =
	"lpf:lowpass cutoff=200 order=4 | vol:gain db=-20 | "
	"verb:reverb mix=0.2 room=0.7 | "
	"dly:delay division=1/8 pingpong=0 feedback=0.3 | "
	"comp:compressor detect=peak";
static const char *const scene_b =
	"lpf:lowpass cutoff=2000 order=4 | vol:gain db=0 | "
	"verb:reverb mix=0.6 room=0.7 | "
	"dly:delay division=1/4 pingpong=1 feedback=0.3 | "
	"comp:compressor detect=rms bypass=1";

static FxMorph *scene_morph(void)
{
	FxChainSpec a = fx_test_spec(scene_a), b = fx_test_spec(scene_b);
	FxStatus st;
	char err[256] = "";
	FxMorph *m = fx_morph_new(&a, &b, &st, err, sizeof err);
	ck_assert_msg(m && st == FX_OK, "fx_morph_new: %s", err);
	return m;
}

/* Field by field, values to the bit (the padding of a copy is not data). */
static void assert_spec_identical(const FxChainSpec *got,
                                  const FxChainSpec *want, double x)
{
	ck_assert_int_eq(got->n_slots, want->n_slots);
	for (int i = 0; i < want->n_slots; i++) {
		const FxSlotSpec *g = &got->slots[i], *w = &want->slots[i];
		ck_assert_ptr_eq(g->cls, w->cls);
		ck_assert_str_eq(g->label, w->label);
		ck_assert_int_eq(g->bypass, w->bypass);
		for (int p = 0; p < w->cls->n_params; p++)
			ck_assert_msg(!memcmp(&g->values[p], &w->values[p],
			                      sizeof(double)),
			              "x=%g slot %d %s: %.17g, not %.17g", x, i,
			              w->cls->params[p].name, g->values[p],
			              w->values[p]);
	}
}

/* Positions at or beyond an end, NaN counting as 0. */
static const struct {
	double x;
	int is_b;
} ends[] = {{0, 0},         {-0.0, 0}, {-1, 0},  {NAN, 0},
            {-INFINITY, 0}, {1, 1},    {1.5, 1}, {INFINITY, 1}};

START_TEST(endpoints_are_the_presets_exactly)
{
	FxChainSpec a = fx_test_spec(scene_a), b = fx_test_spec(scene_b);
	FxMorph *m = scene_morph();
	double x = ends[_i].x;
	const FxChainSpec *want = ends[_i].is_b ? &b : &a;
	FxChainSpec got;
	fx_morph_spec(m, x, &got);
	assert_spec_identical(&got, want, x);
	for (int i = 0; i < fx_morph_count(m); i++) {
		int slot, param;
		double v;
		fx_morph_value(m, i, x, &slot, &param, &v);
		double w = param == FX_MAX_PARAMS
		                   ? want->slots[slot].bypass
		                   : want->slots[slot].values[param];
		ck_assert_msg(!memcmp(&v, &w, sizeof v),
		              "x=%g entry %d: %.17g, not %.17g", x, i, v, w);
	}
	fx_morph_free(m);
}
END_TEST

/* One parameter at one position: the value it must take there. */
static const struct {
	const char *slot, *param; ///< param NULL: the slot's bypass
	double x, want, tolerance;
} points[] = {
	/* log: the geometric mean, sqrt(200 * 2000), and a quarter way */
	{"lpf", "cutoff", 0.5, 632.45553203367586, 1e-9},
	{"lpf", "cutoff", 0.25, 355.65588200778455, 1e-9},
	/* dB: already in dB, so the arithmetic mean */
	{"vol", "db", 0.5, -10, 1e-12},
	{"vol", "db", 0.25, -15, 1e-12},
	/* lin */
	{"verb", "mix", 0.5, 0.4, 1e-12},
	{"verb", "mix", 0.75, 0.5, 1e-12},
	/* enum (division 1/8 = 8, 1/4 = 5), integer, enum+integer, bypass:
	 * A's until 0.5, B's from there */
	{"dly", "division", 0.49, 8, 0},
	{"dly", "division", 0.5, 5, 0},
	{"dly", "pingpong", 0.49, 0, 0},
	{"dly", "pingpong", 0.5, 1, 0},
	{"comp", "detect", 0.49, 0, 0},
	{"comp", "detect", 0.5, 1, 0},
	{"comp", NULL, 0.49, 0, 0},
	{"comp", NULL, 0.5, 1, 0},
	/* equal in both: A's value anywhere */
	{"verb", "room", 0.5, 0.7, 0},
	{"lpf", "order", 0.5, 4, 0},
};

START_TEST(midpoints_follow_each_scale)
{
	FxChainSpec a = fx_test_spec(scene_a);
	FxMorph *m = scene_morph();
	int slot = fx_spec_find_slot(&a, points[_i].slot);
	ck_assert_int_ge(slot, 0);
	int param = points[_i].param
	                    ? fx_param_find(a.slots[slot].cls, points[_i].param)
	                    : FX_MAX_PARAMS;
	ck_assert_int_ge(param, 0);
	double x = points[_i].x, want = points[_i].want;
	FxChainSpec spec;
	fx_morph_spec(m, x, &spec);
	double got = param == FX_MAX_PARAMS ? spec.slots[slot].bypass
	                                    : spec.slots[slot].values[param];
	ck_assert_msg(fabs(got - want) <= points[_i].tolerance,
	              "%s/%s at %g: %.17g, not %.17g", points[_i].slot,
	              points[_i].param ? points[_i].param : "bypass", x, got,
	              want);
	/* fx_morph_value says the same for the entry, if there is one. */
	for (int i = 0; i < fx_morph_count(m); i++) {
		int s, p;
		double v;
		fx_morph_value(m, i, x, &s, &p, &v);
		if (s == slot && p == param)
			ck_assert_msg(!memcmp(&v, &got, sizeof v),
			              "entry %d: %.17g, spec %.17g", i, v, got);
	}
	fx_morph_free(m);
}
END_TEST

START_TEST(only_differing_parameters_are_entries)
{
	static const struct {
		const char *slot, *param;
	} want[] = {{"lpf", "cutoff"},   {"vol", "db"},
	            {"verb", "mix"},     {"dly", "division"},
	            {"dly", "pingpong"}, {"comp", "detect"},
	            {"comp", NULL}};
	FxChainSpec a = fx_test_spec(scene_a);
	FxMorph *m = scene_morph();
	int n = (int)(sizeof want / sizeof *want);
	ck_assert_int_eq(fx_morph_count(m), n);
	for (int i = 0; i < n; i++) {
		int slot, param;
		double v;
		fx_morph_value(m, i, 0.5, &slot, &param, &v);
		int want_slot = fx_spec_find_slot(&a, want[i].slot);
		int want_param = want[i].param
		                         ? fx_param_find(a.slots[want_slot].cls,
		                                         want[i].param)
		                         : FX_MAX_PARAMS;
		ck_assert_int_eq(slot, want_slot);
		ck_assert_int_eq(param, want_param);
	}
	fx_morph_free(m);

	/* The same preset twice: nothing to morph, A anywhere. */
	FxStatus st;
	m = fx_morph_new(&a, &a, &st, NULL, 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(fx_morph_count(m), 0);
	FxChainSpec got;
	fx_morph_spec(m, 0.3, &got);
	assert_spec_identical(&got, &a, 0.3);
	fx_morph_free(m);
	fx_morph_free(NULL);
}
END_TEST

/* Every position in between stays between the ends, and moves one way. */
START_TEST(values_in_between_stay_between_the_ends)
{
	FxMorph *m = scene_morph();
	for (int i = 0; i < fx_morph_count(m); i++) {
		int slot, param;
		double a, b, prev;
		fx_morph_value(m, i, 0, &slot, &param, &a);
		fx_morph_value(m, i, 1, &slot, &param, &b);
		prev = a;
		for (int k = 1; k <= 1000; k++) {
			double v;
			fx_morph_value(m, i, k / 1000.0, &slot, &param, &v);
			ck_assert(v >= fmin(a, b) && v <= fmax(a, b));
			ck_assert((b - a) * (v - prev) >= 0);
			prev = v;
		}
	}
	fx_morph_free(m);
}
END_TEST

/* Two presets that differ in structure: the one line that says where. */
static const struct {
	const char *a, *b, *err;
} refusals[] = {
	{"lowpass | gain", "lowpass", "2 slots in A, 1 in B"},
	{"lpf:lowpass | fx:reverb", "lpf:lowpass | fx:delay",
         "slot 1 (fx): reverb in A, delay in B"},
	{"lowpass | reverb", "lowpass | delay", "slot 1: reverb in A, delay in B"},
	{"lpf:lowpass | vol:gain", "lpf:lowpass | gain:gain",
         "slot 1: label \"vol\" in A, \"gain\" in B"},
	/* the first difference is named, not a later one; a structural
	 * parameter is no difference of structure */
	{"a:lowpass order=2 | b:gain", "a:lowpass order=4 | c:reverb",
         "slot 1 (b): gain in A, reverb in B"},
	{"a:lowpass order=2 | b:gain", "a:lowpass order=4 | c:gain",
         "slot 1: label \"b\" in A, \"c\" in B"},
	{"a:lowpass order=2 | reverb", "a:lowpass order=4 | delay",
         "slot 1: reverb in A, delay in B"},
	{"lpf:lowpass order=2 | gain", "lpf:lowpass order=4",
         "2 slots in A, 1 in B"},
};

START_TEST(different_structures_are_refused_with_the_reason)
{
	FxChainSpec a = fx_test_spec(refusals[_i].a);
	FxChainSpec b = fx_test_spec(refusals[_i].b);
	FxStatus st = FX_OK;
	char err[256] = "";
	ck_assert_ptr_null(fx_morph_new(&a, &b, &st, err, sizeof err));
	ck_assert_int_eq(st, FX_ERR_STRUCTURAL);
	ck_assert_str_eq(err, refusals[_i].err);
	ck_assert_ptr_null(fx_morph_new(&a, &b, &st, NULL, 0));
	ck_assert_int_eq(st, FX_ERR_STRUCTURAL);
}
END_TEST

/* Structural parameters that differ: not for the worker, in the spec. */
static const struct {
	const char *a, *b, *slot, *param;
	double va, vb; ///< the values of A and B
} structural[] = {
	{"lpf:lowpass cutoff=200 order=2", "lpf:lowpass cutoff=2000 order=4",
         "lpf", "order", 2, 4},
	{"vol:gain | dly:delay max=2 time=500", "vol:gain | dly:delay max=3",
         "dly", "max", 2, 3},
};

START_TEST(structural_parameters_switch_at_half_by_the_spec_alone)
{
	FxChainSpec a = fx_test_spec(structural[_i].a);
	FxChainSpec b = fx_test_spec(structural[_i].b);
	FxStatus st = FX_ERR_INVALID;
	char err[256] = "";
	FxMorph *m = fx_morph_new(&a, &b, &st, err, sizeof err);
	ck_assert_msg(m && st == FX_OK, "fx_morph_new: %s", err);
	ck_assert_int_eq(fx_morph_structural(m), 1);
	int slot = fx_spec_find_slot(&a, structural[_i].slot);
	ck_assert_int_ge(slot, 0);
	int param = fx_param_find(a.slots[slot].cls, structural[_i].param);
	ck_assert_int_ge(param, 0);
	ck_assert(a.slots[slot].cls->params[param].flags & FX_PARAM_STRUCTURAL);
	static const double xs[] = {0, 0.3, 0.49, 0.5, 0.7, 1};
	for (size_t k = 0; k < sizeof xs / sizeof *xs; k++) {
		FxChainSpec got;
		fx_morph_spec(m, xs[k], &got);
		ck_assert_double_eq(got.slots[slot].values[param],
		                    xs[k] >= 0.5 ? structural[_i].vb
		                                 : structural[_i].va);
		for (int i = 0; i < fx_morph_count(m); i++) {
			int s, p;
			double v;
			fx_morph_value(m, i, xs[k], &s, &p, &v);
			ck_assert(p == FX_MAX_PARAMS ||
			          !(got.slots[s].cls->params[p].flags &
			            FX_PARAM_STRUCTURAL));
		}
	}
	fx_morph_free(m);

	/* Only non-structural differences, or none: no structural flag. */
	m = fx_morph_new(&a, &a, &st, NULL, 0);
	ck_assert_int_eq(fx_morph_structural(m), 0);
	fx_morph_free(m);
	m = scene_morph();
	ck_assert_int_eq(fx_morph_structural(m), 0);
	fx_morph_free(m);
	ck_assert_int_eq(fx_morph_structural(NULL), 0);
}
END_TEST

#define N_OF(table) ((int)(sizeof(table) / sizeof *(table)))

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"morph", 0, .tests = {
			{endpoints_are_the_presets_exactly, N_OF(ends)},
			{midpoints_follow_each_scale, N_OF(points)},
			{only_differing_parameters_are_entries, 0},
			{values_in_between_stay_between_the_ends, 0},
			{different_structures_are_refused_with_the_reason,
			 N_OF(refusals)},
			{structural_parameters_switch_at_half_by_the_spec_alone,
			 N_OF(structural)},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("morph", cases));
}
