/* fxfile_device.h for a build without CUDA. */
#include "fxfile_device.h"

#include <stdio.h>

int fxfile_cuda_available(char *why, size_t size)
{
	snprintf(why, size, "this build has no CUDA support");
	return 0;
}
