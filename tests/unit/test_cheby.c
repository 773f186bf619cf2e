/* SPDX-License-Identifier: ISC */
/* fxd — tests for the cheby1, cheby2 and lr effects and their designs
 * (dsp/cheby.h) against scipy references (tests/unit/gen_refs.py writes
 * tests/data/cheby.txt and cheby_signals.txt; its docstring describes the
 * formats) and against the defining properties of Linkwitz-Riley
 * crossovers. FX_TEST_VERBOSE=1 prints the accuracy of every case. */
#include "tests/fxtest.h"
#include "tests/unit/refdata.h"

#include <complex.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dsp/chain.h"
#include "dsp/cheby.h"
#include "dsp/effect.h"

#define DATA FX_TEST_DATA

enum { MAX_CASES = 256, MAX_LINE = 16384, N_FREQS = 200, CHUNK = 256 };

typedef struct {
	char name[64];
	char input[64];
	char family[16]; ///< cheby1, cheby2 or lr
	char type[16];   ///< lowpass or highpass
	int frames;
	double p[4]; ///< order, ripple/atten (0 for lr), f, fs
	int nsec;
	FxSection sos[FX_MAX_SECTIONS];
} Case;

static Case designs[MAX_CASES], sig[MAX_CASES];
static int n_designs, n_sig;
static bool verbose;

/* ---- reference data ----------------------------------------------------- */

static char *next_tok(char **save)
{
	return strtok_r(NULL, " \n", save);
}

static int read_number(char **save, double *v)
{
	char *tok = next_tok(save), *end;
	if (!tok)
		return -1;
	*v = strtod(tok, &end);
	return *end ? -1 : 0;
}

static int read_word(char **save, char *out, size_t size)
{
	char *tok = next_tok(save);
	if (!tok || strlen(tok) >= size)
		return -1;
	memcpy(out, tok, strlen(tok) + 1);
	return 0;
}

/* cheby.txt: name family type order db f fs nsec coeffs;
 * cheby_signals.txt: name input frames family type p1..p4 nsec coeffs. */
static int load_manifest(const char *path, Case *out, bool signals)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	static char line[MAX_LINE];
	int n = 0, bad = 0;
	while (!bad && n < MAX_CASES && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		Case *c = &out[n];
		memset(c, 0, sizeof *c);
		char *save, *tok = strtok_r(line, " \n", &save);
		double v = 0;
		bad = !tok || strlen(tok) >= sizeof c->name;
		if (!bad)
			memcpy(c->name, tok, strlen(tok) + 1);
		if (!bad && signals) {
			bad = read_word(&save, c->input, sizeof c->input) ||
			      read_number(&save, &v);
			c->frames = (int)v;
		}
		bad = bad || read_word(&save, c->family, sizeof c->family) ||
		      read_word(&save, c->type, sizeof c->type);
		for (int i = 0; !bad && i < 4; i++)
			bad = read_number(&save, &c->p[i]);
		bad = bad || read_number(&save, &v);
		c->nsec = (int)v;
		bad = bad || c->nsec < 1 || c->nsec > FX_MAX_SECTIONS;
		for (int i = 0; !bad && i < 6 * c->nsec; i++)
			bad = read_number(&save, &c->sos[i / 6][i % 6]);
		n++;
	}
	fclose(f);
	return bad ? -1 : n;
}

static FxButterType case_type(const Case *c)
{
	ck_assert_msg(!strcmp(c->type, "lowpass") || !strcmp(c->type, "highpass"),
	              "%s: type %s", c->name, c->type);
	return strcmp(c->type, "lowpass") ? FX_BUTTER_HIGHPASS
	                                  : FX_BUTTER_LOWPASS;
}

/* Our design for a case, as digital sections. */
static FxStatus design_case(const Case *c, FxSection *sos, int *n)
{
	FxSvfSection svf[FX_MAX_SECTIONS];
	FxButterType t = case_type(c);
	int order = (int)c->p[0];
	FxStatus st;
	if (!strcmp(c->family, "cheby1"))
		st = fx_svf_cheby1(t, order, c->p[1], c->p[2], c->p[3], svf, n);
	else if (!strcmp(c->family, "cheby2"))
		st = fx_svf_cheby2(t, order, c->p[1], c->p[2], c->p[3], svf, n);
	else
		st = fx_svf_linkwitz_riley(t, order, c->p[2], c->p[3], svf, n);
	for (int k = 0; st == FX_OK && k < *n; k++)
		fx_svf_to_sos(&svf[k], sos[k]);
	return st;
}

/* ---- comparing cascades ------------------------------------------------- */

/* Sections of `mine` against scipy's `ref`, each matched to the scipy
 * section with the nearest denominator. Numerators are compared after
 * scaling both to their largest coefficient, and the scale factors' product
 * (the overall gain, which scipy keeps on its first section and we spread)
 * relatively. Returns the worst difference; *same_order says whether the
 * match kept scipy's order. */
static double coef_diff(const FxSection *mine, const FxSection *ref, int n,
                        bool *same_order)
{
	bool used[FX_MAX_SECTIONS] = {false};
	double worst = 0, gain_mine = 1, gain_ref = 1;
	*same_order = true;
	for (int i = 0; i < n; i++) {
		int best = -1;
		double bd = INFINITY;
		for (int j = 0; j < n; j++) {
			double d = fabs(mine[i][4] - ref[j][4]) +
			           fabs(mine[i][5] - ref[j][5]);
			if (!used[j] && d < bd) {
				best = j;
				bd = d;
			}
		}
		used[best] = true;
		*same_order = *same_order && best == i;
		const double *a = mine[i], *b = ref[best];
		for (int t = 3; t < 6; t++)
			worst = fmax(worst, fabs(a[t] - b[t]));
		int big = 0;
		for (int t = 1; t < 3; t++)
			if (fabs(b[t]) > fabs(b[big]))
				big = t;
		if (a[big] == 0)
			return INFINITY;
		for (int t = 0; t < 3; t++)
			worst = fmax(worst, fabs(a[t] / a[big] - b[t] / b[big]));
		gain_mine *= a[big];
		gain_ref *= b[big];
	}
	return fmax(worst, fabs(gain_mine / gain_ref - 1));
}

