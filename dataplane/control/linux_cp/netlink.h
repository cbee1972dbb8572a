// The few rtnetlink requests the punt path makes of the kernel (RFC 3549;
// rtnetlink(7)): give a kernel interface its IPv4 and IPv6 addresses. Control thread
// only, at start; each call opens, asks, reads the acknowledgement, closes.
#pragma once

#include <string>

#include "dataplane/ip/ipv4.h"
#include "dataplane/ip/ipv6.h"

namespace wp::linux_cp {

// RTM_NEWADDR (NLM_F_REPLACE): `addr`/`prefix_len` on interface `ifindex`.
// False with `error` set to the kernel's answer.
bool add_ipv4_address(int ifindex, Ipv4 addr, uint8_t prefix_len, std::string& error);
// RTM_NEWADDR AF_INET6 with IFA_F_NODAD (the dataplane runs Duplicate Address
// Detection for the interface's addresses, not the kernel).
bool add_ipv6_address(int ifindex, const Ipv6& addr, uint8_t prefix_len, std::string& error);

}  // namespace wp::linux_cp
