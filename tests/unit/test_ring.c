/* SPDX-License-Identifier: ISC */
/* Tests for dsp/ring.c: bookkeeping, all-or-nothing moves, wraparound and
 * a two-thread producer/consumer stress run. */
#include "tests/fxtest.h"
#include "dsp/ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAXCH 4
#define MAXBUF 4096

/* Planar scratch buffers and the pointer arrays the ring API takes. */
typedef struct {
	float buf[MAXCH][MAXBUF];
	float *p[MAXCH];
} Planes;

static void planes_init(Planes *pl, float fill)
{
	for (int c = 0; c < MAXCH; c++) {
		for (int i = 0; i < MAXBUF; i++)
			pl->buf[c][i] = fill;
		pl->p[c] = pl->buf[c];
	}
}

/* Distinct, exact-in-float value for frame @p n of channel @p c. */
static float val(size_t n, int c)
{
	return (float)(c * 100000 + (int)(n % 100000) + 1);
}

static void fill_seq(Planes *pl, int channels, size_t first, size_t frames)
{
	for (int c = 0; c < channels; c++)
		for (size_t i = 0; i < frames; i++)
			pl->buf[c][i] = val(first + i, c);
}

static void check_seq(const Planes *pl, int channels, size_t first, size_t frames)
{
	for (int c = 0; c < channels; c++)
		for (size_t i = 0; i < frames; i++)
			ck_assert_msg(pl->buf[c][i] == val(first + i, c),
			              "ch %d frame %zu: got %g want %g", c,
			              first + i, (double)pl->buf[c][i],
			              (double)val(first + i, c));
}

static FxRing *make(int channels, size_t min_frames)
{
	FxStatus st = FX_ERR_IO;
	FxRing *r = fx_ring_new(channels, min_frames, &st);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(st, FX_OK);
	return r;
}

START_TEST(test_capacity_rounding)
{
	static const struct {
		size_t min, cap;
	} cases[] = {
		{1, 1},       {2, 2},       {3, 4},       {5, 8},
		{1000, 1024}, {1024, 1024}, {1025, 2048}, {48000, 65536},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FxRing *r = make(3, cases[i].min);
		ck_assert_uint_eq(fx_ring_capacity(r), cases[i].cap);
		ck_assert_int_eq(fx_ring_channels(r), 3);
		ck_assert_uint_eq(fx_ring_available_read(r), 0);
		ck_assert_uint_eq(fx_ring_available_write(r), cases[i].cap);
		fx_ring_free(r);
	}
}
END_TEST

START_TEST(test_invalid_args)
{
	static const struct {
		int channels;
		size_t min;
	} bad[] = {
		{0, 16},
		{-1, 16},
		{65, 16},
		{2, 0},
		{2, SIZE_MAX},
		{2, SIZE_MAX / 2 + 2},
		{2, ((size_t)1 << 40)},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FxStatus st = FX_OK;
		FxRing *r = fx_ring_new(bad[i].channels, bad[i].min, &st);
		ck_assert_msg(r == NULL, "case %zu accepted", i);
		ck_assert_int_eq(st, FX_ERR_INVALID);
	}
	ck_assert_str_eq(fx_strerror(FX_ERR_INVALID), "invalid argument");

	/* The limits themselves are fine. */
	FxRing *r = make(64, 1);
	ck_assert_int_eq(fx_ring_channels(r), 64);
	fx_ring_free(r);
	fx_ring_free(NULL);
}
END_TEST

