/* SPDX-License-Identifier: ISC */
/* fxd — IIR filter design in double precision.
 *
 * The Butterworth path follows scipy.signal.butter(..., output='sos') step
 * by step (buttap, lp2{lp,hp,bp,bs}_zpk, bilinear_zpk, zpk2sos with the
 * 'nearest' pairing) in the same order of operations, so that sections,
 * their order and the gain placement agree with scipy to rounding.
 * Everything lives in fixed local arrays: no allocation, no locks, no I/O.
 */
#include "dsp/design.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>

/* An order-16 band filter has 32 poles and 32 zeros; zpk2sos may append
 * one more pole and zero at the origin for odd counts. */
enum { MAX_ROOTS = 2 * FX_MAX_ORDER + 1 };

typedef double complex cplx;

/* C11's CMPLX is missing from some toolchains (clang with older glibc);
 * x + I*y would do as well for the finite values used here. */
#ifndef CMPLX
#define CMPLX(x, y) ((cplx)((double)(x) + I * (double)(y)))
#endif

/* scipy's bilinear_zpk works with fs = 2 after prewarping, so 2*fs = 4. */
static const double FS2 = 4.0;

static bool is_real(cplx v)
{
	return cimag(v) == 0.0;
}

static void delete_at(cplx *v, int *n, int i)
{
	for (int j = i + 1; j < *n; j++)
		v[j - 1] = v[j];
	(*n)--;
}

/* np.lexsort((abs(v.imag), v.real)) order: by real part, then |imag|. */
static bool before_re_im(cplx a, cplx b)
{
	if (creal(a) != creal(b))
		return creal(a) < creal(b);
	return fabs(cimag(a)) < fabs(cimag(b));
}

static bool before_im(cplx a, cplx b)
{
	return fabs(cimag(a)) < fabs(cimag(b));
}

