/* SPDX-License-Identifier: ISC */
/* fxd — process-wide realtime setup. */
#ifndef FX_REALTIME_H
#define FX_REALTIME_H

/** Locks current and future memory (mlockall) when that is safe: as root,
 *  or with an unlimited RLIMIT_MEMLOCK. With a finite limit, MCL_FUTURE
 *  would make later thread stacks and JACK's shared memory fail to map, so
 *  fxd does not try. Logs one warning when memory stays unlocked. Returns
 *  1 if memory is locked. Skipped (with a debug line) in sanitizer builds,
 *  whose shadow memory cannot be locked. */
int fx_realtime_lock_memory(void);

#endif
