/* SPDX-License-Identifier: ISC */
/* fxd — MIDI mappings: one mapping as a value (a [midi] config line, an
 * /fxd/midi/map entry, a state-file line), and the table the worker maps
 * incoming events through.
 *
 * A table is built off the realtime path from the mappings and the chain
 * it will drive (targets resolved to slots and parameters, ranges to the
 * parameters' scales) and handed to the engine, which swaps it in between
 * chunks like a chain (engine.h: fx_engine_set_midi_table). Looking an
 * event up and turning its value into a parameter value is realtime
 * (midi_map_process.c).
 */
#ifndef FX_MIDI_MAP_H
#define FX_MIDI_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine/morph.h"
#include "dsp/spec.h"

/** What kind of MIDI message a mapping listens to. */
typedef enum {
	FX_MIDI_SRC_CC,      ///< control change, 7 bits
	FX_MIDI_SRC_CC14,    ///< 14-bit CC: MSB at number, LSB at number + 32
	FX_MIDI_SRC_NOTE,    ///< note on / off
	FX_MIDI_SRC_PROGRAM, ///< program change
	FX_MIDI_SRC_BEND,    ///< pitch bend, 14 bits
	FX_MIDI_SRC_COUNT
} FxMidiSource;

/** How a note (or a CC used as a switch) drives its target. */
typedef enum {
	FX_MIDI_MODE_RANGE,     ///< the value across MIN..MAX (CC, bend)
	FX_MIDI_MODE_TOGGLE,    ///< each note on flips between MIN and MAX
	FX_MIDI_MODE_MOMENTARY, ///< MAX while held, MIN on release
} FxMidiMode;

enum {
	FX_MIDI_ANY_CHANNEL = -1, ///< `*` in the syntax
	FX_MIDI_TARGET_MAX = 128, ///< target bytes, terminator included
	FX_MIDI_MAX_MAPPINGS = 256,
};

/** One mapping, as written. */
typedef struct {
	FxMidiSource source;
	int channel; ///< 0..15 (written 1..16), or FX_MIDI_ANY_CHANNEL
	int number;  ///< CC, MSB CC, note or program number; 0 for bend
	/** A parameter address (/fx/SLOT/PARAM, /fx/SLOT/PARAM/norm,
	 *  /fx/SLOT/bypass; SLOT a label or an index), /fxd/morph, /fxd/tap,
	 *  /fxd/panic or /fxd/mute; for FX_MIDI_SRC_PROGRAM a preset name. */
	char target[FX_MIDI_TARGET_MAX];
	double min, max; ///< NAN when not given: the target's whole range
	int invert;      ///< 1: MIN at the top of the control
	FxMidiMode mode;
} FxMidiMapping;

/** Parses one mapping line (without the section), e.g.
 *    cc 1 7 = /fx/vol/db -30 0
 *    cc14 * 1 = /fx/lpf/cutoff
 *    note 10 36 = /fx/rev/bypass toggle
 *    program 1 3 = preset verse
 *    bend 1 = /fxd/morph invert
 *  On failure returns FX_ERR_SYNTAX or FX_ERR_RANGE, sets *@p col (may be
 *  NULL) to the 1-based column of the offending word and writes the
 *  reason, without a position, into @p err. The target is not checked
 *  against a chain here (fx_midi_mapping_check does). */
FxStatus fx_midi_mapping_parse(const char *line, FxMidiMapping *m, int *col,
                               char *err, size_t err_size);

/** Writes @p m as a line fx_midi_mapping_parse reads back as it. */
void fx_midi_mapping_format(const FxMidiMapping *m, char *buf, size_t size);

/** 1 when @p a and @p b listen to the same messages (kind, channel,
 *  number; `*` matches only `*`). */
int fx_midi_mapping_same_source(const FxMidiMapping *a, const FxMidiMapping *b);

/** Checks that @p m's target exists in @p spec and MIN/MAX lie in its
 *  range. FX_OK, or an error and one line in @p err ("no parameter
 *  'cutof' in slot 1 (lowpass); did you mean 'cutoff'?"). Program
 *  mappings are not checked (their preset is looked up when one comes). */
FxStatus fx_midi_mapping_check(const FxMidiMapping *m, const FxChainSpec *spec,
                               char *err, size_t err_size);

/** Where @p m's target is in @p spec: its slot and param (FX_MAX_PARAMS
 *  for bypass). Returns 0 when the target is not a parameter or bypass of
 *  @p spec (a program, /fxd/... targets, or missing). */
int fx_midi_mapping_param(const FxMidiMapping *m, const FxChainSpec *spec,
                          int *slot, int *param);

/** Where @p m's control stands, 0..1, when its target holds @p value:
 *  the inverse of what the worker does with a control's value (range,
 *  scale, /norm, invert). NAN for a program, tap or panic mapping or a
 *  target @p spec lacks. For /fxd/morph and /fxd/mute pass their value. */
double fx_midi_mapping_position(const FxMidiMapping *m, const FxChainSpec *spec,
                                double value);

/* ---- the table the worker uses -------------------------------------------- */

typedef struct FxMidiTableImpl FxMidiTable;

/** A table of the @p n mappings in @p maps for a chain of @p spec, and,
 *  when @p morph is not NULL, the morph a /fxd/morph mapping drives (the
 *  table takes it over and frees it). Mappings whose target @p spec lacks
 *  are left out (they come back when a chain has it). NULL with *@p st
 *  set when out of memory. Not realtime. */
FxMidiTable *fx_midi_table_new(const FxMidiMapping *maps, int n,
                               const FxChainSpec *spec, FxMorph *morph,
                               FxStatus *st);

/** Frees @p t and its morph; NULL is a no-op. */
void fx_midi_table_free(FxMidiTable *t);

/** Mappings in @p t (those left out not counted). */
int fx_midi_table_size(const FxMidiTable *t);

#endif