/* Stable insertion sort, like lexsort; n is at most MAX_ROOTS. */
static void sort_stable(cplx *v, int n, bool (*before)(cplx, cplx))
{
	for (int i = 1; i < n; i++) {
		cplx x = v[i];
		int j = i;
		for (; j > 0 && before(x, v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* scipy's _cplxreal: keep one root of each conjugate pair (the average of
 * the two, imag > 0) sorted by real part, then the real roots ascending,
 * with reals stored with an exact zero imaginary part. Returns the new
 * count, or -1 when a complex root has no conjugate. */
static int cplxreal(cplx *v, int n)
{
	const double tol = 100 * DBL_EPSILON;
	cplx pos[MAX_ROOTS], neg[MAX_ROOTS];
	double re[MAX_ROOTS];
	int npos = 0, nneg = 0, nre = 0;

	sort_stable(v, n, before_re_im);
	for (int i = 0; i < n; i++) {
		if (fabs(cimag(v[i])) <= tol * cabs(v[i]))
			re[nre++] = creal(v[i]);
		else if (cimag(v[i]) > 0)
			pos[npos++] = v[i];
		else
			neg[nneg++] = v[i];
	}
	if (npos != nneg)
		return -1;
	/* Pairs whose real parts differ by rounding only are re-sorted by
	 * |imag| so that each positive root meets its own conjugate. */
	for (int i = 0; i < npos;) {
		int j = i;
		while (j + 1 < npos &&
		       creal(pos[j + 1]) - creal(pos[j]) <= tol * cabs(pos[j]))
			j++;
		sort_stable(pos + i, j - i + 1, before_im);
		sort_stable(neg + i, j - i + 1, before_im);
		i = j + 1;
	}
	int m = 0;
	for (int i = 0; i < npos; i++) {
		if (cabs(pos[i] - conj(neg[i])) > tol * cabs(neg[i]))
			return -1;
		v[m++] = (pos[i] + conj(neg[i])) / 2;
	}
	for (int i = 0; i < nre; i++)
		v[m++] = CMPLX(re[i], 0.0);
	return m;
}

/* zpk2sos's idx_worst: the root closest to the unit circle, first on ties
 * (np.argmin); only real roots when @p real_only. -1 if none. */
static int idx_worst(const cplx *p, int n, bool real_only)
{
	int best = -1;
	double bd = 0;
	for (int i = 0; i < n; i++) {
		if (real_only && !is_real(p[i]))
			continue;
		double d = fabs(1 - cabs(p[i]));
		if (best < 0 || d < bd) {
			best = i;
			bd = d;
		}
	}
	return best;
}

enum Which { ANY, REAL, COMPLEX };

/* _nearest_real_complex_idx: the root of the wanted kind nearest @p to,
 * lowest index on ties (numpy's argsort is stable for these sizes). */
static int nearest(const cplx *z, int n, cplx to, enum Which which)
{
	int best = -1;
	double bd = 0;
	for (int i = 0; i < n; i++) {
		if ((which == REAL && !is_real(z[i])) ||
		    (which == COMPLEX && is_real(z[i])))
			continue;
		double d = cabs(z[i] - to);
		if (best < 0 || d < bd) {
			best = i;
			bd = d;
		}
	}
	return best;
}

/* Real part of numpy.poly(roots) for up to two roots, right-aligned in
 * out[0..2] like _single_zpksos. */
static void poly2(const cplx *r, int n, double *out)
{
	cplx c[3] = {1, 0, 0};
	for (int i = 0; i < n; i++) {
		/* convolve(c, [1, -r]) */
		for (int j = i + 1; j > 0; j--)
			c[j] = c[j] + c[j - 1] * -r[i];
	}
	for (int j = 0; j < 3; j++)
		out[j] = 0;
	for (int j = 0; j <= n; j++)
		out[2 - n + j] = creal(c[j]);
}

static void single_section(FxSection s, cplx z1, cplx z2, int nz, cplx p1, cplx p2)
{
	cplx z[2] = {z1, z2}, p[2] = {p1, p2};
	poly2(z, nz, s);
	poly2(p, 2, s + 3);
}

/* scipy's zpk2sos with pairing='nearest' for a digital filter. z and p have
 * room for MAX_ROOTS entries and are consumed. Returns the section count or
 * -1 on an inconsistent root set. */
static int zpk2sos(cplx *z, int nz, cplx *p, int np, double k, FxSection *sos)
{
	while (np < nz)
		p[np++] = 0;
	while (nz < np)
		z[nz++] = 0;
	int nsec = (np + 1) / 2;
	if (np % 2) {
		/* 'nearest' pads odd counts with a pole and a zero at 0 */
		p[np++] = 0;
		z[nz++] = 0;
	}
	nz = cplxreal(z, nz);
	np = cplxreal(p, np);
	if (nz < 0 || np < 0)
		return -1;

	/* Worst (closest to the unit circle) poles go to the last sections. */
	for (int si = nsec - 1; si >= 0; si--) {
		if (np == 0)
			return -1;
		int i = idx_worst(p, np, false);
		cplx p1 = p[i];
		delete_at(p, &np, i);
		int nrp = 0, nrz = 0;
		for (int j = 0; j < np; j++)
			nrp += is_real(p[j]);
		for (int j = 0; j < nz; j++)
			nrz += is_real(z[j]);

		if (is_real(p1) && nrp == 0) {
			/* last real pole: first-order section, padded */
			int j = nearest(z, nz, p1, REAL);
			if (j < 0)
				return -1;
			cplx z1 = z[j];
			delete_at(z, &nz, j);
			single_section(sos[si], z1, 0, 2, p1, 0);
		} else if (np + 1 == nz && !is_real(p1) && nrp == 1 && nrz == 1) {
			/* keep the lone real zero for the lone real pole */
			int j = nearest(z, nz, p1, COMPLEX);
			if (j < 0)
				return -1;
			cplx z1 = z[j];
			delete_at(z, &nz, j);
			single_section(sos[si], z1, conj(z1), 2, p1, conj(p1));
		} else {
			cplx p2;
			if (is_real(p1)) {
				int j = idx_worst(p, np, true);
				p2 = p[j];
				delete_at(p, &np, j);
			} else {
				p2 = conj(p1);
			}
			if (nz == 0) {
				single_section(sos[si], 0, 0, 0, p1, p2);
				continue;
			}
			int j = nearest(z, nz, p1, ANY);
			cplx z1 = z[j];
			delete_at(z, &nz, j);
			if (!is_real(z1)) {
				single_section(sos[si], z1, conj(z1), 2, p1, p2);
			} else if (nz > 0) {
				j = nearest(z, nz, p1, REAL);
				if (j < 0)
					return -1;
				cplx z2 = z[j];
				delete_at(z, &nz, j);
				single_section(sos[si], z1, z2, 2, p1, p2);
			} else {
				single_section(sos[si], z1, 0, 1, p1, p2);
			}
		}
	}
	if (np != 0 || nz != 0)
		return -1;
	for (int j = 0; j < 3; j++)
		sos[0][j] *= k;
	return nsec;
}

/* Finite coefficients, a0 == 1, poles strictly inside the unit circle
 * (stability triangle: |a2| < 1, |a1| < 1 + a2) and a non-zero numerator.
 * Catches underflowed gains and poles rounded onto z = 1 at extreme
 * settings, which would otherwise be silently broken filters. */
static bool sections_ok(const FxSection *sos, int n)
{
	for (int i = 0; i < n; i++) {
		const double *s = sos[i];
		for (int j = 0; j < 6; j++)
			if (!isfinite(s[j]))
				return false;
		if (s[3] != 1.0 || !(fabs(s[5]) < 1.0) ||
		    !(fabs(s[4]) < 1.0 + s[5]))
			return false;
		if (s[0] == 0 && s[1] == 0 && s[2] == 0)
			return false;
	}
	return true;
}

FxStatus fx_design_butter(FxButterType type, int order, double f1, double f2,
                          double fs, FxSection *sos, int *n_sections)
{
	if (n_sections)
		*n_sections = 0;
	if (!sos || !n_sections || (unsigned)type > FX_BUTTER_BANDSTOP)
		return FX_ERR_INVALID;
	if (order < 1 || order > FX_MAX_ORDER)
		return FX_ERR_ORDER;
	if (!isfinite(f1) || !isfinite(f2) || !isfinite(fs))
		return FX_ERR_NONFINITE;
	if (!(fs > 0))
		return FX_ERR_RANGE;
	bool band = type == FX_BUTTER_BANDPASS || type == FX_BUTTER_BANDSTOP;

	/* scipy normalises to Wn = 2 f / fs and checks 0 < Wn < 1 there; the
	 * quotient, not f against fs/2, is what reaches tan(). */
	double wn[2] = {2 * f1 / fs, band ? 2 * f2 / fs : 0.5};
	for (int i = 0; i < 2; i++)
		if (!(wn[i] > 0 && wn[i] < 1))
			return FX_ERR_NYQUIST;
	if (band && !(f1 < f2 && wn[0] < wn[1]))
		return FX_ERR_RANGE;

	/* buttap: p = -exp(j pi m / 2N), m = -N+1, -N+3, ..., N-1; the
	 * middle one (m = 0) is exactly -1. */
	cplx proto[FX_MAX_ORDER];
	for (int i = 0; i < order; i++) {
		int m = -order + 1 + 2 * i;
		double th = M_PI * m / (2 * order);
		proto[i] = -CMPLX(cos(th), sin(th));
	}

	/* Prewarp with fs = 2 as iirfilter does: 2 fs tan(pi Wn / fs). */
	double warped[2];
	for (int i = 0; i < 2; i++)
		warped[i] = 2 * 2.0 * tan(M_PI * wn[i] / 2.0);

	cplx z[MAX_ROOTS], p[MAX_ROOTS];
	int nz = 0, np = 0;
	double k = 1;
	switch (type) {
	case FX_BUTTER_LOWPASS: /* lp2lp_zpk */
		for (int i = 0; i < order; i++)
			p[np++] = warped[0] * proto[i];
		k = pow(warped[0], order);
		break;
	case FX_BUTTER_HIGHPASS: { /* lp2hp_zpk */
		cplx prod = 1;
		for (int i = 0; i < order; i++) {
			p[np++] = warped[0] / proto[i];
			z[nz++] = 0;
			prod *= -proto[i];
		}
		k = creal(1.0 / prod);
		break;
	}
	case FX_BUTTER_BANDPASS:
	case FX_BUTTER_BANDSTOP: {
		double bw = warped[1] - warped[0];
		double wo = sqrt(warped[0] * warped[1]);
		cplx prod = 1;
		/* lp2bp: s -> (s^2 + wo^2) / (s bw); lp2bs: its inverse. Each
		 * prototype pole splits into q +- sqrt(q^2 - wo^2); all "+"
		 * roots first, as scipy concatenates them. */
		cplx q[FX_MAX_ORDER];
		for (int i = 0; i < order; i++) {
			q[i] = type == FX_BUTTER_BANDPASS ? proto[i] * bw / 2
			                                  : (bw / 2) / proto[i];
			prod *= -proto[i];
		}
		for (int i = 0; i < order; i++)
			p[np++] = q[i] + csqrt(q[i] * q[i] - wo * wo);
		for (int i = 0; i < order; i++)
			p[np++] = q[i] - csqrt(q[i] * q[i] - wo * wo);
		if (type == FX_BUTTER_BANDPASS) {
			for (int i = 0; i < order; i++)
				z[nz++] = 0;
			k = pow(bw, order);
		} else {
			/* zeros at infinity move to the stopband centre */
			for (int i = 0; i < order; i++)
				z[nz++] = CMPLX(0.0, wo);
			for (int i = 0; i < order; i++)
				z[nz++] = CMPLX(0.0, -wo);
			k = creal(1.0 / prod);
		}
		break;
	}
	}

	/* bilinear_zpk: z = (4 + s) / (4 - s); zeros at infinity go to
	 * Nyquist; the gain compensates prod(4 - z) / prod(4 - p). */
	cplx num = 1, den = 1;
	for (int i = 0; i < nz; i++) {
		num *= FS2 - z[i];
		z[i] = (FS2 + z[i]) / (FS2 - z[i]);
	}
	for (int i = 0; i < np; i++) {
		den *= FS2 - p[i];
		p[i] = (FS2 + p[i]) / (FS2 - p[i]);
	}
	while (nz < np)
		z[nz++] = -1;
	k *= creal(num / den);

	FxSection tmp[FX_MAX_SECTIONS];
	int n = zpk2sos(z, nz, p, np, k, tmp);
	if (n < 1 || n > FX_MAX_SECTIONS || !sections_ok(tmp, n))
		return FX_ERR_RANGE;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < 6; j++)
			sos[i][j] = tmp[i][j];
	*n_sections = n;
	return FX_OK;
}

FxStatus fx_design_rbj(FxRbjType type, double f0, double q, double gain_db,
                       double fs, FxSection *section)
{
	if (!section || (unsigned)type > FX_RBJ_HIGHSHELF)
		return FX_ERR_INVALID;
	if (!isfinite(f0) || !isfinite(q) || !isfinite(gain_db) || !isfinite(fs))
		return FX_ERR_NONFINITE;
	if (!(fs > 0) || !(q > 0))
		return FX_ERR_RANGE;
	if (!(f0 > 0 && 2 * f0 / fs < 1))
		return FX_ERR_NYQUIST;

	/* Audio EQ Cookbook (R. Bristow-Johnson). 1 - cos(w0) is formed as
	 * 2 sin^2(w0/2): the difference loses most digits at low f0. */
	double w0 = 2 * M_PI * f0 / fs;
	double c = cos(w0), sn = sin(w0), sh = sin(w0 / 2);
	double omc = 2 * sh * sh, opc = 1 + c;
	double alpha = sn / (2 * q);
	double A = pow(10, gain_db / 40);
	double sa = 2 * sqrt(A) * alpha;
	double b[3] = {0}, a[3] = {1, 0, 0};
	switch (type) {
	case FX_RBJ_LOWPASS:
		b[0] = omc / 2, b[1] = omc, b[2] = omc / 2;
		a[0] = 1 + alpha, a[1] = -2 * c, a[2] = 1 - alpha;
		break;
	case FX_RBJ_HIGHPASS:
		b[0] = opc / 2, b[1] = -opc, b[2] = opc / 2;
		a[0] = 1 + alpha, a[1] = -2 * c, a[2] = 1 - alpha;
		break;
	case FX_RBJ_BANDPASS:
		b[0] = alpha, b[1] = 0, b[2] = -alpha;
		a[0] = 1 + alpha, a[1] = -2 * c, a[2] = 1 - alpha;
		break;
	case FX_RBJ_NOTCH:
		b[0] = 1, b[1] = -2 * c, b[2] = 1;
		a[0] = 1 + alpha, a[1] = -2 * c, a[2] = 1 - alpha;
		break;
	case FX_RBJ_ALLPASS:
		b[0] = 1 - alpha, b[1] = -2 * c, b[2] = 1 + alpha;
		a[0] = 1 + alpha, a[1] = -2 * c, a[2] = 1 - alpha;
		break;
	case FX_RBJ_PEAKING:
		b[0] = 1 + alpha * A, b[1] = -2 * c, b[2] = 1 - alpha * A;
		a[0] = 1 + alpha / A, a[1] = -2 * c, a[2] = 1 - alpha / A;
		break;
	case FX_RBJ_LOWSHELF:
		b[0] = A * ((A + 1) - (A - 1) * c + sa);
		b[1] = 2 * A * ((A - 1) - (A + 1) * c);
		b[2] = A * ((A + 1) - (A - 1) * c - sa);
		a[0] = (A + 1) + (A - 1) * c + sa;
		a[1] = -2 * ((A - 1) + (A + 1) * c);
		a[2] = (A + 1) + (A - 1) * c - sa;
		break;
	case FX_RBJ_HIGHSHELF:
		b[0] = A * ((A + 1) + (A - 1) * c + sa);
		b[1] = -2 * A * ((A - 1) + (A + 1) * c);
		b[2] = A * ((A + 1) + (A - 1) * c - sa);
		a[0] = (A + 1) - (A - 1) * c + sa;
		a[1] = 2 * ((A - 1) - (A + 1) * c);
		a[2] = (A + 1) - (A - 1) * c - sa;
		break;
	}
	FxSection s = {b[0] / a[0], b[1] / a[0], b[2] / a[0],
	               1.0,         a[1] / a[0], a[2] / a[0]};
	if (!sections_ok(&s, 1))
		return FX_ERR_RANGE;
	for (int j = 0; j < 6; j++)
		(*section)[j] = s[j];
	return FX_OK;
}

void fx_sos_response(const FxSection *sos, int n_sections, double f, double fs,
                     double *mag_db, double *phase)
{
	/* Sum per-section logs and angles: the product of many deep-stopband
	 * sections would underflow long before its logarithm does. */
	double w = 2 * M_PI * f / fs;
	cplx zi = CMPLX(cos(w), -sin(w)); /* z^-1 on the unit circle */
	double db = 0, ph = 0;
	for (int i = 0; i < n_sections; i++) {
		const double *s = sos[i];
		cplx num = s[0] + zi * (s[1] + zi * s[2]);
		cplx den = s[3] + zi * (s[4] + zi * s[5]);
		db += 20 * log10(cabs(num)) - 20 * log10(cabs(den));
		ph += carg(num * conj(den));
	}
	if (mag_db)
		*mag_db = db;
	if (phase)
		*phase = remainder(ph, 2 * M_PI);
}
