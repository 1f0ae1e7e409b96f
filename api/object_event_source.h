// ObjectEventSource: a response stream that can hand its events over as shared objects.
//
// A watch decodes every store event once (DecodedEventCache). An HTTP client needs the events as
// text, but an in-process client (the controllers' informers) would only parse that text back
// into the very objects the server already holds. A stream that implements this interface lets
// such a client take the objects instead: same events, same order, same end, no text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::api {

// A shared, immutable object: never modified once published (copy it to change it).
using ObjectRef = std::shared_ptr<const nlohmann::json>;

struct ObjectEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (whose object is a Status)
  ObjectRef object;  // shared and immutable: see ObjectRef
};

class ObjectEventSource {
 public:
  virtual ~ObjectEventSource() = default;
  // As ResponseStream::Read(), with the events as objects instead of lines of JSON. A stream is
  // read one way or the other, never both. Same thread-safety as Read().
  virtual std::vector<ObjectEvent> ReadObjects(bool* done) = 0;
};

}  // namespace capstan::api
