/* SPDX-License-Identifier: ISC */
/* fxd — effect classes and their parameter tables.
 *
 * An effect is a vtable plus one parameter table. The chain, the spec parser,
 * OSC, --list-effects and the generated docs all read the same table, so an
 * effect is added by writing its file and one line in the registry
 * (dsp/registry.c).
 */
#ifndef FX_EFFECT_H
#define FX_EFFECT_H

#include <stddef.h>
#include <stdint.h>
#include "dsp/status.h"

enum {
	FX_MAX_PARAMS = 16,  ///< parameters per effect
	FX_MAX_OUTPUTS = 16, ///< read-only output values per effect
};

/** How a parameter's value maps to a knob (and how it glides). */
typedef enum {
	FX_SCALE_LIN,  ///< linear
	FX_SCALE_LOG,  ///< logarithmic (frequencies, Q); min > 0
	FX_SCALE_DB,   ///< decibels, linear in dB
	FX_SCALE_ENUM, ///< integer index into labels
	FX_SCALE_COUNT
} FxScale;

/** Parameter flags. */
enum {
	FX_PARAM_SMOOTHED = 1u << 0,   ///< glides to a new value
	FX_PARAM_STRUCTURAL = 1u << 1, ///< changes only through a chain rebuild
	FX_PARAM_INTEGER = 1u << 2,    ///< whole numbers only
	/** Holds text (a file's path): the value is the text's id from
	 *  fx_text_intern, 0 for none. Always structural as well, and
	 *  required: a spec that leaves it empty does not parse. min 0,
	 *  max 1 and FX_PARAM_INTEGER keep the range checks that loop over
	 *  a table short; clamping leaves any id alone. */
	FX_PARAM_TEXT = 1u << 3,
};

enum {
	/** Bytes of a text parameter's text, at most: with its name it must
	 *  fit one word of a chain spec. */
	FX_TEXT_MAX = 240,
};

/** One row of an effect's parameter table. */
typedef struct {
	const char *name;     ///< OSC and spec name, e.g. "cutoff"
	const char *unit;     ///< "Hz", "dB", "" ...
	double min, max, def; ///< range and default, in real units
	FxScale scale;
	unsigned flags;            ///< FX_PARAM_*
	const char *const *labels; ///< FX_SCALE_ENUM: NULL-terminated names
	const char *doc;           ///< one line for docs and --list-effects
} FxParamInfo;

typedef struct FxEffectClass FxEffectClass;

/** What an effect instance is built for. */
typedef struct {
	const FxEffectClass *cls;
	double sample_rate;
	int channels;
	int max_block;
	const double *values; ///< one initial value per parameter
	/** The effect's own state beyond its parameters, as its save hook
	 *  wrote it (an LV2 plugin's state); NULL: start fresh. */
	const char *saved;
} FxEffectSetup;

/** What an instance will take, known before init runs. */
typedef struct {
	size_t bytes; ///< heap bytes init allocates, beyond state_size
	int latency;  ///< frames the latency hook will then report
} FxEffectPlan;

/** An effect's vtable. Only init and cleanup may allocate or block. */
struct FxEffectClass {
	const char *name;
	const char *doc;
	const FxParamInfo *params;
	int n_params;
	size_t state_size; ///< zeroed bytes handed to init
	FxStatus (*init)(void *state, const FxEffectSetup *setup);
	/** Fills @p plan for @p setup without allocating, or returns the error
	 *  init would fail with (never FX_ERR_NOMEM). The memory budget is
	 *  checked against it before anything is allocated, so it must match
	 *  init exactly: tests/unit/test_alloc holds every class to that. NULL:
	 *  init allocates nothing and the effect adds no latency. */
	FxStatus (*plan)(const FxEffectSetup *setup, FxEffectPlan *plan);
	void (*cleanup)(void *state);
	/** Clears audio state (filter memories, delay lines). Realtime. */
	void (*reset)(void *state);
	/** New parameter values, taking effect over the next process call.
	 *  Called at most once per sub-block while gliding. Realtime. */
	void (*update)(void *state, const double *values);
	/** Processes planar channels in place. Realtime. */
	void (*process)(void *state, float *const *buf, int frames);
	/** Latency in frames that the effect adds; NULL means none. */
	int (*latency)(const void *state);
	/** The rig's tempo in BPM changed (fxd's /fxd/bpm, or JACK
	 *  transport). NULL: the effect has no use for it. Realtime. */
	void (*tempo)(void *state, double bpm);
	/** Chunks the effect muted itself because its output was not finite
	 *  (counted with the chain's own, fx_chain_nonfinite_count). NULL:
	 *  none. Realtime. */
	uint64_t (*faults)(const void *state);
	/** Restarts an effect that muted itself (faults) and cannot reset on
	 *  the realtime path, off it, while another thread may be processing
	 *  the chain around it: 1 restarted, 0 nothing to restart, -1 failed
	 *  (the chain must be rebuilt). NULL: reset suffices. */
	int (*restart)(void *state);
	/** Runs unheard while bypassed instead of being reset on its return:
	 *  for effects whose reset is not realtime-safe. */
	int keep_running;
	/** Read-only values the effect measures (an LV2 plugin's control
	 *  outputs: gain reduction, a level, a detected pitch), described as
	 *  parameters are; published to subscribers like meters. */
	const FxParamInfo *outputs;
	int n_outputs; ///< at most FX_MAX_OUTPUTS
	/** Writes the n_outputs values as they are now. Realtime. */
	void (*read_outputs)(const void *state, float *values);
	const void *priv; ///< class constants for shared implementations
	/** The LV2 plugin a class hosts (dsp/lv2.h), written in specs as
	 *  uri=...; NULL for fxd's own effects. */
	const char *uri;
	/** The effect's own state beyond its parameters (an LV2 plugin's,
	 *  through its state extension) as text, interned for the life of the
	 *  process so that specs stay plain values; a chain built with it
	 *  starts from it (FxEffectSetup.saved). NULL when there is none or
	 *  it could not be saved. Not realtime: it may run while another
	 *  thread processes the instance. NULL hook: the effect has none. */
	const char *(*save)(void *state);
	/** Checks the text given to FX_PARAM_TEXT parameter @p param when a
	 *  spec is parsed (that the file exists and holds what init will
	 *  read) and writes into @p out what the spec keeps (a relative path
	 *  made absolute). On failure, one line in @p why saying what is
	 *  wrong. NULL: any text goes as it is. Not realtime. */
	FxStatus (*check_text)(int param, const char *text, char *out,
	                       size_t out_size, char *why, size_t why_size);
	/* Rewind: a chunk can be rendered again from the state the effect
	 * had before it (dsp/chain.h, fx_chain_checkpoint). Rendering the
	 * same input again from restored state must give the same samples to
	 * the bit. Saves are O(small): indices, filter stores, envelopes,
	 * glide positions; a delay line is not copied, because rendering the
	 * chunk again rewrites the same region of it (its buffer holds a
	 * chunk beyond its longest delay, so nothing read is overwritten). */
	/** Bytes a checkpoint of one instance needs, beyond
	 *  rewind_channel_size per channel; both 0 when processing changes
	 *  nothing (then checkpoint and rollback are NULL). */
	size_t rewind_size;
	size_t rewind_channel_size; ///< checkpoint bytes per channel
	/** Copies what the next process (and update) calls will change from
	 *  @p state into @p saved (rewind_size + channels *
	 *  rewind_channel_size bytes, suitably aligned). Realtime. */
	void (*checkpoint)(const void *state, void *saved);
	/** Puts back what checkpoint saved: the instance then processes as
	 *  it would have from that point. Realtime. */
	void (*rollback)(void *state, const void *saved);
	/** The state cannot be rolled back cheaply (an LV2 plugin, a
	 *  convolver's history): a chain holding it does not rewind. */
	int no_rewind;
};

