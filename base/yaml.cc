// YAML parsing through yaml-cpp's event interface rather than YAML::Node, for three reasons:
// the events tell quoted from plain scalars (the core schema needs that), they carry a mark for
// every node (errors name lines), and we decide how aliases are expanded. yaml-cpp itself shares
// an aliased node, so a "billion laughs" stream costs it nothing; the cost would appear when we
// copy it into nlohmann::json. We therefore build a small tree that shares aliased subtrees too,
// count what the expansion *would* cost as events arrive, and only materialize JSON once the
// document is known to fit the budget.
//
// ToYaml lives in yaml_emit.cc.
#include "base/yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <istream>
#include <map>
#include <memory>
#include <streambuf>

#include "base/yaml_scalar.h"

namespace capstan {

using json = nlohmann::json;

namespace {

// Thrown by the event handler to abandon a parse; caught in ParseYamlDocuments, never further.
struct ParseAbort {
  Status status;
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Node {
  enum class Kind { kScalar, kSeq, kMap };
  struct Entry {
    NodePtr key;
    NodePtr value;
  };
  Kind kind = Kind::kScalar;
  json scalar;               // kScalar: the resolved value
  std::string text;          // kScalar: source text, which is what a mapping key becomes
  bool plain = false;        // kScalar: a plain scalar ("<<" is a merge key only when plain)
  std::vector<NodePtr> items;     // kSeq
  std::vector<Entry> entries;     // kMap
  size_t expanded = 1;       // nodes after alias expansion, this one included
  size_t height = 0;         // collections on the longest path down, this one included
  int line = 0;              // 1-based
};

// An istream over the caller's bytes without copying them.
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(std::string_view s) {
    char* p = const_cast<char*>(s.data());
    setg(p, p, p + s.size());
  }
};

// Documents are counted from 1 in messages, as people count them (YamlDocument::index is 0-based).
std::string Where(int index, int line) {
  return "document " + std::to_string(index + 1) + " (line " + std::to_string(line) + "): ";
}

constexpr const char* kTagPrefix = "tag:yaml.org,2002:";

class Builder : public YAML::EventHandler {
 public:
  Builder(std::string_view text, const YamlLimits& limits) : text_(text), limits_(limits) {}

