// StoredObjectMemo: the object an API write encoded into its store value, carried with the write
// to its watch event (store::WriteMemo), so the event's decode takes it instead of parsing the
// value back: the writer already held it. With 10,000 Pods going up, that parse was one of the
// largest single costs of the server (every status patch, binding and create).
//
// Invariants:
//  * The memo's object is exactly what decoding the stored value gives (DecodeStored), stamped
//    with the write's revision as metadata.resourceVersion. A write whose object is not what its
//    value decodes to (a string that is not valid UTF-8, stored replaced) carries no object.
//  * Once stamped the object is immutable: the writer's answer and the watches share it
//    (ObjectRef), and nobody copies it.
//  * The event gives the object away once (Take): an event retained for a later replay does not
//    keep the decoded form alive; a later decode parses the value, as without a memo.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api/object_event_source.h"  // ObjectRef
#include "api/schema.h"               // json
#include "store/store.h"

namespace capstan::api {

class StoredObjectMemo : public store::WriteMemo {
 public:
  // `object` is the written object; `faithful`: the stored value decodes to it (see above).
  StoredObjectMemo(std::shared_ptr<json> object, bool faithful) : object_(std::move(object)), faithful_(faithful) {}

  // Sets the object's metadata.resourceVersion; the store calls it on its commit thread before
  // the event is published (and before the writer learns the outcome).
  void Stamp(int64_t revision) override;
  // The stamped object, to the first caller; null to later ones, and when not faithful.
  ObjectRef Take() const;

 private:
  mutable std::mutex mu_;
  mutable std::shared_ptr<json> object_;  // guarded by mu_; given away by Take()
  const bool faithful_;
};

// A write's store value and its memo.
struct EncodedWrite {
  std::string value;                        // EncodeForStore's form
  std::shared_ptr<StoredObjectMemo> memo;   // never null
};

// Encodes `object` for the store and makes the memo that carries it to the event. Removes the
// object's metadata.resourceVersion in place (the store's value never has one; Stamp sets the
// new one, also when the memo carries no object to the event). The writer keeps `object` for its
// answer, reading it only after the write committed (stamped) and never changing it after that.
EncodedWrite EncodeWrite(const std::shared_ptr<json>& object);

// The store op that creates or updates `key` with `object` (EncodeWrite), carrying its memo.
// For Op::Kind::kDelete, `object` must be what the deleted value decodes to (the op's
// precondition is the revision it was read at): the delete's event then carries it, stamped with
// the deleting revision, as its decode would give it.
store::Op ObjectOp(store::Op::Kind kind, const std::string& key, const std::shared_ptr<json>& object,
                   int64_t pre_revision);

}  // namespace capstan::api
