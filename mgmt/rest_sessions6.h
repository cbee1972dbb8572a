// IPv6 sessions in the REST session endpoints (issue #19): their JSON (the
// same SessionInfo as IPv4's, family "ipv6", addresses as RFC 5952 text) and
// the merge of the IPv4 and IPv6 pages into one list in UUID order, so the
// `after` cursor pages through both families at once.
#pragma once

#include <string>
#include <vector>

#include "api.pb.h"
#include "dataplane/control/router_model.h"
#include "mgmt/session_snapshot.h"
#include "mgmt/session_snapshot6.h"

namespace wp::mgmt {

void fill_session6(::waypoint::api::SessionInfo* o, const Session6View& v, const RouterModel& m);

// A waypoint leg as a tuple (forward direction: the ingress router's waypoint
// and port -> the egress router's), `protocol` named as the session's other
// tuples; empty addresses when a stand-in is no longer known (svr6_view.h).
// Also for IPv4 sessions between IPv6 waypoints (rest_api.cc).
void fill_waypoints(::waypoint::api::Tuple* t, const Svr6Waypoints& w, const std::string& protocol);

// One page of both families after q.after, at most q.limit, in UUID order;
// `more` when sessions are left after it. `fill4` fills an IPv4 session.
template <typename Fill4>
void merge_session_pages(const SessionSnapshot& snap, const SessionQuery& q, const RouterModel& m, Fill4&& fill4,
                         ::waypoint::api::SessionList& out, bool& more) {
  bool more4 = false, more6 = false;
  const std::vector<SessionView> p4 = snap.page(q, more4);
  const std::vector<Session6View> p6 = snap.v6().page(q, more6);
  size_t i = 0, j = 0;
  while (out.sessions_size() < static_cast<int>(q.limit) && (i < p4.size() || j < p6.size())) {
    if (j == p6.size() || (i < p4.size() && p4[i].session.uuid < p6[j].uuid))
      fill4(out.add_sessions(), p4[i++]);
    else
      fill_session6(out.add_sessions(), p6[j++], m);
  }
  more = more4 || more6 || i < p4.size() || j < p6.size();
}

}  // namespace wp::mgmt