/** NULL-terminated list of every effect class. */
extern const FxEffectClass *const fx_effects[];

/** The class named @p name, or NULL. */
const FxEffectClass *fx_effect_find(const char *name);

/** Index of parameter @p name in @p cls, or -1. */
int fx_param_find(const FxEffectClass *cls, const char *name);

/** Clamps @p v into the parameter's range (rounding integers and enums).
 *  NaN maps to the default. */
double fx_param_clamp(const FxParamInfo *p, double v);

/** Maps a value to 0..1 through the parameter's scale. */
double fx_param_to_norm(const FxParamInfo *p, double v);

/** Maps 0..1 to a value through the parameter's scale (clamped). */
double fx_param_from_norm(const FxParamInfo *p, double norm);

/** Parses @p text as a value for @p p: a number, or an enum label, or for
 *  a FX_PARAM_TEXT parameter the text's id (fx_text_intern; "" is 0).
 *  Does not clamp; fails with FX_ERR_SYNTAX (a text longer than
 *  FX_TEXT_MAX, or with blanks, '|' or control characters, which no spec
 *  word can hold), FX_ERR_NONFINITE or FX_ERR_NOMEM. Not realtime for
 *  text parameters. */
FxStatus fx_param_parse(const FxParamInfo *p, const char *text, double *value);

/** Formats @p v for @p p into @p buf (enum label, shortest exact number,
 *  or a text parameter's text: "" for none or an unknown id). */
void fx_param_format(const FxParamInfo *p, double v, char *buf, size_t size);

/** Writes the shortest text that strtod() reads back as exactly @p v
 *  (0.3, not 0.29999999999999999), without an exponent for whole numbers
 *  below 1e17; "nan", "inf" or "-inf" when it is not finite. 32 bytes
 *  always suffice. Returns @p buf. */
const char *fx_format_number(double v, char *buf, size_t size);

/** @p text as the value of FX_PARAM_TEXT parameter @p param of @p cls:
 *  checked by the class (check_text: the file is there and readable, a
 *  relative path made absolute), then interned; its id in *@p value. On
 *  failure, one line in @p why ("convolver: ir=... is empty"). Shared by
 *  the spec parser and OSC. Not realtime. */
FxStatus fx_param_text(const FxEffectClass *cls, int param, const char *text,
                       double *value, char *why, size_t why_size);

/** The id of @p text, interned for the life of the process (equal texts,
 *  one id, one copy): what a FX_PARAM_TEXT parameter's value holds, so
 *  that specs stay plain values. 0 for "", -1 when out of memory.
 *  Thread-safe; not realtime. */
int fx_text_intern(const char *text);

/** The text whose id is @p id: "" for 0, NULL for an id never given out.
 *  The text lives as long as the process. Thread-safe; not realtime. */
const char *fx_text_of(double id);

/** Name of a scale ("lin", "log", "dB", "enum"). */
const char *fx_scale_name(FxScale scale);

/** Finds the closest candidate to a mistyped word, for "did you mean". */
typedef struct {
	const char *word; ///< the mistyped word
	const char *best; ///< closest candidate so far, or NULL
	int distance;     ///< its edit distance
} FxSuggest;

/** Starts a search for names close to @p word. */
FxSuggest fx_suggest_start(const char *word);

/** Offers @p candidate; it is kept if it is the closest so far and close
 *  enough to be a plausible typo. */
void fx_suggest_offer(FxSuggest *s, const char *candidate);

#endif
