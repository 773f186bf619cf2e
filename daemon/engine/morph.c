/* SPDX-License-Identifier: ISC */
/* fxd — scene morphing: the structure check and the table of differing
 * parameters are built here once; reading a position only walks the table.
 * The table lists what can glide first and the structural parameters
 * after it, so the worker never sees the latter. */
#include "daemon/engine/morph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/base/fail.h"

/** How one entry moves from A to B for 0 < x < 1. */
typedef double (*Blend)(double a, double b, double x);

/** One parameter (or bypass) whose value differs between A and B. */
typedef struct {
	int slot, param; ///< param FX_MAX_PARAMS: the slot's bypass
	double a, b;     ///< the stored values, returned as they are at 0 and 1
	Blend blend;
} Entry;

struct FxMorphImpl {
	FxChainSpec a; ///< the base fx_morph_spec fills in
	int n;         ///< entries that can glide: entries[0 .. n)
	int n_all;     ///< and the structural ones: entries[n .. n_all)
	Entry entries[FX_MAX_SLOTS * (FX_MAX_PARAMS + 1)];
};

static double blend_lin(double a, double b, double x)
{
	return a + (b - a) * x;
}

/* Geometric: equal steps of x are equal ratios, as a log knob turns. */
static double blend_log(double a, double b, double x)
{
	return a * pow(b / a, x);
}

static double blend_switch(double a, double b, double x)
{
	return x >= 0.5 ? b : a;
}

/* dB values are already logarithmic, so they blend linearly. */
static Blend blend_for(const FxParamInfo *p, double a, double b)
{
	if (p->scale == FX_SCALE_ENUM || p->flags & FX_PARAM_INTEGER)
		return blend_switch;
	if (p->scale == FX_SCALE_LOG && p->min > 0 && a > 0 && b > 0)
		return blend_log;
	return blend_lin;
}

/* " (label)" when the slot has one, for messages. */
static void slot_name(const FxSlotSpec *s, int i, char *buf, size_t size)
{
	if (s->label[0])
		snprintf(buf, size, "slot %d (%s)", i, s->label);
	else
		snprintf(buf, size, "slot %d", i);
}

/* FX_OK, or the first difference of structure between @p a and @p b.
 * Structural parameters may differ: they switch at 0.5, by a swap. */
static FxStatus check_slot(const FxSlotSpec *a, const FxSlotSpec *b, int i,
                           char *err, size_t err_size)
{
	char name[FX_LABEL_MAX + 24];
	slot_name(a, i, name, sizeof name);
	if (a->cls != b->cls)
		return fx_fail(FX_ERR_STRUCTURAL, err, err_size,
		               "%s: %s in A, %s in B", name, a->cls->name,
		               b->cls->name);
	if (strcmp(a->label, b->label))
		return fx_fail(FX_ERR_STRUCTURAL, err, err_size,
		               "slot %d: label \"%s\" in A, \"%s\" in B", i,
		               a->label, b->label);
	return FX_OK;
}

static void add_entry(FxMorph *m, int slot, int param, double a, double b,
                      Blend blend)
{
	m->entries[m->n_all++] = (Entry){slot, param, a, b, blend};
}

/* The entries of @p a and @p b's parameters that differ and are
 * (@p structural 1) or are not (0) structural, and for the latter the
 * bypasses that differ. */
static void add_entries(FxMorph *m, const FxChainSpec *a, const FxChainSpec *b,
                        int structural)
{
	for (int i = 0; i < a->n_slots; i++) {
		const FxSlotSpec *sa = &a->slots[i], *sb = &b->slots[i];
		for (int p = 0; p < sa->cls->n_params; p++) {
			const FxParamInfo *info = &sa->cls->params[p];
			double va = sa->values[p], vb = sb->values[p];
			if (va == vb ||
			    !(info->flags & FX_PARAM_STRUCTURAL) != !structural)
				continue;
			add_entry(m, i, p, va, vb,
			          structural ? blend_switch
			                     : blend_for(info, va, vb));
		}
		if (!structural && !sa->bypass != !sb->bypass)
			add_entry(m, i, FX_MAX_PARAMS, !!sa->bypass,
			          !!sb->bypass, blend_switch);
	}
}

FxMorph *fx_morph_new(const FxChainSpec *a, const FxChainSpec *b, FxStatus *st,
                      char *err, size_t err_size)
{
	FxStatus dummy;
	if (!st)
		st = &dummy;
	if (!a || !b) {
		*st = fx_fail(FX_ERR_INVALID, err, err_size, "no preset given");
		return NULL;
	}
	if (a->n_slots != b->n_slots) {
		*st = fx_fail(FX_ERR_STRUCTURAL, err, err_size,
		              "%d slots in A, %d in B", a->n_slots, b->n_slots);
		return NULL;
	}
	for (int i = 0; i < a->n_slots; i++) {
		*st = check_slot(&a->slots[i], &b->slots[i], i, err, err_size);
		if (*st != FX_OK)
			return NULL;
	}
	FxMorph *m = malloc(sizeof *m);
	if (!m) {
		*st = fx_fail(FX_ERR_NOMEM, err, err_size, "out of memory");
		return NULL;
	}
	m->a = *a;
	m->n_all = 0;
	add_entries(m, a, b, 0);
	m->n = m->n_all;
	add_entries(m, a, b, 1);
	*st = FX_OK;
	return m;
}

void fx_morph_free(FxMorph *m)
{
	free(m);
}

int fx_morph_count(const FxMorph *m)
{
	return m ? m->n : 0;
}

int fx_morph_structural(const FxMorph *m)
{
	return m && m->n_all > m->n;
}

/* The endpoints are the stored values themselves, and rounding in a blend
 * never steps outside them. */
static double entry_value(const Entry *e, double x)
{
	if (!(x > 0))
		return e->a;
	if (x >= 1)
		return e->b;
	double v = e->blend(e->a, e->b, x);
	double lo = fmin(e->a, e->b), hi = fmax(e->a, e->b);
	return v < lo ? lo : v > hi ? hi : v;
}

void fx_morph_value(const FxMorph *m, int i, double x, int *slot, int *param,
                    double *value)
{
	const Entry *e = &m->entries[i];
	*slot = e->slot;
	*param = e->param;
	*value = entry_value(e, x);
}

void fx_morph_spec(const FxMorph *m, double x, FxChainSpec *out)
{
	*out = m->a;
	for (int i = 0; i < m->n_all; i++) {
		const Entry *e = &m->entries[i];
		double v = entry_value(e, x);
		if (e->param == FX_MAX_PARAMS)
			out->slots[e->slot].bypass = (int)v;
		else
			out->slots[e->slot].values[e->param] = v;
	}
}