START_TEST(test_bookkeeping)
{
	static Planes in, out;
	planes_init(&in, 0);
	planes_init(&out, 0);
	FxRing *r = make(2, 16);
	fill_seq(&in, 2, 0, 16);

	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 5), 5);
	ck_assert_uint_eq(fx_ring_available_read(r), 5);
	ck_assert_uint_eq(fx_ring_available_write(r), 11);

	ck_assert_uint_eq(fx_ring_read(r, out.p, 3), 3);
	check_seq(&out, 2, 0, 3);
	ck_assert_uint_eq(fx_ring_available_read(r), 2);
	ck_assert_uint_eq(fx_ring_available_write(r), 14);

	/* Fill to exactly full: capacity frames are usable. */
	fill_seq(&in, 2, 5, 14);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 14), 14);
	ck_assert_uint_eq(fx_ring_available_read(r), 16);
	ck_assert_uint_eq(fx_ring_available_write(r), 0);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 1), 0);
	ck_assert_uint_eq(fx_ring_write_silence(r, 1), 0);

	ck_assert_uint_eq(fx_ring_read(r, out.p, 16), 16);
	check_seq(&out, 2, 3, 16);
	ck_assert_uint_eq(fx_ring_available_read(r), 0);
	ck_assert_uint_eq(fx_ring_available_write(r), 16);

	/* Zero frames is never a move. */
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 0), 0);
	ck_assert_uint_eq(fx_ring_write_silence(r, 0), 0);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 0), 0);
	ck_assert_uint_eq(fx_ring_peek(r, out.p, 0), 0);
	ck_assert_uint_eq(fx_ring_advance(r, 0), 0);
	ck_assert_uint_eq(fx_ring_available_write(r), 16);
	fx_ring_free(r);
}
END_TEST

START_TEST(test_all_or_nothing)
{
	static Planes in, out;
	planes_init(&in, 0);
	planes_init(&out, -7.0f);
	FxRing *r = make(2, 8);
	fill_seq(&in, 2, 0, 8);

	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 5), 5);
	/* 4 > 3 free: refused whole, counts unchanged. */
	fill_seq(&in, 2, 1000, 8);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 4), 0);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 9), 0);
	ck_assert_uint_eq(fx_ring_write_silence(r, 4), 0);
	ck_assert_uint_eq(fx_ring_available_read(r), 5);
	ck_assert_uint_eq(fx_ring_available_write(r), 3);

	/* Too many asked of the consumer side: nothing moves or is copied. */
	ck_assert_uint_eq(fx_ring_read(r, out.p, 6), 0);
	ck_assert_uint_eq(fx_ring_peek(r, out.p, 6), 0);
	ck_assert_uint_eq(fx_ring_advance(r, 6), 0);
	ck_assert_uint_eq(fx_ring_available_read(r), 5);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 8; i++)
			ck_assert(out.buf[c][i] == -7.0f);

	/* The refused writes left no trace: the 5 frames are the first ones
	 * and the ring still takes exactly 3 more. */
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 3), 3);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 5), 5);
	check_seq(&out, 2, 0, 5);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 3), 3);
	check_seq(&out, 2, 1000, 3);
	ck_assert_uint_eq(fx_ring_available_read(r), 0);
	fx_ring_free(r);
}
END_TEST

START_TEST(test_peek_advance)
{
	static Planes in, out, out2;
	planes_init(&in, 0);
	planes_init(&out, 0);
	planes_init(&out2, 0);
	FxRing *r = make(3, 32);
	fill_seq(&in, 3, 0, 20);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 20), 20);

	/* Peek copies without consuming, and twice gives the same frames. */
	ck_assert_uint_eq(fx_ring_peek(r, out.p, 7), 7);
	check_seq(&out, 3, 0, 7);
	ck_assert_uint_eq(fx_ring_available_read(r), 20);
	ck_assert_uint_eq(fx_ring_available_write(r), 12);
	ck_assert_uint_eq(fx_ring_peek(r, out2.p, 7), 7);
	check_seq(&out2, 3, 0, 7);

	/* Advance drops frames; the next read continues after them. */
	ck_assert_uint_eq(fx_ring_advance(r, 7), 7);
	ck_assert_uint_eq(fx_ring_available_read(r), 13);
	ck_assert_uint_eq(fx_ring_available_write(r), 19);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 4), 4);
	check_seq(&out, 3, 7, 4);
	ck_assert_uint_eq(fx_ring_advance(r, 9), 9);
	ck_assert_uint_eq(fx_ring_available_read(r), 0);
	ck_assert_uint_eq(fx_ring_advance(r, 1), 0);
	ck_assert_uint_eq(fx_ring_peek(r, out.p, 1), 0);
	fx_ring_free(r);
}
END_TEST

