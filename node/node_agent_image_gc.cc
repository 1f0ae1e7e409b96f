// The node agent's hook for image garbage collection (image_gc.h): what the manager sees of the
// agent. Kept apart from node_agent.cc so that the agent's pod lifecycle stays in one place.
#include "node/node_agent.h"

namespace capstan::node {

ImageGcManagerOptions NodeAgent::ImageGcOptionsFor(const ImageGcPolicy& policy) {
  ImageGcManagerOptions gc;
  gc.policy = policy;
  gc.driver = driver_;
  gc.clock = clock_;
  gc.node_name = node_name_;
  gc.pod_images = [this] { return ImagesOfPods(PodsOnThisNode()); };
  // Else the puller would take a removed image as present, skip its pull, and the start fail.
  gc.removed = [this](const ImageInfo&) { puller_.ImagesRemoved(); };
  if (events_ != nullptr) {
    // Events about the Node, as the kubelet's image GC records them.
    const nlohmann::json node = {{"apiVersion", "v1"},
                                 {"kind", "Node"},
                                 {"metadata", {{"name", node_name_}, {"uid", registration_->node_uid()}}}};
    gc.event = [this, node](bool warning, const std::string& reason, const std::string& message) {
      events_->Event(node, warning ? client::kEventTypeWarning : client::kEventTypeNormal, reason, message);
    };
  }
  return gc;
}

}  // namespace capstan::node
