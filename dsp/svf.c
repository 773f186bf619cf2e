/* SPDX-License-Identifier: ISC */
/* SVF design, the SVF kernel, and FxFilter's switching between kernels.
 * Design follows scipy's butter (prewarp, lp2bp/lp2bs, bilinear) in the
 * analog domain; the SVF mixes are from A. Simper, "Linear Trapezoidal
 * Integrated State Variable Filter", Cytomic technical paper (2013). */
#include "dsp/svf.h"

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/sos.h"

static FxStatus check_freq(double f, double fs)
{
	if (!isfinite(f) || !isfinite(fs))
		return FX_ERR_NONFINITE;
	if (!(fs > 0.0))
		return FX_ERR_RANGE;
	return f > 0.0 && f < 0.5 * fs ? FX_OK : FX_ERR_NYQUIST;
}

/* Analog section with denominator s^2 + k*w*s + w^2, in units of 2*fs. */
static FxSvfSection biquad(double w, double k, double m0, double m1, double m2)
{
	return (FxSvfSection){w, k, m0, m1, m2, 2};
}

FxStatus fx_svf_butter(FxButterType type, int order, double f1, double f2,
                       double fs, FxSvfSection *sec, int *n_sections)
{
	*n_sections = 0;
	if (order < 1 || order > FX_MAX_ORDER)
		return FX_ERR_ORDER;
	int band = type == FX_BUTTER_BANDPASS || type == FX_BUTTER_BANDSTOP;
	FxStatus st = check_freq(f1, fs);
	if (st == FX_OK && band)
		st = check_freq(f2, fs);
	if (st != FX_OK)
		return st;
	if (band && !(f1 < f2))
		return FX_ERR_RANGE;
	double w1 = tan(M_PI * f1 / fs);
	int n = 0;
	if (!band) {
		int hp = type == FX_BUTTER_HIGHPASS;
		if (order & 1)
			sec[n++] = (FxSvfSection){w1, 0, hp, hp ? -1 : 1, 0, 1};
		/* Poles closest to the unit circle (highest Q) last, as scipy. */
		for (int i = order / 2 - 1; i >= 0; i--) {
			double k = 2.0 * sin(M_PI * (2 * i + 1) / (2.0 * order));
			sec[n++] = hp ? biquad(w1, k, 1, -k, -1)
			              : biquad(w1, k, 0, 0, 1);
		}
		*n_sections = n;
		return FX_OK;
	}
	double w2 = tan(M_PI * f2 / fs), w0 = sqrt(w1 * w2), bw = w2 - w1;
	int bp = type == FX_BUTTER_BANDPASS;
	/* Each prototype pole p maps to the roots of s^2 - p*bw*s + w0^2
	 * (bandpass) or s^2 - (bw/p)*s + w0^2 (bandstop; 1/p = conj(p)). */
	for (int i = 0; i < (order + 1) / 2; i++) {
		double theta = M_PI * (2 * i + 1) / (2.0 * order);
		double complex p = -sin(theta) + I * cos(theta);
		double complex b = bp ? p * bw : conj(p) * bw;
		double complex root = csqrt(b * b - 4.0 * w0 * w0);
		int real_pole = 2 * i + 1 == order;
		for (int r = 0; r < (real_pole ? 1 : 2); r++) {
			double w, k;
			if (real_pole) {
				w = w0;
				k = bw / w0;
			} else {
				double complex s = 0.5 * (b + (r ? -root : root));
				w = cabs(s);
				k = -2.0 * creal(s) / w;
			}
			double q = w0 / w;
			sec[n++] = bp ? biquad(w, k, 0, bw / w, 0)
			              : biquad(w, k, 1, -k, q * q - 1);
		}
	}
	*n_sections = n;
	return FX_OK;
}

