// waypointd under systemd: the sd_notify datagrams a real notify socket
// receives, the watchdog's verdict over the workers' loop epochs, the
// journal fields of a log line, and the SIGHUP file reload committing a
// changed file and refusing a broken one with the running config kept.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mgmt/file_reload.h"
#include "mgmt/journal_log.h"
#include "mgmt/systemd_notify.h"
#include "mgmt/worker_watchdog.h"
#include "tests/unit/live_store.h"

namespace wp::mgmt {
namespace {

TEST(WorkerWatchdog, PingsOnlyWhenEveryWorkerAdvancedOverAPeriod) {
  WorkerCounters counters[2];
  WorkerWatchdog wd(counters, 2, 1000);
  EXPECT_FALSE(wd.poll(0).period_ended) << "the first call starts the first period";
  counters[0].epoch = 5;
  counters[1].epoch = 9;
  EXPECT_FALSE(wd.poll(999).period_ended);
  WorkerWatchdog::Verdict v = wd.poll(1000);
  EXPECT_TRUE(v.period_ended);
  EXPECT_TRUE(v.healthy);
  counters[0].epoch = 6;  // worker 1 stands still
  v = wd.poll(2000);
  EXPECT_TRUE(v.period_ended);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.stalled, std::vector<uint32_t>{1});
  counters[0].epoch = 7;
  counters[1].epoch = 10;  // it moves again
  v = wd.poll(3000);
  EXPECT_TRUE(v.healthy);
  EXPECT_TRUE(v.stalled.empty());
}

// A notify socket like systemd's: datagrams, one state block each.
class NotifySocket : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/wp-notify-test-" + std::to_string(getpid());
    unlink(path_.c_str());
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    unsetenv("WATCHDOG_PID");
  }
  void TearDown() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(fd_);
    unlink(path_.c_str());
  }
  std::string next() {
    char buf[512];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : std::string();
  }
  std::string path_;
  int fd_ = -1;
};

TEST_F(NotifySocket, SendsTheStatesSystemdReads) {
  SystemdNotifier n;
  EXPECT_TRUE(n.enabled());
  EXPECT_EQ(n.watchdog_usec(), 400000u);
  n.ready("router r1 up");
  EXPECT_EQ(next(), "READY=1\nSTATUS=router r1 up");
  n.watchdog();
  EXPECT_EQ(next(), "WATCHDOG=1");
  n.reloading();
  EXPECT_EQ(next(), "RELOADING=1\nSTATUS=reloading the configuration");
  n.stopping();
  EXPECT_EQ(next(), "STOPPING=1\nSTATUS=shutting down");
}

TEST_F(NotifySocket, WatchdogForAnotherPidAndNoSocketAreOff) {
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(SystemdNotifier().watchdog_usec(), 0u) << "WATCHDOG_PID names another process";
  unsetenv("WATCHDOG_PID");
  unsetenv("NOTIFY_SOCKET");
  SystemdNotifier off;
  EXPECT_FALSE(off.enabled());
  EXPECT_EQ(off.watchdog_usec(), 0u);
}

TEST(JournalLog, FieldsCarryPriorityRouterWorkerReason) {
  const std::vector<std::string> f = journal_fields({LogLevel::warning, "worker-stalled", "worker 1 stuck", 1}, "r1");
  const std::vector<std::string> want = {
      "MESSAGE=worker 1 stuck", "PRIORITY=4", "SYSLOG_IDENTIFIER=waypointd", "ROUTER=r1", "WORKER=1",
      "REASON=worker-stalled"};
  EXPECT_EQ(f, want);
  const std::vector<std::string> plain = journal_fields({LogLevel::notice, "", "up", -1}, "");
  EXPECT_EQ(plain.size(), 3u) << "no ROUTER, WORKER or REASON when there is none";
}

TEST(JournalLog, StreamMatchesOnlyTheFileItNames) {
  char path[] = "/tmp/wp-journal-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  struct stat st {};
  ASSERT_EQ(fstat(fd, &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  const std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
  EXPECT_TRUE(journal_stream_is(mine.c_str(), fd));
  EXPECT_FALSE(journal_stream_is(other.c_str(), fd));
  EXPECT_FALSE(journal_stream_is("garbage", fd));
  EXPECT_FALSE(journal_stream_is(nullptr, fd));
  LogTarget t;
  EXPECT_TRUE(parse_log_target("journal", t));
  EXPECT_EQ(t, LogTarget::journal);
  EXPECT_FALSE(parse_log_target("syslog", t));
  close(fd);
  unlink(path);
}

constexpr const char* kConfig = R"(
router: {name: r1, lan: {name: lan, device: d0, address: 10.1.0.1/24}, wan: [{name: wan0, device: d1, address: 172.16.0.1/24}]}
tenants: [{name: branch, prefixes: [10.1.0.0/25]}]
services: [{name: web, prefixes: [10.2.0.0/24], protocol: tcp, ports: ["80"], next_peer: r2}]
policies: [{tenant: branch, service: web}]
peers: [{name: r2, waypoints: [172.16.0.2], key: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}]
)";

class Reload : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(live_.start(kConfig, err)) << err;
    store_ = live_.store.get();
    store_->set_audit([](const std::string&) {});
    path_ = "/tmp/wp-reload-test-" + std::to_string(getpid()) + ".yaml";
  }
  void TearDown() override {
    live_.stop();
    unlink(path_.c_str());
  }
  void write(const std::string& text) { std::ofstream(path_) << text; }

  test::LiveStore live_;
  ConfigStore* store_ = nullptr;
  std::string path_;
  std::vector<std::pair<bool, std::string>> reports_;
};

TEST_F(Reload, AChangedFileIsCommittedABrokenOneRefusedWithTheOldKept) {
  FileReload reload(*store_, path_, [this](bool ok, const std::string& text) { reports_.emplace_back(ok, text); });
  std::string changed = kConfig;
  changed.replace(changed.find("ports: [\"80\"]"), 13, "ports: [\"8080\"]");
  write(changed);
  reload.reload_now();
  ASSERT_EQ(reports_.size(), 1u);
  EXPECT_TRUE(reports_[0].first) << reports_[0].second;
  EXPECT_EQ(store_->version(), 2u);
  EXPECT_EQ(store_->current().services(0).ports(0), "8080");

  write(changed + "services: [oops\n");
  reload.reload_now();
  write(changed + "colour: blue\n");
  reload.reload_now();
  std::string moved = changed;  // the LAN address only a restart can change
  moved.replace(moved.find("10.1.0.1/24"), 11, "10.1.0.9/24");
  write(moved);
  reload.reload_now();
  ASSERT_EQ(reports_.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_FALSE(reports_[i].first) << reports_[i].second;
    EXPECT_NE(reports_[i].second.find("version 2 kept"), std::string::npos) << reports_[i].second;
  }
  EXPECT_NE(reports_[2].second.find("colour"), std::string::npos) << reports_[2].second;
  EXPECT_EQ(store_->version(), 2u);
  EXPECT_EQ(store_->current().services(0).ports(0), "8080");
}

TEST_F(Reload, TheThreadRunsARequestAndStopsTwice) {
  std::atomic<int> done{0};
  FileReload reload(*store_, path_, [&done](bool, const std::string&) { done++; });
  write(kConfig);
  reload.start();
  reload.request();
  for (int i = 0; i < 2000 && done == 0; ++i) usleep(1000);
  EXPECT_EQ(done, 1);
  EXPECT_EQ(store_->version(), 2u);
  reload.stop();
  reload.stop();
}

}  // namespace
}  // namespace wp::mgmt
