#include "controller/haproxy/runtime_plan.h"

#include <map>

namespace capstan::controller::haproxy {

std::string ServerName(int slot) { return "s" + std::to_string(slot); }

RuntimePlan PlanRuntime(const HaproxyModel& applied, const HaproxyModel& desired) {
  RuntimePlan plan;
  auto reload = [&](std::string why) {
    plan.reload = true;
    plan.reason = std::move(why);
    plan.ops.clear();
    return plan;
  };
  if (!(applied.global == desired.global)) return reload("global settings changed");
  if (applied.listeners != desired.listeners) return reload("listeners changed");
  if (!(applied.ingress == desired.ingress)) return reload("ingress routes changed");
  if (applied.backends.size() != desired.backends.size()) return reload("backends added or removed");
  for (size_t i = 0; i < desired.backends.size(); ++i) {
    const Backend& a = applied.backends[i];
    const Backend& d = desired.backends[i];
    if (a.name != d.name) return reload("backends added or removed");
    if (a.http != d.http || !(a.settings == d.settings)) return reload("backend " + d.name + ": settings changed");
    if (a.slots != d.slots) {
      return reload("backend " + d.name + ": slots " + std::to_string(a.slots) + " -> " + std::to_string(d.slots));
    }
    std::map<int, const ServerSlot*> before, after;
    for (const ServerSlot& s : a.servers) before[s.slot] = &s;
    for (const ServerSlot& s : d.servers) after[s.slot] = &s;
    for (int slot = 1; slot <= d.slots; ++slot) {
      auto b = before.find(slot);
      auto f = after.find(slot);
      const ServerSlot* was = b == before.end() ? nullptr : b->second;
      const ServerSlot* now = f == after.end() ? nullptr : f->second;
      const bool same = was != nullptr && now != nullptr && was->address == now->address && was->port == now->port;
      // A drained slot is in MAINT already: a leave would `state drain` it, which takes it out of
      // maintenance (persistent clients could reach the stopped Pod) until the next Tick.
      if (was != nullptr && !same && was->state != ServerState::kDrained) {
        plan.ops.push_back({ServerOp::kLeave, d.name, slot, "", 0});
      }
      if (now == nullptr) continue;
      if (!same) {
        // A terminating endpoint never seen serving stays in MAINT (the file has it disabled).
        if (now->state == ServerState::kReady) plan.ops.push_back({ServerOp::kEnter, d.name, slot, now->address, now->port, now->probed});
        continue;
      }
      if (was->state == now->state) continue;
      const ServerOp::Kind kind = now->state == ServerState::kDrain     ? ServerOp::kDrain
                                  : now->state == ServerState::kDrained ? ServerOp::kMaint
                                                                        : ServerOp::kReady;
      plan.ops.push_back({kind, d.name, slot, "", 0});
    }
  }
  return plan;
}

}  // namespace capstan::controller::haproxy
