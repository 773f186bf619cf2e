#include "describe.h"

#include "effect.h"

static void flags_text(const FxParamInfo *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s",
	         p->flags & FX_PARAM_SMOOTHED ? "glides" : "",
	         (p->flags & FX_PARAM_SMOOTHED) &&
	                         (p->flags & FX_PARAM_STRUCTURAL)
	                 ? ", "
	                 : "",
	         p->flags & FX_PARAM_STRUCTURAL ? "structural (rebuilds the chain)"
	                                        : "");
}

static void range_text(const FxParamInfo *p, char *lo, char *hi, char *def,
                       size_t size)
{
	fx_param_format(p, p->min, lo, size);
	fx_param_format(p, p->max, hi, size);
	fx_param_format(p, p->def, def, size);
}

void fx_describe_markdown(FILE *out)
{
	fputs("# fxd effects\n\n"
	      "Generated from the parameter tables in `dsp/` by `make "
	      "effects-doc`; do not edit.\n"
	      "Every slot also takes `bypass=0|1` (a crossfade, not a "
	      "parameter).\n",
	      out);
	for (const FxEffectClass *const *c = fx_effects; *c; c++) {
		const FxEffectClass *cls = *c;
		fprintf(out, "\n## `%s`\n\n%s\n\n", cls->name, cls->doc);
		fputs("| parameter | unit | min | max | default | scale | "
		      "behaviour | meaning |\n"
		      "|---|---|---|---|---|---|---|---|\n",
		      out);
		for (int i = 0; i < cls->n_params; i++) {
			const FxParamInfo *p = &cls->params[i];
			char lo[32], hi[32], def[32], flags[64];
			range_text(p, lo, hi, def, sizeof lo);
			flags_text(p, flags, sizeof flags);
			fprintf(out, "| `%s` | %s | %s | %s | %s | %s | %s | %s |\n",
			        p->name, p->unit, lo, hi, def,
			        fx_scale_name(p->scale), flags, p->doc);
		}
	}
}

void fx_describe_text(FILE *out)
{
	for (const FxEffectClass *const *c = fx_effects; *c; c++) {
		const FxEffectClass *cls = *c;
		fprintf(out, "%s: %s\n", cls->name, cls->doc);
		for (int i = 0; i < cls->n_params; i++) {
			const FxParamInfo *p = &cls->params[i];
			char lo[32], hi[32], def[32], flags[64];
			range_text(p, lo, hi, def, sizeof lo);
			flags_text(p, flags, sizeof flags);
			fprintf(out, "  %-10s %s..%s %s (default %s, %s%s%s)\n",
			        p->name, lo, hi, p->unit, def,
			        fx_scale_name(p->scale), *flags ? ", " : "", flags);
		}
	}
}
