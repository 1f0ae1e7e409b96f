// The PodSpec schema. Field names, types, list types and merge keys follow the Kubernetes OpenAPI
// (io.k8s.api.core.v1.*); descriptions are abridged.
#include "api/kinds/pod_spec.h"

#include "api/kinds/meta.h"

namespace capstan::api::kinds {

using namespace s;  // NOLINT: schema builders read as a DSL

namespace {

constexpr char kCore[] = "io.k8s.api.core.v1.";
std::string Ref(const char* name) { return std::string(kCore) + name; }

SchemaPtr LocalObjectReference() {
  return Object(Ref("LocalObjectReference"), {F("name", String("Name of the referent."))});
}

// The handler fields of a probe (exec, httpGet, tcpSocket, grpc) or a lifecycle hook (sleep
// instead of grpc).
void ProbeHandlerFields(std::vector<Field>* out, bool lifecycle) {
  auto exec = Object(Ref("ExecAction"), {F("command", AtomicArray(String(), "Command line to execute, not run in a shell."))});
  auto header = Object(Ref("HTTPHeader"), {R("name", String("Header field name.")), R("value", String("Header value."))});
  auto http = Object(Ref("HTTPGetAction"),
                     {F("path", String("Path to access on the HTTP server.")),
                      R("port", IntOrString("Number or name of the port.")),
                      F("host", String("Host name to connect to, defaults to the pod IP.")),
                      F("scheme", String("HTTP or HTTPS; defaults to HTTP.")),
                      F("httpHeaders", AtomicArray(header, "Custom headers to set in the request."))});
  auto tcp = Object(Ref("TCPSocketAction"), {R("port", IntOrString("Number or name of the port.")),
                                             F("host", String("Host name to connect to, defaults to the pod IP."))});
  out->push_back(F("exec", exec));
  out->push_back(F("httpGet", http));
  out->push_back(F("tcpSocket", tcp));
  if (lifecycle) {
    out->push_back(F("sleep", Object(Ref("SleepAction"), {R("seconds", Integer("Seconds to sleep."))})));
  } else {
    out->push_back(F("grpc", Object(Ref("GRPCAction"), {R("port", Int32("Port number of the gRPC service.")),
                                                        F("service", String("Service name for the gRPC health check."))})));
  }
}

SchemaPtr ProbeSchema() {
  std::vector<Field> fields;
  ProbeHandlerFields(&fields, false);
  fields.push_back(F("initialDelaySeconds", Int32("Seconds after the container started before probes start.")));
  fields.push_back(F("timeoutSeconds", Int32("Seconds after which the probe times out. Defaults to 1.")));
  fields.push_back(F("periodSeconds", Int32("How often to probe, in seconds. Defaults to 10.")));
  fields.push_back(F("successThreshold", Int32("Consecutive successes to count as success. Defaults to 1.")));
  fields.push_back(F("failureThreshold", Int32("Consecutive failures to count as failure. Defaults to 3.")));
  fields.push_back(F("terminationGracePeriodSeconds", Integer("Grace period when the probe fails.")));
  return Object(Ref("Probe"), std::move(fields), "A health check performed against a container.");
}

SchemaPtr LifecycleSchema() {
  std::vector<Field> handler_fields;
  ProbeHandlerFields(&handler_fields, true);
  auto handler = Object(Ref("LifecycleHandler"), std::move(handler_fields));
  return Object(Ref("Lifecycle"), {F("postStart", handler), F("preStop", handler),
                                   F("stopSignal", String("Signal to stop the container with."))});
}

SchemaPtr EnvVarSchema() {
  auto field_ref = Object(Ref("ObjectFieldSelector"),
                          {F("apiVersion", String("Defaults to \"v1\".")), R("fieldPath", String("Path of the field."))});
  auto resource_ref = Object(Ref("ResourceFieldSelector"),
                             {F("containerName", String()), R("resource", String("Resource to select.")),
                              F("divisor", Quantity("Output format of the exposed resources, defaults to \"1\"."))});
  auto key_ref = [](const char* ref) {
    return Object(Ref(ref), {R("key", String("The key to select.")), F("name", String("Name of the referent.")),
                             F("optional", Bool("Whether the object or its key must be defined."))});
  };
  auto source = Object(Ref("EnvVarSource"), {F("fieldRef", field_ref), F("resourceFieldRef", resource_ref),
                                             F("configMapKeyRef", key_ref("ConfigMapKeySelector")),
                                             F("secretKeyRef", key_ref("SecretKeySelector"))});
  return Object(Ref("EnvVar"), {R("name", String("Name of the environment variable.")),
                                F("value", String("Value, with $(VAR_NAME) references expanded.")),
                                F("valueFrom", source)});
}

SchemaPtr EnvFromSchema() {
  auto ref = [](const char* name) {
    return Object(Ref(name), {F("name", String("Name of the referent.")), F("optional", Bool())});
  };
  return Object(Ref("EnvFromSource"), {F("prefix", String("Prepended to each key.")),
                                       F("configMapRef", ref("ConfigMapEnvSource")),
                                       F("secretRef", ref("SecretEnvSource"))});
}

SchemaPtr ResourcesSchema() {
  auto claim = Object(Ref("ResourceClaim"), {R("name", String()), F("request", String())});
  return Object(Ref("ResourceRequirements"),
                {F("limits", Map(Quantity(), "Maximum amount of compute resources allowed.")),
                 F("requests", Map(Quantity(), "Minimum amount of compute resources required.")),
                 F("claims", Array(claim, "Dynamic resource claims used by this container.", "name"))});
}

SchemaPtr ContainerPortSchema() {
  return Object(Ref("ContainerPort"),
                {F("name", String("An IANA_SVC_NAME, unique within the pod.")),
                 F("hostPort", Int32("Port to expose on the host.")),
                 R("containerPort", Int32("Port to expose on the pod's IP address.")),
                 F("protocol", Enum({"TCP", "UDP", "SCTP"}, "Defaults to \"TCP\".")),
                 F("hostIP", String("Host IP to bind the external port to."))});
}

SchemaPtr VolumeMountSchema() {
  return Object(Ref("VolumeMount"),
                {R("name", String("The name of a volume.")), F("readOnly", Bool()),
                 F("recursiveReadOnly", String()), R("mountPath", String("Path within the container.")),
                 F("subPath", String()), F("mountPropagation", String()), F("subPathExpr", String())});
}

SchemaPtr BuildContainer() {
  auto device = Object(Ref("VolumeDevice"), {R("name", String()), R("devicePath", String())});
  return Object(
      Ref("Container"),
      {R("name", String("Name of the container, a DNS_LABEL unique within the pod.")),
       F("image", String("Container image name.")),
       F("command", AtomicArray(String(), "Entrypoint array, not run in a shell.")),
       F("args", AtomicArray(String(), "Arguments to the entrypoint.")),
       F("workingDir", String("Container's working directory.")),
       F("ports", Array(ContainerPortSchema(), "Ports to expose from the container.", "containerPort")),
       F("envFrom", AtomicArray(EnvFromSchema(), "Sources to populate environment variables from.")),
       F("env", Array(EnvVarSchema(), "Environment variables to set in the container.", "name")),
       F("resources", ResourcesSchema()),
       F("resizePolicy", AtomicArray(Any(), "Resize policy; accepted, not enforced.")),
       F("restartPolicy", String("Only \"Always\", for sidecar init containers.")),
       F("volumeMounts", Array(VolumeMountSchema(), "Volumes to mount into the filesystem.", "mountPath")),
       F("volumeDevices", Array(device, "Block devices; accepted, not enforced.", "devicePath")),
       F("livenessProbe", ProbeSchema()),
       F("readinessProbe", ProbeSchema()),
       F("startupProbe", ProbeSchema()),
       F("lifecycle", LifecycleSchema()),
       F("terminationMessagePath", String("Defaults to /dev/termination-log.")),
       F("terminationMessagePolicy", String("File or FallbackToLogsOnError; defaults to File.")),
       F("imagePullPolicy", String("Always, Never or IfNotPresent.")),
       F("securityContext", Any("SecurityContext; accepted and stored, not enforced by Capstan.")),
       F("stdin", Bool()), F("stdinOnce", Bool()), F("tty", Bool())},
      "A single application container to run within a pod.");
}

SchemaPtr VolumeSchema() {
  auto key_to_path = Object(Ref("KeyToPath"), {R("key", String()), R("path", String()), F("mode", Int32())});
  std::vector<Field> fields = {
      R("name", String("Volume's name, a DNS_LABEL unique within the pod.")),
      F("emptyDir", Object(Ref("EmptyDirVolumeSource"), {F("medium", String()), F("sizeLimit", Quantity())})),
      F("hostPath", Object(Ref("HostPathVolumeSource"), {R("path", String()), F("type", String())})),
      F("configMap", Object(Ref("ConfigMapVolumeSource"),
                            {F("name", String()), F("items", AtomicArray(key_to_path)), F("defaultMode", Int32()),
                             F("optional", Bool())})),
      F("secret", Object(Ref("SecretVolumeSource"),
                         {F("secretName", String()), F("items", AtomicArray(key_to_path)), F("defaultMode", Int32()),
                          F("optional", Bool())})),
      F("persistentVolumeClaim", Object(Ref("PersistentVolumeClaimVolumeSource"),
                                        {R("claimName", String()), F("readOnly", Bool())}))};
  // Sources Capstan stores but does not implement; schema'd loosely so manifests still decode.
  for (const char* name :
       {"projected", "downwardAPI", "nfs", "csi", "ephemeral", "image", "iscsi", "awsElasticBlockStore",
        "gcePersistentDisk", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker", "gitRepo",
        "glusterfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos",
        "vsphereVolume"}) {
    fields.push_back(F(name, Any("Accepted and stored; not implemented by Capstan.")));
  }
  return Object(Ref("Volume"), std::move(fields), "A named volume in a pod.");
}

SchemaPtr AffinitySchema() {
  auto requirement = Object(Ref("NodeSelectorRequirement"),
                            {R("key", String()), R("operator", String("In, NotIn, Exists, DoesNotExist, Gt, Lt.")),
                             F("values", AtomicArray(String()))});
  auto term = Object(Ref("NodeSelectorTerm"), {F("matchExpressions", AtomicArray(requirement)),
                                               F("matchFields", AtomicArray(requirement))});
  auto selector = Object(Ref("NodeSelector"), {R("nodeSelectorTerms", AtomicArray(term, "ORed terms."))});
  auto preferred = Object(Ref("PreferredSchedulingTerm"), {R("weight", Int32("1-100.")), R("preference", term)});
  auto node = Object(Ref("NodeAffinity"),
                     {F("requiredDuringSchedulingIgnoredDuringExecution", selector),
                      F("preferredDuringSchedulingIgnoredDuringExecution", AtomicArray(preferred))});
  return Object(Ref("Affinity"), {F("nodeAffinity", node),
                                  F("podAffinity", Any("Accepted and stored; not enforced by Capstan's scheduler.")),
                                  F("podAntiAffinity", Any("Accepted and stored; not enforced by Capstan's scheduler."))});
}

SchemaPtr BuildPodSpec() {
  auto toleration = Object(Ref("Toleration"), {F("key", String()), F("operator", String("Exists or Equal.")),
                                               F("value", String()), F("effect", String()),
                                               F("tolerationSeconds", Integer())});
  auto gate = Object(Ref("PodReadinessGate"), {R("conditionType", String())});
  auto scheduling_gate = Object(Ref("PodSchedulingGate"), {R("name", String())});
  return Object(
      Ref("PodSpec"),
      {F("volumes", Array(VolumeSchema(), "Volumes that can be mounted by containers.", "name", "merge,retainKeys")),
       F("initContainers", Array(ContainerSchema(), "Run in order before the app containers.", "name")),
       R("containers", Array(ContainerSchema(), "Containers belonging to the pod.", "name")),
       F("ephemeralContainers", Array(Any(), "Accepted and stored; not run by Capstan.", "name")),
       F("restartPolicy", String("Always, OnFailure or Never. Defaults to Always.")),
       F("terminationGracePeriodSeconds", Integer("Defaults to 30 seconds.")),
       F("activeDeadlineSeconds", Integer()),
       F("dnsPolicy", String("Defaults to \"ClusterFirst\".")),
       F("nodeSelector", StringMap("Labels a node must have for the pod to fit on it.")),
       F("serviceAccountName", String()),
       F("serviceAccount", String("Deprecated alias for serviceAccountName.")),
       F("automountServiceAccountToken", Bool()),
       F("nodeName", String("The node the pod is bound to.")),
       F("hostNetwork", Bool()), F("hostPID", Bool()), F("hostIPC", Bool()), F("shareProcessNamespace", Bool()),
       F("securityContext", Any("PodSecurityContext; accepted and stored, not enforced by Capstan.")),
       F("imagePullSecrets", Array(LocalObjectReference(), "Secrets for pulling images.", "name")),
       F("hostname", String()), F("subdomain", String()),
       F("affinity", AffinitySchema()),
       F("schedulerName", String("Defaults to \"default-scheduler\".")),
       F("tolerations", AtomicArray(toleration)),
       F("hostAliases", Array(Any(), "Accepted and stored.", "ip")),
       F("priorityClassName", String()),
       F("priority", Int32()),
       F("dnsConfig", Any("Accepted and stored.")),
       F("readinessGates", AtomicArray(gate)),
       F("runtimeClassName", String()),
       F("enableServiceLinks", Bool("Defaults to true.")),
       F("preemptionPolicy", String()),
       F("overhead", Map(Quantity())),
       F("topologySpreadConstraints", Array(Any(), "Accepted and stored; not enforced.", "topologyKey")),
       F("setHostnameAsFQDN", Bool()),
       F("os", Any("Accepted and stored.")),
       F("hostUsers", Bool()),
       F("schedulingGates", Array(scheduling_gate, "", "name")),
       F("resourceClaims", Array(Any(), "Accepted and stored.", "name", "merge,retainKeys")),
       F("resources", ResourcesSchema())},
      "PodSpec is a description of a pod.");
}

}  // namespace

SchemaPtr ContainerSchema() {
  static const SchemaPtr kSchema = BuildContainer();
  return kSchema;
}

SchemaPtr PodSpecSchema() {
  static const SchemaPtr kSchema = BuildPodSpec();
  return kSchema;
}

SchemaPtr PodTemplateSpecSchema() {
  static const SchemaPtr kSchema = Object(Ref("PodTemplateSpec"),
                                          {F("metadata", ObjectMetaSchema()), F("spec", PodSpecSchema())},
                                          "Describes the data a pod should have when created from a template.");
  return kSchema;
}

}  // namespace capstan::api::kinds
