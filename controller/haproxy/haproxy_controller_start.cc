// HAProxy that cannot start for a listener port another process holds: without this it would fail
// and be restarted with backoff forever, every Service down. Its output of the failed run names
// the listener's config line ("Binding [haproxy.cfg:LINE] ... cannot bind socket"), blamed as a
// failed reload's is: those objects are left out of the file the supervisor starts it from next,
// and get the Event and condition. As for a failed reload the blame is not kept: once HAProxy
// runs, the next reconcile tries them again through a reload, which fails (and blames) or, the
// port freed, succeeds.
#include <fstream>
#include <iterator>

#include "base/log.h"
#include "controller/haproxy/config_check.h"
#include "controller/haproxy/haproxy_controller.h"

namespace capstan::controller::haproxy {

void HaproxyController::CaptureExitOutput() {
  std::lock_guard<std::mutex> lock(exit_mu_);
  std::ifstream in(dir_ + "/haproxy.log", std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(log_offset_));
  exit_output_.assign(std::istreambuf_iterator<char>(in), {});
  log_offset_ += exit_output_.size();
}

bool HaproxyController::ExcludeStartFailures(const ModelInputs& inputs) {
  std::string output;
  {
    std::lock_guard<std::mutex> lock(exit_mu_);
    output.swap(exit_output_);
  }
  const std::set<std::string> blamed = applier_->BlameOutput(output);
  if (blamed.empty()) return false;
  const std::string message = "HAProxy could not start: " + AlertSummary(output);
  ModelInputs in = inputs;
  std::vector<Problem> problems;
  for (ObjectList* list : {&in.services, &in.ingresses, &in.secrets}) {
    std::erase_if(*list, [&](const client::ObjectPtr& o) {
      if (!blamed.count(SourceName(*o))) return false;
      problems.push_back({o, message});
      return true;
    });
  }
  ModelResult built = BuildHaproxyModel(in);
  // HAProxy is down (or about to fail again): its next start reads this file.
  if (Status st = applier_->WriteInitial(built.model); !st.ok()) {
    log::Warn("haproxy: cannot write the config without the objects it could not start with",
              {{"error", st.ToString()}});
    return false;
  }
  log::Warn("haproxy could not start; left out what it blamed", {{"error", message}});
  Report(problems, "HAProxyConfigRejected");
  return true;
}

}  // namespace capstan::controller::haproxy