/* The complex response of a cascade at f. */
static double complex response(const FxSection *s, int n, double f, double fs)
{
	double db, ph;
	fx_sos_response(s, n, f, fs, &db, &ph);
	return pow(10, db / 20) * cexp(I * ph);
}

static double db_of(double complex h)
{
	return 20 * log10(cabs(h));
}

/* ---- effect instances, without a chain ---------------------------------- */

typedef struct {
	const FxEffectClass *cls;
	void *state;
	double v[FX_MAX_PARAMS];
} Inst;

static void set_value(Inst *in, const char *name, double v)
{
	int i = fx_param_find(in->cls, name);
	ck_assert_msg(i >= 0, "%s has no %s", in->cls->name, name);
	in->v[i] = v;
}

/* An instance of effect @p name with default values, not yet initialised. */
static Inst inst_new(const char *name)
{
	Inst in = {fx_effect_find(name), NULL, {0}};
	ck_assert_msg(in.cls, "no effect %s", name);
	for (int i = 0; i < in.cls->n_params; i++)
		in.v[i] = in.cls->params[i].def;
	return in;
}

static FxStatus inst_init(Inst *in, double fs, int channels, int max_block)
{
	in->state = calloc(1, in->cls->state_size);
	ck_assert_ptr_nonnull(in->state);
	FxEffectSetup setup = {in->cls, fs, channels, max_block, in->v, NULL};
	FxStatus st = in->cls->init(in->state, &setup);
	if (st != FX_OK) {
		free(in->state);
		in->state = NULL;
	}
	return st;
}

static void inst_free(Inst *in)
{
	if (in->state) {
		in->cls->cleanup(in->state);
		free(in->state);
		in->state = NULL;
	}
}

/* The instance a signal case describes, initialised. */
static Inst case_inst(const Case *c, int channels, int max_block)
{
	Inst in = inst_new(c->family);
	set_value(&in, "type", case_type(c) == FX_BUTTER_HIGHPASS);
	set_value(&in, "order", c->p[0]);
	set_value(&in, "cutoff", c->p[2]);
	if (!strcmp(c->family, "cheby1"))
		set_value(&in, "ripple", c->p[1]);
	else if (!strcmp(c->family, "cheby2"))
		set_value(&in, "atten", c->p[1]);
	FxStatus st = inst_init(&in, c->p[3], channels, max_block);
	ck_assert_msg(st == FX_OK, "%s: %s", c->name, fx_strerror(st));
	return in;
}

/* Processes planar buffers in chunks of @p chunk frames. */
static void inst_run(Inst *in, float *const *buf, int channels, int frames,
                     int chunk)
{
	for (int off = 0; off < frames; off += chunk) {
		float *p[8];
		for (int ch = 0; ch < channels; ch++)
			p[ch] = buf[ch] + off;
		in->cls->process(in->state, p,
		                 frames - off < chunk ? frames - off : chunk);
	}
}

static FxChain *chain_from(const char *text, double fs, int channels,
                           double glide_ms, FxStatus *st)
{
	FxChainSpec spec;
	FxSpecError err;
	*st = fx_spec_parse(text, "test", &spec, &err);
	if (*st != FX_OK)
		return NULL;
	FxChainConfig cfg = fx_chain_config_default();
	cfg.sample_rate = fs;
	cfg.channels = channels;
	cfg.max_block = CHUNK;
	cfg.glide_ms = glide_ms;
	return fx_chain_new(&spec, &cfg, st);
}

static void chain_run(FxChain *c, float *x, int n, int chunk)
{
	for (int off = 0; off < n; off += chunk) {
		float *p = x + off;
		fx_chain_process(c, &p, n - off < chunk ? n - off : chunk);
	}
}

/* Amplitude of the tone at @p f in x[0..n), by a least-squares fit of
 * a*sin + b*cos + c (exact for a steady sinusoid, any number of periods). */
static double tone_amplitude(const float *x, int n, double f, double fs)
{
	double m[3][4] = {{0}};
	for (int i = 0; i < n; i++) {
		double w = 2 * M_PI * f * i / fs;
		double r[4] = {sin(w), cos(w), 1, x[i]};
		for (int a = 0; a < 3; a++)
			for (int b = 0; b < 4; b++)
				m[a][b] += r[a] * r[b];
	}
	for (int p = 0; p < 3; p++) /* Gauss-Jordan, well conditioned */
		for (int r = 0; r < 3; r++)
			if (r != p) {
				double q = m[r][p] / m[p][p];
				for (int b = 0; b < 4; b++)
					m[r][b] -= q * m[p][b];
			}
	return hypot(m[0][3] / m[0][0], m[1][3] / m[1][1]);
}

/* ---- designs against scipy ---------------------------------------------- */

