// A live config store for management-plane tests: the config built into a
// RouterModel, published in a DataplaneShared, a ConfigStore over both, and
// a stand-in for running workers (each loop iteration marks a quiescent
// point and reports the new model's sessions re-checked), so commits return
// as they do in waypointd. Used by rest_test, systemd_test, key_retirement_test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "dataplane/control/router_model.h"
#include "dataplane/worker/shared.h"
#include "mgmt/live_commit.h"
#include "tests/unit/eal_env.h"

namespace wp::test {

class LiveStore {
 public:
  LiveStore() = default;
  LiveStore(const LiveStore&) = delete;
  LiveStore& operator=(const LiveStore&) = delete;
  ~LiveStore() { stop(); }

  // False with `error` when the rings, the config or the model fail.
  bool start(const std::string& yaml, std::string& error) {
    test_pool();
    if (!shared.create_rings(1, 64, SOCKET_ID_ANY, error)) return false;
    rings_ = true;
    mgmt::ConfigResult r = mgmt::load_config_text(yaml);
    if (!r.ok()) return error = r.error_text(), false;
    config = r.config;
    model = RouterModel::build(config, nullptr, nullptr, hmac, error);
    if (!model) return false;
    shared.model.store(model.get());
    store = std::make_unique<mgmt::ConfigStore>(shared, config, model, nullptr, nullptr);
    ticker_ = std::thread([this] {
      while (!stop_) {
        auto published = reinterpret_cast<uintptr_t>(shared.model.load());
        for (uint32_t w = 0; w <= shared.workers; ++w) {
          shared.counters[w].model_settled.store(published);
          shared.counters[w].epoch.fetch_add(1);
        }
        usleep(200);
      }
    });
    return true;
  }
  // Stops the workers' stand-in, drops the store, frees the rings; safe twice.
  void stop() {
    stop_ = true;
    if (ticker_.joinable()) ticker_.join();
    store.reset();
    if (rings_) shared.free_rings();
    rings_ = false;
  }

  DataplaneShared shared;
  HmacEngine hmac;
  config::Config config;  // as loaded
  std::shared_ptr<const RouterModel> model;
  std::unique_ptr<mgmt::ConfigStore> store;

 private:
  std::atomic<bool> stop_{false};
  std::thread ticker_;
  bool rings_ = false;
};

}  // namespace wp::test
