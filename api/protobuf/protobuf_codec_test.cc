#include "api/protobuf/protobuf_codec.h"

#include <gtest/gtest.h>

#include <string>

namespace capstan::api::protobuf {
namespace {

// A test-only protobuf encoder: enough to hand-build Kubernetes bodies.
class Enc {
 public:
  Enc& Varint(int field, uint64_t v) {
    Key(field, 0);
    Raw(v);
    return *this;
  }
  Enc& Bytes(int field, std::string_view b) {
    Key(field, 2);
    Raw(b.size());
    out_.append(b);
    return *this;
  }
  Enc& Msg(int field, const Enc& m) { return Bytes(field, m.str()); }
  // A map<string, string> entry.
  Enc& Entry(int field, std::string_view k, std::string_view v) { return Msg(field, Enc().Bytes(1, k).Bytes(2, v)); }
  // A map<string, Quantity> entry.
  Enc& QuantityEntry(int field, std::string_view k, std::string_view q) {
    return Msg(field, Enc().Bytes(1, k).Msg(2, Enc().Bytes(1, q)));
  }
  const std::string& str() const { return out_; }

 private:
  void Key(int field, int wire) { Raw((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire)); }
  void Raw(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  std::string out_;
};

// The body kubectl sends: magic + runtime.Unknown{typeMeta, raw, contentEncoding, contentType}.
std::string Body(const std::string& api_version, const std::string& kind, const Enc& raw) {
  Enc unknown;
  unknown.Msg(1, Enc().Bytes(1, api_version).Bytes(2, kind)).Msg(2, raw).Bytes(3, "").Bytes(4, "");
  return std::string("k8s\0", 4) + unknown.str();
}

// ObjectMeta as Go marshals it: every non-pointer field, zero or not.
Enc Meta(const std::string& name, const std::string& ns) {
  Enc m;
  m.Bytes(1, name).Bytes(2, "").Bytes(3, ns).Bytes(4, "").Bytes(5, "").Bytes(6, "").Varint(7, 0).Bytes(8, "");
  return m;
}

// An IntOrString: {type, intVal, strVal}.
Enc IntVal(int32_t v) { return Enc().Varint(1, 0).Varint(2, static_cast<uint32_t>(v)).Bytes(3, ""); }
Enc StrVal(const std::string& v) { return Enc().Varint(1, 1).Varint(2, 0).Bytes(3, v); }

class ProtobufCodecTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterBuiltinKinds(); }