FxStatus fx_svf_rbj(FxRbjType type, double f0, double q, double gain_db,
                    double fs, FxSvfSection *sec)
{
	FxStatus st = check_freq(f0, fs);
	if (st != FX_OK)
		return st;
	if (!isfinite(q) || !isfinite(gain_db))
		return FX_ERR_NONFINITE;
	if (!(q > 0.0))
		return FX_ERR_RANGE;
	double g = tan(M_PI * f0 / fs), k = 1.0 / q;
	double a = pow(10.0, gain_db / 40.0);
	FxSvfSection s;
	switch (type) {
	case FX_RBJ_LOWPASS:
		s = biquad(g, k, 0, 0, 1);
		break;
	case FX_RBJ_HIGHPASS:
		s = biquad(g, k, 1, -k, -1);
		break;
	case FX_RBJ_BANDPASS:
		s = biquad(g, k, 0, k, 0);
		break;
	case FX_RBJ_NOTCH:
		s = biquad(g, k, 1, -k, 0);
		break;
	case FX_RBJ_ALLPASS:
		s = biquad(g, k, 1, -2 * k, 0);
		break;
	case FX_RBJ_PEAKING:
		s = biquad(g, k / a, 1, k / a * (a * a - 1), 0);
		break;
	case FX_RBJ_LOWSHELF:
		s = biquad(g / sqrt(a), k, 1, k * (a - 1), a * a - 1);
		break;
	case FX_RBJ_HIGHSHELF:
		s = biquad(g * sqrt(a), k, a * a, k * (1 - a) * a, 1 - a * a);
		break;
	default:
		return FX_ERR_INVALID;
	}
	*sec = s;
	return FX_OK;
}

/* Bilinear transform of the section's analog transfer function in
 * S = s/w: (m0*S^2 + (m0*k + m1)*S + m0 + m2) / (S^2 + k*S + 1). */
void fx_svf_to_sos(const FxSvfSection *s, FxSection out)
{
	double g = s->g, m0 = s->m0;
	if (s->order == 1) {
		double m = m0 + s->m1, a0 = 1.0 + g;
		out[0] = (m0 + m * g) / a0;
		out[1] = (m * g - m0) / a0;
		out[2] = 0.0;
		out[3] = 1.0;
		out[4] = (g - 1.0) / a0;
		out[5] = 0.0;
		return;
	}
	double kg = s->k * g, g2 = g * g;
	double b1s = (m0 * s->k + s->m1) * g, b0s = (m0 + s->m2) * g2;
	double a0 = 1.0 + kg + g2;
	out[0] = (m0 + b1s + b0s) / a0;
	out[1] = 2.0 * (b0s - m0) / a0;
	out[2] = (m0 - b1s + b0s) / a0;
	out[3] = 1.0;
	out[4] = 2.0 * (g2 - 1.0) / a0;
	out[5] = (1.0 - kg + g2) / a0;
}

/* ---- the SVF realisation and its state-space view ---------------------- */

typedef struct {
	double h1, h2, h3; ///< Simper's a1, a2, a3 (one-pole: h1 = G)
	double m0, m1, m2;
	int order;
} Svf;

static Svf svf_coefs(const FxSvfSection *s)
{
	Svf v = {0, 0, 0, s->m0, s->m1, s->m2, s->order};
	if (s->order == 1) {
		v.h1 = s->g / (1.0 + s->g);
	} else {
		v.h1 = 1.0 / (1.0 + s->g * (s->g + s->k));
		v.h2 = s->g * v.h1;
		v.h3 = s->g * v.h2;
	}
	return v;
}

/* The map z = M*s from SVF state s to the TDF-II state z of the same
 * biquad: z1 = C*s and z2 = (C*A + a1*C)*s, from y = b0*x + z1 and
 * z1' = -a1*z1 + c1*x + z2 with x = 0. */
static void svf_to_tdf2_matrix(const Svf *v, double a1, double m[2][2])
{
	if (v->order == 1) {
		m[0][0] = v->m1 * (1.0 - v->h1);
		m[0][1] = m[1][0] = 0.0;
		m[1][1] = 1.0;
		return;
	}
	double c0 = v->m1 * v->h1 + v->m2 * v->h2;
	double c1 = -v->m1 * v->h2 + v->m2 * (1.0 - v->h3);
	double a00 = 2.0 * v->h1 - 1.0, a01 = -2.0 * v->h2;
	double a10 = 2.0 * v->h2, a11 = 1.0 - 2.0 * v->h3;
	m[0][0] = c0;
	m[0][1] = c1;
	m[1][0] = c0 * a00 + c1 * a10 + a1 * c0;
	m[1][1] = c0 * a01 + c1 * a11 + a1 * c1;
}

