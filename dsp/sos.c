#include "sos.h"

#include <stdlib.h>
#include <string.h>

/* Coefficients in the state-space form of TDF-II:
 * y = b0*x + z1; z1' = -a1*z1 + (c1*x + z2); z2' = -a2*z1 + c2*x. */
typedef struct {
	double b0, c1, c2, a1, a2;
} Coef;

struct FxSosImpl {
	int channels;
	int max_sections;
	int n;
	Coef *coef;    ///< [max_sections]
	double *state; ///< [channels][max_sections][2]
};

FxSos *fx_sos_new(int channels, int max_sections, FxStatus *st)
{
	if (channels < 1 || channels > 64 || max_sections < 1 ||
	    max_sections > FX_MAX_SECTIONS) {
		*st = FX_ERR_INVALID;
		return NULL;
	}
	FxSos *s = calloc(1, sizeof *s);
	if (s) {
		s->coef = calloc((size_t)max_sections, sizeof *s->coef);
		s->state = calloc((size_t)channels * max_sections * 2, sizeof *s->state);
	}
	if (!s || !s->coef || !s->state) {
		fx_sos_free(s);
		*st = FX_ERR_NOMEM;
		return NULL;
	}
	s->channels = channels;
	s->max_sections = max_sections;
	*st = FX_OK;
	return s;
}

void fx_sos_free(FxSos *s)
{
	if (!s)
		return;
	free(s->coef);
	free(s->state);
	free(s);
}

FxStatus fx_sos_set(FxSos *s, const FxSection *sec, int n)
{
	if (n < 0 || n > s->max_sections)
		return FX_ERR_RANGE;
	for (int k = 0; k < n; k++) {
		double a0 = sec[k][3];
		double b0 = sec[k][0] / a0, b1 = sec[k][1] / a0, b2 = sec[k][2] / a0;
		double a1 = sec[k][4] / a0, a2 = sec[k][5] / a0;
		s->coef[k] = (Coef){b0, b1 - a1 * b0, b2 - a2 * b0, a1, a2};
	}
	for (int k = s->n; k < n; k++)
		for (int c = 0; c < s->channels; c++) {
			double *z = s->state + ((size_t)c * s->max_sections + k) * 2;
			z[0] = z[1] = 0.0;
		}
	s->n = n;
	return FX_OK;
}

void fx_sos_reset(FxSos *s)
{
	memset(s->state, 0,
	       (size_t)s->channels * s->max_sections * 2 * sizeof *s->state);
}

int fx_sos_sections(const FxSos *s)
{
	return s->n;
}

void fx_sos_process(FxSos *s, const float *const *in, float *const *out,
                    int frames)
{
	for (int c = 0; c < s->channels; c++) {
		double *z = s->state + (size_t)c * s->max_sections * 2;
		const float *x = in[c];
		float *y = out[c];
		for (int i = 0; i < frames; i++) {
			double v = x[i];
			for (int k = 0; k < s->n; k++) {
				const Coef *q = &s->coef[k];
				double z1 = z[2 * k], z2 = z[2 * k + 1];
				double o = q->b0 * v + z1;
				z[2 * k] = -q->a1 * z1 + (q->c1 * v + z2);
				z[2 * k + 1] = -q->a2 * z1 + q->c2 * v;
				v = o;
			}
			y[i] = (float)v;
		}
	}
}

void fx_sos_get_state(const FxSos *s, int channel, int section, double z[2])
{
	const double *p = s->state + ((size_t)channel * s->max_sections + section) * 2;
	z[0] = p[0];
	z[1] = p[1];
}

void fx_sos_set_state(FxSos *s, int channel, int section, const double z[2])
{
	double *p = s->state + ((size_t)channel * s->max_sections + section) * 2;
	p[0] = z[0];
	p[1] = z[1];
}