  static json MustDecode(const std::string& body) {
    auto r = DecodeKubernetesProtobuf(body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }
  static Status DecodeError(const std::string& body) {
    auto r = DecodeKubernetesProtobuf(body);
    EXPECT_FALSE(r.ok()) << r->dump();
    return r.ok() ? Status::Ok() : r.status();
  }
};

TEST_F(ProtobufCodecTest, ConfigMap) {
  Enc cm;
  cm.Msg(1, Meta("a", "default").Entry(11, "app", "web")).Entry(2, "x", "y").Entry(2, "empty", "");
  json got = MustDecode(Body("v1", "ConfigMap", cm));
  EXPECT_EQ(got, json::parse(R"({"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "a", "namespace": "default", "creationTimestamp": null, "labels": {"app": "web"}},
      "data": {"x": "y", "empty": ""}})"));
}

TEST_F(ProtobufCodecTest, SecretWithBinaryDataAndExplicitFalse) {
  Enc secret;
  secret.Msg(1, Meta("s", "default"))
      .Msg(2, Enc().Bytes(1, "bin").Bytes(2, std::string("\x00\xff\x10", 3)))
      .Msg(2, Enc().Bytes(1, "p").Bytes(2, "q"))
      .Bytes(3, "Opaque")
      .Varint(5, 0);  // immutable: false, a *bool the client set
  json got = MustDecode(Body("v1", "Secret", secret));
  EXPECT_EQ(got, json::parse(R"({"apiVersion": "v1", "kind": "Secret",
      "metadata": {"name": "s", "namespace": "default", "creationTimestamp": null},
      "data": {"bin": "AP8Q", "p": "cQ=="}, "type": "Opaque", "immutable": false})"));
}

TEST_F(ProtobufCodecTest, ConfigMapBinaryData) {
  Enc cm;
  cm.Msg(1, Meta("b", "default")).Msg(3, Enc().Bytes(1, "k").Bytes(2, "hi"));
  json got = MustDecode(Body("v1", "ConfigMap", cm));
  EXPECT_EQ(got["binaryData"], json::parse(R"({"k": "aGk="})"));
}

TEST_F(ProtobufCodecTest, Namespace) {
  Enc ns;
  ns.Msg(1, Meta("n", "").Msg(9, Enc().Varint(1, 1700000000).Varint(2, 5)))  // deletionTimestamp
      .Msg(2, Enc().Bytes(1, "kubernetes"))
      .Msg(3, Enc().Bytes(1, ""));
  json got = MustDecode(Body("v1", "Namespace", ns));
  EXPECT_EQ(got, json::parse(R"({"apiVersion": "v1", "kind": "Namespace",
      "metadata": {"name": "n", "creationTimestamp": null, "deletionTimestamp": "2023-11-14T22:13:20Z"},
      "spec": {"finalizers": ["kubernetes"]}, "status": {}})"));
}

TEST_F(ProtobufCodecTest, Deployment) {
  Enc probe;
  probe.Msg(1, Enc().Msg(2, Enc().Bytes(1, "/healthz").Msg(2, StrVal("http")).Bytes(3, "").Bytes(4, "HTTP")))
      .Varint(2, 5)
      .Varint(3, 0)
      .Varint(4, 10);
  Enc container;
  container.Bytes(1, "nginx")
      .Bytes(2, "nginx:1.27")
      .Bytes(3, "nginx")
      .Bytes(4, "-g")
      .Msg(6, Enc().Bytes(1, "http").Varint(2, 0).Varint(3, 80).Bytes(4, "TCP").Bytes(5, ""))
      .Msg(7, Enc().Bytes(1, "A").Bytes(2, "1"))
      .Msg(7, Enc().Bytes(1, "POD").Bytes(2, "").Msg(3, Enc().Msg(1, Enc().Bytes(1, "v1").Bytes(2, "metadata.name"))))
      .Msg(8, Enc().QuantityEntry(1, "cpu", "500m").QuantityEntry(2, "memory", "64Mi"))
      .Msg(10, probe)
      .Bytes(13, "/dev/termination-log")
      .Bytes(14, "IfNotPresent")
      .Bytes(20, "File")
      .Varint(16, 0);  // stdin: false (non-pointer, omitempty: omitted)
  Enc pod_spec;
  pod_spec.Msg(2, container).Bytes(3, "Always").Varint(4, 30).Bytes(6, "ClusterFirst");
  Enc spec;
  spec.Varint(1, 0)  // replicas: 0, a *int32: kept
      .Msg(2, Enc().Entry(1, "app", "d"))
      .Msg(3, Enc().Msg(1, Meta("", "").Entry(11, "app", "d")).Msg(2, pod_spec))
      .Msg(4, Enc().Bytes(1, "RollingUpdate").Msg(2, Enc().Msg(1, IntVal(1)).Msg(2, StrVal("25%"))))
      .Varint(5, 0);
  Enc deploy;
  deploy.Msg(1, Meta("d", "default")).Msg(2, spec).Msg(3, Enc());
  json got = MustDecode(Body("apps/v1", "Deployment", deploy));
  EXPECT_EQ(got, json::parse(R"({"apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": {"name": "d", "namespace": "default", "creationTimestamp": null},
      "spec": {
        "replicas": 0,
        "selector": {"matchLabels": {"app": "d"}},
        "template": {
          "metadata": {"creationTimestamp": null, "labels": {"app": "d"}},
          "spec": {
            "containers": [{
              "name": "nginx", "image": "nginx:1.27", "command": ["nginx"], "args": ["-g"],
              "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
              "env": [{"name": "A", "value": "1"},
                      {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
              "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
              "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                                "initialDelaySeconds": 5, "periodSeconds": 10},
              "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
              "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst"}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}}},
      "status": {}})"));
}

TEST_F(ProtobufCodecTest, NegativeInt32AndPackedIntegers) {
  // A negative int32 travels as a sign-extended 10-byte varint.
  Enc spec;
  spec.Varint(1, static_cast<uint64_t>(int64_t{-3}));
  Enc rs;
  rs.Msg(1, Meta("r", "default")).Msg(2, spec);
  json got = MustDecode(Body("apps/v1", "ReplicaSet", rs));
  EXPECT_EQ(got["spec"]["replicas"], -3);
}

TEST_F(ProtobufCodecTest, EventMicroTime) {
  Enc ev;
  ev.Msg(1, Meta("e", "default"))
      .Msg(2, Enc().Bytes(1, "Pod").Bytes(3, "p"))
      .Msg(10, Enc().Varint(1, 1700000000).Varint(2, 123456789))
      .Msg(6, Enc());
  json got = MustDecode(Body("v1", "Event", ev));
  EXPECT_EQ(got["eventTime"], "2023-11-14T22:13:20.123456Z");
  EXPECT_TRUE(got["firstTimestamp"].is_null());
  EXPECT_EQ(got["involvedObject"], json::parse(R"({"kind": "Pod", "name": "p"})"));
}

TEST_F(ProtobufCodecTest, UnknownFieldsRejectedUnlessEmpty) {
  // ConfigMap has no field 9: an empty value is accepted (Go writes zero non-pointer fields)...
  Enc ok;
  ok.Msg(1, Meta("a", "default")).Bytes(9, "").Varint(10, 0).Msg(11, Enc().Bytes(1, "").Varint(2, 0));
  EXPECT_EQ(MustDecode(Body("v1", "ConfigMap", ok))["metadata"]["name"], "a");
  // ... a value is not.
  Enc bad;
  bad.Msg(1, Meta("a", "default")).Varint(9, 7);
  Status st = DecodeError(Body("v1", "ConfigMap", bad));
  EXPECT_EQ(st.code(), Code::kBadRequest);
  EXPECT_NE(st.message().find("field number 9 of io.k8s.api.core.v1.ConfigMap"), std::string::npos) << st.message();
}

TEST_F(ProtobufCodecTest, SchemalessFieldsAskForJson) {
  Enc container;
  container.Bytes(1, "c").Msg(15, Enc().Varint(5, 1));  // securityContext {runAsNonRoot: true}
  Enc pod;
  pod.Msg(1, Meta("p", "default")).Msg(2, Enc().Msg(2, container));
  Status st = DecodeError(Body("v1", "Pod", pod));
  EXPECT_EQ(st.code(), Code::kUnsupportedMediaType);
  EXPECT_NE(st.message().find("spec.containers[0].securityContext"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("send JSON"), std::string::npos);
}

TEST_F(ProtobufCodecTest, ServiceAsKubectlCreateServiceSendsIt) {
  // `kubectl create service clusterip web --tcp=80:8080`: Go writes every non-pointer field.
  Enc port;
  port.Bytes(1, "80-8080").Bytes(2, "TCP").Varint(3, 80).Msg(4, IntVal(8080)).Varint(5, 0);
  Enc spec;
  spec.Msg(1, port).Entry(2, "app", "web").Bytes(3, "").Bytes(4, "ClusterIP").Bytes(7, "").Varint(12, 0).Varint(13, 0);
  json got = MustDecode(Body("v1", "Service", Enc().Msg(1, Meta("web", "default")).Msg(2, spec).Msg(3, Enc())));
  EXPECT_EQ(got, json::parse(R"({"apiVersion": "v1", "kind": "Service",
      "metadata": {"name": "web", "namespace": "default", "creationTimestamp": null},
      "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
               "selector": {"app": "web"}, "type": "ClusterIP"},
      "status": {}})"));
}

TEST_F(ProtobufCodecTest, MalformedInput) {
  const std::string magic("k8s\0", 4);
  EXPECT_EQ(DecodeError("").code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError("k8s").code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError("{\"kind\": \"ConfigMap\"}").code(), Code::kBadRequest);  // wrong magic
  EXPECT_EQ(DecodeError(std::string("k8s\1", 4) + Enc().Bytes(1, "").str()).code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError(magic).code(), Code::kBadRequest);        // no typeMeta
  EXPECT_EQ(DecodeError(magic + "\x0a").code(), Code::kBadRequest);  // truncated length
  EXPECT_EQ(DecodeError(magic + "\x0a\x05\x0a").code(), Code::kBadRequest);  // length past the end
  EXPECT_EQ(DecodeError(magic + "\x08\xff\xff").code(), Code::kBadRequest);  // truncated varint
  EXPECT_EQ(DecodeError(magic + std::string(11, '\xff')).code(), Code::kBadRequest);  // overlong varint
  EXPECT_EQ(DecodeError(magic + "\x0b").code(), Code::kBadRequest);  // group wire type

  // Inside the object: a truncated varint, a length past the end, a wrong wire type, bad UTF-8.
  const std::string good = Body("v1", "ConfigMap", Enc().Msg(1, Meta("a", "default")));
  auto with_raw = [](const std::string& raw) {
    Enc unknown;
    unknown.Msg(1, Enc().Bytes(1, "v1").Bytes(2, "ConfigMap")).Bytes(2, raw);
    return std::string("k8s\0", 4) + unknown.str();
  };
  EXPECT_EQ(DecodeError(with_raw("\x20\x80")).code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError(with_raw("\x0a\x10\x0a\x01")).code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError(with_raw(Enc().Varint(1, 3).str())).code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError(with_raw(Enc().Msg(1, Enc().Bytes(1, "\xff\xfe")).str())).code(), Code::kBadRequest);
  EXPECT_EQ(DecodeError(with_raw(Enc().Msg(1, Enc().Msg(8, Enc().Varint(1, uint64_t{1} << 62))).str())).code(),
            Code::kBadRequest);  // time out of range

  // Every truncation of a valid body fails cleanly or decodes; none crashes.
  for (size_t n = 0; n < good.size(); ++n) (void)DecodeKubernetesProtobuf(good.substr(0, n));
  // So does every single-byte corruption.
  for (size_t i = 4; i < good.size(); ++i) {
    for (int b : {0x00, 0x7f, 0x80, 0xff}) {
      std::string c = good;
      c[i] = static_cast<char>(b);
      (void)DecodeKubernetesProtobuf(c);
    }
  }
}

TEST_F(ProtobufCodecTest, DeeplyNestedUnknownBytesDoNotOverflow) {
  std::string nested = Enc().Varint(1, 1).str();
  for (int i = 0; i < 200; ++i) nested = Enc().Bytes(1, nested).str();
  Enc cm;
  cm.Msg(1, Meta("a", "default")).Bytes(9, nested);
  EXPECT_EQ(DecodeError(Body("v1", "ConfigMap", cm)).code(), Code::kBadRequest);
}

}  // namespace
}  // namespace capstan::api::protobuf
