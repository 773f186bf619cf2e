/* SPDX-License-Identifier: ISC */
/* Chebyshev I/II and Linkwitz-Riley: their designs as SVF sections (see
 * cheby.h) and the cheby1, cheby2 and lr effects, which run them through
 * FxFilter like the Butterworth effects in fx_filters.c.
 *
 * Prototypes follow scipy's cheb1ap and cheb2ap. With theta = pi*m/(2N),
 * m = N-1, N-3, ... > 0 (and 0 for the real pole of odd N), sh = sinh(mu),
 * ch = cosh(mu):
 *  - Chebyshev I, mu = asinh(1/eps)/N, eps^2 = 10^(ripple/10) - 1: poles
 *    -(sh*cos(theta) +- j*ch*sin(theta)), no zeros.
 *  - Chebyshev II, mu = asinh(1/de)/N, 1/de^2 = 10^(atten/10) - 1: poles
 *    at the inverses of those points, zeros at +-j/sin(theta).
 * In both, the pole pair's squared radius (or inverse radius) is
 * sh^2*cos^2 + ch^2*sin^2 = sh^2 + sin^2 and its damping is
 * 2*sh*cos(theta)/sqrt(sh^2 + sin^2): Q grows with theta whatever mu is,
 * so the section order is fixed. */
#include "dsp/cheby.h"
#include "dsp/filter_effect.h"

#include <math.h>

static FxStatus check_pass(FxButterType type, int order, int max_order,
                           double f, double fs)
{
	if (type != FX_BUTTER_LOWPASS && type != FX_BUTTER_HIGHPASS)
		return FX_ERR_INVALID;
	if (order < 1 || order > max_order)
		return FX_ERR_ORDER;
	if (!isfinite(f) || !isfinite(fs))
		return FX_ERR_NONFINITE;
	if (!(fs > 0.0))
		return FX_ERR_RANGE;
	return f > 0.0 && f < 0.5 * fs ? FX_OK : FX_ERR_NYQUIST;
}

static FxSvfSection biquad(double g, double k, double m0, double m1, double m2)
{
	return (FxSvfSection){g, k, m0, m1, m2, 2};
}

static FxSvfSection one_pole(double g, double m0, double m1)
{
	return (FxSvfSection){g, 0.0, m0, m1, 0.0, 1};
}

/* What the kernels need: finite, positive corners and damping, and a
 * digital biquad strictly inside the stability triangle. Settings far
 * outside the parameter tables (hundreds of dB of attenuation at a low
 * corner) can round a pole onto z = 1; they are refused rather than run as
 * a broken filter. Every setting inside the tables passes, at 8 to
 * 384 kHz. */
static FxStatus sections_ok(const FxSvfSection *sec, int n)
{
	for (int i = 0; i < n; i++) {
		const FxSvfSection *s = &sec[i];
		if (!isfinite(s->g) || !isfinite(s->k) || !isfinite(s->m0) ||
		    !isfinite(s->m1) || !isfinite(s->m2))
			return FX_ERR_RANGE;
		if (!(s->g > 0.0) || !(s->k >= 0.0) ||
		    (s->order == 2 && !(s->k > 0.0)))
			return FX_ERR_RANGE;
		FxSection b;
		fx_svf_to_sos(s, b);
		if (!(fabs(b[5]) < 1.0) || !(fabs(b[4]) < 1.0 + b[5]))
			return FX_ERR_RANGE;
	}
	return FX_OK;
}

/* 10^(db/10) - 1 without the cancellation of small db. */
static double db_excess(double db)
{
	return expm1(db * (M_LN10 / 10.0));
}

FxStatus fx_svf_cheby1(FxButterType type, int order, double ripple_db, double f,
                       double fs, FxSvfSection *sec, int *n_sections)
{
	*n_sections = 0;
	FxStatus st = check_pass(type, order, FX_MAX_ORDER, f, fs);
	if (st != FX_OK)
		return st;
	if (!isfinite(ripple_db))
		return FX_ERR_NONFINITE;
	if (!(ripple_db > 0.0))
		return FX_ERR_RANGE;
	int hp = type == FX_BUTTER_HIGHPASS;
	double e2 = db_excess(ripple_db);
	double mu = asinh(1.0 / sqrt(e2)) / order, sh = sinh(mu);
	double wc = tan(M_PI * f / fs);
	/* Even orders sit at the bottom of the ripple at DC (Nyquist for
	 * highpass): -ripple dB, on the first section. */
	double gain = order & 1 ? 1.0 : 1.0 / sqrt(1.0 + e2);
	int n = 0;
	if (order & 1)
		sec[n++] = hp ? one_pole(wc / sh, 1.0, -1.0)
		              : one_pole(wc * sh, 0.0, 1.0);
	for (int m = 1 + (order & 1); m < order; m += 2) {
		double th = M_PI * m / (2.0 * order), s = sin(th);
		double r = sqrt(sh * sh + s * s), k = 2.0 * sh * cos(th) / r;
		double a = n ? 1.0 : gain;
		sec[n++] = hp ? biquad(wc / r, k, a, -k * a, -a)
		              : biquad(wc * r, k, 0.0, 0.0, a);
	}
	st = sections_ok(sec, n);
	*n_sections = st == FX_OK ? n : 0;
	return st;
}

