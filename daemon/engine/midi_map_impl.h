/* SPDX-License-Identifier: ISC */
/* fxd — the MIDI table's layout and its realtime lookup, shared by the
 * table's setup (midi_map.c), its lookup (midi_map_process.c) and the
 * engine's worker (engine_process.c). */
#ifndef FX_MIDI_MAP_IMPL_H
#define FX_MIDI_MAP_IMPL_H

#include <stdint.h>

#include "daemon/engine/midi_map.h"
#include "dsp/chain.h"

/** What a mapping drives, resolved against a chain. */
typedef enum {
	FX_MIDI_TO_PARAM,  ///< slot, param: a value in the parameter's units
	FX_MIDI_TO_BYPASS, ///< slot: on (1) or off (0)
	FX_MIDI_TO_MORPH,  ///< the table's morph, at a position
	FX_MIDI_TO_TAP,    ///< a tap of the tap tempo
	FX_MIDI_TO_PANIC,  ///< mute, clear, unmute
	FX_MIDI_TO_MUTE,   ///< fxd's mute, 0 or 1
	FX_MIDI_TO_PRESET, ///< a program change's preset (mapping names it)
	FX_MIDI_TO_COUNT
} FxMidiTo;

/** How a control's position 0..1 becomes a value between lo and hi. */
typedef enum {
	FX_MIDI_CURVE_LIN,  ///< lo + (hi - lo) x
	FX_MIDI_CURVE_LOG,  ///< lo (hi / lo)^x, for FX_SCALE_LOG (lo > 0)
	FX_MIDI_CURVE_NORM, ///< through the parameter's scale: a /norm address
} FxMidiCurve;

/** One resolved mapping. */
typedef struct {
	FxMidiTo to;
	FxMidiCurve curve;
	FxMidiMode mode;
	int invert;
	int slot, param;         ///< FX_MIDI_TO_PARAM, FX_MIDI_TO_BYPASS
	double lo, hi;           ///< the range, in the curve's domain
	const FxParamInfo *info; ///< FX_MIDI_TO_PARAM (NORM curve reads it)
	int mapping;             ///< its index in the mappings it came from
} FxMidiEntry;

enum {
	FX_MIDI_NO_LINK = -1,
	FX_MIDI_NUMBERS = 128,
	FX_MIDI_CHANNELS = 16,
};

/** A link in a source's list of entries (one source may drive several). */
typedef struct {
	int entry;
	int next; ///< the next link of the same source, or FX_MIDI_NO_LINK
} FxMidiLink;

struct FxMidiTableImpl {
	int n_entries, n_links;
	FxMidiEntry *entries;
	FxMidiLink *links;
	/** First link of each source kind, channel and number. */
	int16_t first[FX_MIDI_SRC_COUNT][FX_MIDI_CHANNELS][FX_MIDI_NUMBERS];
	FxMorph *morph; ///< for FX_MIDI_TO_MORPH, or NULL
	/** Worker: whether each momentary or toggle entry is on. */
	uint8_t *held;
};

/** The worker's memory of the stream between events: running status and
 *  the MSB of each 14-bit CC pair. */
typedef struct {
	uint8_t running;
	uint8_t msb[FX_MIDI_CHANNELS][32];
} FxMidiStream;

/** A decoded channel or system realtime message. */
typedef struct {
	uint8_t status; ///< with the channel bits cleared for channel messages
	uint8_t channel;
	uint8_t d1, d2;
} FxMidiMessage;

/** Decodes raw bytes (one JACK event) into @p msg, with running status.
 *  Returns 0 for what maps to nothing: SysEx and system common messages
 *  (which also end running status), stray data bytes, truncated or
 *  over-long messages. Realtime. */
int fx_midi_decode(FxMidiStream *s, const uint8_t *data, int size,
                   FxMidiMessage *msg);

/** One thing a message asks for. */
typedef struct {
	const FxMidiEntry *entry;
	double value; ///< in the target's units (morph: position 0..1)
} FxMidiAction;

/** The actions @p msg asks of @p t's entries, at most @p max, in the
 *  order mapped. @p chain supplies current values for toggles. Realtime. */
int fx_midi_table_map(FxMidiTable *t, FxMidiStream *s, const FxMidiMessage *msg,
                      const FxChain *chain, FxMidiAction *out, int max);

#endif
