/* fxfile — where the chain runs. The CPU always can; a GPU only in a build
 * linked with a CUDA implementation of this interface (the build picks
 * fxfile_device_none.c or a CUDA one, never an #ifdef). */
#ifndef FXFILE_DEVICE_H
#define FXFILE_DEVICE_H

#include <stddef.h>

/** 1 if a CUDA device can run the chain; else 0, with why in @p why
 *  ("this build has no CUDA support", "no CUDA device"). */
int fxfile_cuda_available(char *why, size_t size);

#endif
