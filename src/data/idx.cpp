#include "faultgraph/data/idx.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "faultgraph/core/error.h"
#include "faultgraph/core/sizes.h"

namespace fg {

namespace {
// zlib's message without the file name it starts with (ours names the file already).
std::string gz_message(gzFile_s* f, const std::string& path) {
  int err = 0;
  std::string msg = gzerror(f, &err);
  return msg.rfind(path + ": ", 0) == 0 ? msg.substr(path.size() + 2) : msg;
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

void read_exact(gzFile_s* f, void* buf, size_t n, const std::string& path, const char* what) {
  size_t got = 0;
  auto* p = static_cast<char*>(buf);
  while (got < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1U << 30));
    int r = gzread(f, p + got, chunk);
    FG_CHECK(r >= 0, DatasetError, path, ": cannot be decompressed (", gz_message(f, path),
             "); the file is corrupt, download it again");
    FG_CHECK(r > 0, DatasetError, path, ": truncated while reading the ", what, " (", got, " of ",
             n, " bytes); download the file again");
    got += static_cast<size_t>(r);
  }
}
}  // namespace

at::Tensor read_idx(const std::string& path) {
  std::error_code ec;
  FG_CHECK(!std::filesystem::is_directory(path, ec), DatasetError, path,
           ": is a folder, not an IDX file");
  GzFile f(gzopen(path.c_str(), "rb"));  // gz* reads plain files too
  FG_CHECK(f != nullptr, DatasetError, path, ": cannot open the file");
  unsigned char magic[4];
  read_exact(f.get(), magic, 4, path, "header");
  FG_CHECK(magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08 && magic[3] >= 1 && magic[3] <= 4,
           DatasetError, path, ": not an IDX file of unsigned bytes (bad magic number)");
  std::vector<int64_t> dims(magic[3]);
  for (auto& d : dims) {
    unsigned char b[4];
    read_exact(f.get(), b, 4, path, "header");
    d = (int64_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
  }
  // The header is only a claim: read what the file holds, in chunks, and compare, so a
  // corrupt header never allocates more than the file's real contents.
  // (Huge dims beside a 0 announce no data, but ATen refuses them: found by fuzzing.)
  std::optional<int64_t> claimed = claimed_nbytes(dims, 1);
  double announced = 1;
  for (int64_t d : dims) announced *= static_cast<double>(std::max<int64_t>(d, 1));
  FG_CHECK(claimed && announced <= static_cast<double>(int64_t{1} << 40), DatasetError, path,
           ": the header announces ", announced, " bytes of data (dims ",
           fmt::format("{}", fmt::join(dims, " x ")), "); the file is corrupt");
  const auto want = static_cast<size_t>(*claimed);
  std::vector<unsigned char> data;
  constexpr size_t kChunk = size_t{16} << 20;
  while (data.size() < want) {
    size_t n = std::min(kChunk, want - data.size());
    size_t at = data.size();
    data.resize(at + n);
    int r = gzread(f.get(), data.data() + at, static_cast<unsigned>(n));
    FG_CHECK(r >= 0, DatasetError, path, ": cannot be decompressed (", gz_message(f.get(), path),
             "); the file is corrupt, download it again");
    data.resize(at + static_cast<size_t>(r));
    FG_CHECK(r > 0, DatasetError, path, ": the header announces ", want, " bytes of data (dims ",
             fmt::format("{}", fmt::join(dims, " x ")), ") but the file holds ", data.size(),
             "; it is truncated or its header is corrupt (download it again)");
  }
  at::Tensor t = at::empty(dims, at::kByte);
  if (want > 0) std::memcpy(t.data_ptr(), data.data(), want);
  char extra;
  FG_CHECK(gzread(f.get(), &extra, 1) == 0, DatasetError, path,
           ": has more data than its header announces (corrupt file?)");
  return t;
}

LabelledImages load_idx_dataset(const std::string& dir, const std::string& split) {
  FG_CHECK(split == "train" || split == "test", UsageError, "split must be train or test");
  std::string prefix = split == "train" ? "train" : "t10k";
  auto find = [&](const std::string& base) {
    for (const std::string& name : {base + ".gz", base}) {
      auto p = std::filesystem::path(dir) / name;
      if (std::filesystem::exists(p)) return p.string();
    }
    FG_FAIL(DatasetError, dir, ": no ", base, "[.gz] (expected an MNIST-style IDX folder, e.g. ",
            kFashionMnistDir, " from Debian's dataset-fashion-mnist)");
  };
  std::string images_path = find(prefix + "-images-idx3-ubyte");
  std::string labels_path = find(prefix + "-labels-idx1-ubyte");
  at::Tensor images = read_idx(images_path);
  at::Tensor labels = read_idx(labels_path);
  FG_CHECK(images.dim() == 3, DatasetError, images_path, ": expected N x rows x columns images");
  FG_CHECK(labels.dim() == 1, DatasetError, labels_path, ": expected a list of labels");
  FG_CHECK(images.size(0) == labels.size(0), DatasetError, labels_path, ": ", labels.size(0),
           " labels for ", images.size(0), " images in ", images_path);
  LabelledImages out;
  out.images = images.unsqueeze(1).to(at::kFloat).div_(255.0);
  out.labels = labels.to(at::kLong);
  out.classes = labels.numel() ? out.labels.max().item<int64_t>() + 1 : 0;
  out.source = dir + " (" + split + ")";
  return out;
}

}  // namespace fg
