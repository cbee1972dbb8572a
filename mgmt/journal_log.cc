#include "mgmt/journal_log.h"

#include <sys/stat.h>
#include <sys/uio.h>
// Every entry would name this file as its source (CODE_FILE=): say nothing.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace wp::mgmt {
namespace {

// Set once by log_init before threads start; read-only afterwards.
bool g_journal = false;
std::string g_router;

}  // namespace

bool parse_log_target(std::string_view name, LogTarget& out) {
  if (name == "auto") return out = LogTarget::automatic, true;
  if (name == "journal") return out = LogTarget::journal, true;
  if (name == "stderr") return out = LogTarget::stderr_text, true;
  return false;
}

bool journal_stream_is(const char* journal_stream, int fd) {
  if (!journal_stream) return false;
  uintmax_t dev = 0, ino = 0;
  if (std::sscanf(journal_stream, "%ju:%ju", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<uintmax_t>(st.st_dev) == dev && static_cast<uintmax_t>(st.st_ino) == ino;
}

void log_init(LogTarget target, std::string router) {
  g_router = std::move(router);
  g_journal = target == LogTarget::journal ||
              (target == LogTarget::automatic && journal_stream_is(std::getenv("JOURNAL_STREAM"), STDERR_FILENO));
}

bool log_to_journal() { return g_journal; }

std::vector<std::string> journal_fields(const LogLine& line, std::string_view router) {
  std::vector<std::string> f;
  f.push_back("MESSAGE=" + std::string(line.message));
  f.push_back("PRIORITY=" + std::to_string(static_cast<int>(line.level)));
  f.emplace_back("SYSLOG_IDENTIFIER=waypointd");
  if (!router.empty()) f.push_back("ROUTER=" + std::string(router));
  if (line.worker >= 0) f.push_back("WORKER=" + std::to_string(line.worker));
  if (!line.reason.empty()) f.push_back("REASON=" + std::string(line.reason));
  return f;
}

void log(const LogLine& line) {
  if (!g_journal) {
    std::fprintf(stderr, "waypointd: %.*s\n", static_cast<int>(line.message.size()), line.message.data());
    return;
  }
  const std::vector<std::string> fields = journal_fields(line, g_router);
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& f : fields) iov.push_back({const_cast<char*>(f.data()), f.size()});
  if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
    std::fprintf(stderr, "waypointd: %.*s\n", static_cast<int>(line.message.size()), line.message.data());
}

}  // namespace wp::mgmt

// Ours alone, even if this file joins a unity batch one day (CMakeLists.txt keeps it out).
#undef SD_JOURNAL_SUPPRESS_LOCATION
