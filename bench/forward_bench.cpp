// Forward latency of ONNX models in faultgraph (Google Benchmark).
//   forward_bench --model resnet50=path.onnx --batch 1 --batch 16 [--threads N] [benchmark flags]
// bench/forward_vs_pytorch.py runs it beside PyTorch eager and prints the ratios.
#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "faultgraph/exec/executor.h"
#include "faultgraph/exec/runtime.h"
#include "faultgraph/io/onnx.h"

int main(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> models;
  std::vector<int64_t> batches;
  int threads = 0;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) {
      std::string m = argv[++i];
      auto eq = m.find('=');
      models.emplace_back(m.substr(0, eq), m.substr(eq + 1));
    } else if (a == "--batch" && i + 1 < argc) {
      batches.push_back(std::stoll(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (models.empty()) {
    fmt::print(stderr,
               "usage: forward_bench --model NAME=FILE.onnx [--batch B]... [--threads N]\n");
    return 2;
  }
  if (batches.empty()) batches = {1, 16};
  fg::configure_runtime(threads);
  fmt::print(stderr, "faultgraph runtime: {}\n", fg::describe_runtime());
  std::vector<std::unique_ptr<fg::Executor>> executors;
  for (const auto& [name, path] : models) {
    executors.push_back(std::make_unique<fg::Executor>(fg::import_onnx(path)));
    fg::Executor* exec = executors.back().get();
    const fg::Value& in = exec->graph().value(exec->graph().runtime_inputs().at(0));
    for (int64_t b : batches) {
      std::vector<int64_t> shape = in.shape;
      shape[0] = b;
      benchmark::RegisterBenchmark(fmt::format("{}/batch:{}", name, b).c_str(),
                                   [exec, shape](benchmark::State& state) {
                                     at::Tensor x = at::randn(shape);
                                     exec->run({x});  // plan and warm-up
                                     for (auto _ : state) {
                                       auto y = exec->run({x});
                                       benchmark::DoNotOptimize(y[0].data_ptr());
                                     }
                                   })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
