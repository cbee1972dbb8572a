// IPFIX decoding (RFC 7011) of Waypoint session records: what `wpctl flows`
// runs as a small collector, and what the unit tests check the encoder
// against. Templates are learnt from the stream (per observation domain and
// template id), so the decoder follows whatever template the exporter sent,
// field order included; unknown fields are skipped by length. Data sets
// whose template has not been seen yet are counted, not guessed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mgmt/ipfix_encoder.h"

namespace wp::mgmt {

struct IpfixDecoded {
  uint32_t sequence = 0;
  uint32_t domain = 0;
  uint32_t export_time = 0;
  uint32_t templates = 0;     // template records in this message
  uint32_t unknown_sets = 0;  // data sets without a known template
  std::vector<IpfixRecord> records;
};

class IpfixDecoder {
 public:
  // False with `error` set on a malformed message (lengths, version).
  bool decode(const uint8_t* msg, size_t len, IpfixDecoded& out, std::string& error);

 private:
  struct Field {
    uint16_t id;
    uint16_t length;
    uint32_t pen;
  };
  bool parse_template_set(const uint8_t* p, size_t len, uint32_t domain, IpfixDecoded& out, std::string& error);
  bool parse_data_set(const std::vector<Field>& t, const uint8_t* p, size_t len, IpfixDecoded& out, std::string& error);
  std::map<std::pair<uint32_t, uint16_t>, std::vector<Field>> templates_;
};

}  // namespace wp::mgmt
