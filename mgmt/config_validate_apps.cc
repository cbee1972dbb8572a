// Config validation, part 5: application and category names (docs/applications.md).
//
// Services may name applications and categories, policies may deny them; the names are
// nDPI's (dataplane/apps/catalog.h), matched without regard to case. A name nDPI does not
// know is an error at its path that lists the closest known names, so a typo ("bittorent")
// is one edit away from a fix. The catalog starts an nDPI module once per process, so it is
// consulted only when some list is non-empty.
//
// qos.applications gives applications and categories a QoS class
// (docs/qos.md § Classes by application): each rule names exactly one application or
// category, in nDPI's names like the lists above, no two rules the same one, and one of the
// six classes.
#include <map>
#include <set>

#include "dataplane/apps/catalog.h"
#include "dataplane/qos/scheduler.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

void ConfigValidator::check_app_names(const google::protobuf::RepeatedPtrField<std::string>& names,
                                      const std::string& list_path, bool categories) {
  if (names.empty()) return;
  const app::AppCatalog* catalog = nullptr;
  try {
    catalog = &app::AppCatalog::instance();
  } catch (const std::exception& e) {
    error(list_path, std::string("cannot check application names: ") + e.what());
    return;
  }
  const char* what = categories ? "category" : "application";
  std::set<uint16_t> seen;
  for (int i = 0; i < names.size(); ++i) {
    const std::string path = list_path + "[" + std::to_string(i) + "]";
    const std::string& name = names.Get(i);
    auto id = categories ? catalog->find_category(name) : catalog->find_application(name);
    if (!id) {
      auto near = categories ? catalog->closest_categories(name) : catalog->closest_applications(name);
      error(path, "unknown " + std::string(what) + " \"" + name + "\" (closest: " + quoted_list(near) + ")");
    } else if (!seen.insert(*id).second) {
      error(path, "\"" + name + "\" is listed twice");
    }
  }
}

void ConfigValidator::check_applications() {
  for (int i = 0; i < cfg_.services_size(); ++i) {
    const std::string path = "services[" + std::to_string(i) + "]";
    check_app_names(cfg_.services(i).applications(), path + ".applications", false);
    check_app_names(cfg_.services(i).categories(), path + ".categories", true);
  }
  for (int i = 0; i < cfg_.policies_size(); ++i) {
    const std::string path = "policies[" + std::to_string(i) + "]";
    check_app_names(cfg_.policies(i).deny_applications(), path + ".deny_applications", false);
    check_app_names(cfg_.policies(i).deny_categories(), path + ".deny_categories", true);
  }
}

void ConfigValidator::check_qos_applications() {
  const auto& rules = cfg_.qos().applications();
  if (rules.empty()) return;
  const app::AppCatalog* catalog = nullptr;
  try {
    catalog = &app::AppCatalog::instance();
  } catch (const std::exception& e) {
    error("qos.applications", std::string("cannot check application names: ") + e.what());
    return;
  }
  std::string classes;
  for (std::string_view n : kQosClassNames) classes += (classes.empty() ? "" : ", ") + std::string(n);
  std::map<uint16_t, int> apps_seen, categories_seen;  // id -> first rule naming it
  for (int i = 0; i < rules.size(); ++i) {
    const config::QosApplication& r = rules.Get(i);
    const std::string path = "qos.applications[" + std::to_string(i) + "]";
    const bool app = !r.application().empty(), category = !r.category().empty();
    if (app && category) {
      error(path, "names both an application and a category: one rule names one of them");
    } else if (!app && !category) {
      error(path + ".application", "required: an application or a category");
    } else {
      const std::string& name = app ? r.application() : r.category();
      const std::string field = path + (app ? ".application" : ".category");
      auto id = app ? catalog->find_application(name) : catalog->find_category(name);
      if (!id) {
        auto near = app ? catalog->closest_applications(name) : catalog->closest_categories(name);
        error(field, "unknown " + std::string(app ? "application" : "category") + " \"" + name + "\" (closest: " +
                         quoted_list(near) + ")");
      } else if (auto [it, fresh] = (app ? apps_seen : categories_seen).emplace(*id, i); !fresh) {
        error(field, "\"" + name + "\" already has a class (qos.applications[" + std::to_string(it->second) + "])");
      }
    }
    bool known = false;
    for (std::string_view n : kQosClassNames) known = known || n == r.class_();
    if (r.class_().empty())
      error(path + ".class", "required: the class of its sessions (one of " + classes + ")");
    else if (!known)
      error(path + ".class", "unknown QoS class \"" + r.class_() + "\" (one of " + classes + ")");
  }
}

}  // namespace wp::mgmt::detail
