// Backend: how one server under test spells each benchmark operation as HTTP/JSON, so that one
// client (load.h, watch_client.h) drives capstan and etcd's gRPC gateway the same way.
//
// A "group" is where a set of objects lives: a namespace for capstan, a key prefix
// (/bench/<group>/) for etcd. Both store the very same ~1 KiB ConfigMap JSON text per object.
//
// Thread-safety: const methods may be called from any thread; the others take a client the
// caller owns.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

namespace capstan::bench {

struct HttpCall {
  std::string method;  // "GET" or "POST"
  std::string path;    // with query
  std::string body;    // POST only, JSON
};

class Backend {
 public:
  Backend(std::string host, int port, std::string token)
      : host_(std::move(host)), port_(port), token_(std::move(token)) {}
  virtual ~Backend() = default;

  virtual const char* name() const = 0;
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& token() const { return token_; }  // bearer token; empty for none

  // One-time setup before `group` is written (capstan: the namespace must exist). Returns an
  // error text, or "" on success.
  virtual std::string PrepareGroup(httplib::Client& c, const std::string& group) const = 0;

  // Writes object `name` (whose JSON text is `object`) into `group`.
  virtual HttpCall Create(const std::string& group, const std::string& name, const std::string& object) const = 0;
  virtual HttpCall Get(const std::string& group, const std::string& name) const = 0;
  // Whether a 2xx reply to Get() carried the object (etcd answers 200 with no kvs when absent).
  virtual bool Found(const std::string& body) const = 0;
  // Everything in `group`, in one response.
  virtual HttpCall List(const std::string& group) const = 0;
  // The number of objects in a List() reply, or -1 if it cannot be read.
  virtual long ListCount(const std::string& body) const = 0;

  // The raw HTTP/1.1 request that opens a watch on `group` for changes made from now on, or ""
  // with *error set.
  virtual std::string WatchRequest(httplib::Client& c, const std::string& group, std::string* error) const = 0;
  // Capstan's watch is live once its 200 headers arrive; etcd's once it sends "created":true.
  virtual bool EstablishedOnHeaders() const = 0;
  virtual bool IsCreatedMessage(std::string_view line) const = 0;
  // An error event or message on the stream (the watch is over).
  virtual bool IsErrorMessage(std::string_view line) const = 0;
  // Appends the number N of every object named "<marker>N" that one message of the stream reports.
  virtual void Markers(std::string_view line, std::string_view marker, std::vector<long>* out) const = 0;

 protected:
  std::string CommonHeaders() const;  // Host, and Authorization when there is a token

 private:
  const std::string host_;
  const int port_;
  const std::string token_;
};

std::unique_ptr<Backend> NewCapstanBackend(std::string host, int port, std::string token);
std::unique_ptr<Backend> NewEtcdBackend(std::string host, int port);

// The ConfigMap JSON text stored by both servers: `bytes` long in total (about), with a payload
// of pseudo-random letters seeded by `seed` (so compression cannot flatter either store).
std::string ObjectJson(const std::string& group, const std::string& name, size_t bytes, uint64_t seed);

// cpp-httplib's terse error name, with what it means for a benchmark ("Connection" = refused).
std::string ErrorText(httplib::Error e);

// Reads the decimal number at the start of `s` (0 digits: -1).
long LeadingNumber(std::string_view s);

}  // namespace capstan::bench
