// faultgraph run MODEL --input x.npy --output y.npy: runs a model on NumPy data.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "commands.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/io/npy.h"
#include "faultgraph/io/onnx.h"

namespace fg::cli {

namespace {
struct RunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

int run_model(const RunArgs& a) {
  // Before any work: a folder named as an output was refused only after the run ("cannot
  // replace the file").
  namespace fs = std::filesystem;
  // Where an output will be, links resolved (it may not exist yet, so not fs::equivalent).
  auto where = [](const std::string& p) {
    std::error_code ec;
    fs::path c = fs::weakly_canonical(fs::absolute(p, ec), ec);  // relative: "y" != "./y"
    return ec ? fs::path(p).lexically_normal() : c;
  };
  for (size_t i = 0; i < a.outputs.size(); ++i) {
    const std::string& out = a.outputs[i];
    check_output_file(out);
    check_output_not_input(out, a.model, "the model");
    for (size_t j = 0; j < a.inputs.size(); ++j) {
      check_output_not_input(out, a.inputs[j], fmt::format("--input {}", j + 1));
    }
    for (size_t j = 0; j < i; ++j) {
      FG_CHECK(where(a.outputs[j]) != where(out), UsageError, out, ": named for outputs ", j + 1,
               " and ", i + 1,
               " (the second would replace the first); give each --output its own file");
    }
  }
  Graph g = load_model(a.model);  // an ONNX file or a built-in model (untrained)
  auto runtime = g.runtime_inputs();
  FG_CHECK(a.inputs.size() == runtime.size(), UsageError, a.model, ": the model takes ",
           runtime.size(), " input(s); pass one --input per input (got ", a.inputs.size(), ")");
  FG_CHECK(a.outputs.empty() || a.outputs.size() == g.outputs().size(), UsageError, a.model,
           ": the model has ", g.outputs().size(), " output(s); pass one --output per output (got ",
           a.outputs.size(), ")");
  std::vector<at::Tensor> xs;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    xs.push_back(read_npy(a.inputs[i]));
    const Value& v = g.value(runtime[i]);
    if (v.dtype != DType::kUndefined && from_scalar_type(xs[i].scalar_type()) != v.dtype) {
      const std::string takes = numpy_name(to_scalar_type(v.dtype));
      FG_FAIL(UsageError, a.inputs[i], ": holds ", numpy_name(xs[i].scalar_type()), ", but ",
              a.model, "'s input '", v.name, "' takes ", takes,
              "; save it as such (NumPy: np.save(path, x.astype(np.", takes, ")))");
    }
    if (xs[i].dim() < 1) continue;  // a scalar: the executor names what the input takes
    if (std::optional<SampleMismatch> m = sample_mismatch(g, xs[i].sizes().slice(1), i)) {
      // The whole array one sample: the batch dim is missing.
      const bool no_batch = !sample_mismatch(g, xs[i].sizes(), i).has_value();
      FG_FAIL(UsageError, a.inputs[i], ": its samples are ", m->is, " (after the batch dim), but ",
              a.model, "'s ", m->takes,
              no_batch ? "; the array is one sample without its batch dim: save x[None] (NumPy: "
                         "np.save(path, x[None]))"
                       : "");
    }
  }
  Executor exec(std::move(g));
  std::vector<at::Tensor> ys;
  try {
    ys = exec.run(xs);
  } catch (const Error& e) {
    throw ShapeError(a.model + ": " + e.what());
  }
  for (size_t i = 0; i < ys.size(); ++i) {
    const at::Tensor& y = ys[i];
    const std::string& name = exec.graph().value(exec.graph().outputs()[i]).name;
    if (i < a.outputs.size()) {
      write_npy(y, a.outputs[i]);
      fmt::print("{}: {} [{}] -> {}\n", name, c10::toString(y.scalar_type()),
                 fmt::join(y.sizes(), ","), a.outputs[i]);
    } else {
      fmt::print("{}: {} [{}]\n", name, c10::toString(y.scalar_type()), fmt::join(y.sizes(), ","));
    }
  }
  return 0;
}
}  // namespace

Command add_run(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model on NumPy .npy inputs");
  cmd->add_option("model", args->model, "ONNX model file, or a built-in model name (untrained)")
      ->required();
  cmd->add_option("-i,--input", args->inputs, "input .npy file, one per model input")->required();
  cmd->add_option("-o,--output", args->outputs,
                  "where to write each output (.npy; missing folders are created)");
  return {cmd, [args] { return run_model(*args); }};
}

}  // namespace fg::cli