START_TEST(design_matches_scipy)
{
	const Case *c = &designs[_i];
	FxSection sos[FX_MAX_SECTIONS];
	int n = -1;
	FxStatus st = design_case(c, sos, &n);
	ck_assert_msg(st == FX_OK, "%s: %s", c->name, fx_strerror(st));
	ck_assert_msg(n == c->nsec, "%s: %d sections, scipy %d", c->name, n,
	              c->nsec);
	bool same_order;
	double d = coef_diff(sos, c->sos, n, &same_order);
	double m = fx_test_mag_diff(sos, n, c->sos, n, c->p[3], N_FREQS);
	if (verbose)
		fprintf(stderr, "%-26s coef %.3g%s  mag %.3g dB\n", c->name, d,
		        same_order ? "" : " (reordered)", m);
	/* Either test will do. Sections differ where scipy's 'nearest'
	 * pairing gives a zero to another section (odd orders: it pads with
	 * a pole and a zero at z = 0). The magnitude differs by more than
	 * 1e-6 dB only just beside stopband notches of a few Hz, where the
	 * b-coefficient form itself loses the zero's position to rounding:
	 * there the sections agree to 1e-9. */
	ck_assert_msg(d <= 1e-9 || m <= 1e-6,
	              "%s: sections differ by %g, magnitude by %g dB", c->name,
	              d, m);
}
END_TEST

/* The common cases pair like scipy: section by section to 1e-9. */
START_TEST(design_key_cases_exact)
{
	static const char *const keys[] = {
		"c1hp5_0.5_500_48000",   "c1lp16_0.01_20_96000",
		"c1lp16_12_20000_44100", "c1hp16_1_20_96000",
		"c1lp2_1_1000_48000",    "c2lp16_120_20_96000",
		"c2lp4_40_1000_48000",   "c2lp1_120_20_96000",
	};
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		const Case *c = NULL;
		for (int i = 0; i < n_designs; i++)
			if (!strcmp(designs[i].name, keys[k]))
				c = &designs[i];
		ck_assert_msg(c, "%s missing from cheby.txt", keys[k]);
		FxSection sos[FX_MAX_SECTIONS];
		int n;
		ck_assert_int_eq(design_case(c, sos, &n), FX_OK);
		ck_assert_int_eq(n, c->nsec);
		bool same_order;
		double d = coef_diff(sos, c->sos, n, &same_order);
		ck_assert_msg(d <= 1e-9, "%s: sections differ by %g", c->name, d);
	}
}
END_TEST

/* What the parameters mean: the passband edge of Chebyshev I sits at
 * -ripple dB, the stopband edge of Chebyshev II at -atten dB, and the
 * gain where flat is 0 dB (Chebyshev I of even order: -ripple dB). */
START_TEST(design_edges_mean_what_the_docs_say)
{
	static const double fcs[] = {50, 1000, 12000};
	for (int order = 1; order <= FX_MAX_ORDER; order++)
		for (int t = 0; t < 2; t++)
			for (int i = 0; i < 3; i++) {
				FxButterType type = t ? FX_BUTTER_HIGHPASS
				                      : FX_BUTTER_LOWPASS;
				double fs = 48000, fc = fcs[i];
				double rp = 0.1 + 0.7 * (order % 5),
				       rs = 20 + 6 * order;
				double flat = t ? 0.5 * fs : 0;
				FxSvfSection svf[FX_MAX_SECTIONS];
				FxSection sos[FX_MAX_SECTIONS];
				int n;
				double db;
				ck_assert_int_eq(fx_svf_cheby1(type, order, rp,
				                               fc, fs, svf, &n),
				                 FX_OK);
				for (int k = 0; k < n; k++)
					fx_svf_to_sos(&svf[k], sos[k]);
				fx_sos_response(sos, n, fc, fs, &db, NULL);
				ck_assert_double_eq_tol(db, -rp, 1e-7);
				fx_sos_response(sos, n, flat, fs, &db, NULL);
				ck_assert_double_eq_tol(db, order & 1 ? 0 : -rp,
				                        1e-7);
				ck_assert_int_eq(fx_svf_cheby2(type, order, rs,
				                               fc, fs, svf, &n),
				                 FX_OK);
				for (int k = 0; k < n; k++)
					fx_svf_to_sos(&svf[k], sos[k]);
				fx_sos_response(sos, n, fc, fs, &db, NULL);
				ck_assert_double_eq_tol(db, -rs, 1e-7);
				fx_sos_response(sos, n, flat, fs, &db, NULL);
				ck_assert_double_eq_tol(db, 0, 1e-9);
			}
}
END_TEST

START_TEST(design_errors)
{
	FxSvfSection s[FX_MAX_SECTIONS];
	int n = 99;
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_BANDPASS, 4, 1, 1000, 48000, s, &n),
		FX_ERR_INVALID);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_LOWPASS, 0, 1, 1000, 48000, s, &n),
		FX_ERR_ORDER);
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_LOWPASS, 17, 1, 1000, 48000, s, &n),
		FX_ERR_ORDER);
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_LOWPASS, 4, 0, 1000, 48000, s, &n),
		FX_ERR_RANGE);
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_LOWPASS, 4, NAN, 1000, 48000, s, &n),
		FX_ERR_NONFINITE);
	ck_assert_int_eq(
		fx_svf_cheby1(FX_BUTTER_LOWPASS, 4, 1, 24000, 48000, s, &n),
		FX_ERR_NYQUIST);
	ck_assert_int_eq(fx_svf_cheby1(FX_BUTTER_LOWPASS, 4, 1, 0, 48000, s, &n),
	                 FX_ERR_NYQUIST);
	ck_assert_int_eq(fx_svf_cheby1(FX_BUTTER_LOWPASS, 4, 1, 1000, 0, s, &n),
	                 FX_ERR_RANGE);
	ck_assert_int_eq(
		fx_svf_cheby2(FX_BUTTER_HIGHPASS, 4, -40, 1000, 48000, s, &n),
		FX_ERR_RANGE);
	ck_assert_int_eq(fx_svf_cheby2(FX_BUTTER_HIGHPASS, 4, INFINITY, 1000,
	                               48000, s, &n),
	                 FX_ERR_NONFINITE);
	ck_assert_int_eq(
		fx_svf_cheby2(FX_BUTTER_HIGHPASS, 4, 40, NAN, 48000, s, &n),
		FX_ERR_NONFINITE);
	ck_assert_int_eq(
		fx_svf_cheby2(FX_BUTTER_BANDSTOP, 4, 40, 1000, 48000, s, &n),
		FX_ERR_INVALID);
	for (int order = 0; order <= 10; order++) {
		FxStatus want = order >= 2 && order <= 8 && !(order & 1)
		                        ? FX_OK
		                        : FX_ERR_ORDER;
		ck_assert_int_eq(fx_svf_linkwitz_riley(FX_BUTTER_LOWPASS, order,
		                                       1000, 48000, s, &n),
		                 want);
		ck_assert_int_eq(n, want == FX_OK ? order / 2 : 0);
	}
	ck_assert_int_eq(fx_svf_linkwitz_riley(FX_BUTTER_LOWPASS, 4, 30000,
	                                       48000, s, &n),
	                 FX_ERR_NYQUIST);
}
END_TEST