FxStatus fx_svf_cheby2(FxButterType type, int order, double atten_db, double f,
                       double fs, FxSvfSection *sec, int *n_sections)
{
	*n_sections = 0;
	FxStatus st = check_pass(type, order, FX_MAX_ORDER, f, fs);
	if (st != FX_OK)
		return st;
	if (!isfinite(atten_db))
		return FX_ERR_NONFINITE;
	if (!(atten_db > 0.0))
		return FX_ERR_RANGE;
	int hp = type == FX_BUTTER_HIGHPASS;
	double mu = asinh(sqrt(db_excess(atten_db))) / order, sh = sinh(mu);
	double wc = tan(M_PI * f / fs);
	int n = 0;
	if (order & 1)
		sec[n++] = hp ? one_pole(wc * sh, 1.0, -1.0)
		              : one_pole(wc / sh, 0.0, 1.0);
	for (int m = 1 + (order & 1); m < order; m += 2) {
		double th = M_PI * m / (2.0 * order), s = sin(th);
		double r2 = sh * sh + s * s, r = sqrt(r2);
		double k = 2.0 * sh * cos(th) / r;
		/* (corner / zero)^2 = s^2 / r2 for the lowpass, whose notch
		 * mix is m0 = that, m1 = -k*m0, m2 = 1 - m0 = sh^2 / r2; the
		 * highpass mirrors it (unity at Nyquist). */
		double c = s * s / r2;
		sec[n++] = hp ? biquad(wc * r, k, 1.0, -k, c - 1.0)
		              : biquad(wc / r, k, c, -k * c, sh * sh / r2);
	}
	st = sections_ok(sec, n);
	*n_sections = st == FX_OK ? n : 0;
	return st;
}

FxStatus fx_svf_linkwitz_riley(FxButterType type, int order, double f,
                               double fs, FxSvfSection *sec, int *n_sections)
{
	*n_sections = 0;
	FxStatus st = check_pass(type, order, 8, f, fs);
	if (st != FX_OK)
		return st;
	if (order & 1)
		return FX_ERR_ORDER;
	FxSvfSection bw[FX_MAX_SECTIONS];
	int nb;
	st = fx_svf_butter(type, order / 2, f, 0.0, fs, bw, &nb);
	if (st != FX_OK)
		return st;
	int hp = type == FX_BUTTER_HIGHPASS, n = 0;
	for (int i = 0; i < nb; i++) {
		if (bw[i].order == 1) {
			/* (1/(s+1))^2 = 1/(s^2 + 2s + 1): critically damped */
			sec[n++] = hp ? biquad(bw[i].g, 2.0, 1.0, -2.0, -1.0)
			              : biquad(bw[i].g, 2.0, 0.0, 0.0, 1.0);
		} else {
			sec[n++] = bw[i];
			sec[n++] = bw[i];
		}
	}
	st = sections_ok(sec, n);
	*n_sections = st == FX_OK ? n : 0;
	return st;
}

/* ---- the effects -------------------------------------------------------- */

typedef struct {
	FxFilterDesign base;
	int max_order;
} Kind;

/* Parameter indices, the same in all three tables. */
enum { CUTOFF, ORDER, TYPE, SHAPE };

static FxButterType pass_type(double v)
{
	return v == 1.0 ? FX_BUTTER_HIGHPASS : FX_BUTTER_LOWPASS;
}

/* Orders and types come from the table as whole numbers; anything else
 * reaching init directly is refused. */
static FxStatus check_structure(const FxFilterDesign *d, const double *v)
{
	const Kind *k = (const Kind *)d;
	if (!(v[TYPE] == 0.0 || v[TYPE] == 1.0))
		return FX_ERR_RANGE;
	if (!(v[ORDER] >= 1.0 && v[ORDER] <= k->max_order &&
	      v[ORDER] == nearbyint(v[ORDER])))
		return FX_ERR_ORDER;
	return FX_OK;
}

