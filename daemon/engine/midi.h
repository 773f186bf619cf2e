/* SPDX-License-Identifier: ISC */
/* fxd — MIDI control, the control side: the live mapping list (from the
 * [midi] config section, /fxd/midi/map and learn), the table the engine's
 * worker maps events through (rebuilt after every chain swap), what the
 * worker reports back (values that came over MIDI become targets,
 * feedback and state; clock and taps become the tempo; program changes
 * become preset loads), feedback out to controllers, and scene morphing.
 *
 * Any non-realtime thread may call these; one lock of its own guards
 * them, taken before the control surface's.
 */
#ifndef FX_MIDI_H
#define FX_MIDI_H

#include <stddef.h>

#include "daemon/engine/control.h"
#include "daemon/engine/midi_map.h"

typedef struct FxMidiImpl FxMidi;

/** MIDI control over @p control, with no mappings. It becomes the
 *  surface's state hook (fx_control_set_state_hook), so the state file
 *  keeps the mappings, until fx_midi_free. NULL when out of memory. */
FxMidi *fx_midi_new(FxControl *control);

/** Frees @p m; NULL is a no-op. */
void fx_midi_free(FxMidi *m);

/** Adds @p map (after fx_midi_mapping_check against the running chain).
 *  A mapping with the same source and target replaces the old one; one
 *  source may drive several targets. FX_ERR_FULL past
 *  FX_MIDI_MAX_MAPPINGS. On failure @p err gets one line. */
FxStatus fx_midi_map(FxMidi *m, const FxMidiMapping *map, char *err,
                     size_t err_size);

/** Removes every mapping whose target is @p target. Returns how many. */
int fx_midi_unmap(FxMidi *m, const char *target);

/** Removes the mapping with @p map's source and target (a [midi] line
 *  gone from the config at a reload). Returns how many (0 or 1). */
int fx_midi_unmap_mapping(FxMidi *m, const FxMidiMapping *map);

/** The mappings, in the order they were added: fills at most @p max of
 *  @p out. Returns the total. */
int fx_midi_list(FxMidi *m, FxMidiMapping *out, int max);

/** Arms learn for @p target: the next CC or note received is mapped to it
 *  (a CC over the target's range, a note as a toggle). Refused like
 *  fx_midi_map when the target does not exist. */
FxStatus fx_midi_learn(FxMidi *m, const char *target, char *err, size_t err_size);

/** Something the layer above must act on or tell. */
typedef enum {
	FX_MIDI_NOTICE_LEARNED, ///< target, channel, number: learn finished
	FX_MIDI_NOTICE_PRESET,  ///< preset: a program change asks to load it
} FxMidiNoticeKind;

/** One notice. */
typedef struct {
	FxMidiNoticeKind kind;
	FxMidiMapping mapping; ///< the mapping learned or the program mapping
} FxMidiNotice;

/** Call often (every few ms) from the control thread: takes the worker's
 *  reports (values become targets, marked for feedback and the state
 *  file; clock ticks and taps become the tempo unless JACK transport sets
 *  it; see fx_midi_set_transport), rebuilds the table after a chain swap,
 *  sends coalesced feedback for mapped parameters changed by anything
 *  other than their own control, and returns up to @p max notices. */
int fx_midi_poll(FxMidi *m, FxMidiNotice *out, int max);

/** 1 while JACK transport rolls with BBT: MIDI clock then does not set
 *  the tempo. */
void fx_midi_set_transport(FxMidi *m, int rolling);

/** A tap of the tap-tempo (/fxd/tap) at @p seconds (CLOCK_MONOTONIC). */
void fx_midi_tap(FxMidi *m, double seconds);

/** Picks preset @p spec as morph end @p end (0: A, 1: B), named @p name
 *  for queries. Refused (FX_ERR_STRUCTURAL and why) when the other end is
 *  set and differs in structure, or when it differs from the running
 *  chain in structure (slots, effects, labels: structural parameter
 *  values may differ). */
FxStatus fx_midi_morph_end(FxMidi *m, int end, const char *name,
                           const FxChainSpec *spec, char *err, size_t err_size);

/** Moves the morph to @p x (0..1): every parameter that differs between A
 *  and B glides to its value there. When structural parameters differ
 *  and @p x crossed 0.5 since the morph was last applied whole (or it
 *  never was with these ends), the morphed chain is applied whole
 *  (fx_control_apply: a crossfaded swap); a morph pedal does the same. FX_ERR_INVALID (and why) while an end is missing. */
FxStatus fx_midi_morph(FxMidi *m, double x, char *err, size_t err_size);

/** The morph position (NAN until set) and the ends' names ("" unset). */
double fx_midi_morph_position(FxMidi *m, char *a, char *b, size_t size);

/** Every mapping as lines for the state file ("midi LINE\n" each), in a
 *  buffer the caller frees. NULL when out of memory. */
char *fx_midi_state_text(FxMidi *m);

/** Maps every "midi" line of the state file at @p path (persist.h:
 *  fx_state_lines), as fx_midi_map does. FX_OK when the file was read or
 *  there is none, with *@p refused (may be NULL) counting the lines that
 *  did not parse or check against the running chain, the first of them
 *  named in @p err; otherwise the reading's failure. */
FxStatus fx_midi_restore(FxMidi *m, const char *path, int *refused, char *err,
                         size_t err_size);

#endif