/* ---- Linkwitz-Riley ----------------------------------------------------- */

static void lr_sections(FxButterType t, int order, double fc, double fs,
                        FxSection *sos, int *n)
{
	FxSvfSection svf[FX_MAX_SECTIONS];
	ck_assert_int_eq(fx_svf_linkwitz_riley(t, order, fc, fs, svf, n), FX_OK);
	for (int k = 0; k < *n; k++)
		fx_svf_to_sos(&svf[k], sos[k]);
}

/* -6.02 dB at the crossover; Butterworth of half the order, squared; LP+HP
 * flat for orders 4 and 8 and LP-HP flat for 2 and 6, where LP+HP has a
 * null at the crossover instead. */
START_TEST(lr_crossover_properties)
{
	static const double fcs[] = {80, 300, 1000, 2500, 8000};
	static const double rates[] = {44100, 48000, 96000};
	for (int order = 2; order <= 8; order += 2)
		for (int i = 0; i < 5; i++) {
			double fc = fcs[i], fs = rates[(i + order) % 3];
			FxSection lp[8], hp[8], bw[2 * FX_MAX_SECTIONS];
			int nl, nh, nb;
			lr_sections(FX_BUTTER_LOWPASS, order, fc, fs, lp, &nl);
			lr_sections(FX_BUTTER_HIGHPASS, order, fc, fs, hp, &nh);
			ck_assert_int_eq(nl, order / 2);
			ck_assert_int_eq(nh, order / 2);
			double sign = order % 4 ? -1 : 1;
			ck_assert_double_eq_tol(db_of(response(lp, nl, fc, fs)),
			                        -6.0206, 0.01);
			ck_assert_double_eq_tol(db_of(response(hp, nh, fc, fs)),
			                        -6.0206, 0.01);
			double worst = 0;
			for (int k = 0; k <= 300; k++) {
				double f = 20 * pow(1000, k / 300.0);
				double complex s = response(lp, nl, f, fs) +
				                   sign * response(hp, nh, f, fs);
				worst = fmax(worst, fabs(db_of(s)));
			}
			ck_assert_msg(worst <= 0.01,
			              "LR%d at %g: sum off by %g dB", order, fc,
			              worst);
			/* the other polarity: a null at the crossover (LR2/LR6), or
			 * -inf there for 4 and 8 if one were inverted */
			double complex wrong = response(lp, nl, fc, fs) -
			                       sign * response(hp, nh, fc, fs);
			ck_assert_msg(db_of(wrong) < -100, "LR%d: %g dB", order,
			              db_of(wrong));
			for (int t = 0; t < 2; t++) {
				FxButterType type = t ? FX_BUTTER_HIGHPASS
				                      : FX_BUTTER_LOWPASS;
				ck_assert_int_eq(
					fx_design_butter(type, order / 2, fc, 0,
				                         fs, bw, &nb),
					FX_OK);
				for (int k = 0; k < nb; k++)
					memcpy(bw[nb + k], bw[k], sizeof bw[k]);
				double d = fx_test_mag_diff(t ? hp : lp,
				                            order / 2, bw,
				                            2 * nb, fs, N_FREQS);
				ck_assert_msg(d <= 1e-6,
				              "LR%d %d: %g dB from butter^2",
				              order, t, d);
			}
		}
}
END_TEST

/* The same facts heard through the effect, in float, with tones. */
START_TEST(lr_effect_sums_flat)
{
	static const double freqs[] = {20, 100, 700, 1000, 1500, 5000, 20000};
	enum { SETTLE = 4800, FIT = 9600, LEN = SETTLE + FIT };
	static float x[LEN], y[LEN];
	int order = 2 + 2 * _i;
	double fs = 48000, fc = 1000, sign = order % 4 ? -1 : 1;
	for (size_t k = 0; k < sizeof freqs / sizeof *freqs; k++) {
		Inst lp = inst_new("lr"), hp = inst_new("lr");
		set_value(&lp, "order", order);
		set_value(&hp, "order", order);
		set_value(&hp, "type", 1);
		ck_assert_int_eq(inst_init(&lp, fs, 1, CHUNK), FX_OK);
		ck_assert_int_eq(inst_init(&hp, fs, 1, CHUNK), FX_OK);
		for (int i = 0; i < LEN; i++)
			x[i] = y[i] = (float)(0.5 *
			                      sin(2 * M_PI * freqs[k] * i / fs));
		inst_run(&lp, (float *const[]){x}, 1, LEN, CHUNK);
		inst_run(&hp, (float *const[]){y}, 1, LEN, CHUNK);
		for (int i = 0; i < LEN; i++)
			x[i] += (float)(sign * y[i]);
		double db = 20 *
		            log10(tone_amplitude(x + SETTLE, FIT, freqs[k], fs) /
		                  0.5);
		ck_assert_msg(fabs(db) <= 0.01, "LR%d at %g Hz: %g dB", order,
		              freqs[k], db);
		if (freqs[k] == fc) {
			double l = tone_amplitude(y + SETTLE, FIT, fc, fs) / 0.5;
			ck_assert_double_eq_tol(20 * log10(l), -6.0206, 0.01);
		}
		inst_free(&lp);
		inst_free(&hp);
	}
}
END_TEST