START_TEST(test_wraparound_multichannel)
{
	static Planes in, out;
	planes_init(&in, 0);
	planes_init(&out, 0);
	const int ch = MAXCH;
	FxRing *r = make(ch, 8);
	ck_assert_uint_eq(fx_ring_capacity(r), 8);

	/* Move the indices to 6, then write 5 frames across the end (slots
	 * 6, 7, 0, 1, 2) and read them back split across it too. */
	fill_seq(&in, ch, 0, 6);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 6), 6);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 6), 6);
	check_seq(&out, ch, 0, 6);
	fill_seq(&in, ch, 6, 5);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 5), 5);
	ck_assert_uint_eq(fx_ring_peek(r, out.p, 5), 5);
	check_seq(&out, ch, 6, 5);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 5), 5);
	check_seq(&out, ch, 6, 5);

	/* Many laps with every block size and start offset. */
	size_t wn = 11, rn = 11;
	for (int lap = 0; lap < 400; lap++) {
		size_t w = (size_t)(lap % 8) + 1;
		fill_seq(&in, ch, wn, w);
		ck_assert_uint_eq(
			fx_ring_write(r, (const float *const *)in.p, w), w);
		wn += w;
		size_t avail = fx_ring_available_read(r);
		ck_assert_uint_eq(avail, wn - rn);
		size_t n = (size_t)(lap * 5 % 7) + 1;
		if (n > avail)
			n = avail;
		ck_assert_uint_eq(fx_ring_read(r, out.p, n), n);
		check_seq(&out, ch, rn, n);
		rn += n;
		/* Keep room for the next write of up to 8. */
		size_t left = wn - rn;
		if (left > 0) {
			ck_assert_uint_eq(fx_ring_read(r, out.p, left), left);
			check_seq(&out, ch, rn, left);
			rn += left;
		}
	}

	/* A one-frame ring wraps on every frame. */
	FxRing *one = make(2, 1);
	ck_assert_uint_eq(fx_ring_capacity(one), 1);
	for (size_t n = 0; n < 10; n++) {
		fill_seq(&in, 2, n, 1);
		ck_assert_uint_eq(
			fx_ring_write(one, (const float *const *)in.p, 1), 1);
		ck_assert_uint_eq(
			fx_ring_write(one, (const float *const *)in.p, 1), 0);
		ck_assert_uint_eq(fx_ring_read(one, out.p, 1), 1);
		check_seq(&out, 2, n, 1);
	}
	fx_ring_free(one);
	fx_ring_free(r);
}
END_TEST

START_TEST(test_write_silence)
{
	static Planes in, out;
	planes_init(&in, 0);
	planes_init(&out, -1.0f);
	FxRing *r = make(2, 8);

	/* Dirty every slot, then silence must overwrite them, wrapping. */
	fill_seq(&in, 2, 0, 8);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 8), 8);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 8), 8);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 6), 6);
	ck_assert_uint_eq(fx_ring_write_silence(r, 3), 0); /* only 2 free */
	ck_assert_uint_eq(fx_ring_available_read(r), 6);
	ck_assert_uint_eq(fx_ring_advance(r, 6), 6);
	ck_assert_uint_eq(fx_ring_write_silence(r, 9), 0);
	ck_assert_uint_eq(fx_ring_available_write(r), 8);
	ck_assert_uint_eq(fx_ring_write_silence(r, 8), 8); /* slots 6, 7, 0..5 */
	ck_assert_uint_eq(fx_ring_available_read(r), 8);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 8), 8);
	for (int c = 0; c < 2; c++)
		for (int i = 0; i < 8; i++)
			ck_assert_msg(out.buf[c][i] == 0.0f,
			              "ch %d frame %d = %g", c, i,
			              (double)out.buf[c][i]);
	ck_assert(out.buf[0][8] == -1.0f); /* nothing past the 8 asked for */

	/* Silence interleaves with data in order. */
	fill_seq(&in, 2, 50, 2);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 2), 2);
	ck_assert_uint_eq(fx_ring_write_silence(r, 2), 2);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 4), 4);
	check_seq(&out, 2, 50, 2);
	ck_assert(out.buf[0][2] == 0.0f && out.buf[1][3] == 0.0f);
	fx_ring_free(r);
}
END_TEST

