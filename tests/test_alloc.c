/* After setup, the chunk path allocates nothing: every allocator is wrapped
 * at link time (-Wl,--wrap=...) and counted while armed. */
#include "fxtest.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "chain.h"

static volatile int armed;
static volatile long calls;

#define COUNT() (armed ? (void)calls++ : (void)0)

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
	COUNT();
	return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
	COUNT();
	return __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
	COUNT();
	return __real_realloc(p, n);
}
void __wrap_free(void *p)
{
	COUNT();
	__real_free(p);
}
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
	COUNT();
	return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
	COUNT();
	return __real_aligned_alloc(a, n);
}

START_TEST(wrappers_count)
{
	calls = 0;
	armed = 1;
	void *p = malloc(16);
	free(p);
	armed = 0;
	ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(chunk_path_allocates_nothing)
{
	const char *text =
		"hpf:highpass cutoff=80 order=2 | eq:peaking cutoff=1000 q=0.7 "
		"gain=0 | bp:bandpass cutoff=700 q=2 order=8 | ls:lowshelf | "
		"hs:highshelf | n:notch | ap:allpass | bs:bandstop | "
		"lpf:lowpass cutoff=12000 order=16 | vol:gain db=0 | "
		"c1:cheby1 order=8 | c2:cheby2 type=highpass cutoff=300 | "
		"x:lr order=8 | comp:compressor detect=rms | "
		"dly:delay time=300 pingpong=1 | "
		"tdly:delay division=1/8d feedback=0.6 | verb:reverb room=0.9 | "
		"lim:limiter lookahead=5";
	FxChainSpec spec;
	FxSpecError err;
	ck_assert_msg(fx_spec_parse(text, "t", &spec, &err) == FX_OK, "%s",
	              err.message);
	FxChainConfig cfg = fx_chain_config_default();
	cfg.channels = 2;
	cfg.max_block = 256;
	FxStatus st;
	FxChain *c = fx_chain_new(&spec, &cfg, &st);
	ck_assert_ptr_nonnull(c);
	static float l[256], r[256];
	float *buf[2] = {l, r};
	long chunks = 0;
	calls = 0;
	armed = 1;
	for (int k = 0; k < 4000; k++) {
		for (int i = 0; i < 256; i++)
			l[i] = r[i] = (float)sin((k * 256 + i) * 0.05);
		if (k % 7 == 0)
			fx_chain_set_param(c, 0, 0, 20 + (k * 37) % 2000, NULL);
		if (k % 11 == 0)
			fx_chain_set_param(c, 2, 0, 100 + (k * 53) % 10000, NULL);
		if (k % 13 == 0)
			fx_chain_set_param(c, 9, 0, -20 + k % 30, NULL);
		if (k % 50 == 0)
			fx_chain_set_bypass(c, 1, (k / 50) & 1);
		/* Time-based and latency effects: glides, tempo, bypass. */
		if (k % 17 == 0)
			fx_chain_set_param(c, 14, 0, 50 + (k * 7) % 900, NULL);
		if (k % 100 == 0)
			fx_chain_set_tempo(c, 60 + k % 120);
		if (k % 60 == 0)
			fx_chain_set_bypass(c, 17, (k / 60) & 1);
		if (k == 3000)
			l[5] = NAN; /* the non-finite guard's path too */
		fx_chain_process(c, buf, (k % 3) ? 256 : 64 + k % 192);
		chunks++;
	}
	fx_chain_reset(c);
	armed = 0;
	ck_assert_int_eq(chunks, 4000);
	ck_assert_uint_eq(fx_chain_nonfinite_count(c), 1);
	ck_assert_msg(calls == 0, "%ld allocator calls on the chunk path", calls);
	fx_chain_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *t = tcase_create("alloc");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, wrappers_count);
	tcase_add_test(t, chunk_path_allocates_nothing);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return fx_test_run(suite());
}
