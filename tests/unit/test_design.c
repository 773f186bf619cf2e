/* SPDX-License-Identifier: ISC */
/* fxd — tests for dsp/design.c against scipy references (tests/unit/gen_refs.py
 * writes tests/data; its docstring describes the formats) and against the
 * defining properties of the RBJ cookbook filters. */
#include "dsp/design.h"
#include "tests/fxtest.h"
#include "tests/unit/refdata.h"
#include "dsp/sos.h"
#include "dsp/svf.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DATA FX_TEST_DATA

enum { MAX_CASES = 256, MAX_LINE = 16384, N_FREQS = 200 };

typedef struct {
	char name[64];
	char input[64];
	char family[16];
	char type[16];
	int frames;
	double p[4]; ///< butter: order f1 f2 fs; rbj: f0 q gain_db fs
	int nsec;
	FxSection sos[FX_MAX_SECTIONS];
} Case;

static Case butter[MAX_CASES], sig[MAX_CASES];
static int n_butter, n_sig;

static const char *const butter_names[] = {
	[FX_BUTTER_LOWPASS] = "lowpass",
	[FX_BUTTER_HIGHPASS] = "highpass",
	[FX_BUTTER_BANDPASS] = "bandpass",
	[FX_BUTTER_BANDSTOP] = "bandstop",
};

static const char *const rbj_names[] = {
	[FX_RBJ_LOWPASS] = "lowpass",   [FX_RBJ_HIGHPASS] = "highpass",
	[FX_RBJ_BANDPASS] = "bandpass", [FX_RBJ_NOTCH] = "notch",
	[FX_RBJ_ALLPASS] = "allpass",   [FX_RBJ_PEAKING] = "peaking",
	[FX_RBJ_LOWSHELF] = "lowshelf", [FX_RBJ_HIGHSHELF] = "highshelf",
};

static int lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

/* Reads the coefficient tail "nsec c0 c1 ..." of a manifest line. */
static int read_sections(char **save, Case *c)
{
	char *tok = strtok_r(NULL, " \n", save);
	if (!tok)
		return -1;
	c->nsec = atoi(tok);
	if (c->nsec < 1 || c->nsec > FX_MAX_SECTIONS)
		return -1;
	for (int i = 0; i < 6 * c->nsec; i++) {
		tok = strtok_r(NULL, " \n", save);
		if (!tok)
			return -1;
		c->sos[i / 6][i % 6] = strtod(tok, NULL);
	}
	return 0;
}

/* butter.txt: name type order f1 f2 fs nsec coeffs;
 * signals.txt: name input frames family type p1 p2 p3 p4 nsec coeffs. */