static FxStatus design_cheby1(const FxFilterDesign *d, const double *v,
                              double fs, FxSvfSection *sec, int *n)
{
	(void)d;
	return fx_svf_cheby1(pass_type(v[TYPE]), (int)v[ORDER], v[SHAPE],
	                     fx_filter_safe_freq(v[CUTOFF], fs), fs, sec, n);
}

static FxStatus design_cheby2(const FxFilterDesign *d, const double *v,
                              double fs, FxSvfSection *sec, int *n)
{
	(void)d;
	return fx_svf_cheby2(pass_type(v[TYPE]), (int)v[ORDER], v[SHAPE],
	                     fx_filter_safe_freq(v[CUTOFF], fs), fs, sec, n);
}

static FxStatus design_lr(const FxFilterDesign *d, const double *v, double fs,
                          FxSvfSection *sec, int *n)
{
	(void)d;
	return fx_svf_linkwitz_riley(pass_type(v[TYPE]), (int)v[ORDER],
	                             fx_filter_safe_freq(v[CUTOFF], fs), fs,
	                             sec, n);
}

static const char *const type_labels[] = {"lowpass", "highpass", NULL};

#define CUTOFF_PARAM(doc)                                      \
	{                                                      \
		"cutoff", "Hz", 20, 20000, 1000, FX_SCALE_LOG, \
			FX_PARAM_SMOOTHED, NULL, doc           \
	}
#define ORDER_PARAM(lo, hi, def, doc)                                     \
	{                                                                 \
		"order", "", lo, hi, def, FX_SCALE_LIN,                   \
			FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, NULL, doc \
	}
#define TYPE_PARAM(doc)                                                          \
	{                                                                        \
		"type", "", 0, 1, 0, FX_SCALE_ENUM,                              \
			FX_PARAM_STRUCTURAL | FX_PARAM_INTEGER, type_labels, doc \
	}

static const FxParamInfo cheby1_params[] = {
	[CUTOFF] = CUTOFF_PARAM("passband edge: where the response leaves the "
                                "ripple band (scipy's Wn)"),
	[ORDER] = ORDER_PARAM(1, FX_MAX_ORDER, 4,
                              "filter order; at even orders the flat end (DC or "
                              "Nyquist) sits at -ripple dB"),
	[TYPE] = TYPE_PARAM("lowpass or highpass"),
	[SHAPE] = {"ripple", "dB", 0.01, 12, 1, FX_SCALE_LOG, FX_PARAM_SMOOTHED,
                   NULL, "passband ripple, peak to trough"},
};

static const FxParamInfo cheby2_params[] = {
	[CUTOFF] = CUTOFF_PARAM("stopband edge, not -3 dB: where the "
                                "attenuation first reaches atten (scipy's Wn)"),
	[ORDER] = ORDER_PARAM(1, FX_MAX_ORDER, 4, "filter order"),
	[TYPE] = TYPE_PARAM("lowpass or highpass"),
	[SHAPE] = {"atten", "dB", 10, 120, 40, FX_SCALE_DB, FX_PARAM_SMOOTHED,
                   NULL,
                   "stopband attenuation: the stopband peaks stay this far "
                   "down"},
};

static const FxParamInfo lr_params[] = {
	[CUTOFF] = CUTOFF_PARAM("crossover frequency, where both outputs are "
                                "-6.02 dB"),
	[ORDER] = ORDER_PARAM(2, 8, 4,
                              "2, 4, 6 or 8: two Butterworths of half the "
                              "order. Lowpass + highpass sums flat at 4 and 8; "
                              "at 2 and 6 they are in antiphase, so invert one "
                              "output before summing"),
	[TYPE] = TYPE_PARAM("lowpass or highpass"),
};

static const Kind kinds[] = {
	{{design_cheby1, check_structure}, FX_MAX_ORDER},
	{{design_cheby2, check_structure}, FX_MAX_ORDER},
	{{design_lr, check_structure}, 8},
};

#define FILTER(id, doc_, table, kind) \
	FX_FILTER_EFFECT(id, doc_, table, &kinds[kind].base)

FILTER(cheby1,
       "Chebyshev type I lowpass or highpass: equiripple passband, "
       "steeper than Butterworth.",
       cheby1_params, 0);
FILTER(cheby2,
       "Chebyshev type II lowpass or highpass: flat passband, "
       "equiripple stopband with notches.",
       cheby2_params, 1);
FILTER(lr, "Linkwitz-Riley crossover lowpass or highpass (even orders).",
       lr_params, 2);
