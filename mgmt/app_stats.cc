// Application stats; see app_stats.h.
#include "mgmt/app_stats.h"

#include <algorithm>
#include <exception>
#include <vector>

#include "dataplane/apps/catalog.h"
#include "mgmt/prom_text.h"

namespace wp::mgmt {
namespace {

const app::AppCatalog* catalog() {
  try {
    return &app::AppCatalog::instance();
  } catch (const std::exception&) {
    return nullptr;  // nDPI did not start: ids are shown without names
  }
}

std::string category_of(uint16_t app) {
  const app::AppCatalog* c = catalog();
  if (!c) return "Unspecified";
  for (const auto& e : c->applications())
    if (e.id == app) return c->category_name(e.category);
  return "Unspecified";
}

using Row = std::pair<std::string, AppTotals>;

std::vector<Row> by_bytes(std::map<std::string, AppTotals> m) {
  std::vector<Row> rows(m.begin(), m.end());
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.second.bytes > b.second.bytes; });
  return rows;
}

std::map<std::string, AppTotals> per_category(const std::map<uint16_t, AppTotals>& totals) {
  std::map<std::string, AppTotals> out;
  for (const auto& [id, t] : totals) {
    AppTotals& c = out[category_of(id)];
    c.sessions += t.sessions;
    c.packets += t.packets;
    c.bytes += t.bytes;
  }
  return out;
}

void series(std::string& out, const char* name, const char* help, const std::string& labels,
            const std::vector<Row>& rows, const char* label, uint64_t AppTotals::*field) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
  for (const auto& [n, t] : rows)
    out += std::string(name) + "{" + labels + "," + prom_label(label, n) + "} " + std::to_string(t.*field) + "\n";
}

}  // namespace

std::string app_name(uint16_t id) {
  if (id == 0) return "";
  const app::AppCatalog* c = catalog();
  return c ? c->application_name(id) : std::to_string(id);
}

std::string app_category_name(uint16_t id) { return id == 0 ? "" : category_of(id); }

nlohmann::ordered_json app_stats_json(const std::map<uint16_t, AppTotals>& totals) {
  std::vector<std::pair<uint16_t, AppTotals>> rows(totals.begin(), totals.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [id, t] : rows)
    if (t.sessions != 0 || t.packets != 0)  // a bucket every session moved out of is not shown
      out.push_back({{"application", id ? app_name(id) : "Unknown"},
                   {"category", category_of(id)},
                   {"id", id},
                   {"sessions", t.sessions},
                   {"packets", t.packets},
                   {"bytes", t.bytes}});
  return out;
}

nlohmann::ordered_json category_stats_json(const std::map<uint16_t, AppTotals>& totals) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& [name, t] : by_bytes(per_category(totals)))
    if (t.sessions != 0 || t.packets != 0)
      out.push_back({{"category", name}, {"sessions", t.sessions}, {"packets", t.packets}, {"bytes", t.bytes}});
  return out;
}

std::string app_metrics_text(const std::map<uint16_t, AppTotals>& totals, const std::string& labels) {
  std::map<std::string, AppTotals> named;
  for (const auto& [id, t] : totals) named[id ? app_name(id) : "Unknown"] = t;
  const std::vector<Row> apps = by_bytes(named), cats = by_bytes(per_category(totals));
  std::string out;
  series(out, "waypoint_app_sessions_total", "Sessions by application", labels, apps, "application", &AppTotals::sessions);
  series(out, "waypoint_app_packets_total", "Packets (both directions) by application", labels, apps, "application",
         &AppTotals::packets);
  series(out, "waypoint_app_bytes_total", "Bytes (both directions) by application", labels, apps, "application",
         &AppTotals::bytes);
  series(out, "waypoint_app_category_sessions_total", "Sessions by application category", labels, cats, "category",
         &AppTotals::sessions);
  series(out, "waypoint_app_category_packets_total", "Packets by application category", labels, cats, "category",
         &AppTotals::packets);
  series(out, "waypoint_app_category_bytes_total", "Bytes by application category", labels, cats, "category",
         &AppTotals::bytes);
  return out;
}

}  // namespace wp::mgmt
