// SIGHUP (systemctl reload waypointd@NAME): re-read the config file and
// commit it through the one live-commit path REST PUT /api/v1/config and
// the Redis watch use (ConfigStore::commit: validate with paths, refuse
// restart-only changes, publish, audit). A file that does not parse or
// validate, or asks for a change only a restart can make, is refused and
// reported; the running config stays as it was.
//
// Commits wait for every worker and the control thread's dispatcher to pass
// a quiescent point (live_commit.h), so the reload runs on a thread of its
// own: the control thread only sets a flag and must keep polling. Between
// MgmtRuntime::start_watch and stop_watch, like the Redis watch.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "mgmt/live_commit.h"

namespace wp::mgmt {

class FileReload {
 public:
  // `applied` false: refused, `text` says why (every error, one per line).
  using Report = std::function<void(bool applied, const std::string& text)>;

  FileReload(ConfigStore& store, std::string path, Report report);
  ~FileReload();
  FileReload(const FileReload&) = delete;
  FileReload& operator=(const FileReload&) = delete;

  void start();
  void request();  // from any thread; requests while one runs coalesce into one more
  void stop();     // safe twice, and without start

  // One reload, on the caller's thread (the thread runs this; tests call it).
  void reload_now();

 private:
  void run();

  ConfigStore& store_;
  const std::string path_;
  Report report_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wp::mgmt