START_TEST(test_clear)
{
	static Planes in, out;
	planes_init(&in, 0);
	planes_init(&out, 0);
	FxRing *r = make(2, 16);
	fill_seq(&in, 2, 0, 16);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 13), 13);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 2), 2);

	fx_ring_clear(r);
	ck_assert_uint_eq(fx_ring_available_read(r), 0);
	ck_assert_uint_eq(fx_ring_available_write(r), 16);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 1), 0);
	ck_assert_uint_eq(fx_ring_capacity(r), 16);

	/* Works as new: full capacity, fresh data first. */
	fill_seq(&in, 2, 500, 16);
	ck_assert_uint_eq(fx_ring_write(r, (const float *const *)in.p, 16), 16);
	ck_assert_uint_eq(fx_ring_read(r, out.p, 16), 16);
	check_seq(&out, 2, 500, 16);
	fx_ring_free(r);
}
END_TEST

/* ---- two-thread stress ---- */

#define ST_CH 2
#define ST_CAP 256
#define ST_MASK24 0xFFFFFFu

typedef struct {
	FxRing *ring;
	size_t total;
	size_t refused;     ///< producer: writes refused for lack of room
	size_t short_reads; ///< consumer: reads refused for lack of data
	size_t bad;         ///< consumer: first wrong frame + 1, or 0
	atomic_bool quit;   ///< consumer gave up: the producer must not spin on
} Stress;

