// systemd's service notification protocol (sd_notify(3)), as waypointd
// speaks it under a Type=notify unit (packaging/systemd/waypointd@.service):
//   READY=1      once the ports, the workers and the REST server run;
//   STATUS=...   one line systemctl status shows (router, workers, version);
//   RELOADING=1  while SIGHUP re-reads the config file, READY=1 after;
//   STOPPING=1   when the shutdown begins;
//   WATCHDOG=1   every WATCHDOG_USEC/2, and only while every worker's loop
//                advances (WorkerWatchdog decides; mgmt/worker_watchdog.h).
// libsystemd's sd_notify rather than a datagram of our own: it resolves
// abstract and path socket addresses, honours WATCHDOG_PID, and the same
// library gives sd_journal_send (mgmt/journal_log.h). Without NOTIFY_SOCKET
// every call is a no-op, so waypointd run by hand is unchanged.
#pragma once

#include <cstdint>
#include <string>

namespace wp::mgmt {

class SystemdNotifier {
 public:
  SystemdNotifier();  // reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID once

  bool enabled() const { return enabled_; }
  // The watchdog timeout systemd expects pings within; 0: no watchdog.
  uint64_t watchdog_usec() const { return watchdog_usec_; }

  void ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
  void status(const std::string& status) const { send("STATUS=" + status); }
  void reloading() const { send("RELOADING=1\nSTATUS=reloading the configuration"); }
  void stopping() const { send("STOPPING=1\nSTATUS=shutting down"); }
  void watchdog() const { send("WATCHDOG=1"); }

 private:
  void send(const std::string& state) const;

  bool enabled_ = false;
  uint64_t watchdog_usec_ = 0;
};

}  // namespace wp::mgmt