/* ---- the effects ------------------------------------------------------- */

/* Through the effect's own process, float in and out, against sosfilt in
 * double. */
START_TEST(effect_output_matches_scipy)
{
	const Case *c = &sig[_i];
	size_t frames = (size_t)c->frames;
	char out_name[96];
	snprintf(out_name, sizeof out_name, "%s.out.f64", c->name);
	float *y = fx_test_load_le(c->input, 4, frames);
	double *ref = fx_test_load_le(out_name, 8, frames);
	Inst in = case_inst(c, 1, CHUNK);
	inst_run(&in, (float *const[]){y}, 1, (int)frames, CHUNK);
	double rel = fx_test_rel_rms(y, ref, frames);
	if (verbose)
		fprintf(stderr, "%-26s output rel RMS %.3g\n", c->name, rel);
	ck_assert_msg(rel <= 1e-5, "%s: relative RMS error %g", c->name, rel);
	/* our design of the case is scipy's filter */
	FxSection sos[FX_MAX_SECTIONS];
	int n;
	ck_assert_int_eq(design_case(c, sos, &n), FX_OK);
	ck_assert_double_le(
		fx_test_mag_diff(sos, n, c->sos, c->nsec, c->p[3], N_FREQS),
		1e-6);
	inst_free(&in);
	free(y);
	free(ref);
}
END_TEST

/* The same through a chain built from spec text, enum labels and all. */
START_TEST(chain_output_matches_scipy)
{
	const Case *c = &sig[_i];
	char text[256];
	int len = snprintf(text, sizeof text, "%s type=%s cutoff=%.17g order=%d",
	                   c->family, c->type, c->p[2], (int)c->p[0]);
	if (strcmp(c->family, "lr"))
		snprintf(text + len, sizeof text - (size_t)len, " %s=%.17g",
		         strcmp(c->family, "cheby1") ? "atten" : "ripple",
		         c->p[1]);
	FxStatus st;
	FxChain *chain = chain_from(text, c->p[3], 1, 20, &st);
	ck_assert_msg(chain, "%s: %s", text, fx_strerror(st));
	size_t frames = (size_t)c->frames;
	char out_name[96];
	snprintf(out_name, sizeof out_name, "%s.out.f64", c->name);
	float *y = fx_test_load_le(c->input, 4, frames);
	double *ref = fx_test_load_le(out_name, 8, frames);
	chain_run(chain, y, (int)frames, 100);
	double rel = fx_test_rel_rms(y, ref, frames);
	ck_assert_msg(rel <= 1e-5, "%s: relative RMS error %g", text, rel);
	fx_chain_free(chain);
	free(y);
	free(ref);
}
END_TEST

/* The example, spelled as a user would. */
START_TEST(chain_spec_example)
{
	FxStatus st;
	FxChain *c = chain_from("cheby1 type=highpass cutoff=500 order=5 "
	                        "ripple=0.5",
	                        48000, 2, 20, &st);
	ck_assert_msg(c, "%s", fx_strerror(st));
	const FxEffectClass *cls = fx_chain_slot_class(c, 0);
	ck_assert_str_eq(cls->name, "cheby1");
	ck_assert(fx_chain_get_param(c, 0, fx_param_find(cls, "type")) == 1);
	ck_assert(fx_chain_get_param(c, 0, fx_param_find(cls, "order")) == 5);
	ck_assert(fx_chain_get_param(c, 0, fx_param_find(cls, "ripple")) == 0.5);
	FxChainSpec spec;
	fx_chain_get_spec(c, &spec);
	char text[512];
	fx_spec_format(&spec, text, sizeof text);
	ck_assert_msg(strstr(text, "type=highpass"), "%s", text);
	/* structural parameters need a rebuild */
	ck_assert_int_eq(
		fx_chain_set_param(c, 0, fx_param_find(cls, "order"), 6, NULL),
		FX_ERR_STRUCTURAL);
	ck_assert_int_eq(
		fx_chain_set_param(c, 0, fx_param_find(cls, "type"), 0, NULL),
		FX_ERR_STRUCTURAL);
	fx_chain_free(c);
}
END_TEST

static void whole_and_chunked(const Case *c, int chunk, bool *same)
{
	enum { CH = 2 };
	size_t frames = (size_t)c->frames;
	float *x = fx_test_load_le(c->input, 4, frames);
	float *buf[2][CH];
	for (int k = 0; k < 2; k++)
		for (int ch = 0; ch < CH; ch++) {
			buf[k][ch] = malloc(frames * sizeof(float));
			ck_assert_ptr_nonnull(buf[k][ch]);
			for (size_t i = 0; i < frames;
			     i++) /* two different signals */
				buf[k][ch][i] = ch ? -0.5f * x[frames - 1 - i]
				                   : x[i];
		}
	Inst a = case_inst(c, CH, CHUNK), b = case_inst(c, CH, CHUNK);
	inst_run(&a, buf[0], CH, (int)frames, CHUNK);
	inst_run(&b, buf[1], CH, (int)frames, chunk);
	*same = true;
	for (int ch = 0; ch < CH; ch++) {
		*same = *same &&
		        !memcmp(buf[0][ch], buf[1][ch], frames * sizeof(float));
		free(buf[0][ch]);
		free(buf[1][ch]);
	}
	inst_free(&a);
	inst_free(&b);
	free(x);
}