static int load_manifest(const char *path, Case *out, bool signals)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	static char line[MAX_LINE];
	int n = 0;
	while (n < MAX_CASES && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		Case *c = &out[n];
		memset(c, 0, sizeof *c);
		char *save, *tok = strtok_r(line, " \n", &save);
		snprintf(c->name, sizeof c->name, "%s", tok);
		if (signals) {
			snprintf(c->input, sizeof c->input, "%s",
			         strtok_r(NULL, " \n", &save));
			c->frames = atoi(strtok_r(NULL, " \n", &save));
			snprintf(c->family, sizeof c->family, "%s",
			         strtok_r(NULL, " \n", &save));
		} else {
			snprintf(c->family, sizeof c->family, "butter");
		}
		snprintf(c->type, sizeof c->type, "%s",
		         strtok_r(NULL, " \n", &save));
		for (int i = 0; i < 4; i++)
			c->p[i] = strtod(strtok_r(NULL, " \n", &save), NULL);
		if (read_sections(&save, c)) {
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* The input, the reference output and room for ours, for a signal case. */
static void load_signal(const Case *c, float **x, double **ref, float **y)
{
	size_t frames = (size_t)c->frames;
	char out_name[96];
	snprintf(out_name, sizeof out_name, "%s.out.f64", c->name);
	*x = fx_test_load_le(c->input, 4, frames);
	*ref = fx_test_load_le(out_name, 8, frames);
	*y = malloc(frames * sizeof **y);
	ck_assert_ptr_nonnull(*y);
}

static FxStatus design_case(const Case *c, FxSection *sos, int *n)
{
	if (!strcmp(c->family, "butter")) {
		int t = lookup(butter_names, 4, c->type);
		ck_assert_int_ge(t, 0);
		return fx_design_butter((FxButterType)t, (int)c->p[0], c->p[1],
		                        c->p[2], c->p[3], sos, n);
	}
	int t = lookup(rbj_names, 8, c->type);
	ck_assert_int_ge(t, 0);
	*n = 1;
	return fx_design_rbj((FxRbjType)t, c->p[0], c->p[1], c->p[2], c->p[3],
	                     sos);
}

/* Largest difference over the coefficients; numerators relative to the
 * section's largest |b| as well, since the gain makes b tiny (1e-50 for a
 * 16th-order 10 Hz lowpass) and an absolute test alone would be empty. */
static double sos_diff(const FxSection *a, const FxSection *b, int n)
{
	double worst = 0;
	for (int i = 0; i < n; i++) {
		double bmax = fmax(fabs(b[i][0]),
		                   fmax(fabs(b[i][1]), fabs(b[i][2])));
		for (int j = 0; j < 6; j++) {
			double d = fabs(a[i][j] - b[i][j]);
			if (j < 3 && bmax > 0)
				d = fmax(d, d / bmax);
			worst = fmax(worst, d);
		}
	}
	return worst;
}

/* Largest |dB difference| at N_FREQS log-spaced points from 1 Hz to just
 * below Nyquist, skipping points where both are below -200 dB. */
START_TEST(test_butter_matches_scipy)
{
	const Case *c = &butter[_i];
	FxSection sos[FX_MAX_SECTIONS];
	int n = -1;
	FxStatus st = design_case(c, sos, &n);
	ck_assert_msg(st == FX_OK, "%s: %s", c->name, fx_strerror(st));
	ck_assert_msg(n == c->nsec, "%s: %d sections, scipy %d", c->name, n,
	              c->nsec);
	double d = sos_diff(sos, c->sos, n);
	if (d <= 1e-9)
		return;
	/* Pairing or order differs (near-tied pole radii): same filter? */
	double m = fx_test_mag_diff(sos, n, c->sos, c->nsec, c->p[3], N_FREQS);
	fprintf(stderr,
	        "%s: sections differ from scipy by %.3g, magnitude by "
	        "%.3g dB\n",
	        c->name, d, m);
	ck_assert_msg(m <= 1e-6, "%s: sections differ by %g, magnitude by %g dB",
	              c->name, d, m);
}
END_TEST

/* The named cases of the brief must match scipy section for section. */
START_TEST(test_butter_key_cases_exact)
{
	static const char *const keys[] = {
		"hp4_20_96000", "lp10_1000_48000", "lp10_8000_48000",
		"hp2_80_48000", "lp16_10_96000",
	};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		const Case *c = NULL;
		for (int i = 0; i < n_butter; i++)
			if (!strcmp(butter[i].name, keys[k]))
				c = &butter[i];
		ck_assert_msg(c, "%s missing from butter.txt", keys[k]);
		FxSection sos[FX_MAX_SECTIONS];
		int n;
		ck_assert_int_eq(design_case(c, sos, &n), FX_OK);
		ck_assert_int_eq(n, c->nsec);
		double d = sos_diff(sos, c->sos, n);
		ck_assert_msg(d <= 1e-9, "%s: sections differ by %g", c->name, d);
	}
}
END_TEST

/* The fallback must accept a reordered cascade and reject a changed one:
 * no shipped case needs it today, so exercise it here. */
START_TEST(test_butter_fallback_check)
{
	const Case *c = NULL;
	for (int i = 0; i < n_butter; i++)
		if (!strcmp(butter[i].name, "lp10_1000_48000"))
			c = &butter[i];
	ck_assert_ptr_nonnull(c);
	int n = c->nsec;
	FxSection rev[FX_MAX_SECTIONS];
	for (int i = 0; i < n; i++)
		memcpy(rev[i], c->sos[n - 1 - i], sizeof rev[i]);
	ck_assert_double_gt(sos_diff(rev, c->sos, n), 1e-9);
	ck_assert_double_le(
		fx_test_mag_diff(rev, n, c->sos, n, c->p[3], N_FREQS), 1e-6);
	rev[1][4] += 1e-7;
	ck_assert_double_gt(
		fx_test_mag_diff(rev, n, c->sos, n, c->p[3], N_FREQS), 1e-6);
}
END_TEST

START_TEST(test_butter_errors)
{
	static const struct {
		FxButterType type;
		int order;
		double f1, f2, fs;
		FxStatus want;
	} t[] = {
		{FX_BUTTER_LOWPASS, 0, 1000, 0, 48000, FX_ERR_ORDER},
		{FX_BUTTER_LOWPASS, 17, 1000, 0, 48000, FX_ERR_ORDER},
		{FX_BUTTER_BANDPASS, -1, 100, 200, 48000, FX_ERR_ORDER},
		{FX_BUTTER_LOWPASS, 4, 0, 0, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_HIGHPASS, 4, -10, 0, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_LOWPASS, 4, 24000, 0, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_HIGHPASS, 4, 30000, 0, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_BANDPASS, 4, 100, 24000, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_BANDSTOP, 4, 0, 1000, 48000, FX_ERR_NYQUIST},
		{FX_BUTTER_LOWPASS, 4, NAN, 0, 48000, FX_ERR_NONFINITE},
		{FX_BUTTER_LOWPASS, 4, INFINITY, 0, 48000, FX_ERR_NONFINITE},
		{FX_BUTTER_LOWPASS, 4, 1000, 0, NAN, FX_ERR_NONFINITE},
		{FX_BUTTER_LOWPASS, 4, 1000, 0, INFINITY, FX_ERR_NONFINITE},
		{FX_BUTTER_BANDPASS, 4, 100, NAN, 48000, FX_ERR_NONFINITE},
		{FX_BUTTER_BANDSTOP, 4, -INFINITY, 200, 48000, FX_ERR_NONFINITE},
		{FX_BUTTER_BANDPASS, 4, 2000, 1000, 48000, FX_ERR_RANGE},
		{FX_BUTTER_BANDSTOP, 4, 1000, 1000, 48000, FX_ERR_RANGE},
		{FX_BUTTER_LOWPASS, 4, 1000, 0, 0, FX_ERR_RANGE},
		{FX_BUTTER_LOWPASS, 4, 1000, 0, -48000, FX_ERR_RANGE},
		{(FxButterType)7, 4, 1000, 0, 48000, FX_ERR_INVALID},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		FxSection sos[FX_MAX_SECTIONS];
		int n = 99;
		FxStatus st = fx_design_butter(t[i].type, t[i].order, t[i].f1,
		                               t[i].f2, t[i].fs, sos, &n);
		ck_assert_msg(st == t[i].want, "case %zu: got %s, want %s", i,
		              fx_strerror(st), fx_strerror(t[i].want));
		ck_assert_int_eq(n, 0);
	}
	int n;
	ck_assert_int_eq(fx_design_butter(FX_BUTTER_LOWPASS, 2, 1000, 0, 48000,
	                                  NULL, &n),
	                 FX_ERR_INVALID);
	/* 1e-300 Hz underflows the gain: refused, not a silent zero filter */
	FxSection sos[FX_MAX_SECTIONS];
	ck_assert_int_eq(fx_design_butter(FX_BUTTER_LOWPASS, 16, 1e-300, 0,
	                                  48000, sos, &n),
	                 FX_ERR_RANGE);
}
END_TEST

START_TEST(test_rbj_errors)
{
	static const struct {
		FxRbjType type;
		double f0, q, gain, fs;
		FxStatus want;
	} t[] = {
		{FX_RBJ_PEAKING, 0, 1, 6, 48000, FX_ERR_NYQUIST},
		{FX_RBJ_PEAKING, -5, 1, 6, 48000, FX_ERR_NYQUIST},
		{FX_RBJ_LOWPASS, 24000, 0.7, 0, 48000, FX_ERR_NYQUIST},
		{FX_RBJ_LOWPASS, 30000, 0.7, 0, 48000, FX_ERR_NYQUIST},
		{FX_RBJ_LOWPASS, 1000, 0, 0, 48000, FX_ERR_RANGE},
		{FX_RBJ_LOWPASS, 1000, -1, 0, 48000, FX_ERR_RANGE},
		{FX_RBJ_LOWPASS, 1000, 0.7, 0, 0, FX_ERR_RANGE},
		{FX_RBJ_LOWPASS, NAN, 0.7, 0, 48000, FX_ERR_NONFINITE},
		{FX_RBJ_LOWPASS, 1000, NAN, 0, 48000, FX_ERR_NONFINITE},
		{FX_RBJ_LOWPASS, 1000, INFINITY, 0, 48000, FX_ERR_NONFINITE},
		{FX_RBJ_PEAKING, 1000, 1, NAN, 48000, FX_ERR_NONFINITE},
		{FX_RBJ_PEAKING, 1000, 1, -INFINITY, 48000, FX_ERR_NONFINITE},
		{FX_RBJ_PEAKING, 1000, 1, 6, INFINITY, FX_ERR_NONFINITE},
		/* coefficients overflow at +10000 dB */
		{FX_RBJ_HIGHSHELF, 1000, 1, 10000, 48000, FX_ERR_RANGE},
		{(FxRbjType)99, 1000, 1, 0, 48000, FX_ERR_INVALID},
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		FxSection s = {42, 42, 42, 42, 42, 42};
		FxStatus st = fx_design_rbj(t[i].type, t[i].f0, t[i].q,
		                            t[i].gain, t[i].fs, &s);
		ck_assert_msg(st == t[i].want, "case %zu: got %s, want %s", i,
		              fx_strerror(st), fx_strerror(t[i].want));
		for (int j = 0; j < 6; j++)
			ck_assert_double_eq(s[j], 42); /* left untouched */
	}
	ck_assert_int_eq(fx_design_rbj(FX_RBJ_LOWPASS, 1000, 0.7, 0, 48000, NULL),
	                 FX_ERR_INVALID);
}
END_TEST

static const double rates[] = {44100, 48000, 96000};

static double db_at(const FxSection *s, double f, double fs)
{
	double m;
	fx_sos_response(s, 1, f, fs, &m, NULL);
	return m;
}

static void rbj_ok(FxRbjType t, double f0, double q, double g, double fs,
                   FxSection *s)
{
	FxStatus st = fx_design_rbj(t, f0, q, g, fs, s);
	ck_assert_msg(st == FX_OK, "%s f0=%g q=%g g=%g fs=%g: %s", rbj_names[t],
	              f0, q, g, fs, fx_strerror(st));
	ck_assert_double_eq((*s)[3], 1.0);
}

START_TEST(test_rbj_peaking)
{
	static const double f0s[] = {40, 1000, 9000}, qs[] = {0.5, 1, 4};
	static const double gains[] = {-18, -3, 0.5, 6, 15};
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
				for (int k = 0; k < 5; k++) {
					double fs = rates[r], f0 = f0s[i],
					       g = gains[k];
					FxSection s;
					rbj_ok(FX_RBJ_PEAKING, f0, qs[j], g, fs,
					       &s);
					ck_assert_double_eq_tol(
						db_at(&s, f0, fs), g, 1e-9);
					ck_assert_double_eq_tol(
						db_at(&s, f0 / 1000, fs), 0,
						0.01);
					ck_assert_double_eq_tol(
						db_at(&s, fs / 2, fs), 0, 0.01);
				}
}
END_TEST

START_TEST(test_rbj_shelves)
{
	static const double f0s[] = {50, 400, 3000}, qs[] = {0.5, 0.7071, 1};
	static const double gains[] = {-24, -6, 3, 12};
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++)
				for (int k = 0; k < 4; k++) {
					double fs = rates[r], f0 = f0s[i],
					       g = gains[k];
					FxSection lo, hi;
					rbj_ok(FX_RBJ_LOWSHELF, f0, qs[j], g,
					       fs, &lo);
					rbj_ok(FX_RBJ_HIGHSHELF, f0, qs[j], g,
					       fs, &hi);
					/* f = 0 evaluates at z = 1 exactly */
					ck_assert_double_eq_tol(
						db_at(&lo, 0, fs), g, 1e-6);
					ck_assert_double_eq_tol(
						db_at(&lo, fs / 2, fs), 0, 1e-6);
					ck_assert_double_eq_tol(
						db_at(&hi, fs / 2, fs), g, 1e-6);
					ck_assert_double_eq_tol(
						db_at(&hi, 0, fs), 0, 1e-6);
					/* half the gain at f0: the cookbook's midpoint */
					ck_assert_double_eq_tol(
						db_at(&lo, f0, fs), g / 2, 1e-9);
					ck_assert_double_eq_tol(
						db_at(&hi, f0, fs), g / 2, 1e-9);
				}
}
END_TEST

