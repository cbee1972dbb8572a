// The few rtnetlink requests the punt path makes of the kernel (RFC 3549;
// rtnetlink(7)): give a kernel interface its IPv4 address. Control thread
// only, at start; each call opens, asks, reads the acknowledgement, closes.
#pragma once

#include <string>

#include "dataplane/ip/ipv4.h"

namespace wp::linux_cp {

// RTM_NEWADDR (NLM_F_REPLACE): `addr`/`prefix_len` on interface `ifindex`.
// False with `error` set to the kernel's answer.
bool add_ipv4_address(int ifindex, Ipv4 addr, uint8_t prefix_len, std::string& error);

}  // namespace wp::linux_cp