/* State carries across calls: chunks of 1, 7 and 64 frames give the output
 * of chunks of 256, bit for bit, for every case. */
START_TEST(chunk_size_invariance)
{
	static const int chunks[] = {1, 7, 64, 256};
	for (int s = 0; s < n_sig; s++)
		for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
			bool same;
			whole_and_chunked(&sig[s], chunks[k], &same);
			ck_assert_msg(same, "%s: chunks of %d differ",
			              sig[s].name, chunks[k]);
		}
}
END_TEST

/* Any channel count and block size: every channel is the mono filter. */
START_TEST(channels_and_blocks)
{
	static const int channels[] = {1, 3, 8};
	static const int blocks[] = {1, 37, 4096};
	enum { LEN = 6000 };
	static float mono[LEN], multi[8][LEN];
	for (int i = 0; i < LEN; i++)
		mono[i] = (float)(sin(i * 0.031) + 0.3 * sin(i * 1.7));
	const Case *c = &sig[_i];
	Inst ref = case_inst(c, 1, LEN);
	float *m = mono;
	inst_run(&ref, &m, 1, LEN, LEN);
	for (int k = 0; k < 3; k++) {
		int nch = channels[k], block = blocks[k];
		Inst in = case_inst(c, nch, block);
		float *p[8];
		for (int ch = 0; ch < nch; ch++) {
			p[ch] = multi[ch];
			for (int i = 0; i < LEN; i++)
				multi[ch][i] = (float)(sin(i * 0.031) +
				                       0.3 * sin(i * 1.7));
		}
		inst_run(&in, p, nch, LEN, block);
		for (int ch = 0; ch < nch; ch++)
			for (int i = 0; i < LEN; i++)
				ck_assert_msg(
					fabsf(multi[ch][i] - mono[i]) <=
						1e-6f * (1 + fabsf(mono[i])),
					"%s: channel %d of %d differs at %d",
					c->name, ch, nch, i);
		inst_free(&in);
	}
	inst_free(&ref);
}
END_TEST