START_TEST(test_rbj_notch_allpass)
{
	static const double f0s[] = {20, 60, 1000, 12000},
			    qs[] = {0.3, 0.7071, 8};
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 3; i++)
			for (int j = 0; j < 3; j++) {
				double fs = rates[r], f0 = f0s[i], q = qs[j];
				FxSection s;
				rbj_ok(FX_RBJ_NOTCH, f0, q, 0, fs, &s);
				/* Rounding b1 = -2cos(w0)/a0 moves the zeros ~1e-14 rad
				 * off f0, so the stored filter itself bottoms out near
				 * -190 dB at low f0 and high Q (often -inf elsewhere). */
				double m = db_at(&s, f0, fs);
				ck_assert_msg(m < -180, "notch %g/%g: %g dB",
				              f0, fs, m);
				/* 0 dB at DC is 2(1 - cos w0) over itself, summed from
				 * O(1) coefficients: ~1e-9 dB of cancellation at 20 Hz */
				ck_assert_double_eq_tol(db_at(&s, 0, fs), 0,
				                        1e-6);
				ck_assert_double_eq_tol(db_at(&s, fs / 2, fs),
				                        0, 1e-6);

				rbj_ok(FX_RBJ_ALLPASS, f0, q, 0, fs, &s);
				for (int k = 0; k < N_FREQS; k++) {
					double f = fs / 2 * k / (N_FREQS - 1);
					double mag = pow(10,
					                 db_at(&s, f, fs) / 20);
					ck_assert_double_eq_tol(mag, 1, 1e-9);
				}
				/* -pi or +pi: the principal value may land on either.
				 * Both num and den at f0 are O(sin^2(w0)/Q), 1e-7 at
				 * 20 Hz, so rounding moves the angle by ~1e-9 rad. */
				double ph;
				fx_sos_response(&s, 1, f0, fs, NULL, &ph);
				ck_assert_double_eq_tol(fabs(ph), M_PI, 1e-7);
			}
}
END_TEST

