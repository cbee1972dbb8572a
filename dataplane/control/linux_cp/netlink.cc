// rtnetlink requests; see netlink.h.
#include "dataplane/control/linux_cp/netlink.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace wp::linux_cp {
namespace {

struct AddrRequest {
  nlmsghdr nh;
  ifaddrmsg ifa;
  char attrs[64];
};

// Appends an attribute in `req.attrs` (addressed through the array, so the
// compiler sees the room it has).
void add_attr(AddrRequest& req, uint16_t type, const void* data, uint16_t len) {
  const size_t at = NLMSG_ALIGN(req.nh.nlmsg_len) - offsetof(AddrRequest, attrs);
  rtattr rta{static_cast<uint16_t>(RTA_LENGTH(len)), type};
  std::memcpy(req.attrs + at, &rta, sizeof rta);
  std::memcpy(req.attrs + at + RTA_LENGTH(0), data, len);
  req.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(RTA_LENGTH(len)));
}

// Sends one request and reads its acknowledgement (an NLMSG_ERROR, 0 = ok).
bool transact(nlmsghdr& nh, std::string& error) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return error = std::string("netlink socket: ") + std::strerror(errno), false;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  bool ok = sendto(fd, &nh, nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) >= 0;
  if (!ok) error = std::string("netlink send: ") + std::strerror(errno);
  char buf[1024];
  ssize_t n = ok ? recv(fd, buf, sizeof buf, 0) : -1;
  close(fd);
  if (!ok) return false;
  auto* ack = reinterpret_cast<const nlmsghdr*>(buf);
  if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr))) || ack->nlmsg_type != NLMSG_ERROR)
    return error = "netlink: no acknowledgement", false;
  int code = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(ack))->error;
  if (code != 0) return error = std::string("netlink: ") + std::strerror(-code), false;
  return true;
}

// RTM_NEWADDR (NLM_F_REPLACE) of `len` address bytes in network order.
bool new_address(int ifindex, uint8_t family, const void* addr, uint16_t len, uint8_t prefix_len, uint8_t flags,
                 std::string& error) {
  AddrRequest req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.nh.nlmsg_type = RTM_NEWADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
  req.ifa.ifa_family = family;
  req.ifa.ifa_prefixlen = prefix_len;
  req.ifa.ifa_flags = flags;
  req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  req.ifa.ifa_index = static_cast<unsigned>(ifindex);
  add_attr(req, IFA_LOCAL, addr, len);
  add_attr(req, IFA_ADDRESS, addr, len);
  return transact(req.nh, error);
}

}  // namespace

bool add_ipv4_address(int ifindex, Ipv4 addr, uint8_t prefix_len, std::string& error) {
  const uint32_t be = htonl(addr);
  return new_address(ifindex, AF_INET, &be, sizeof be, prefix_len, 0, error);
}

bool add_ipv6_address(int ifindex, const Ipv6& addr, uint8_t prefix_len, std::string& error) {
  uint8_t bytes[16];
  store_ipv6(bytes, addr);
  return new_address(ifindex, AF_INET6, bytes, sizeof bytes, prefix_len, IFA_F_NODAD, error);
}

}  // namespace wp::linux_cp