/* Solves M*s = z. Where a section cancels its own poles (a flat peaking
 * EQ) M is singular and the unobservable part of s is left at zero. */
static void solve2(const double m[2][2], const double z[2], double s[2])
{
	double scale = fabs(m[0][0]) + fabs(m[0][1]) + fabs(m[1][0]) +
	               fabs(m[1][1]);
	double det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
	if (fabs(det) > 1e-9 * scale * scale) {
		s[0] = (m[1][1] * z[0] - m[0][1] * z[1]) / det;
		s[1] = (m[0][0] * z[1] - m[1][0] * z[0]) / det;
		return;
	}
	/* Least squares on the rank-one part: s = M^T z / |M|^2. */
	double n2 = m[0][0] * m[0][0] + m[0][1] * m[0][1] + m[1][0] * m[1][0] +
	            m[1][1] * m[1][1];
	if (n2 == 0.0) {
		s[0] = s[1] = 0.0;
		return;
	}
	s[0] = (m[0][0] * z[0] + m[1][0] * z[1]) / n2;
	s[1] = (m[0][1] * z[0] + m[1][1] * z[1]) / n2;
}

/* ---- FxFilter ----------------------------------------------------------- */

struct FxFilterImpl {
	int channels, max_sections, n;
	int gliding; ///< running the SVF kernel
	int changed; ///< sections set since the last process call
	FxSos *sos;
	Svf svf[FX_MAX_SECTIONS];
	FxSection biquads[FX_MAX_SECTIONS];
	double *state; ///< SVF state [channels][max_sections][2]
};

size_t fx_filter_bytes(int channels, int max_sections)
{
	return sizeof(FxFilter) +
	       (size_t)channels * (size_t)max_sections * 2 * sizeof(double) +
	       fx_sos_bytes(channels, max_sections);
}

