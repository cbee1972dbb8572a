#include "mgmt/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace wp::mgmt {

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket && *socket;
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is us.
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void SystemdNotifier::send(const std::string& state) const {
  if (enabled_) sd_notify(0, state.c_str());
}

}  // namespace wp::mgmt
