// A loopback "CPG" for HA tests (tests/unit/ha_test.cc, ha_tunnel_test.cc):
// in-process HaNodes joined by a transport with CPG's contract: total order,
// own messages delivered back, membership changes in the same stream.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ha/transport.h"

namespace wp::ha::loopback {

// One corosync ring: its members see the same ordered stream, and votequorum
// the same view (a pair starts quorate with both nodes in it).
struct Bus {
  struct Change {
    std::vector<Member> members, left, joined;
  };
  struct Quorum {
    bool quorate;
    std::vector<uint32_t> nodes;
  };
  explicit Bus(bool quorate = true, std::vector<uint32_t> nodes = {1, 2}) { quorum(quorate, std::move(nodes)); }
  std::vector<std::variant<std::pair<Member, std::string>, Change, Quorum>> log;
  std::vector<Member> members;
  Quorum last_quorum;
  void join(Member m) {
    members.push_back(m);
    log.push_back(Change{members, {}, {m}});
  }
  void leave(Member m) {
    std::erase(members, m);
    log.push_back(Change{members, {m}, {}});
  }
  void quorum(bool quorate, std::vector<uint32_t> nodes) {
    last_quorum = {quorate, std::move(nodes)};
    log.push_back(last_quorum);
  }
};

class LoopTransport : public Transport {
 public:
  LoopTransport(Bus& bus, Member self) : bus_(&bus), self_(self) { attach(bus); }
  SendResult send(const std::string& bytes) override {
    if (dead_) return SendResult::failed;
    if (swallow_) return SendResult::sent;  // accepted by a corosync about to die
    bus_->log.push_back(std::make_pair(self_, bytes));
    return SendResult::sent;
  }
  bool dispatch(TransportHandler& h) override {
    if (dead_) return false;
    for (; pos_ < bus_->log.size(); ++pos_) {
      if (auto* m = std::get_if<std::pair<Member, std::string>>(&bus_->log[pos_]))
        h.on_message(m->first, m->second.data(), m->second.size());
      else if (auto* q = std::get_if<Bus::Quorum>(&bus_->log[pos_]))
        h.on_quorum(q->quorate, q->nodes);
      else {
        auto c = std::get<Bus::Change>(bus_->log[pos_]);
        h.on_membership(c.members, c.left, c.joined);
      }
    }
    return true;
  }
  // Corosync merged our ring into `to` (no process restarted).
  void move_to(Bus& to) {
    bus_->leave(self_);
    attach(to);
  }
  uint32_t local_node() const override { return self_.node; }
  bool dead_ = false;
  bool swallow_ = false;

 private:
  // A new client hears the current quorum, then its own join.
  void attach(Bus& bus) {
    bus_ = &bus;
    pos_ = bus.log.size();
    bus.log.push_back(bus.last_quorum);
    bus.join(self_);
  }
  Bus* bus_;
  Member self_;
  size_t pos_ = 0;
};

}  // namespace wp::ha::loopback
