#include <doctest/doctest.h>

#include "base/net.h"

using namespace natc::base;

TEST_CASE("addresses parse in both families and print back") {
  auto v4 = parse_addr("203.0.113.50");
  REQUIRE(v4);
  CHECK(v4->family == Family::V4);
  CHECK(to_string(*v4) == "203.0.113.50");
  auto v6 = parse_addr("2001:DB8::1");
  REQUIRE(v6);
  CHECK(v6->family == Family::V6);
  CHECK(to_string(*v6) == "2001:db8::1");
  CHECK_FALSE(parse_addr("10.0.0.300"));
  CHECK_FALSE(parse_addr("203.0.113"));
  CHECK_FALSE(parse_addr(""));
}

TEST_CASE("a prefix with host bits set is refused with the network it meant") {
  Prefix p;
  CHECK(parse_prefix("10.0.0.0/24", &p) == PrefixError::None);
  CHECK(to_string(p) == "10.0.0.0/24");
  CHECK(parse_prefix("10.0.0.1/24", &p) == PrefixError::HostBits);
  CHECK(to_string(p) == "10.0.0.0/24");
  CHECK(parse_prefix("10.0.0.0/33", &p) == PrefixError::Length);
  CHECK(parse_prefix("fd00::/129", &p) == PrefixError::Length);
  CHECK(parse_prefix("fd00::/64", &p) == PrefixError::None);
  CHECK(parse_prefix("10.0.0.5", &p) == PrefixError::None);
  CHECK(p.len == 32);
  CHECK(parse_prefix("nope/8", &p) == PrefixError::Syntax);
}

TEST_CASE("ranges print as the shortest form and know their size") {
  Prefix p;
  REQUIRE(parse_prefix("203.0.113.60/30", &p) == PrefixError::None);
  AddrRange r = to_range(p);
  CHECK(to_string(r.last) == "203.0.113.63");
  CHECK(r.count() == 4);
  CHECK(to_string(r) == "203.0.113.60/30");
  AddrRange odd{*parse_addr("203.0.113.61"), *parse_addr("203.0.113.63")};
  CHECK(to_string(odd) == "203.0.113.61-203.0.113.63");
  CHECK_FALSE(odd.as_prefix());
  REQUIRE(parse_prefix("::/0", &p) == PrefixError::None);
  CHECK(to_range(p).count() == UINT64_MAX);
}

TEST_CASE("merging ranges joins overlapping and adjacent runs, per family") {
  auto R = [](const char* a, const char* b) { return AddrRange{*parse_addr(a), *parse_addr(b)}; };
  auto merged = merge_ranges({R("10.0.0.10", "10.0.0.20"), R("10.0.0.1", "10.0.0.9"), R("10.0.0.15", "10.0.0.30"),
                              R("10.0.1.0", "10.0.1.0"), R("fd00::1", "fd00::2")});
  REQUIRE(merged.size() == 3);
  CHECK(to_string(merged[0]) == "10.0.0.1-10.0.0.30");
  CHECK(to_string(merged[1]) == "10.0.1.0");
  CHECK(to_string(merged[2]) == "fd00::1-fd00::2");
  auto top = merge_ranges({R("255.255.255.0", "255.255.255.255"), R("255.255.255.255", "255.255.255.255")});
  CHECK(top.size() == 1);
  auto apart = merge_ranges({R("10.0.1.0", "10.0.1.255"), R("10.0.0.0", "10.0.0.255"), R("10.0.0.128", "10.0.0.200")},
                            /*join_adjacent=*/false);
  REQUIRE(apart.size() == 2);
  CHECK(to_string(apart[0]) == "10.0.0.0/24");
  CHECK(to_string(apart[1]) == "10.0.1.0/24");
}

TEST_CASE("port ranges are 1-65535 with the smaller port first") {
  CHECK(parse_port_range("80") == PortRange{80, 80});
  CHECK(parse_port_range("8000-8010")->size() == 11);
  CHECK_FALSE(parse_port_range("0"));
  CHECK_FALSE(parse_port_range("65536"));
  CHECK_FALSE(parse_port_range("9000-8000"));
  CHECK_FALSE(parse_port_range("80-"));
  CHECK_FALSE(parse_port_range("http"));
  CHECK(to_string(PortRange{1024, 65535}) == "1024-65535");
}
