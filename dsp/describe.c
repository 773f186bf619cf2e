/* SPDX-License-Identifier: ISC */
#include "dsp/describe.h"

#include "dsp/effect.h"
#include "dsp/lv2.h"

static void flags_text(const FxParamInfo *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s",
	         p->flags & FX_PARAM_SMOOTHED ? "glides" : "",
	         (p->flags & FX_PARAM_SMOOTHED) && (p->flags & FX_PARAM_STRUCTURAL)
	                 ? ", "
	                 : "",
	         p->flags & FX_PARAM_STRUCTURAL ? "structural (rebuilds the chain)"
	                                        : "");
}

/* What a parameter takes: "20..20000", or an enum's labels in order
 * ("off, 1/1, 1/2, ..."), each between @p quote marks. */
static void values_text(const FxParamInfo *p, const char *quote, char *buf,
                        size_t size)
{
	if (p->flags & FX_PARAM_TEXT) {
		snprintf(buf, size, "text");
		return;
	}
	if (!p->labels) {
		char lo[32], hi[32];
		fx_param_format(p, p->min, lo, sizeof lo);
		fx_param_format(p, p->max, hi, sizeof hi);
		snprintf(buf, size, "%s..%s", lo, hi);
		return;
	}
	size_t len = 0;
	buf[0] = '\0';
	for (int i = 0; p->labels[i] && len < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s%s%s",
		                 i ? ", " : "", quote, p->labels[i], quote);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

/* A text parameter's scale is "text": it has no numbers to scale. */
static const char *scale_of(const FxParamInfo *p)
{
	return p->flags & FX_PARAM_TEXT ? "text" : fx_scale_name(p->scale);
}

/* Whether the class rewinds, and the size of its checkpoint. */
static void rewind_text(const FxEffectClass *cls, FILE *out)
{
	if (cls->no_rewind)
		fputs("*Rewind:* no; a chain holding it applies changes from "
		      "the next chunk.\n\n",
		      out);
	else if (!cls->rewind_size && !cls->rewind_channel_size)
		fputs("*Rewind:* yes; nothing to save.\n\n", out);
	else
		fprintf(out,
		        "*Rewind:* yes; a checkpoint of %zu bytes + %zu per "
		        "channel.\n\n",
		        cls->rewind_size, cls->rewind_channel_size);
}

void fx_describe_markdown(FILE *out)
{
	fputs("# fxd effects\n\n"
	      "Generated from the parameter tables in `dsp/` by `make "
	      "effects-doc`; do not edit.\n"
	      "Every slot also takes `bypass=0|1` (a crossfade, not a "
	      "parameter).\n"
	      "*Rewind* says whether the effect can render again a chunk "
	      "not yet played, from a checkpoint of the state it had before "
	      "it, so that a change lands in that chunk: a chain rewinds "
	      "only if all its effects do (LV2 plugins never do).\n",
	      out);
	for (const FxEffectClass *const *c = fx_effects; *c; c++) {
		const FxEffectClass *cls = *c;
		fprintf(out, "\n## `%s`\n\n%s\n\n", cls->name, cls->doc);
		rewind_text(cls, out);
		fputs("| parameter | unit | values | default | scale | "
		      "behaviour | meaning |\n"
		      "|---|---|---|---|---|---|---|\n",
		      out);
		for (int i = 0; i < cls->n_params; i++) {
			const FxParamInfo *p = &cls->params[i];
			char values[512], def[32], flags[64];
			values_text(p, "`", values, sizeof values);
			fx_param_format(p, p->def, def, sizeof def);
			flags_text(p, flags, sizeof flags);
			fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s |\n",
			        p->name, p->unit, values, def, scale_of(p),
			        flags, p->doc);
		}
		if (cls->n_outputs)
			fputs("\nRead-only outputs (`/fx/LABEL/NAME` answers a "
			      "query; subscribers get them in `/fxd/outputs`):\n\n"
			      "| output | unit | values | meaning |\n"
			      "|---|---|---|---|\n",
			      out);
		for (int i = 0; i < cls->n_outputs; i++) {
			const FxParamInfo *o = &cls->outputs[i];
			char values[512];
			values_text(o, "`", values, sizeof values);
			fprintf(out, "| `%s` | %s | %s | %s |\n", o->name,
			        o->unit, values, o->doc);
		}
	}
}

void fx_describe_params_text(const FxEffectClass *cls, FILE *out)
{
	for (int i = 0; i < cls->n_params; i++) {
		const FxParamInfo *p = &cls->params[i];
		char values[512], def[32], flags[64];
		values_text(p, "", values, sizeof values);
		fx_param_format(p, p->def, def, sizeof def);
		flags_text(p, flags, sizeof flags);
		fprintf(out, "  %-10s %s%s%s (default %s, %s%s%s)\n", p->name,
		        values, *p->unit ? " " : "", p->unit, *def ? def : "none",
		        scale_of(p), *flags ? ", " : "", flags);
	}
	if (cls->n_outputs)
		fputs(" outputs (read-only):\n", out);
	for (int i = 0; i < cls->n_outputs; i++) {
		const FxParamInfo *o = &cls->outputs[i];
		char values[512];
		values_text(o, "", values, sizeof values);
		fprintf(out, "  %-10s %s%s%s (%s)\n", o->name, values,
		        *o->unit ? " " : "", o->unit, o->doc);
	}
}

void fx_describe_text(FILE *out)
{
	for (const FxEffectClass *const *c = fx_effects; *c; c++) {
		fprintf(out, "%s: %s\n", (*c)->name, (*c)->doc);
		fx_describe_params_text(*c, out);
	}
	fprintf(out,
	        "%s: an installed LV2 plugin, as %s uri=URI "
	        "[SYMBOL=VALUE ...]\n  (fxd --list-lv2 lists them; "
	        "fxd --describe-lv2 URI gives one's parameters)\n",
	        FX_LV2_EFFECT, FX_LV2_EFFECT);
}