START_TEST(init_validates)
{
	static const struct {
		const char *effect, *param;
		double value;
		FxStatus want;
	} cases[] = {
		{"lr", "order", 3, FX_ERR_ORDER},
		{"lr", "order", 5, FX_ERR_ORDER},
		{"lr", "order", 7, FX_ERR_ORDER},
		{"lr", "order", 10, FX_ERR_ORDER},
		{"lr", "order", 0, FX_ERR_ORDER},
		{"lr", "order", 2, FX_OK},
		{"lr", "order", 8, FX_OK},
		{"cheby1", "order", 0, FX_ERR_ORDER},
		{"cheby1", "order", 17, FX_ERR_ORDER},
		{"cheby1", "order", 2.5, FX_ERR_ORDER},
		{"cheby1", "order", 16, FX_OK},
		{"cheby2", "order", -1, FX_ERR_ORDER},
		{"cheby2", "order", 1, FX_OK},
		{"cheby1", "type", 2, FX_ERR_RANGE},
		{"cheby2", "type", 0.5, FX_ERR_RANGE},
		{"lr", "type", -1, FX_ERR_RANGE},
		{"lr", "type", 1, FX_OK},
		{"cheby1", "cutoff", NAN, FX_ERR_NONFINITE},
		{"cheby2", "cutoff", NAN, FX_ERR_NONFINITE},
		{"lr", "cutoff", NAN, FX_ERR_NONFINITE},
		{"cheby1", "ripple", 0, FX_ERR_RANGE},
		{"cheby1", "ripple", NAN, FX_ERR_NONFINITE},
		{"cheby2", "atten", -10, FX_ERR_RANGE},
		/* above Nyquist: clamped to 0.49 fs, as the other filters */
		{"cheby1", "cutoff", 30000, FX_OK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		Inst in = inst_new(cases[i].effect);
		set_value(&in, cases[i].param, cases[i].value);
		FxStatus st = inst_init(&in, 48000, 2, 64);
		ck_assert_msg(st == cases[i].want, "%s %s=%g: %s",
		              cases[i].effect, cases[i].param, cases[i].value,
		              fx_strerror(st));
		inst_free(&in);
	}
}
END_TEST

START_TEST(chain_validates)
{
	static const struct {
		const char *text;
		FxStatus want;
	} cases[] = {
		{"lr order=3", FX_ERR_ORDER},
		{"lr type=highpass order=6 cutoff=80", FX_OK},
		{"lr order=1", FX_ERR_RANGE},
		{"lr order=10", FX_ERR_RANGE},
		{"cheby1 order=17", FX_ERR_RANGE},
		{"cheby1 order=16 ripple=12", FX_OK},
		{"cheby1 ripple=0.001", FX_ERR_RANGE},
		{"cheby2 atten=200", FX_ERR_RANGE},
		{"cheby2 type=bandpass", FX_ERR_SYNTAX},
		{"cheby2 type=highpass atten=120 order=16", FX_OK},
		{"cheby1 cutoff=10", FX_ERR_RANGE},
		{"cheby2 cutoff=21000", FX_ERR_RANGE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		FxStatus st;
		FxChain *c = chain_from(cases[i].text, 48000, 2, 20, &st);
		ck_assert_msg(st == cases[i].want, "%s: %s", cases[i].text,
		              fx_strerror(st));
		ck_assert(!c == (st != FX_OK));
		fx_chain_free(c);
	}
}
END_TEST

/* At a low sample rate the top of the cutoff range is past Nyquist: the
 * filter clamps to 0.49 fs and stays a working lowpass. */
START_TEST(cutoff_above_nyquist_clamps)
{
	static const char *const texts[] = {"cheby1 cutoff=20000 order=8",
	                                    "cheby2 cutoff=20000 order=8",
	                                    "lr cutoff=20000 order=8"};
	enum { LEN = 8000 };
	static float x[LEN];
	for (int t = 0; t < 3; t++) {
		FxStatus st;
		FxChain *c = chain_from(texts[t], 16000, 1, 20, &st);
		ck_assert_msg(c, "%s: %s", texts[t], fx_strerror(st));
		for (int i = 0; i < LEN; i++)
			x[i] = (float)(0.5 * sin(2 * M_PI * 500 * i / 16000.0));
		chain_run(c, x, LEN, CHUNK);
		double a = tone_amplitude(x + LEN / 2, LEN / 2, 500, 16000);
		ck_assert_msg(fabs(a / 0.5 - 1) < 0.2, "%s: %g", texts[t], a);
		fx_chain_free(c);
	}
}
END_TEST

static const char *const glide_chains[] = {
	"cheby1 cutoff=20 order=16 ripple=12",
	"cheby1 type=highpass cutoff=20 order=16 ripple=0.01",
	"cheby1 cutoff=20 order=1 ripple=3",
	"cheby2 cutoff=20 order=16 atten=120",
	"cheby2 type=highpass cutoff=20 order=15 atten=10",
	"lr cutoff=20 order=8",
	"lr type=highpass cutoff=20 order=2",
};

/* A 20 Hz to 20 kHz glide in 10 ms and back, while ripple or atten glide
 * across their range too: finite, bounded, and at rest afterwards the
 * designed response at the target. */
START_TEST(glide_stays_bounded)
{
	enum { N = 9600, FS = 48000 };
	static float x[N];
	FxStatus st;
	FxChain *c = chain_from(glide_chains[_i], FS, 1, 10, &st);
	ck_assert_msg(c, "%s", fx_strerror(st));
	const FxEffectClass *cls = fx_chain_slot_class(c, 0);
	int cut = fx_param_find(cls, "cutoff");
	int shape = fx_param_find(cls, strcmp(cls->name, "cheby1") ? "atten"
	                                                           : "ripple");
	double peak = 0;
	for (int round = 0; round < 4; round++) {
		ck_assert_int_eq(fx_chain_set_param(c, 0, cut,
		                                    round & 1 ? 20 : 20000, NULL),
		                 FX_OK);
		if (shape >= 0 && strcmp(cls->name, "lr"))
			fx_chain_set_param(
				c, 0, shape,
				cls->params[shape].max * (round & 1) +
					cls->params[shape].min * !(round & 1),
				NULL);
		for (int i = 0; i < N; i++)
			x[i] = (float)sin(2 * M_PI * 997 * (i + round * N) / FS);
		chain_run(c, x, N, 64);
		for (int i = 0; i < N; i++) {
			ck_assert_msg(isfinite(x[i]), "%s: not finite",
			              glide_chains[_i]);
			peak = fmax(peak, fabs(x[i]));
		}
	}
	/* Passband gains are at most 0 dB; a fast glide rings the
	 * highest-Q sections (Q ~ 300 for order 16 with 12 dB ripple). */
	if (verbose)
		fprintf(stderr, "%-50s glide peak %.3g\n", glide_chains[_i],
		        peak);
	ck_assert_msg(peak < 10, "%s: peak %g", glide_chains[_i], peak);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 0);

	/* Glide to 2 kHz and let it settle: the tone then has the gain the
	 * design says. */
	ck_assert_int_eq(fx_chain_set_param(c, 0, cut, 2000, NULL), FX_OK);
	for (int i = 0; i < N; i++)
		x[i] = (float)(0.5 * sin(2 * M_PI * 1500 * i / FS));
	chain_run(c, x, N, 64);
	FxChainSpec spec;
	fx_chain_get_spec(c, &spec);
	const double *v = spec.slots[0].values;
	FxButterType t = v[fx_param_find(cls, "type")] ? FX_BUTTER_HIGHPASS
	                                               : FX_BUTTER_LOWPASS;
	int order = (int)v[fx_param_find(cls, "order")];
	FxSvfSection svf[FX_MAX_SECTIONS];
	FxSection sos[FX_MAX_SECTIONS];
	int n;
	if (!strcmp(cls->name, "cheby1"))
		st = fx_svf_cheby1(t, order, v[shape], 2000, FS, svf, &n);
	else if (!strcmp(cls->name, "cheby2"))
		st = fx_svf_cheby2(t, order, v[shape], 2000, FS, svf, &n);
	else
		st = fx_svf_linkwitz_riley(t, order, 2000, FS, svf, &n);
	ck_assert_int_eq(st, FX_OK);
	for (int k = 0; k < n; k++)
		fx_svf_to_sos(&svf[k], sos[k]);
	double want, got = tone_amplitude(x + N / 2, N / 2, 1500, FS) / 0.5;
	fx_sos_response(sos, n, 1500, FS, &want, NULL);
	if (want > -60)
		ck_assert_msg(fabs(20 * log10(got) - want) < 0.01,
		              "%s: %g dB, designed %g dB", glide_chains[_i],
		              20 * log10(got), want);
	else
		ck_assert_msg(20 * log10(got) < -50, "%s: %g dB, designed %g dB",
		              glide_chains[_i], 20 * log10(got), want);
	fx_chain_free(c);
}
END_TEST

/* After init, gliding and processing leave the heap as it was (a net
 * check through mallinfo2; tests/unit/test_alloc wraps the allocator itself). */
START_TEST(no_allocation_after_init)
{
	enum { N = 4096 };
	static float x[2][N];
	FxStatus st;
	FxChain *c = chain_from("cheby1 order=16 | cheby2 type=highpass order=9 "
	                        "| lr order=6",
	                        48000, 2, 5, &st);
	ck_assert_msg(c, "%s", fx_strerror(st));
	float *p[2] = {x[0], x[1]};
#ifdef __GLIBC__
	struct mallinfo2 before = mallinfo2();
#endif
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < N; i++)
			x[0][i] = x[1][i] = (float)sin(i * 0.1);
		for (int s = 0; s < 3; s++) {
			const FxEffectClass *cls = fx_chain_slot_class(c, s);
			int cut = fx_param_find(cls, "cutoff");
			int shape = fx_param_find(cls, s ? "atten" : "ripple");
			ck_assert_int_eq(fx_chain_set_param(
						 c, s, cut,
						 round & 1 ? 100 : 10000, NULL),
			                 FX_OK);
			if (shape >= 0)
				ck_assert_int_eq(
					fx_chain_set_param(c, s, shape,
				                           round & 1 ? 30 : 3,
				                           NULL),
					FX_OK);
		}
		for (int off = 0; off < N; off += CHUNK)
			fx_chain_process(c,
			                 (float *const[]){p[0] + off, p[1] + off},
			                 CHUNK);
	}
