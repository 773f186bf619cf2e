/* SPDX-License-Identifier: ISC */
/* fxd — parameter addresses: /fx/<slot>/<param>[/norm] by label, index or
 * pattern, each parameter applied once; --osc-alias addresses; the
 * coercion of OSC arguments into numbers and enum labels; and the values
 * sent back (queries, feedback, the full state), aliases included. Below
 * the /fxd/ methods and the subscribers; replies go through the
 * transport. */
#ifndef FX_OSC_PARAMS_H
#define FX_OSC_PARAMS_H

#include <lo/lo.h>

#include "daemon/engine/control.h"
#include "osc/transport.h"

typedef struct FxOscParamsImpl FxOscParams;

/** The addresses of @p control's chain, with @p n_aliases aliases
 *  ("FROM=TO", checked with fx_netaddr_alias_problem). NULL with *@p st and
 *  why in @p err on failure. */
FxOscParams *fx_osc_params_new(FxControl *control, const char *const *aliases,
                               int n_aliases, FxStatus *st, char *err,
                               size_t err_size);

/** Frees. NULL is a no-op. */
void fx_osc_params_free(FxOscParams *p);

/** The address an alias stands for, or @p path itself. */
const char *fx_osc_params_resolve(const FxOscParams *p, const char *path);

/** The /fx/ method: sets (one argument) or queries (none) every
 *  parameter @p path names, replying and failing through @p req. */
void fx_osc_params_handle(FxOscParams *p, FxOscRequest *req, const char *path,
                          const char *types, lo_arg **argv, int argc);

/** One parameter's (or, at index n_params, bypass's) value in both forms
 *  to @p peer, and to the aliases pointing at it: feedback. */
void fx_osc_params_send_value(FxOscParams *p, FxOscTransport *t,
                              const FxOscPeer *peer, const FxChainSpec *spec,
                              int slot, int param);

/** A daemon-wide value (/fxd/mute as an int, /fxd/bpm as a float) to
 *  @p peer, and to its aliases. */
void fx_osc_params_send_daemon(FxOscParams *p, FxOscTransport *t,
                               const FxOscPeer *peer, const char *path,
                               double v, int is_int);

/** The full state to @p peer: the chain's text, every value, mute, bpm. */
void fx_osc_params_send_state(FxOscParams *p, FxOscTransport *t,
                              const FxOscPeer *peer);

/** The chain's text as OSC clients get it (/fxd/chain, /fxd/json): the
 *  spec without its plugins' saved states (state=, base64 that can outgrow
 *  a UDP packet and means nothing to a client; loading the text back keeps
 *  the running plugins' states). malloc'd; NULL when out of memory. */
char *fx_osc_chain_text(const FxChainSpec *spec);

/** The canonical address of a parameter (or bypass), with "/norm" when
 *  @p norm. */
void fx_osc_param_path(const FxChainSpec *spec, int slot, int param, int norm,
                       char *buf, size_t size);

/** The address of read-only output @p out of @p slot (/fx/comp/gr). */
void fx_osc_output_path(const FxChainSpec *spec, int slot, int out, char *buf,
                        size_t size);

/** Splits "/fx/A/B[/norm]" into its parts (@p slot of FX_LABEL_MAX + 8
 *  bytes, @p param of 64). Returns 0 if it is not one. */
int fx_osc_split_param_path(const char *path, char *slot, char *param, int *norm);

/** The label of an enum parameter's value, or NULL. */
const char *fx_osc_enum_label(const FxParamInfo *p, double v);

/** 1 if @p s holds OSC pattern characters. */
int fx_osc_has_pattern(const char *s);

/* ---- argument coercion ---------------------------------------------------- */

/** A number from argument @p i of any numeric type or a boolean (a float
 *  as the shortest decimal that reads back as it). 0 if it is none. */
int fx_osc_arg_number(const char *types, lo_arg **argv, int i, double *out);

/** Argument @p i as text (a string or symbol), or NULL. */
const char *fx_osc_arg_string(const char *types, lo_arg **argv, int i);

/** The one finite number of a message, or a /fxd/fail to @p req and 0. */
int fx_osc_one_number(FxOscRequest *req, const char *path, const char *types,
                      lo_arg **argv, int argc, double *v);

#endif
