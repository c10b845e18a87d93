#include "lib/net/addr.h"

#include <gtest/gtest.h>

namespace linetls::net {
namespace {

TEST(Ipv4AddrTest, ParsesDottedQuad) {
  auto a = Ipv4Addr::parse("10.99.0.2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->v, 0x0a630002u);
  EXPECT_EQ(a->str(), "10.99.0.2");
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0")->v, 0u);
  EXPECT_EQ(Ipv4Addr::parse("255.255.255.255")->v, 0xffffffffu);
  EXPECT_EQ(Ipv4Addr::parse("001.002.003.004")->v, 0x01020304u);
  EXPECT_EQ(Ipv4Addr{0xc0a80101}.str(), "192.168.1.1");
}

TEST(Ipv4AddrTest, RejectsMalformed) {
  for (const char* bad : {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "1..2.3",
                          ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-4",
                          "1.2.3.+4", "0001.2.3.4", "1.2.3.4/24", "1,2,3,4", "99999999999.1.1.1"}) {
    EXPECT_FALSE(Ipv4Addr::parse(bad)) << "'" << bad << "'";
  }
}

TEST(Ipv4AddrTest, Orders) {
  EXPECT_LT(*Ipv4Addr::parse("10.0.0.1"), *Ipv4Addr::parse("10.0.0.2"));
  EXPECT_LT(*Ipv4Addr::parse("9.255.255.255"), *Ipv4Addr::parse("10.0.0.0"));
}

TEST(Ipv4CidrTest, ParsesPrefix) {
  auto c = Ipv4Cidr::parse("10.99.0.2/24");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->addr.v, 0x0a630002u);
  EXPECT_EQ(c->prefix_len, 24);
  EXPECT_EQ(c->mask(), 0xffffff00u);
  EXPECT_EQ(c->str(), "10.99.0.2/24");
  EXPECT_TRUE(c->contains(*Ipv4Addr::parse("10.99.0.200")));
  EXPECT_FALSE(c->contains(*Ipv4Addr::parse("10.99.1.2")));

  auto host = Ipv4Cidr::parse("1.2.3.4");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_len, 32);
  EXPECT_TRUE(host->contains(*Ipv4Addr::parse("1.2.3.4")));
  EXPECT_FALSE(host->contains(*Ipv4Addr::parse("1.2.3.5")));

  auto all = Ipv4Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->mask(), 0u);
  EXPECT_TRUE(all->contains(*Ipv4Addr::parse("203.0.113.9")));
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.1/32")->mask(), 0xffffffffu);
  EXPECT_EQ(Ipv4Cidr::parse("10.0.0.1/1")->mask(), 0x80000000u);
}

TEST(Ipv4CidrTest, RejectsMalformed) {
  for (const char* bad : {"10.0.0.1/", "10.0.0.1/33", "10.0.0.1/-1", "10.0.0.1/2a", "/24",
                          "10.0.0/24", "10.0.0.1/24/1", "10.0.0.1/ 24", "10.0.0.1/999999999999"}) {
    EXPECT_FALSE(Ipv4Cidr::parse(bad)) << "'" << bad << "'";
  }
}

TEST(MacAddrTest, FormatsAndClassifies) {
  MacAddr m{{0x02, 0xab, 0x00, 0x10, 0xfe, 0x09}};
  EXPECT_EQ(m.str(), "02:ab:00:10:fe:09");
  EXPECT_FALSE(m.is_multicast());
  EXPECT_FALSE(m.is_broadcast());
  EXPECT_FALSE(m.is_zero());
  EXPECT_EQ(MacAddr::broadcast().str(), "ff:ff:ff:ff:ff:ff");
  EXPECT_TRUE(MacAddr::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
  EXPECT_TRUE((MacAddr{{0x01, 0x00, 0x5e, 0, 0, 1}}).is_multicast());
  EXPECT_TRUE(MacAddr{}.is_zero());
  EXPECT_EQ(MacAddr{}.str(), "00:00:00:00:00:00");
}


TEST(Ipv4Endpoint, ParsesAddressAndPortAndRefusesTheRest) {
  auto e = Ipv4Endpoint::parse("10.0.0.1:443");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->ip, (Ipv4Addr{0x0a000001}));
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->str(), "10.0.0.1:443");
  EXPECT_EQ(Ipv4Endpoint::parse("1.2.3.4:65535")->port, 65535);
  for (const char* bad : {"", "10.0.0.1", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536",
                          "10.0.0.1:+80", "10.0.0.1:-80", "10.0.0.1:80x", "host:80", ":80",
                          "10.0.0.1:99999999999"}) {
    EXPECT_FALSE(Ipv4Endpoint::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace linetls::net
