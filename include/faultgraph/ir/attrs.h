// Node attributes, keyed by their ONNX names so that import and export are lossless.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace fg {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>, at::Tensor>;

class Attrs {
 public:
  bool has(const std::string& name) const { return items_.count(name) != 0; }
  void set(const std::string& name, AttrValue v) { items_[name] = std::move(v); }
  const std::map<std::string, AttrValue>& items() const { return items_; }
  bool empty() const { return items_.empty(); }

  // Typed getters. The one-argument forms throw ModelFormatError when the attribute is
  // missing; every form throws when it has another type. `where` names the node.
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_float(const std::string& name, double fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name,
                                const std::vector<int64_t>& fallback = {}) const;
  std::vector<double> get_floats(const std::string& name) const;
  at::Tensor get_tensor(const std::string& name) const;

 private:
  const AttrValue* find(const std::string& name) const;
  std::map<std::string, AttrValue> items_;
};

// A short rendering of an attribute value for dumps ("[1, 1]", "0.5", "tensor f32[3]").
std::string format_attr(const AttrValue& v);

}  // namespace fg
