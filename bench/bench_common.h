/* SPDX-License-Identifier: ISC */
/* fxd — what the benchmarks share: a monotonic clock, the nearest-rank
 * quantile, the table's printer, and the command line of bench_ptime and bench_cuda
 * ([--quick] [--json FILE|-] [--threads N] [--budget SECONDS]).
 * Header only: each benchmark is one file and links no test code. */
#ifndef FX_BENCH_COMMON_H
#define FX_BENCH_COMMON_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/** Number of elements of the array @p a. */
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/** Where the table goes: stdout, or stderr when the JSON takes stdout. */
static FILE *tab;

/** Prints to the table. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(tab, fmt, ap);
	va_end(ap);
}

/** CLOCK_MONOTONIC in nanoseconds. */
static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/** Sorts v[0..n) and returns its nearest-rank @p q quantile. */
static inline double bench_quantile(double *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	int i = (int)ceil(q * n);
	return v[i ? i - 1 : 0];
}

/** What the command line asked for. */
typedef struct {
	int quick;     /**< --quick: a smoke run of a few seconds */
	int threads;   /**< --threads N, else the online CPUs; 1..max */
	double budget; /**< --budget SECONDS, else the default for the mode */
	const char *json; /**< --json FILE ("-": stdout), else NULL */
} BenchArgs;

/** Prints the usage line of @p prog and exits 2. */
static inline void bench_args_usage(const char *prog)
{
	fprintf(stderr,
	        "usage: %s [--quick] [--json FILE|-] "
	        "[--threads N] [--budget SECONDS]\n",
	        prog);
	exit(2);
}

/** Reads argv; a word it does not know, or a bad value, prints the usage
 *  of @p prog and exits 2. The thread count is clamped to 1..@p
 *  max_threads (the online CPUs may be more); the budget defaults to @p
 *  quick_budget or @p full_budget seconds. Points the table (tab) at
 *  stderr when --json - takes stdout, else at stdout. */
static inline BenchArgs bench_args_parse(int argc, char **argv,
                                         const char *prog, int max_threads,
                                         double quick_budget, double full_budget)
{
	BenchArgs a = {0, (int)sysconf(_SC_NPROCESSORS_ONLN), -1, NULL};
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--quick"))
			a.quick = 1;
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			a.json = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			a.threads = (int)strtol(argv[++i], &end, 10);
			if (*end || a.threads < 1 || a.threads > max_threads)
				bench_args_usage(prog);
		} else if (!strcmp(argv[i], "--budget") && i + 1 < argc) {
			a.budget = strtod(argv[++i], &end);
			if (*end || !(a.budget > 0))
				bench_args_usage(prog);
		} else
			bench_args_usage(prog);
	}
	if (a.threads < 1)
		a.threads = 1;
	if (a.threads > max_threads)
		a.threads = max_threads;
	if (a.budget < 0)
		a.budget = a.quick ? quick_budget : full_budget;
	tab = a.json && !strcmp(a.json, "-") ? stderr : stdout;
	return a;
}

#endif
