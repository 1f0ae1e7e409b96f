// v1 Event (core group): what happened to an involved object, as `kubectl get events` shows it.
//
// Validation is Kubernetes' legacyValidateEvent: old-style events (no eventTime) must agree with
// their involved object's namespace; new-style ones (eventTime set) need reportingComponent,
// reportingInstance, action and reason within Kubernetes' length limits. `type` is free-form in
// core/v1 for old-style events, Normal or Warning for new-style ones (as events.k8s.io requires).
#include <cctype>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

SchemaPtr ObjectReferenceSchema() {
  static const SchemaPtr kSchema = Object(
      "io.k8s.api.core.v1.ObjectReference",
      {F("kind", String()), F("namespace", String()), F("name", String()), F("uid", String()),
       F("apiVersion", String()), F("resourceVersion", String()),
       F("fieldPath", String("A piece of the object, e.g. spec.containers{name}."))},
      "A reference to an API object.");
  return kSchema;
}

SchemaPtr EventSchema() {
  auto source = Object("io.k8s.api.core.v1.EventSource",
                       {F("component", String("Component from which the event is generated.")),
                        F("host", String("Node name on which the event is generated."))});
  auto series = Object("io.k8s.api.core.v1.EventSeries",
                       {F("count", Int32("Number of occurrences in this series up to the last heartbeat.")),
                        F("lastObservedTime", Time("Time of the last occurrence observed."))});
  return KindSchema(
      "io.k8s.api.core.v1.Event",
      {R("involvedObject", ObjectReferenceSchema()),
       F("reason", String("Short, machine understandable reason for the transition (CamelCase).")),
       F("message", String("A human-readable description of the status of this operation.")),
       F("source", source),
       F("firstTimestamp", Time("The time at which the event was first recorded.")),
       F("lastTimestamp", Time("The time at which the most recent occurrence was recorded.")),
       F("count", Int32("The number of times this event has occurred.")),
       F("type", String("Normal or Warning.")),
       F("eventTime", Time("Time when this Event was first observed (MicroTime).")),
       F("series", series),
       F("action", String("What action was taken/failed regarding the involved object.")),
       F("related", ObjectReferenceSchema()),
       F("reportingComponent", String("Name of the controller that emitted this Event.")),
       F("reportingInstance", String("ID of the controller instance."))},
      "Event is a report of an event somewhere in the cluster.");
}

void Validate(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  const json* meta = Get(obj, "metadata");
  std::string ns = meta != nullptr ? GetString(*meta, "namespace") : "";
  const json* involved = Get(obj, "involvedObject");
  std::string involved_ns = involved != nullptr ? GetString(*involved, "namespace") : "";
  if (Get(obj, "eventTime") == nullptr) {
    // Cluster-scoped objects' events live in "default" (or nowhere), for old clients.
    bool ok = involved_ns.empty() ? (ns.empty() || ns == "default") : ns == involved_ns;
    if (!ok) AddInvalid(errors, "involvedObject.namespace", involved_ns, "does not match event.namespace");
    return;
  }
  if (involved_ns.empty() && ns != "default" && ns != "kube-system") {
    AddInvalid(errors, "involvedObject.namespace", involved_ns, "does not match event.namespace");
  }
  std::string component = GetString(obj, "reportingComponent");
  if (component.empty()) {
    AddRequired(errors, "reportingComponent");
  } else {
    AddInvalidEach(errors, "reportingComponent", component, CheckQualifiedName(component));
  }
  auto check = [&](const char* field, size_t limit) {
    std::string v = GetString(obj, field);
    if (v.empty()) {
      AddRequired(errors, field);
    } else if (v.size() > limit) {
      AddInvalid(errors, field, "", "can have at most " + std::to_string(limit) + " characters");
    }
  };
  check("reportingInstance", 128);
  check("action", 128);
  check("reason", 128);
  if (GetString(obj, "message").size() > 1024) {
    AddInvalid(errors, "message", "", "can have at most 1024 characters");
  }
  std::string type = GetString(obj, "type");
  if (type != "Normal" && type != "Warning") AddNotSupported(errors, "type", type, {"Normal", "Warning"});
}

