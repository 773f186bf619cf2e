/* SPDX-License-Identifier: ISC */
/* fxd — the OSC server's counters: one type, shared by the server
 * (osc.h), which reports them, and the subscribers (subscribers.h), which
 * count their part; a header of its own so neither includes the other. */
#ifndef FX_OSC_COUNTERS_H
#define FX_OSC_COUNTERS_H

/** Counters for tests and stats. */
typedef struct {
	unsigned long long received, rejected, dropped, kernel_drops, send_errors;
	int subscribers;
	/** Subscribers removed: the host said nothing listens on the port
	 *  (ICMP port unreachable), the lease ran out, or a new one needed
	 *  the room. */
	unsigned long long subs_unreachable, subs_expired, subs_evicted;
	/** TCP connections closed for silence, or to make room. */
	unsigned long long tcp_timed_out, tcp_evicted;
	/** /fxd/fail copies sent to subscribers, and those held back by
	 *  the rate limit or merged as repeats. */
	unsigned long long fails_forwarded, fails_skipped;
	/** HTTP: requests answered, connections refused (allowlist, full),
	 *  WebSocket clients accepted, their frames taken, and frames lost
	 *  to a full ring or a slow client's full queue. */
	unsigned long long http_requests, http_refused, ws_opened, ws_received,
		http_dropped;
} FxOscCounters;

#endif
