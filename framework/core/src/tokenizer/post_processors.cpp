#include "tokenizer/post_processors.h"


#include "tokenizer/json_node.h"

namespace strata::tokenizer {
namespace {

class Template : public PostProcessor {
 public:
  // Each item: the ids of a special token, or (empty) the sequence itself.
  explicit Template(std::vector<std::vector<std::int64_t>> items) : items_(std::move(items)) {}
  std::vector<std::int64_t> add_special_tokens(std::vector<std::int64_t> ids) const override {
    std::vector<std::int64_t> out;
    for (const auto& item : items_) {
      if (item.empty())
        out.insert(out.end(), ids.begin(), ids.end());
      else
        out.insert(out.end(), item.begin(), item.end());
    }
    return out;
  }

 private:
  std::vector<std::vector<std::int64_t>> items_;
};

class Unchanged : public PostProcessor {
 public:
  std::vector<std::int64_t> add_special_tokens(std::vector<std::int64_t> ids) const override { return ids; }
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  std::vector<std::int64_t> add_special_tokens(std::vector<std::int64_t> ids) const override {
    for (const auto& step : steps_) ids = step->add_special_tokens(std::move(ids));
    return ids;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::unique_ptr<PostProcessor> from_template(const JsonNode& node) {
  const JsonNode single = node["single"];
  const JsonNode specials = node["special_tokens"];
  std::vector<std::vector<std::int64_t>> items;
  for (std::size_t i = 0; i < single.value.size(); ++i) {
    const JsonNode item = single[i];
    if (item.has("Sequence")) {
      if (item["Sequence"]["id"].string() != "A") item.fail("a single-sequence template can only hold sequence A");
      items.emplace_back();
    } else if (item.has("SpecialToken")) {
      const std::string name = item["SpecialToken"]["id"].string();
      if (!specials.has(name)) item.fail("special token \"" + name + "\" is not in special_tokens");
      const JsonNode ids = specials[name]["ids"];
      std::vector<std::int64_t> values;
      for (std::size_t k = 0; k < ids.value.size(); ++k) values.push_back(ids[k].integer());
      if (values.empty()) item.fail("special token \"" + name + "\" has no ids");
      items.push_back(std::move(values));
    } else {
      item.fail("a template item is {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  return std::make_unique<Template>(std::move(items));
}

// BertProcessing / RobertaProcessing: cls, the sequence, sep; each given as [token, id].
std::unique_ptr<PostProcessor> from_cls_sep(const JsonNode& node) {
  const auto id_of = [](const JsonNode& pair) {
    if (!pair.value.is_array() || pair.value.size() != 2) pair.fail("expected [token, id]");
    return pair[1].integer();
  };
  return std::make_unique<Template>(
      std::vector<std::vector<std::int64_t>>{{id_of(node["cls"])}, {}, {id_of(node["sep"])}});
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const JsonNode& node) {
  if (node.value.is_null()) return nullptr;
  const std::string type = node.type();
  if (type == "TemplateProcessing") return from_template(node);
  if (type == "BertProcessing" || type == "RobertaProcessing") return from_cls_sep(node);
  if (type == "ByteLevel") return std::make_unique<Unchanged>();
  if (type == "Sequence") {
    return std::make_unique<Sequence>(sequence_steps<PostProcessor>(node, "processors", make_post_processor));
  }
  node.unsupported_type("post_processor");
}

}  // namespace strata::tokenizer
