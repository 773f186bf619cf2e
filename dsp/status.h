/* SPDX-License-Identifier: ISC */
/* fxd — status codes shared by every module. */
#ifndef FX_STATUS_H
#define FX_STATUS_H

/** Result of any fallible fx call. FX_OK is zero; errors are positive. */
typedef enum {
	FX_OK = 0,
	FX_ERR_NOMEM,     ///< an allocation failed at setup
	FX_ERR_RANGE,     ///< a value outside its allowed range
	FX_ERR_NONFINITE, ///< NaN or infinity given as a value
	FX_ERR_NYQUIST,   ///< a frequency at or above Nyquist, or not above 0
	FX_ERR_ORDER,     ///< filter order outside 1..FX_MAX_ORDER
	FX_ERR_UNKNOWN_EFFECT,
	FX_ERR_UNKNOWN_PARAM,
	FX_ERR_SYNTAX,     ///< malformed text (chain spec, number)
	FX_ERR_STRUCTURAL, ///< parameter needs a chain rebuild, not a glide
	FX_ERR_FULL,       ///< a fixed-size table or ring is full
	FX_ERR_INVALID,  ///< an argument that makes no sense (NULL, 0 channels)
	FX_ERR_IO,       ///< a file or socket operation failed
	FX_ERR_BUDGET,   ///< a chain's buffers exceed the memory budget
	FX_ERR_CHANNELS, ///< an effect's audio ports do not fit the channels
	FX_ERR_PLUGIN,   ///< a plugin failed to instantiate
	FX_STATUS_COUNT
} FxStatus;

/** A short English description of @p st; never NULL. */
const char *fx_strerror(FxStatus st);

#endif