FxFilter *fx_filter_new(int channels, int max_sections, FxStatus *st)
{
	if (channels < 1 || channels > 64 || max_sections < 1 ||
	    max_sections > FX_MAX_SECTIONS) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	FxFilter *f = calloc(1, sizeof *f);
	if (!f) {
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	f->channels = channels;
	f->max_sections = max_sections;
	f->state = calloc((size_t)channels * max_sections * 2, sizeof(double));
	f->sos = f->state ? fx_sos_new(channels, max_sections, st) : NULL;
	if (!f->sos) {
		if (!f->state)
			*st = FX_ERR_NOMEM;
		fx_filter_free(f);
		return NULL;
	}
	*st = FX_OK;
	return f;
}

void fx_filter_free(FxFilter *f)
{
	if (!f)
		return;
	fx_sos_free(f->sos);
	free(f->state);
	free(f);
}

static double *svf_state(FxFilter *f, int ch, int k)
{
	return f->state + ((size_t)ch * f->max_sections + k) * 2;
}

/* Moves the state between kernels for the sections now set. */
static void convert_state(FxFilter *f, int to_svf)
{
	for (int k = 0; k < f->n; k++) {
		double m[2][2];
		svf_to_tdf2_matrix(&f->svf[k], f->biquads[k][4], m);
		for (int ch = 0; ch < f->channels; ch++) {
			double *s = svf_state(f, ch, k), z[2];
			if (to_svf) {
				fx_sos_get_state(f->sos, ch, k, z);
				solve2(m, z, s);
			} else {
				z[0] = m[0][0] * s[0] + m[0][1] * s[1];
				z[1] = m[1][0] * s[0] + m[1][1] * s[1];
				fx_sos_set_state(f->sos, ch, k, z);
			}
		}
	}
}

FxStatus fx_filter_set(FxFilter *f, const FxSvfSection *sec, int n)
{
	if (n < 1 || n > f->max_sections)
		return FX_ERR_RANGE;
	int first = f->n == 0;
	if (!first && !f->gliding) {
		convert_state(f, 1);
		f->gliding = 1;
	}
	for (int k = 0; k < n; k++) {
		f->svf[k] = svf_coefs(&sec[k]);
		fx_svf_to_sos(&sec[k], f->biquads[k]);
	}
	for (int k = f->n; k < n; k++)
		for (int ch = 0; ch < f->channels; ch++)
			memset(svf_state(f, ch, k), 0, 2 * sizeof(double));
	f->n = n;
	if (first)
		fx_sos_set(f->sos, f->biquads, n);
	f->changed = !first;
	return FX_OK;
}

void fx_filter_reset(FxFilter *f)
{
	fx_sos_reset(f->sos);
	memset(f->state, 0,
	       (size_t)f->channels * f->max_sections * 2 * sizeof(double));
}

/* One sample through one SVF section. */
static inline double svf_tick(const Svf *v, double *restrict st, double x)
{
	if (v->order == 1) {
		double d = (x - st[0]) * v->h1, low = d + st[0];
		st[0] = low + d;
		return v->m0 * x + v->m1 * low;
	}
	double v3 = x - st[1];
	double band = v->h1 * st[0] + v->h2 * v3;
	double low = st[1] + v->h2 * st[0] + v->h3 * v3;
	st[0] = 2.0 * band - st[0];
	st[1] = 2.0 * low - st[1];
	return v->m0 * x + v->m1 * band + v->m2 * low;
}

void fx_filter_process(FxFilter *f, const float *const *in, float *const *out,
                       int frames)
{
	if (f->gliding && !f->changed) {
		fx_sos_set(f->sos, f->biquads, f->n);
		convert_state(f, 0);
		f->gliding = 0;
	}
	f->changed = 0;
	if (!f->gliding) {
		fx_sos_process(f->sos, in, out, frames);
		return;
	}
	for (int ch = 0; ch < f->channels; ch++) {
		double *st = svf_state(f, ch, 0);
		for (int i = 0; i < frames; i++) {
			double v = in[ch][i];
			for (int k = 0; k < f->n; k++)
				v = svf_tick(&f->svf[k], st + 2 * k, v);
			out[ch][i] = (float)v;
		}
	}
}

/* ---- checkpoint ------------------------------------------------------- */

/* Only the stores of the kernel that runs are saved: the other kernel's
 * are rewritten from them (convert_state) before it runs, as are the
 * biquad kernel's coefficients (fx_sos_set) when the filter leaves a
 * glide. */
typedef struct {
	int n, gliding, changed;
	Svf svf[FX_MAX_SECTIONS];
	FxSection biquads[FX_MAX_SECTIONS];
	double z[]; ///< [channels][n][2]
} FilterCheckpoint;

_Static_assert(sizeof(FilterCheckpoint) <= FX_FILTER_REWIND_BYTES,
               "FX_FILTER_REWIND_BYTES too small");

void fx_filter_checkpoint(const FxFilter *f, void *saved)
{
	FilterCheckpoint *k = saved;
	k->n = f->n;
	k->gliding = f->gliding;
	k->changed = f->changed;
	memcpy(k->svf, f->svf, (size_t)f->n * sizeof f->svf[0]);
	memcpy(k->biquads, f->biquads, (size_t)f->n * sizeof f->biquads[0]);
	for (int ch = 0; ch < f->channels; ch++)
		for (int s = 0; s < f->n; s++) {
			double *z = k->z + ((size_t)ch * f->n + s) * 2;
			if (f->gliding)
				memcpy(z, svf_state((FxFilter *)f, ch, s),
				       2 * sizeof(double));
			else
				fx_sos_get_state(f->sos, ch, s, z);
		}
}

void fx_filter_rollback(FxFilter *f, const void *saved)
{
	const FilterCheckpoint *k = saved;
	f->n = k->n;
	f->gliding = k->gliding;
	f->changed = k->changed;
	memcpy(f->svf, k->svf, (size_t)f->n * sizeof f->svf[0]);
	memcpy(f->biquads, k->biquads, (size_t)f->n * sizeof f->biquads[0]);
	if (!f->gliding)
		fx_sos_set(f->sos, f->biquads, f->n);
	for (int ch = 0; ch < f->channels; ch++)
		for (int s = 0; s < f->n; s++) {
			const double *z = k->z + ((size_t)ch * f->n + s) * 2;
			if (f->gliding)
				memcpy(svf_state(f, ch, s), z,
				       2 * sizeof(double));
			else
				fx_sos_set_state(f->sos, ch, s, z);
		}
}
