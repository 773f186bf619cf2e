/* SPDX-License-Identifier: ISC */
/* Addresses given as option values (daemon/base/netaddr.h) on their own:
 * CIDR lists, HOST:PORT targets, alias pairs, and the option checks that
 * fxd's option table runs over them. */
#include "tests/fxtest.h"

#include <arpa/inet.h>
#include <string.h>

#include "daemon/base/netaddr.h"

START_TEST(cidr_lists)
{
	FxCidr c[FX_NETADDR_MAX_CIDRS];
	int n = -1;
	char err[160] = "";
	ck_assert_int_eq(fx_netaddr_parse_cidrs(" 192.168.1.77/24 , 10.0.0.5,"
	                                        "0.0.0.0/0",
	                                        c, FX_NETADDR_MAX_CIDRS, &n,
	                                        err, sizeof err),
	                 FX_OK);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(c[0].net, 0xc0a80100u); /* host bits cleared */
	ck_assert_uint_eq(c[0].mask, 0xffffff00u);
	ck_assert_uint_eq(c[1].net, 0x0a000005u);
	ck_assert_uint_eq(c[1].mask, 0xffffffffu);
	ck_assert_uint_eq(c[2].mask, 0);
	static const char *const bad[] = {
		"",           "10.0.0.1/33",  "10.0.0.1/",   "10.0.0/8",
		"10.0.0.1,,", "host.example", "10.0.0.1/-1", "::1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(fx_netaddr_parse_cidrs(
				      bad[i], c, FX_NETADDR_MAX_CIDRS, &n, err,
				      sizeof err) == FX_ERR_SYNTAX,
		              "accepted '%s'", bad[i]);
		ck_assert_str_eq(err, "is not a list of IPv4 networks like "
		                      "192.168.1.0/24,10.0.0.5 (at most 16)");
	}
	/* One more than the list holds. */
	ck_assert_int_eq(fx_netaddr_parse_cidrs("1.1.1.1,2.2.2.2,3.3.3.3", c, 2,
	                                        &n, NULL, 0),
	                 FX_ERR_SYNTAX);
}
END_TEST

START_TEST(host_port_targets)
{
	struct sockaddr_in a;
	char err[128] = "";
	ck_assert_int_eq(fx_netaddr_parse_host_port("127.0.0.1:9000", &a, err,
	                                            sizeof err),
	                 FX_OK);
	ck_assert_int_eq(a.sin_family, AF_INET);
	ck_assert_int_eq(ntohs(a.sin_port), 9000);
	ck_assert_uint_eq(ntohl(a.sin_addr.s_addr), 0x7f000001u);
	static const char *const bad[] = {"127.0.0.1",     ":9000",
	                                  "127.0.0.1:0",   "127.0.0.1:65536",
	                                  "127.0.0.1:90x", "localhost:9000",
	                                  "127.0.0.1:"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(fx_netaddr_parse_host_port(bad[i], &a, err,
		                                         sizeof err) ==
		                      FX_ERR_SYNTAX,
		              "accepted '%s'", bad[i]);
		ck_assert_str_eq(err, "is not HOST:PORT with a numeric IPv4 "
		                      "host (no DNS names)");
	}
}
END_TEST

START_TEST(alias_pairs)
{
	ck_assert_ptr_null(fx_netaddr_alias_problem("/1/fader1=/fx/vol/db"));
	ck_assert_str_eq(fx_netaddr_alias_problem("/1/fader1"),
	                 "is not FROM=TO with two OSC addresses");
	ck_assert_str_eq(fx_netaddr_alias_problem("/1/f=fx/vol"),
	                 "is not FROM=TO with two OSC addresses");
	static const char *const bad[] = {"/1/f/=/fx/vol", "/1/f=/fx/vol/",
	                                  "/1/*=/fx/vol", "/1/f=/fx/{a,b}",
	                                  "/1/f x=/fx/vol"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_str_eq(fx_netaddr_alias_problem(bad[i]),
		                 "must not contain spaces, patterns or a "
		                 "trailing '/'");
}
END_TEST

START_TEST(option_checks)
{
	char buf[160];
	ck_assert_ptr_null(fx_netaddr_check_ipv4("10.1.2.3", buf, sizeof buf));
	ck_assert_str_eq(fx_netaddr_check_ipv4("10.1.2", buf, sizeof buf),
	                 "is not a numeric IPv4 address");
	ck_assert_ptr_null(fx_netaddr_check_cidrs("10.0.0.0/8", buf, sizeof buf));
	ck_assert_ptr_eq(fx_netaddr_check_cidrs("10/8", buf, sizeof buf), buf);
	ck_assert_str_eq(fx_netaddr_check_cidrs("10/8", NULL, 0),
	                 "is not a list of IPv4 networks");
	ck_assert_ptr_null(fx_netaddr_check_target("10.0.0.1:1", buf, sizeof buf));
	ck_assert_ptr_eq(fx_netaddr_check_target("10.0.0.1", buf, sizeof buf),
	                 buf);
	ck_assert_str_eq(fx_netaddr_check_target("x", NULL, 0),
	                 "is not HOST:PORT");
	ck_assert_ptr_null(fx_netaddr_check_alias("/a=/b", NULL, 0));
	ck_assert_ptr_nonnull(fx_netaddr_check_alias("/a=b", NULL, 0));
}
END_TEST

int main(void)
{
	/* One line per case and per test. */
	/* clang-format off */
	const FxTestCase cases[] = {
		{"parse", 0, .tests = {
			{cidr_lists, 0},
			{host_port_targets, 0},
			{alias_pairs, 0},
			{option_checks, 0},
		}},
		{.name = NULL},
	};
	/* clang-format on */
	return fx_test_run(fx_test_suite("netaddr", cases));
}
