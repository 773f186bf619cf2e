/* SPDX-License-Identifier: ISC */
#include "dsp/status.h"

static const char *const messages[FX_STATUS_COUNT] = {
	[FX_OK] = "success",
	[FX_ERR_NOMEM] = "out of memory",
	[FX_ERR_RANGE] = "value out of range",
	[FX_ERR_NONFINITE] = "value is not finite",
	[FX_ERR_NYQUIST] = "frequency must be above 0 and below Nyquist",
	[FX_ERR_ORDER] = "filter order out of range",
	[FX_ERR_UNKNOWN_EFFECT] = "unknown effect",
	[FX_ERR_UNKNOWN_PARAM] = "unknown parameter",
	[FX_ERR_SYNTAX] = "syntax error",
	[FX_ERR_STRUCTURAL] = "parameter is structural: the chain must be rebuilt",
	[FX_ERR_FULL] = "no room left",
	[FX_ERR_INVALID] = "invalid argument",
	[FX_ERR_IO] = "input/output error",
	[FX_ERR_BUDGET] = "the chain's buffers exceed the memory budget "
			  "(--memory-budget)",
	[FX_ERR_CHANNELS] = "the effect's channels (a plugin's audio ports, "
			    "an impulse response's channels) do not fit "
			    "the chain's",
	[FX_ERR_PLUGIN] = "the plugin failed to instantiate",
};

const char *fx_strerror(FxStatus st)
{
	if ((unsigned)st >= FX_STATUS_COUNT || !messages[st])
		return "unknown error";
	return messages[st];
}
