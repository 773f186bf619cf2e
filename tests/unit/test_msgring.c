/* SPDX-License-Identifier: ISC */
/* Tests for daemon/base/msgring.c: whole messages in order, wraparound,
 * a full ring refusing (and counting) rather than tearing, a message
 * longer than the reader's buffer, and a two-thread stress run whose every
 * message is checked byte for byte. */
#include "tests/fxtest.h"
#include "dsp/msgring.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

/* Byte @p i of message @p n: distinct per message and place. */
static uint8_t byte_of(uint32_t n, size_t i)
{
	return (uint8_t)(n * 131u + i * 7u + 1u);
}

static size_t length_of(uint32_t n)
{
	return (n * 37u) % 300u; /* 0..299, zero-length ones included */
}

START_TEST(messages_come_out_whole_and_in_order)
{
	FxMsgRing *r = fx_msgring_new(256);
	ck_assert_ptr_nonnull(r);
	uint8_t in[64], out[64];
	/* Enough rounds to wrap the 256-byte ring many times. */
	for (uint32_t n = 0; n < 1000; n++) {
		size_t len = n % 50;
		for (size_t i = 0; i < len; i++)
			in[i] = byte_of(n, i);
		ck_assert_int_eq(fx_msgring_write(r, n % 7, n, in, len), 1);
		uint32_t tag, id;
		size_t got;
		ck_assert_int_eq(
			fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 1);
		ck_assert_uint_eq(tag, n % 7);
		ck_assert_uint_eq(id, n);
		ck_assert_uint_eq(got, len);
		ck_assert_mem_eq(out, in, len);
	}
	uint32_t tag, id;
	size_t got;
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 0);
	ck_assert_uint_eq(fx_msgring_refused(r), 0);
	fx_msgring_free(r);
}
END_TEST

START_TEST(a_full_ring_refuses_and_counts)
{
	FxMsgRing *r = fx_msgring_new(128); /* 128 bytes: headers take 12 */
	uint8_t in[100] = {0};
	ck_assert_int_eq(fx_msgring_write(r, 1, 1, in, 100), 1);
	ck_assert_int_eq(fx_msgring_write(r, 1, 2, in, 20), 0);
	ck_assert_int_eq(fx_msgring_write(r, 1, 3, in, 200), 0);
	ck_assert_uint_eq(fx_msgring_refused(r), 2);
	ck_assert_int_eq(fx_msgring_write(r, 1, 4, in, 4), 1); /* 12+4 fit */
	uint8_t out[128];
	uint32_t tag, id;
	size_t got;
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 1);
	ck_assert_uint_eq(id, 1);
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 1);
	ck_assert_uint_eq(id, 4);
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 0);
	fx_msgring_free(r);
}
END_TEST

START_TEST(a_message_longer_than_the_buffer_is_consumed_and_measured)
{
	FxMsgRing *r = fx_msgring_new(256);
	uint8_t in[40], out[8];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = byte_of(9, i);
	fx_msgring_write(r, 2, 9, in, sizeof in);
	fx_msgring_write(r, 3, 10, in, 4);
	uint32_t tag, id;
	size_t got;
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 1);
	ck_assert_uint_eq(got, sizeof in);
	ck_assert_mem_eq(out, in, sizeof out);
	ck_assert_int_eq(fx_msgring_read(r, &tag, &id, out, sizeof out, &got), 1);
	ck_assert_uint_eq(id, 10);
	ck_assert_uint_eq(got, 4);
	fx_msgring_free(r);
}
END_TEST

enum { STRESS = 20000 };

static void *producer(void *arg)
{
	FxMsgRing *r = arg;
	uint8_t in[300];
	for (uint32_t n = 0; n < STRESS;) {
		size_t len = length_of(n);
		for (size_t i = 0; i < len; i++)
			in[i] = byte_of(n, i);
		if (fx_msgring_write(r, n & 0xff, n, in, len))
			n++;
		else
			sched_yield(); /* full: let the reader run */
	}
	return NULL;
}

START_TEST(two_threads_pass_every_message_intact)
{
	FxMsgRing *r = fx_msgring_new(4096);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, producer, r), 0);
	uint8_t out[300], want[300];
	uint32_t next = 0;
	while (next < STRESS) {
		uint32_t tag, id;
		size_t len;
		if (!fx_msgring_read(r, &tag, &id, out, sizeof out, &len)) {
			sched_yield(); /* empty: let the writer run */
			continue;
		}
		ck_assert_uint_eq(id, next);
		ck_assert_uint_eq(tag, next & 0xff);
		ck_assert_uint_eq(len, length_of(next));
		for (size_t i = 0; i < len; i++)
			want[i] = byte_of(next, i);
		ck_assert(memcmp(out, want, len) == 0);
		next++;
	}
	pthread_join(t, NULL);
	/* The producer retried what was refused: refusals were counted. */
	fx_msgring_free(r);
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"core", 0, .tests = {
			{messages_come_out_whole_and_in_order, 0},
			{a_full_ring_refuses_and_counts, 0},
			{a_message_longer_than_the_buffer_is_consumed_and_measured, 0},
		}},
		/* Generous: the same test runs under TSan and ASan. */
		{"stress", 120, .tests = {
			{two_threads_pass_every_message_intact, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("msgring", cases));
}