static uint32_t rnd(uint32_t *s)
{
	/* xorshift32: cheap, and the sequence is the same every run. */
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static float sval(size_t n, int c)
{
	return (float)((uint32_t)(n * ST_CH + (size_t)c) & ST_MASK24);
}

static void *producer(void *arg)
{
	Stress *s = arg;
	float buf[ST_CH][ST_CAP];
	const float *p[ST_CH];
	for (int c = 0; c < ST_CH; c++)
		p[c] = buf[c];
	uint32_t seed = 0x12345678u;
	size_t n = 0;
	while (n < s->total) {
		size_t len = rnd(&seed) % ST_CAP + 1;
		if (len > s->total - n)
			len = s->total - n;
		for (int c = 0; c < ST_CH; c++)
			for (size_t i = 0; i < len; i++)
				buf[c][i] = sval(n + i, c);
		while (fx_ring_write(s->ring, p, len) == 0) {
			if (atomic_load_explicit(&s->quit, memory_order_relaxed))
				return NULL;
			s->refused++;
			sched_yield();
		}
		n += len;
	}
	return NULL;
}

static void consume(Stress *s)
{
	float buf[ST_CH][ST_CAP];
	float *p[ST_CH];
	for (int c = 0; c < ST_CH; c++)
		p[c] = buf[c];
	uint32_t seed = 0x9E3779B9u;
	size_t n = 0;
	while (n < s->total && !s->bad) {
		uint32_t x = rnd(&seed);
		size_t len = x % ST_CAP + 1;
		if (len > s->total - n)
			len = s->total - n;
		/* One block in four goes through peek + advance. */
		int via_peek = (x >> 16) % 4 == 0;
		for (;;) {
			size_t got = via_peek ? fx_ring_peek(s->ring, p, len)
			                      : fx_ring_read(s->ring, p, len);
			if (got == len)
				break;
			if (got != 0) {
				s->bad = n + 1;
				return;
			}
			/* Refused whole. Take what is there instead: waiting for
			 * all of len could deadlock against a producer that is
			 * itself waiting for room for a big block. */
			s->short_reads++;
			size_t avail = fx_ring_available_read(s->ring);
			if (avail > 0) {
				len = avail < len ? avail : len;
				continue;
			}
			sched_yield();
		}
		for (int c = 0; c < ST_CH; c++)
			for (size_t i = 0; i < len; i++)
				if (buf[c][i] != sval(n + i, c) && !s->bad)
					s->bad = n + i + 1;
		if (via_peek && fx_ring_advance(s->ring, len) != len && !s->bad)
			s->bad = n + 1;
		n += len;
	}
}

static void *consumer(void *arg)
{
	Stress *s = arg;
	consume(s);
	atomic_store_explicit(&s->quit, true, memory_order_relaxed);
	return NULL;
}

/* Runs @p producing and @p consuming on two threads over @p arg, to the end. */
static void run_pair(void *(*producing)(void *), void *(*consuming)(void *),
                     void *arg)
{
	pthread_t tp, tc;
	ck_assert_int_eq(pthread_create(&tc, NULL, consuming, arg), 0);
	ck_assert_int_eq(pthread_create(&tp, NULL, producing, arg), 0);
	ck_assert_int_eq(pthread_join(tp, NULL), 0);
	ck_assert_int_eq(pthread_join(tc, NULL), 0);
}

START_TEST(test_stress_spsc)
{
	Stress s = {0};
	s.total = getenv("FX_TEST_QUICK") ? 200000 : 4000000;
	s.ring = make(ST_CH, ST_CAP);
	ck_assert_uint_eq(fx_ring_capacity(s.ring), ST_CAP);
	run_pair(producer, consumer, &s);

	ck_assert_msg(s.bad == 0, "wrong data at frame %zu", s.bad - 1);
	ck_assert_uint_eq(fx_ring_available_read(s.ring), 0);
	ck_assert_uint_eq(fx_ring_available_write(s.ring), ST_CAP);
	fprintf(stderr,
	        "# stress: %zu frames, %zu refused writes, "
	        "%zu refused reads\n",
	        s.total, s.refused, s.short_reads);
	fx_ring_free(s.ring);
}
END_TEST

/* ---- records: a header and its frames in one transaction ---- */

START_TEST(test_record_room_and_limit)
{
	FxStatus st = FX_OK;
	ck_assert_uint_eq(fx_ring_record_room(64), 65);
	/* 3 records of 64: 195 frames of room in a 256-frame ring, and a
	 * fourth is refused although the capacity has 61 frames left. */
	FxRing *r = fx_ring_new_records(2, 64, 3, &st);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(st, FX_OK);
	ck_assert_uint_eq(fx_ring_capacity(r), 256);
	ck_assert_uint_eq(fx_ring_available_write(r), 195);
	Planes in;
	planes_init(&in, 1.0f);
	for (uint32_t k = 0; k < 3; k++)
		ck_assert_uint_eq(fx_ring_write_record(
					  r, k, (const float *const *)in.p, 64),
		                  64);
	ck_assert_uint_eq(fx_ring_available_write(r), 0);
	ck_assert_uint_eq(
		fx_ring_write_record(r, 3, (const float *const *)in.p, 1), 0);
	ck_assert_uint_eq(fx_ring_available_read(r), 195);
	fx_ring_free(r);
	st = FX_OK;
	ck_assert_ptr_null(fx_ring_new_records(2, 0, 3, &st));
	ck_assert_int_eq(st, FX_ERR_INVALID);
	st = FX_OK;
	ck_assert_ptr_null(fx_ring_new_records(2, 64, 0, &st));
	ck_assert_int_eq(st, FX_ERR_INVALID);
}
END_TEST

START_TEST(test_record_round_trip_and_all_or_nothing)
{
	FxStatus st;
	/* 5 records of 48 frames in a 256-frame ring: they wrap around its
	 * end at every offset the writes reach, headers included. */
	FxRing *r = fx_ring_new_records(3, 48, 5, &st);
	ck_assert_ptr_nonnull(r);
	Planes in, out;
	planes_init(&in, 0.0f);
	planes_init(&out, -1.0f);
	/* Headers whose bits are no ordinary float: a NaN payload, all ones. */
	const uint32_t headers[] = {0,           1,           0x7FC00001u,
	                            0xFFFFFFFFu, 0x80000000u, 12345};
	uint32_t h;
	size_t first = 0, next = 0;
	for (int round = 0; round < 40; round++) {
		uint32_t want = headers[round % 6] ^ (uint32_t)round;
		fill_seq(&in, 3, next, 48);
		ck_assert_uint_eq(
			fx_ring_write_record(r, want,
		                             (const float *const *)in.p, 48),
			48);
		next += 48;
		/* Nothing of a record is readable as a shorter one's header:
		 * asking for a record longer than what is there reads none. */
		ck_assert_int_eq(fx_ring_peek_header(r, 49 * 5, &h), 0);
		ck_assert_uint_eq(fx_ring_read_record(r, &h, out.p, 49 * 5), 0);
		ck_assert_int_eq(fx_ring_peek_header(r, 48, &h), 1);
		if (round % 3 == 2) {
			/* Every third is dropped unread, after a peek. */
			ck_assert_uint_eq(h, want);
			ck_assert_uint_eq(fx_ring_drop_record(r, 48), 48);
		} else {
			h = 0;
			ck_assert_uint_eq(fx_ring_read_record(r, &h, out.p, 48),
			                  48);
			ck_assert_uint_eq(h, want);
			check_seq(&out, 3, first, 48);
		}
		first = next;
		ck_assert_uint_eq(fx_ring_available_read(r), 0);
	}
	/* Empty: nothing to peek, read or drop; a full ring refuses whole. */
	ck_assert_int_eq(fx_ring_peek_header(r, 48, &h), 0);
	ck_assert_uint_eq(fx_ring_read_record(r, &h, out.p, 48), 0);
	ck_assert_uint_eq(fx_ring_drop_record(r, 48), 0);
	for (int k = 0; k < 5; k++)
		ck_assert_uint_eq(
			fx_ring_write_record(r, (uint32_t)k,
		                             (const float *const *)in.p, 48),
			48);
	ck_assert_uint_eq(
		fx_ring_write_record(r, 5, (const float *const *)in.p, 48), 0);
	for (uint32_t k = 0; k < 5; k++) {
		ck_assert_uint_eq(fx_ring_read_record(r, &h, out.p, 48), 48);
		ck_assert_uint_eq(h, k);
	}
	ck_assert_uint_eq(fx_ring_write_record(r, 0, NULL, 48), 0);
	fx_ring_free(r);
}
END_TEST

/* Two threads: every record's header names the frames that came with it,
 * which a header written apart from its frames would not always do. */
#define RS_FRAMES 37
#define RS_RECORDS 7

typedef struct {
	FxRing *ring;
	uint32_t total;
	uint32_t bad; ///< consumer: first wrong record + 1, or 0
	atomic_bool quit;
} RecordStress;

static void *record_producer(void *arg)
{
	RecordStress *s = arg;
	float buf[ST_CH][RS_FRAMES];
	const float *p[ST_CH] = {buf[0], buf[1]};
	for (uint32_t k = 0; k < s->total; k++) {
		for (int c = 0; c < ST_CH; c++)
			for (int i = 0; i < RS_FRAMES; i++)
				buf[c][i] = sval((size_t)k * RS_FRAMES + i, c);
		while (!fx_ring_write_record(s->ring, k, p, RS_FRAMES)) {
			if (atomic_load_explicit(&s->quit, memory_order_relaxed))
				return NULL;
			sched_yield();
		}
	}
	return NULL;
}

static void *record_consumer(void *arg)
{
	RecordStress *s = arg;
	float buf[ST_CH][RS_FRAMES];
	float *p[ST_CH] = {buf[0], buf[1]};
	for (uint32_t k = 0; k < s->total && !s->bad;) {
		uint32_t h;
		if (!fx_ring_read_record(s->ring, &h, p, RS_FRAMES)) {
			sched_yield();
			continue;
		}
		if (h != k)
			s->bad = k + 1;
		for (int c = 0; c < ST_CH; c++)
			for (int i = 0; i < RS_FRAMES; i++)
				if (buf[c][i] !=
				            sval((size_t)h * RS_FRAMES + i, c) &&
				    !s->bad)
					s->bad = k + 1;
		k++;
	}
	atomic_store_explicit(&s->quit, true, memory_order_relaxed);
	return NULL;
}

START_TEST(test_stress_records)
{
	RecordStress s = {0};
	FxStatus st;
	s.total = getenv("FX_TEST_QUICK") ? 20000 : 200000;
	s.ring = fx_ring_new_records(ST_CH, RS_FRAMES, RS_RECORDS, &st);
	ck_assert_ptr_nonnull(s.ring);
	run_pair(record_producer, record_consumer, &s);
	ck_assert_msg(s.bad == 0, "wrong record %u", s.bad - 1);
	ck_assert_uint_eq(fx_ring_available_read(s.ring), 0);
	fx_ring_free(s.ring);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"core", 0, .tests = {
			{test_capacity_rounding, 0},
			{test_invalid_args, 0},
			{test_bookkeeping, 0},
			{test_all_or_nothing, 0},
			{test_peek_advance, 0},
			{test_wraparound_multichannel, 0},
			{test_write_silence, 0},
			{test_clear, 0},
			{test_record_room_and_limit, 0},
			{test_record_round_trip_and_all_or_nothing, 0},
		}},
		/* Generous: the same test runs under TSan and ASan. */
		{"stress", 120, .tests = {
			{test_stress_spsc, 0},
			{test_stress_records, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("ring", cases));
}
