#include "mgmt/file_reload.h"

#include "mgmt/config_secrets.h"

namespace wp::mgmt {
namespace {

std::string refused(const std::string& path, uint64_t version, const std::vector<ConfigError>& errors) {
  std::string text = "reload of " + path + " refused, config version " + std::to_string(version) +
                     " kept: " + std::to_string(errors.size()) + " error(s)";
  for (const ConfigError& e : errors) text += "\n  " + e.to_string();
  return text;
}

}  // namespace

FileReload::FileReload(ConfigStore& store, std::string path, Report report)
    : store_(store), path_(std::move(path)), report_(std::move(report)) {}

FileReload::~FileReload() { stop(); }

void FileReload::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
}

void FileReload::request() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void FileReload::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void FileReload::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    pending_ = false;
    lock.unlock();
    reload_now();
    lock.lock();
  }
}

void FileReload::reload_now() {
  ConfigResult loaded = load_config_file(path_);
  // Errors go to the log: no secret the file holds may be quoted there.
  scrub_errors(loaded.config, loaded.errors);
  if (!loaded.ok()) return report_(false, refused(path_, store_.version(), loaded.errors));
  CommitOutcome r = store_.commit(loaded.config, false, "reload:" + path_);
  scrub_errors(loaded.config, r.errors);
  if (!r.errors.empty()) return report_(false, refused(path_, r.version, r.errors));
  std::string text = "reloaded " + path_ + ": config version " + std::to_string(r.version);
  if (r.sessions_closed) text += ", " + std::to_string(r.sessions_closed) + " session(s) closed by the new policy";
  for (const std::string& note : r.notes) text += "; " + note;
  report_(true, text);
}

}  // namespace wp::mgmt
