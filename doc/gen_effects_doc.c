/* SPDX-License-Identifier: ISC */
/* Prints doc/effects.md from the effect registry. */
#include "dsp/describe.h"

int main(void)
{
	fx_describe_markdown(stdout);
	return ferror(stdout) ? 1 : 0;
}
