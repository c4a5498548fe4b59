// Import errors: every malformed input gives one clear error naming the file, the node and
// the problem, never a crash.
#include "faultgraph/io/onnx.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "onnx/onnx_pb.h"
#include "test_util.h"

namespace fg {
namespace {

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

onnx::ModelProto conv_model() {
  onnx::ModelProto m;
  const auto path = test::refdata("ops") / "conv_basic.onnx";
  // Thrown, not EXPECTed: the callers edit the model's first node.
  if (!m.ParseFromString(read_bytes(path)) || m.graph().node_size() == 0)
    throw std::runtime_error(path.string() + ": not the reference Conv model; run scripts/test");
  return m;
}

template <typename E>
std::string error_of(const std::string& bytes, const std::string& source = "model.onnx") {
  try {
    import_onnx_bytes(bytes, source);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no error";
  return "";
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

TEST(OnnxImport, MissingFile) {
  try {
    import_onnx("/nonexistent/model.onnx");
    FAIL();
  } catch (const ModelFormatError& e) {
    expect_contains(e.what(), "/nonexistent/model.onnx: cannot open");
  }
}

TEST(OnnxImport, FolderIsNamedAsSuch) {
  const auto dir = test::temp_path("folder.onnx");
  std::filesystem::create_directories(dir);
  try {
    import_onnx(dir.string());
    FAIL();
  } catch (const ModelFormatError& e) {  // was "the file is empty"
    EXPECT_EQ(std::string(e.what()), dir.string() + ": is a folder; name an ONNX model file");
  }
}

TEST(OnnxImport, EmptyFile) {
  expect_contains(error_of<ModelFormatError>(""), "model.onnx: the file is empty");
}

TEST(OnnxImport, TruncatedFile) {
  std::string bytes = read_bytes(test::refdata("ops") / "conv_basic.onnx");
  for (size_t keep : {bytes.size() / 3, bytes.size() / 2, bytes.size() - 7}) {
    std::string msg = error_of<ModelFormatError>(bytes.substr(0, keep));
    expect_contains(msg, "model.onnx: ");
  }
}

TEST(OnnxImport, CorruptBytes) {
  static const char kBytes[] = "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage";
  expect_contains(error_of<ModelFormatError>(std::string(kBytes, sizeof(kBytes) - 1)),
                  "not a valid ONNX protobuf");
}

TEST(OnnxImport, UnknownOpNamesNodeAndSuggests) {
  auto m = conv_model();
  m.mutable_graph()->mutable_node(0)->set_op_type("Convv");
  std::string msg = error_of<ModelFormatError>(m.SerializeAsString());
  expect_contains(msg, "model.onnx: node '");
  expect_contains(msg, "unknown op 'Convv' (did you mean 'Conv'?)");
}

TEST(OnnxImport, MissingInitializer) {
  auto m = conv_model();
  std::string weight = m.graph().node(0).input(1);
  m.mutable_graph()->mutable_initializer()->DeleteSubrange(0, m.graph().initializer_size());
  std::string msg = error_of<ModelFormatError>(m.SerializeAsString());
  expect_contains(msg, "input '" + weight + "' is not defined (missing initializer");
}

TEST(OnnxImport, ShapeMismatchNamesNode) {
  auto m = conv_model();
  // The 7x5x3x3 weight claims 1 input channel (35x1x3x3: same bytes, wrong shape).
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.dims_size() == 4) {
      t.set_dims(0, t.dims(0) * t.dims(1));
      t.set_dims(1, 1);
    }
  }
  std::string msg = error_of<ShapeError>(m.SerializeAsString());
  expect_contains(msg, "model.onnx: node '");
  expect_contains(msg, "(Conv): input has 5 channels but the weight expects 1");
}

TEST(OnnxImport, WrongRawDataSize) {
  auto m = conv_model();
  for (auto& t : *m.mutable_graph()->mutable_initializer()) {
    if (t.dims_size() == 4) t.mutable_raw_data()->resize(t.raw_data().size() - 4);
  }
  expect_contains(error_of<ModelFormatError>(m.SerializeAsString()),
                  "(truncated or corrupt file?)");
}

TEST(OnnxImport, BadAttributeNamesNode) {
  auto m = conv_model();
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("auto_pad");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("SOMETIMES");
  expect_contains(error_of<ModelFormatError>(m.SerializeAsString()),
                  "auto_pad 'SOMETIMES' is not one of");
}

// A file is mapped while it is parsed; the weights are the parser's copies, so they stay
// the same when the file changes after, and a pipe (no mapping) reads the same model.
TEST(OnnxImport, FileMappedWeightsOutliveItAndPipesRead) {
  const std::string bytes = read_bytes(test::refdata("ops") / "conv_basic.onnx");
  const auto path = test::temp_path("mapped.onnx");
  { std::ofstream(path, std::ios::binary) << bytes; }
  Graph from_file = import_onnx(path.string());
  Graph from_bytes = import_onnx_bytes(bytes, "bytes");
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << std::string(bytes.size(), 'x'); }
  auto weights = [](Graph& g) {
    std::vector<at::Tensor> w;
    for (const Value& v : g.values())
      if (v.is_initializer()) w.push_back(*v.data);
    return w;
  };
  std::vector<at::Tensor> a = weights(from_file), b = weights(from_bytes);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(at::equal(a[i], b[i])) << i;
    a[i].add_(1);  // writable: training updates imported weights in place
  }
  // A pipe (no thread: the model is smaller than a pipe's buffer), named by /dev/fd.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_LT(bytes.size(), 65536u);
  ASSERT_EQ(write(fds[1], bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fds[1]);
  Graph from_pipe = import_onnx("/dev/fd/" + std::to_string(fds[0]));
  close(fds[0]);
  EXPECT_EQ(from_pipe.nodes().size(), from_bytes.nodes().size());
  std::vector<at::Tensor> c = weights(from_pipe);
  ASSERT_EQ(c.size(), b.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(at::equal(c[i], b[i])) << i;
  try {
    import_onnx("/dev/null");
    ADD_FAILURE() << "no error";
  } catch (const ModelFormatError& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/null: the file is empty");
  }
}

TEST(OnnxExport, WritesAtomicallyAndReadsBack) {
  Graph g = import_onnx((test::refdata("ops") / "conv_basic.onnx").string());
  auto path = test::temp_path("conv.onnx");
  export_onnx(g, path.string());
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  Graph again = import_onnx(path.string());
  EXPECT_EQ(again.nodes().size(), g.nodes().size());
  EXPECT_THROW(export_onnx(g, "/nonexistent/dir/x.onnx"), UsageError);
}

// A model file shortened by another program while it is mapped: reading its lost pages raises
// SIGBUS, which must end the process with the error status and one line naming the file, not
// "Bus error" and a core dump.
TEST(InputFileDeathTest, FileThatShrinksWhileMappedIsNamed) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const auto path = test::temp_path("shrinks.onnx");
  auto mapped = [&] {
    {
      std::ofstream f(path, std::ios::binary);
      f << std::string(3 * 4096, 'x');
    }
    return map_input_file<ModelFormatError>(path.string(), "an ONNX model file", 1 << 20);
  };
  auto read_after_truncation = [&] {
    InputFile file = mapped();
    if (::truncate(path.c_str(), 0) != 0) std::_Exit(3);
    volatile char last = file.bytes()[file.bytes().size() - 1];
    (void)last;
    std::_Exit(0);  // not reached when the page is gone
  };
  EXPECT_EXIT(read_after_truncation(), ::testing::ExitedWithCode(2),
              "error: .*shrinks.onnx: the file shrank while faultgraph was reading it");
  // A bus error elsewhere, while a file is mapped, goes to the handler that was there before:
  // the default action (killed by the signal), or, under AddressSanitizer, ASan's report.
  auto other_bus_error = [&] {
    InputFile file = mapped();
    raise(SIGBUS);
  };
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EXIT(
      other_bus_error(), [](int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; },
      "AddressSanitizer: BUS");
#else
  EXPECT_EXIT(other_bus_error(), ::testing::KilledBySignal(SIGBUS), "");
#endif
}

}  // namespace
}  // namespace fg