#ifdef __GLIBC__
	struct mallinfo2 after = mallinfo2();
	ck_assert_uint_eq(after.uordblks, before.uordblks);
	ck_assert_uint_eq(after.hblkhd, before.hblkhd);
#endif
	fx_chain_free(c);
}
END_TEST

START_TEST(tables_are_documented)
{
	static const char *const names[] = {"cheby1", "cheby2", "lr"};
	for (int e = 0; e < 3; e++) {
		const FxEffectClass *cls = fx_effect_find(names[e]);
		ck_assert_ptr_nonnull(cls);
		int type = fx_param_find(cls, "type");
		ck_assert_int_ge(type, 0);
		const FxParamInfo *p = &cls->params[type];
		ck_assert_int_eq(p->scale, FX_SCALE_ENUM);
		ck_assert(p->flags & FX_PARAM_STRUCTURAL);
		ck_assert_str_eq(p->labels[0], "lowpass");
		ck_assert_str_eq(p->labels[1], "highpass");
		ck_assert_ptr_null(p->labels[2]);
		p = &cls->params[fx_param_find(cls, "order")];
		ck_assert(p->flags & FX_PARAM_STRUCTURAL);
		ck_assert(p->flags & FX_PARAM_INTEGER);
		p = &cls->params[fx_param_find(cls, "cutoff")];
		ck_assert(p->flags & FX_PARAM_SMOOTHED);
		ck_assert_int_eq(p->scale, FX_SCALE_LOG);
	}
	const FxEffectClass *c2 = fx_effect_find("cheby2");
	ck_assert(strstr(c2->params[fx_param_find(c2, "cutoff")].doc,
	                 "stopband edge"));
	const FxEffectClass *lr = fx_effect_find("lr");
	const FxParamInfo *order = &lr->params[fx_param_find(lr, "order")];
	ck_assert(order->min == 2 && order->max == 8 && order->def == 4);
	ck_assert(strstr(order->doc, "invert"));
	const FxEffectClass *c1 = fx_effect_find("cheby1");
	const FxParamInfo *rp = &c1->params[fx_param_find(c1, "ripple")];
	ck_assert(rp->def == 1 && (rp->flags & FX_PARAM_SMOOTHED));
	const FxParamInfo *rs = &c2->params[fx_param_find(c2, "atten")];
	ck_assert(rs->def == 40 && (rs->flags & FX_PARAM_SMOOTHED));
}
END_TEST

static Suite *cheby_suite(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"design", 0, .tests = {
			{design_matches_scipy, n_designs},
			{design_key_cases_exact, 0},
			{design_edges_mean_what_the_docs_say, 0},
			{design_errors, 0},
			{lr_crossover_properties, 0},
		}},
		{"effects", 60, .tests = {
			{lr_effect_sums_flat, 4},
			{effect_output_matches_scipy, n_sig},
			{chain_output_matches_scipy, n_sig},
			{chain_spec_example, 0},
			{chunk_size_invariance, 0},
			{channels_and_blocks, n_sig},
			{init_validates, 0},
			{chain_validates, 0},
			{cutoff_above_nyquist_clamps, 0},
			{glide_stays_bounded,
			 sizeof glide_chains / sizeof *glide_chains},
			{no_allocation_after_init, 0},
			{tables_are_documented, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_suite("cheby", cases);
}

int main(void)
{
	const char *v = getenv("FX_TEST_VERBOSE");
	verbose = v && *v && strcmp(v, "0");
	n_designs = load_manifest(DATA "cheby.txt", designs, false);
	n_sig = load_manifest(DATA "cheby_signals.txt", sig, true);
	if (n_designs < 1 || n_sig < 1) {
		fprintf(stderr,
		        "test_cheby: cannot read %scheby.txt or "
		        "cheby_signals.txt\n",
		        DATA);
		return EXIT_FAILURE;
	}
	return fx_test_run(cheby_suite());
}
