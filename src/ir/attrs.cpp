#include "faultgraph/ir/attrs.h"

#include <ATen/core/Tensor.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "faultgraph/core/error.h"

namespace fg {

const AttrValue* Attrs::find(const std::string& name) const {
  auto it = items_.find(name);
  return it == items_.end() ? nullptr : &it->second;
}

namespace {
template <typename T>
const T& expect(const AttrValue* v, const std::string& name, const char* kind) {
  const T* p = std::get_if<T>(v);
  FG_CHECK(p != nullptr, ModelFormatError, "attribute '", name, "' must be ", kind);
  return *p;
}
}  // namespace

int64_t Attrs::get_int(const std::string& name, int64_t fallback) const {
  const AttrValue* v = find(name);
  return v ? expect<int64_t>(v, name, "an integer") : fallback;
}

double Attrs::get_float(const std::string& name, double fallback) const {
  const AttrValue* v = find(name);
  if (!v) return fallback;
  if (const auto* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  return expect<double>(v, name, "a float");
}

std::string Attrs::get_string(const std::string& name, const std::string& fallback) const {
  const AttrValue* v = find(name);
  return v ? expect<std::string>(v, name, "a string") : fallback;
}

std::vector<int64_t> Attrs::get_ints(const std::string& name,
                                     const std::vector<int64_t>& fallback) const {
  const AttrValue* v = find(name);
  return v ? expect<std::vector<int64_t>>(v, name, "a list of integers") : fallback;
}

std::vector<double> Attrs::get_floats(const std::string& name) const {
  const AttrValue* v = find(name);
  FG_CHECK(v != nullptr, ModelFormatError, "missing attribute '", name, "'");
  return expect<std::vector<double>>(v, name, "a list of floats");
}

at::Tensor Attrs::get_tensor(const std::string& name) const {
  const AttrValue* v = find(name);
  FG_CHECK(v != nullptr, ModelFormatError, "missing attribute '", name, "'");
  return expect<at::Tensor>(v, name, "a tensor");
}

std::string format_attr(const AttrValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, at::Tensor>) {
          return fmt::format("tensor{}", fmt::join(x.sizes(), "x"));
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
          return fmt::format("{}", x);
        } else {
          return fmt::format("[{}]", fmt::join(x, ","));
        }
      },
      v);
}

}  // namespace fg
