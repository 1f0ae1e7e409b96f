// PlanRuntime: how to get HAProxy from the applied model to the desired one — through the runtime
// API when only servers moved, or with a reload when anything else changed. Pure.
//
// Structural (reload): globals, listeners, Ingress routes/certificates, the set of backends, or a
// backend's mode, settings or slot count. Everything else is a server change, one op per slot:
//   kEnter  an empty slot gets an endpoint: addr+port, state drain, health down, state ready.
//           Leaving MAINT straight to ready makes a server UP at once, before any check (seen
//           on 2.6); `health down` is ignored in MAINT but holds in DRAIN. So the server is DOWN
//           when it becomes eligible, and HAProxy itself turns it UP after `rise` passed checks:
//           a replica that is not listening yet never gets a request, and no poll is needed.
//           With `probed` (ServerSlot::probed: the check is the Pod's readinessProbe, which has
//           passed) it goes from MAINT straight to ready, UP at once: HAProxy 2.6 runs a slot's
//           first check only at the next tick of its interval after MAINT, which would hold a
//           Ready replica back by up to a whole interval. HAProxy's checks go on from there.
//   kDrain  a serving endpoint starts terminating: state drain (no new requests; established
//           sessions and persistent-cookie clients finish).
//   kLeave  an endpoint is gone: state drain, then, once its sessions ended (scur 0) or the
//           drain timeout passed, maint (the applier does the waiting).
//   kReady  a draining endpoint serves again: state ready.
//   kMaint  a terminating endpoint is drained (drain_tracker.h: its sessions ended or the bound
//           passed): state maint, no traffic at all, before its Pod is told it may stop.
// A slot whose endpoint changed address is kLeave then kEnter (the builder avoids reusing a slot
// freed in the same step when it can).
#pragma once

#include <string>
#include <vector>

#include "controller/haproxy/haproxy_model.h"

namespace capstan::controller::haproxy {

struct ServerOp {
  enum Kind { kEnter, kDrain, kLeave, kReady, kMaint };
  Kind kind = kEnter;
  std::string backend;
  int slot = 0;
  std::string address;  // kEnter
  int port = 0;         // kEnter
  bool probed = false;  // kEnter: see above
  bool operator==(const ServerOp&) const = default;
};

struct RuntimePlan {
  bool reload = false;
  std::string reason;         // why a reload ("listeners changed", "backend default_web_80: slots 8 -> 16")
  std::vector<ServerOp> ops;  // when !reload: by backend, slot; kLeave before kEnter on one slot
};

RuntimePlan PlanRuntime(const HaproxyModel& applied, const HaproxyModel& desired);

// "s<slot>"
std::string ServerName(int slot);

}  // namespace capstan::controller::haproxy