START_TEST(test_rbj_pass_filters)
{
	static const double f0s[] = {30, 1000, 15000};
	const double q = 1 / sqrt(2), half = 20 * log10(1 / sqrt(2));
	for (int r = 0; r < 3; r++)
		for (int i = 0; i < 3; i++) {
			double fs = rates[r], f0 = f0s[i];
			FxSection s;
			/* |H(f0)| = Q for the cookbook LPF/HPF */
			rbj_ok(FX_RBJ_LOWPASS, f0, q, 0, fs, &s);
			ck_assert_double_eq_tol(db_at(&s, f0, fs), half, 1e-9);
			ck_assert_double_eq_tol(db_at(&s, 0, fs), 0, 1e-9);
			ck_assert_double_le(db_at(&s, fs / 2, fs), -200);
			rbj_ok(FX_RBJ_HIGHPASS, f0, q, 0, fs, &s);
			ck_assert_double_eq_tol(db_at(&s, f0, fs), half, 1e-9);
			ck_assert_double_eq_tol(db_at(&s, fs / 2, fs), 0, 1e-9);
			ck_assert_double_le(db_at(&s, 0, fs), -200);
			for (int j = 0; j < 3; j++) {
				double qq = (double[]){0.5, 2, 10}[j];
				rbj_ok(FX_RBJ_BANDPASS, f0, qq, 0, fs, &s);
				ck_assert_double_eq_tol(db_at(&s, f0, fs), 0,
				                        1e-9);
				ck_assert_double_le(db_at(&s, 0, fs), -200);
				ck_assert_double_le(db_at(&s, fs / 2, fs), -200);
			}
		}
	ck_assert_double_eq_tol(half, -3.0103, 1e-4);
}
END_TEST

