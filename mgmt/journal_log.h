// waypointd's own log lines (start, stop, config commits and reloads, the
// watchdog's verdicts, debug hooks), never one per packet: the workers do not
// log, they count (dataplane/worker/drop_reason.h).
//
// Under systemd the lines go to the journal through sd_journal_send with a
// syslog priority and structured fields:
//   PRIORITY=3..7  err, warning, notice, info, debug
//   ROUTER=r1      the configured router name
//   WORKER=0       the worker a line is about (absent otherwise)
//   REASON=...     a short fixed token: start, stop, config-commit,
//                  config-reload, config-reload-refused, worker-stalled,
//                  worker-resumed, debug-hook
// so `journalctl -u waypointd@r1 REASON=worker-stalled` or `-p warning`
// finds them. Elsewhere they are "waypointd: ..." lines on stderr, as before.
// The journal is used when the target is `journal`, or `auto` and stderr is
// the journal stream systemd handed us (JOURNAL_STREAM names its device and
// inode, as systemd.exec(5) says to check). Lines other modules print on
// stderr still reach the journal through that stream, at priority info.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wp::mgmt {

enum class LogLevel { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };
enum class LogTarget { automatic, journal, stderr_text };

struct LogLine {
  LogLevel level = LogLevel::info;
  std::string_view reason;  // a REASON= token; empty: none
  std::string_view message;
  int worker = -1;  // < 0: not about one worker
};

// Once at start, before any thread logs. False with `error` for an unknown
// target name ("auto", "journal", "stderr").
bool parse_log_target(std::string_view name, LogTarget& out);
void log_init(LogTarget target, std::string router);
bool log_to_journal();  // what log_init decided
void log(const LogLine& line);

// The journal fields of one line (MESSAGE=, PRIORITY=, ...), in the order
// sent; public so a test can see them without a journald.
std::vector<std::string> journal_fields(const LogLine& line, std::string_view router);
// Whether JOURNAL_STREAM ("DEV:INODE") names the file open on `fd`.
bool journal_stream_is(const char* journal_stream, int fd);

}  // namespace wp::mgmt
