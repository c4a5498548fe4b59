#include "faultgraph/io/npy.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/core/sizes.h"

namespace fg {

namespace {
constexpr char kMagic[] = "\x93NUMPY";

// The element types .npy files carry here: ATen's type, NumPy's descr and NumPy's name.
struct NpyType {
  at::ScalarType type;
  const char* descr;
  const char* name;
};
constexpr NpyType kNpyTypes[] = {{at::kFloat, "<f4", "float32"}, {at::kDouble, "<f8", "float64"},
                                 {at::kHalf, "<f2", "float16"},  {at::kChar, "|i1", "int8"},
                                 {at::kByte, "|u1", "uint8"},    {at::kInt, "<i4", "int32"},
                                 {at::kLong, "<i8", "int64"},    {at::kBool, "|b1", "bool"}};

const NpyType* npy_type(at::ScalarType t) {
  for (const NpyType& n : kNpyTypes) {
    if (n.type == t) return &n;
  }
  return nullptr;
}

at::ScalarType dtype_from_descr(const std::string& descr, const std::string& path) {
  for (const NpyType& n : kNpyTypes) {
    if (descr == n.descr) return n.type;
  }
  FG_FAIL(UsageError, path, ": element type '", descr,
          "' is not supported (use float32, e.g. np.save(path, x.astype(np.float32)))");
}

std::string descr_of(at::ScalarType t) {
  const NpyType* n = npy_type(t);
  FG_CHECK(n != nullptr, UsageError, "cannot write element type ", c10::toString(t), " to .npy");
  return n->descr;
}
}  // namespace

at::Tensor read_npy(const std::string& path) {
  const std::string data = read_input_file<UsageError>(
      path, "a NumPy .npy file (save one with np.save)", uint64_t{16} << 30, {kMagic, 6});
  FG_CHECK(data.size() >= 10, UsageError, path, ": truncated header");
  auto major = static_cast<unsigned char>(data[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    offset = 10;
  } else {
    FG_CHECK(major <= 3 && data.size() >= 12, UsageError, path, ": .npy format version ",
             static_cast<int>(major), " is not supported");
    for (int i = 3; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<unsigned char>(data[8 + i]);
    offset = 12;
  }
  FG_CHECK(data.size() >= offset + header_len, UsageError, path, ": truncated header");
  std::string header = data.substr(offset, header_len);
  std::smatch m;
  FG_CHECK(std::regex_search(header, m, std::regex("'descr':\\s*'([^']*)'")), UsageError, path,
           ": header has no 'descr'");
  at::ScalarType dt = dtype_from_descr(m[1], path);
  FG_CHECK(!std::regex_search(header, std::regex("'fortran_order':\\s*True")), UsageError, path,
           ": Fortran-ordered arrays are not supported (save np.ascontiguousarray(x))");
  FG_CHECK(std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")), UsageError, path,
           ": header has no 'shape'");
  std::vector<int64_t> shape;
  std::string dims = m[1];
  std::regex num("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator();
       ++it) {
    int64_t d = 0;
    const std::string digits = it->str();
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    FG_CHECK(ec == std::errc() && end == digits.data() + digits.size(), UsageError, path,
             ": header has a dimension too large to be real (", digits, ")");
    shape.push_back(d);
  }
  // The header is a claim: compared with the bytes the file holds before allocating.
  std::optional<int64_t> claimed = claimed_nbytes(shape, static_cast<int64_t>(at::elementSize(dt)));
  const size_t body = offset + header_len;
  FG_CHECK(claimed.has_value() && data.size() - body == static_cast<size_t>(*claimed), UsageError,
           path, ": holds ", data.size() - body, " data bytes but its header announces shape (",
           fmt::format("{}", fmt::join(shape, ",")), ")",
           claimed ? fmt::format(" needing {}", *claimed) : std::string(", too large to be real"),
           " (truncated file?)");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt));
  if (t.nbytes() > 0) std::memcpy(t.data_ptr(), data.data() + body, t.nbytes());
  return t;
}

std::string numpy_name(at::ScalarType t) {
  const NpyType* n = npy_type(t);
  return n != nullptr ? n->name : c10::toString(t);
}

void write_npy(const at::Tensor& tensor, const std::string& path) {
  at::Tensor t = tensor.contiguous();
  std::vector<std::string> dims;
  for (int64_t d : t.sizes()) dims.push_back(std::to_string(d));
  std::string shape = t.dim() == 1 ? dims[0] + "," : fmt::format("{}", fmt::join(dims, ", "));
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                   descr_of(t.scalar_type()), shape);
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes(kMagic, 6);
  bytes += static_cast<char>(1);  // format version 1.0
  bytes += static_cast<char>(0);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  bytes.append(static_cast<const char*>(t.data_ptr()), t.nbytes());
  write_file_atomic(path, bytes);
}

}  // namespace fg