/* Our float32 cascade with our sections against sosfilt in float64. */
START_TEST(test_filtered_output)
{
	const Case *c = &sig[_i];
	FxSection sos[FX_MAX_SECTIONS];
	int n;
	FxStatus st = design_case(c, sos, &n);
	ck_assert_msg(st == FX_OK, "%s: %s", c->name, fx_strerror(st));
	ck_assert_int_eq(n, c->nsec);
	/* RBJ references come from gen_refs.py's own cookbook code */
	double d = sos_diff(sos, c->sos, n);
	ck_assert_msg(d <= 1e-9, "%s: sections differ by %g", c->name, d);

	size_t frames = (size_t)c->frames;
	float *x, *y;
	double *ref;
	load_signal(c, &x, &ref, &y);

	FxSos *f = fx_sos_new(1, FX_MAX_SECTIONS, &st);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fx_sos_set(f, sos, n), FX_OK);
	const float *in[1] = {x};
	float *out[1] = {y};
	fx_sos_process(f, in, out, (int)frames);

	double rel = fx_test_rel_rms(y, ref, frames);
	ck_assert_msg(rel <= 1e-5, "%s: relative RMS error %g", c->name, rel);

	fx_sos_free(f);
	free(x);
	free(ref);
	free(y);
}
END_TEST

