#include "dataplane/ip/ipv4.h"

#include <charconv>
#include <cstdio>

namespace wp {
namespace {

// Parses an unsigned decimal that fills `text` exactly and is <= max.
std::optional<uint32_t> parse_uint(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  Ipv4 addr = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = text.find('.');
    std::string_view part = i < 3 ? text.substr(0, dot) : text;
    if (i < 3 && dot == std::string_view::npos) return std::nullopt;
    if (part.size() > 3) return std::nullopt;
    auto octet = parse_uint(part, 255);
    if (!octet) return std::nullopt;
    addr = (addr << 8) | *octet;
    if (i < 3) text.remove_prefix(dot + 1);
  }
  return addr;
}

std::string format_ipv4(Ipv4 a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
  return buf;
}

std::optional<Ipv4Prefix> parse_prefix(std::string_view text, Ipv4* host) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = parse_ipv4(text.substr(0, slash));
  auto len = parse_uint(text.substr(slash + 1), 32);
  if (!addr || !len) return std::nullopt;
  if (host) *host = *addr;
  Ipv4Prefix p;
  p.len = static_cast<uint8_t>(*len);
  p.addr = *addr & p.mask();
  return p;
}

std::string format_prefix(const Ipv4Prefix& p) { return format_ipv4(p.addr) + "/" + std::to_string(p.len); }

std::optional<PortRange> parse_port_range(std::string_view text) {
  size_t dash = text.find('-');
  auto lo = parse_uint(text.substr(0, dash), 65535);
  if (!lo) return std::nullopt;
  auto hi = dash == std::string_view::npos ? lo : parse_uint(text.substr(dash + 1), 65535);
  if (!hi || *hi < *lo) return std::nullopt;
  return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

}  // namespace wp
