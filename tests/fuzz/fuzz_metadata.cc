// libFuzzer target for the SVR metadata decoder and encoder (svr/metadata.h,
// docs/svr-wire-format.md § Metadata block).
//
// Metadata arrives from the WAN, so decode_metadata must classify any byte
// string as absent / ok / bare / malformed without reading outside it. What
// decodes `ok` must survive a round trip: re-encoding the understood fields
// with MetadataWriter and decoding that gives the same fields back, and the
// writer refuses exactly what it must (strings over 255 bytes) and never
// emits the 12/0 marker for a block with nothing in it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/svr/metadata.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> in(data, data + size);
  wp::Metadata md;
  wp::MetadataStatus st = wp::decode_metadata(in.data(), in.size(), md);
  check(wp::has_cookie(in.data(), in.size()) == (st != wp::MetadataStatus::absent));
  if (st == wp::MetadataStatus::bare) check(md.block_len() == wp::kMetadataHeaderLen && md.block_len() <= size);
  if (st != wp::MetadataStatus::ok) return 0;
  check(md.block_len() <= size && md.header_len >= wp::kMetadataHeaderLen);
  if (md.has_forward_context || md.has_reverse_context || md.has_uuid) check(md.payload_len > 0);
  // An encrypted payload section is left unread (TLV 16 or a first type of 0 / > 50).
  if (md.payload_encrypted) check(!md.has_forward_context && !md.has_uuid && md.tenant.empty() && md.payload_len >= 2);

  // Re-encode what we understood.
  std::vector<uint8_t> out(4096);
  wp::MetadataWriter w(out.data(), out.size());
  bool wrote = false, too_long = false;
  auto add = [&](bool present, auto&& write) {
    if (!present) return;
    write();
    wrote = true;
  };
  add(md.has_fragment, [&] { w.fragment(md.fragment); });  // TLV 1
  add(md.has_security_id, [&] { w.security_id(md.security_id); });
  add(md.has_forward_context, [&] { w.forward_context(md.forward_context); });
  add(md.has_reverse_context, [&] { w.reverse_context(md.reverse_context); });
  add(md.has_uuid, [&] { w.uuid(md.uuid); });
  // Empty names decode the same as absent ones: only non-empty are written.
  for (const auto& entry :
       {std::pair{md.tenant, &wp::MetadataWriter::tenant}, std::pair{md.service, &wp::MetadataWriter::service},
        std::pair{md.source_router, &wp::MetadataWriter::source_router},
        std::pair{md.destination_router, &wp::MetadataWriter::destination_router},
        std::pair{md.security_policy, &wp::MetadataWriter::security_policy}}) {
    std::string_view s = entry.first;
    auto fn = entry.second;
    add(!s.empty(), [&] { (w.*fn)(s); });
    too_long |= s.size() > 255;
  }
  add(md.disable_forward_metadata, [&] { w.disable_forward_metadata(); });
  add(md.session_data_encrypted, [&] { w.raw_tlv(wp::Tlv::session_data_encrypted, nullptr, 0, false); });
  size_t len = w.finish();
  if (!wrote || too_long) {
    check(len == 0);
    return 0;
  }
  check(len > wp::kMetadataHeaderLen);

  wp::Metadata again;
  // Decode from an exact-size copy of the new block.
  std::vector<uint8_t> block(out.begin(), out.begin() + static_cast<long>(len));
  check(wp::decode_metadata(block.data(), block.size(), again) == wp::MetadataStatus::ok);
  check(again.block_len() == len);
  check(again.unknown_tlvs == 0);
  check(again.has_security_id == md.has_security_id && again.security_id == md.security_id);
  check(again.has_fragment == md.has_fragment && again.fragment.extended_id == md.fragment.extended_id &&
        again.fragment.original_ip_id == md.fragment.original_ip_id &&
        again.fragment.flags_offset == md.fragment.flags_offset &&
        again.fragment.largest_fragment == md.fragment.largest_fragment);
  check(again.has_forward_context == md.has_forward_context && again.forward_context == md.forward_context);
  check(again.has_reverse_context == md.has_reverse_context && again.reverse_context == md.reverse_context);
  check(again.has_uuid == md.has_uuid && again.uuid == md.uuid);
  check(again.tenant == md.tenant && again.service == md.service);
  check(again.source_router == md.source_router && again.destination_router == md.destination_router);
  check(again.security_policy == md.security_policy);
  check(again.disable_forward_metadata == md.disable_forward_metadata);
  check(again.session_data_encrypted == md.session_data_encrypted);
  return 0;
}