/* Chunked processing must reproduce one call bit for bit. */
START_TEST(test_chunking_bit_exact)
{
	ck_assert_int_gt(n_sig, 0);
	const Case *c = &sig[0];
	size_t frames = (size_t)c->frames;
	float *x = fx_test_load_le(c->input, 4, frames);
	float *whole = malloc(frames * sizeof *whole);
	float *part = malloc(frames * sizeof *part);
	ck_assert_ptr_nonnull(whole);
	ck_assert_ptr_nonnull(part);

	static const int chunks[] = {1, 7, 64, 4096};
	for (int s = 0; s < n_sig; s++) {
		FxSection sos[FX_MAX_SECTIONS];
		int n;
		ck_assert_int_eq(design_case(&sig[s], sos, &n), FX_OK);
		FxStatus st;
		FxSos *f = fx_sos_new(1, FX_MAX_SECTIONS, &st);
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fx_sos_set(f, sos, n), FX_OK);
		fx_sos_process(f, (const float *const[]){x},
		               (float *const[]){whole}, (int)frames);
		for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
			fx_sos_reset(f);
			for (size_t i = 0; i < frames; i += (size_t)chunks[k]) {
				size_t len = frames - i < (size_t)chunks[k]
				                     ? frames - i
				                     : (size_t)chunks[k];
				fx_sos_process(f, (const float *const[]){x + i},
				               (float *const[]){part + i},
				               (int)len);
			}
			ck_assert_msg(!memcmp(whole, part, frames * sizeof *part),
			              "%s: chunks of %d differ from one call",
			              sig[s].name, chunks[k]);
		}
		fx_sos_free(f);
	}
	free(x);
	free(whole);
	free(part);
}
END_TEST