  int documents() const { return documents_; }
  // Index of the document an error belongs to: the open one, else the next one.
  int current_index() const { return in_document_ ? documents_ - 1 : documents_; }
  int document_line() const { return document_line_; }
  NodePtr TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    ++documents_;
    in_document_ = true;
    document_line_ = mark.line + 1;
    if (static_cast<size_t>(documents_) > limits_.max_documents) {
      Abort(mark.line + 1, "too many documents (limit " + std::to_string(limits_.max_documents) + ")");
    }
    root_.reset();
    stack_.clear();
    // Anchors are scoped to their document.
    anchors_.clear();
  }
  void OnDocumentEnd() override { in_document_ = false; }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<Node>();
    node->line = mark.line + 1;
    node->plain = true;
    node->text = NullText(mark);
    Count(1, node->line);
    Complete(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) Abort(mark.line + 1, "alias refers to an unknown or enclosing anchor");
    const NodePtr& target = it->second;
    Count(target->expanded, mark.line + 1);
    if (stack_.size() + target->height > limits_.max_depth) {
      Abort(mark.line + 1, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Complete(target, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<Node>();
    node->line = mark.line + 1;
    node->text = value;
    node->plain = (tag == "?");
    node->scalar = Resolve(tag, value, node->line);
    Count(1, node->line);
    Complete(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Node::Kind::kSeq, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Node::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

  [[noreturn]] void Abort(int line, const std::string& what) {
    throw ParseAbort{Status::BadRequest(Where(current_index(), line) + what)};
  }

 private:
  struct Frame {
    std::shared_ptr<Node> node;
    YAML::anchor_t anchor = 0;
    NodePtr pending_key;
  };

  // yaml-cpp reports plain null, Null, NULL, ~ and empty nodes all as OnNull; a key needs the
  // original spelling back, so look at the source.
  std::string NullText(const YAML::Mark& mark) const {
    if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= text_.size()) return "";
    std::string_view rest = text_.substr(static_cast<size_t>(mark.pos));
    for (std::string_view word : {"null", "Null", "NULL", "~"}) {
      if (rest.substr(0, word.size()) == word) {
        std::string_view after = rest.substr(word.size());
        if (after.empty() || after[0] == ' ' || after[0] == '\t' || after[0] == ':' ||
            after[0] == '\n' || after[0] == '\r' || after[0] == ',' || after[0] == ']' ||
            after[0] == '}' || after[0] == '#') {
          return std::string(word);
        }
      }
    }
    return "";
  }

  json Resolve(const std::string& tag, const std::string& value, int line) {
    if (tag == "?") return yaml_internal::ResolvePlainScalar(value);
    if (tag.rfind(kTagPrefix, 0) != 0) return value;  // "!" (quoted) and local tags: strings
    std::string_view type = std::string_view(tag).substr(std::char_traits<char>::length(kTagPrefix));
    if (type == "str" || type == "binary" || type == "timestamp") return value;
    json resolved = yaml_internal::ResolvePlainScalar(value);
    bool fits = (type == "int" && resolved.is_number_integer()) ||
                (type == "float" && resolved.is_number()) ||
                (type == "bool" && resolved.is_boolean()) || (type == "null" && resolved.is_null());
    if (!fits) Abort(line, "cannot decode \"" + value + "\" as !!" + std::string(type));
    if (type == "float") return resolved.get<double>();
    return resolved;
  }

  void Count(size_t n, int line) {
    if (n > limits_.max_nodes || used_ > limits_.max_nodes - n) {
      Abort(line, "document too large: more than " + std::to_string(limits_.max_nodes) +
                      " nodes after alias expansion");
    }
    used_ += n;
  }

  void Open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->line = mark.line + 1;
    node->height = 1;
    Count(1, node->line);
    if (stack_.size() + 1 > limits_.max_depth) {
      Abort(node->line, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    stack_.push_back(Frame{std::move(node), anchor, nullptr});
  }

  void Close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    // Registered only now, so an alias inside its own anchor (a cycle) finds nothing.
    Complete(std::move(frame.node), frame.anchor);
  }

  void Complete(NodePtr node, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = node;
    if (stack_.empty()) {
      root_ = std::move(node);
      return;
    }
    Frame& top = stack_.back();
    Node& parent = *top.node;
    parent.expanded += node->expanded;
    parent.height = std::max(parent.height, node->height + 1);
    if (parent.kind == Node::Kind::kSeq) {
      parent.items.push_back(std::move(node));
    } else if (top.pending_key == nullptr) {
      if (node->kind != Node::Kind::kScalar) {
        Abort(node->line, "mapping keys must be strings, not a " +
                              std::string(node->kind == Node::Kind::kSeq ? "sequence" : "mapping"));
      }
      top.pending_key = std::move(node);
    } else {
      parent.entries.push_back(Node::Entry{std::move(top.pending_key), std::move(node)});
      top.pending_key = nullptr;
    }
  }

  std::string_view text_;
  const YamlLimits& limits_;
  int documents_ = 0;
  bool in_document_ = false;
  int document_line_ = 1;
  size_t used_ = 0;  // nodes counted over the whole call, aliases at their expanded size
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, NodePtr> anchors_;
  NodePtr root_;
};

// Turns the shared tree into JSON; the budget was enforced while building, so this is bounded.
class Materializer {
 public:
  explicit Materializer(int index) : index_(index) {}

  Status Convert(const Node& node, json* out) const {
    switch (node.kind) {
      case Node::Kind::kScalar:
        *out = node.scalar;
        return Status::Ok();
      case Node::Kind::kSeq: {
        *out = json::array();
        out->get_ref<json::array_t&>().reserve(node.items.size());
        for (const NodePtr& item : node.items) {
          json value;
          CAPSTAN_RETURN_IF_ERROR(Convert(*item, &value));
          out->push_back(std::move(value));
        }
        return Status::Ok();
      }
      case Node::Kind::kMap:
        return ConvertMap(node, out);
    }
    return Status::Ok();
  }

 private:
  Status ConvertMap(const Node& node, json* out) const {
    *out = json::object();
    std::vector<const Node*> merges;
    for (const Node::Entry& entry : node.entries) {
      const std::string& key = entry.key->text;
      // "<<" merge keys (YAML 1.1, which Kubernetes' parser honours): explicit keys win.
      if (key == "<<" && entry.key->plain) {
        merges.push_back(entry.value.get());
        continue;
      }
      if (out->contains(key)) {
        return Status::BadRequest(Where(index_, entry.key->line) + "mapping key \"" + key +
                                  "\" already defined");
      }
      CAPSTAN_RETURN_IF_ERROR(Convert(*entry.value, &(*out)[key]));
    }
    for (const Node* merge : merges) {
      std::vector<const Node*> sources;
      if (merge->kind == Node::Kind::kMap) {
        sources.push_back(merge);
      } else if (merge->kind == Node::Kind::kSeq) {
        for (const NodePtr& item : merge->items) sources.push_back(item.get());
      }
      for (const Node* source : sources) {
        if (source->kind != Node::Kind::kMap) {
          return Status::BadRequest(Where(index_, merge->line) +
                                    "the value of a merge key (<<) must be a mapping or a list of mappings");
        }
        json merged;
        CAPSTAN_RETURN_IF_ERROR(ConvertMap(*source, &merged));
        for (auto& [k, v] : merged.items()) {
          if (!out->contains(k)) (*out)[k] = std::move(v);
        }
      }
      if (sources.empty()) {
        return Status::BadRequest(Where(index_, merge->line) +
                                  "the value of a merge key (<<) must be a mapping or a list of mappings");
      }
    }
    return Status::Ok();
  }

  int index_;
};

}  // namespace

Result<std::vector<YamlDocument>> ParseYamlDocuments(std::string_view text, const YamlLimits& limits) {
  ViewBuf buf(text);
  std::istream in(&buf);
  Builder builder(text, limits);
  std::vector<YamlDocument> docs;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
      YamlDocument doc;
      doc.index = builder.documents() - 1;
      doc.line = builder.document_line();
      NodePtr root = builder.TakeRoot();
      if (root != nullptr) {
        Status st = Materializer(doc.index).Convert(*root, &doc.value);
        if (!st.ok()) return st;
      }
      docs.push_back(std::move(doc));
    }
  } catch (const ParseAbort& abort) {
    return abort.status;
  } catch (const YAML::DeepRecursion& e) {
    return Status::BadRequest(Where(builder.current_index(), e.mark.line + 1) +
                              "nesting too deep for the YAML parser");
  } catch (const YAML::Exception& e) {
    return Status::BadRequest(Where(builder.current_index(), e.mark.line + 1) + e.msg);
  } catch (const std::bad_alloc&) {
    return Status::TooLarge("YAML document too large to parse");
  } catch (const std::exception& e) {
    return Status::BadRequest(Where(builder.current_index(), 1) + e.what());
  }
  return docs;
}

Result<json> ParseYaml(std::string_view text, const YamlLimits& limits) {
  auto docs = ParseYamlDocuments(text, limits);
  if (!docs.ok()) return docs.status();
  json* found = nullptr;
  for (YamlDocument& doc : *docs) {
    if (doc.value.is_null()) continue;
    if (found != nullptr) {
      return Status::BadRequest(Where(doc.index, doc.line) + "expected a single YAML document");
    }
    found = &doc.value;
  }
  if (found == nullptr) return Status::BadRequest("empty YAML document");
  return std::move(*found);
}

namespace {
struct JsonTooDeep {};
}  // namespace

Result<json> ParseJson(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  auto callback = [&depth, max_depth](int, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      if (++depth > max_depth) throw JsonTooDeep{};
    } else if (event == json::parse_event_t::object_end || event == json::parse_event_t::array_end) {
      --depth;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const JsonTooDeep&) {
    return Status::BadRequest("JSON nesting deeper than " + std::to_string(max_depth) + " levels");
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; the rest reads well.
    if (size_t close = what.find("] "); what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
      what = what.substr(close + 2);
    }
    return Status::BadRequest("invalid JSON at byte offset " + std::to_string(e.byte) + ": " + what);
  } catch (const std::bad_alloc&) {
    return Status::TooLarge("JSON document too large to parse");
  } catch (const std::exception& e) {
    return Status::BadRequest(std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace capstan