// ---- Printing, as kubectl's printEvent ------------------------------------------------------------

std::string FirstSeen(const json& e) {
  if (const json* t = Get(e, "firstTimestamp")) return TimestampSince(*t);
  const json* t = Get(e, "eventTime");
  return TimestampSince(t != nullptr ? *t : json());
}

std::string LastSeen(const json& e) {
  if (const json* series = Get(e, "series")) {
    const json* t = Get(*series, "lastObservedTime");
    return TimestampSince(t != nullptr ? *t : json());
  }
  if (const json* t = Get(e, "lastTimestamp")) return TimestampSince(*t);
  return FirstSeen(e);
}

json ObjectCell(const json& e) {
  const json* io = Get(e, "involvedObject");
  std::string kind = io != nullptr ? GetString(*io, "kind") : "";
  for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string name = io != nullptr ? GetString(*io, "name") : "";
  return name.empty() ? kind : kind + "/" + name;
}

json SourceCell(const json& e) {
  const json* src = Get(e, "source");
  std::string component = src != nullptr ? GetString(*src, "component") : "";
  std::string host = src != nullptr ? GetString(*src, "host") : "";
  if (component.empty()) component = GetString(e, "reportingComponent");
  if (host.empty()) host = GetString(e, "reportingInstance");
  return host.empty() ? component : component + ", " + host;
}

json CountCell(const json& e) {
  if (const json* series = Get(e, "series")) return GetInt(*series, "count");
  int64_t count = GetInt(e, "count");
  return count == 0 ? 1 : count;  // singleton events of the new API carry no count
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

void RegisterEvent() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Event";
  k.plural = "events";
  k.singular = "event";
  k.short_names = {"ev"};
  k.schema = EventSchema();
  k.validate = Validate;
  // In Kubernetes the selector "source" means source.component; the generic FieldValue() lookup
  // needs that alias to match it.
  k.field_selectors = {"involvedObject.kind",       "involvedObject.namespace", "involvedObject.name",
                       "involvedObject.uid",        "involvedObject.apiVersion", "involvedObject.resourceVersion",
                       "involvedObject.fieldPath",  "reason",                    "reportingComponent",
                       "source",                    "type"};
  // All of kubectl's event columns, in its order; NAME is last and wide-only, and there is no AGE.
  k.columns = {
      PrinterColumn{"Last Seen", "string", "", 0, "Time of the last occurrence",
                    [](const json& e) -> json { return LastSeen(e); }},
      PrinterColumn{"Type", "string", "", 0, "Normal or Warning", [](const json& e) -> json { return GetString(e, "type"); }},
      PrinterColumn{"Reason", "string", "", 0, "Why the event happened",
                    [](const json& e) -> json { return GetString(e, "reason"); }},
      PrinterColumn{"Object", "string", "", 0, "The object this event is about", ObjectCell},
      PrinterColumn{"Subobject", "string", "", 1, "Part of the object (fieldPath)",
                    [](const json& e) -> json {
                      const json* io = Get(e, "involvedObject");
                      return io != nullptr ? GetString(*io, "fieldPath") : "";
                    }},
      PrinterColumn{"Source", "string", "", 1, "The component reporting this event", SourceCell},
      PrinterColumn{"Message", "string", "", 0, "A human-readable description",
                    [](const json& e) -> json { return Trim(GetString(e, "message")); }},
      PrinterColumn{"First Seen", "string", "", 1, "Time of the first occurrence",
                    [](const json& e) -> json { return FirstSeen(e); }},
      PrinterColumn{"Count", "string", "", 1, "Number of occurrences", CountCell},
      PrinterColumn{"Name", "string", "name", 1, "Name of the event",
                    [](const json& e) -> json {
                      const json* m = Get(e, "metadata");
                      return m != nullptr ? GetString(*m, "name") : "";
                    }},
  };
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