/* The SVF form of each design realises scipy's transfer function: the
 * sections pair poles differently, so compare responses. */
START_TEST(test_svf_butter_matches_scipy)
{
	const Case *c = &butter[_i];
	int t = lookup(butter_names, 4, c->type);
	FxSvfSection svf[FX_MAX_SECTIONS];
	FxSection sos[FX_MAX_SECTIONS];
	int n;
	FxStatus st = fx_svf_butter((FxButterType)t, (int)c->p[0], c->p[1],
	                            c->p[2], c->p[3], svf, &n);
	ck_assert_msg(st == FX_OK, "%s: %s", c->name, fx_strerror(st));
	ck_assert_int_eq(n, c->nsec);
	for (int k = 0; k < n; k++)
		fx_svf_to_sos(&svf[k], sos[k]);
	double d = fx_test_mag_diff(sos, n, c->sos, c->nsec, c->p[3], N_FREQS);
	ck_assert_msg(d <= 1e-6, "%s: magnitude differs by %g dB", c->name, d);
}
END_TEST

START_TEST(test_svf_rbj_matches_cookbook)
{
	static const double f0s[] = {20, 150, 1000, 9000, 20000};
	static const double qs[] = {0.1, 0.5, 0.7071, 3, 20};
	static const double gains[] = {-24, -3, 0, 6, 24};
	for (int t = 0; t < 8; t++)
		for (int i = 0; i < 5; i++)
			for (int j = 0; j < 5; j++) {
				FxSection want, got;
				FxSvfSection svf;
				double fs = rates[(i + j) % 3];
				double g = gains[(i + 2 * j) % 5];
				ck_assert_int_eq(fx_design_rbj((FxRbjType)t,
				                               f0s[i], qs[j], g,
				                               fs, &want),
				                 FX_OK);
				ck_assert_int_eq(fx_svf_rbj((FxRbjType)t, f0s[i],
				                            qs[j], g, fs, &svf),
				                 FX_OK);
				fx_svf_to_sos(&svf, got);
				double d = sos_diff(&got, &want, 1);
				ck_assert_msg(d <= 1e-9,
				              "%s f0=%g q=%g gain=%g: %g",
				              rbj_names[t], f0s[i], qs[j], g, d);
			}
	FxSvfSection svf;
	ck_assert_int_eq(fx_svf_rbj(FX_RBJ_PEAKING, 30000, 1, 0, 48000, &svf),
	                 FX_ERR_NYQUIST);
	ck_assert_int_eq(fx_svf_rbj(FX_RBJ_PEAKING, 1000, 0, 0, 48000, &svf),
	                 FX_ERR_RANGE);
	int n;
	FxSvfSection many[FX_MAX_SECTIONS];
	ck_assert_int_eq(
		fx_svf_butter(FX_BUTTER_LOWPASS, 17, 1000, 0, 48000, many, &n),
		FX_ERR_ORDER);
	ck_assert_int_eq(fx_svf_butter(FX_BUTTER_BANDPASS, 2, 2000, 1000, 48000,
	                               many, &n),
	                 FX_ERR_RANGE);
}
END_TEST

static int svf_case(const Case *c, FxSvfSection *svf, int *n)
{
	if (!strcmp(c->family, "butter"))
		return fx_svf_butter(
			(FxButterType)lookup(butter_names, 4, c->type),
			(int)c->p[0], c->p[1], c->p[2], c->p[3], svf, n);
	*n = 1;
	return fx_svf_rbj((FxRbjType)lookup(rbj_names, 8, c->type), c->p[0],
	                  c->p[1], c->p[2], c->p[3], svf);
}

/* The filter the effects use, against sosfilt. With `every` > 0 it is told
 * its (unchanged) sections again before every `every`-th chunk, which runs
 * that chunk as SVFs and converts the state there and back. */
static double filter_error(const Case *c, int every)
{
	FxSvfSection svf[FX_MAX_SECTIONS];
	int n;
	ck_assert_int_eq(svf_case(c, svf, &n), FX_OK);
	size_t frames = (size_t)c->frames;
	float *x, *y;
	double *ref;
	load_signal(c, &x, &ref, &y);
	FxStatus st;
	FxFilter *f = fx_filter_new(1, n, &st);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fx_filter_set(f, svf, n), FX_OK);
	for (size_t i = 0, k = 0; i < frames; i += 256, k++) {
		if (every && k % every == 0)
			ck_assert_int_eq(fx_filter_set(f, svf, n), FX_OK);
		fx_filter_process(f, (const float *const[]){x + i},
		                  (float *const[]){y + i}, 256);
	}
	double rel = fx_test_rel_rms(y, ref, frames);
	fx_filter_free(f);
	free(x);
	free(ref);
	free(y);
	return rel;
}

START_TEST(test_filter_output)
{
	double rel = filter_error(&sig[_i], 0);
	ck_assert_msg(rel <= 1e-5, "%s: relative RMS error %g", sig[_i].name,
	              rel);
}
END_TEST

START_TEST(test_filter_kernel_switch_keeps_output)
{
	double rel = filter_error(&sig[_i], 3);
	ck_assert_msg(rel <= 1e-5, "%s: relative RMS error %g", sig[_i].name,
	              rel);
}
END_TEST

START_TEST(test_response_null_pointers)
{
	FxSection s;
	ck_assert_int_eq(fx_design_rbj(FX_RBJ_PEAKING, 1000, 1, 6, 48000, &s),
	                 FX_OK);
	fx_sos_response(&s, 1, 1000, 48000, NULL, NULL);
	double m = 1, p = 1;
	fx_sos_response(&s, 0, 1000, 48000, &m, &p); /* empty cascade: 0 dB */
	ck_assert_double_eq(m, 0);
	ck_assert_double_eq(p, 0);
}
END_TEST

static Suite *design_suite(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"butter", 0, .tests = {
			{test_butter_matches_scipy, n_butter},
			{test_butter_key_cases_exact, 0},
			{test_butter_fallback_check, 0},
			{test_butter_errors, 0},
		}},
		{"rbj", 0, .tests = {
			{test_rbj_errors, 0},
			{test_rbj_peaking, 0},
			{test_rbj_shelves, 0},
			{test_rbj_notch_allpass, 0},
			{test_rbj_pass_filters, 0},
			{test_response_null_pointers, 0},
		}},
		{"signals", 60, .tests = {
			{test_filtered_output, n_sig},
			{test_chunking_bit_exact, 0},
			{test_filter_output, n_sig},
			{test_filter_kernel_switch_keeps_output, n_sig},
		}},
		{"svf", 0, .tests = {
			{test_svf_butter_matches_scipy, n_butter},
			{test_svf_rbj_matches_cookbook, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("design", cases);
}

int main(void)
{
	n_butter = load_manifest(DATA "butter.txt", butter, false);
	n_sig = load_manifest(DATA "signals.txt", sig, true);
	if (n_butter < 1 || n_sig < 1) {
		fprintf(stderr,
		        "test_design: cannot read %sbutter.txt or "
		        "signals.txt\n",
		        DATA);
		return EXIT_FAILURE;
	}
	return fx_test_run(design_suite());
}
