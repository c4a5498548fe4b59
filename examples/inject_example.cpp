// What InjectTFParallel's example.py does (Fault_Injector().inject_fault()), in C++:
// the seed's model, its fault configuration file, evaluation on the test set, and the
// golden and faulty accuracy of each configured fault.
//
//   inject_example CONFIG.yml [DATASET_DIR] [LIMIT]
#include <fmt/core.h>

#include "faultgraph/core/error.h"
#include "faultgraph/data/idx.h"
#include "faultgraph/exec/runtime.h"
#include "faultgraph/fault/inject.h"
#include "faultgraph/models/seed_inception.h"

int main(int argc, char** argv) try {
  if (argc < 2) {
    fmt::print(stderr, "usage: inject_example CONFIG.yml [DATASET_DIR] [LIMIT]\n");
    return 2;
  }
  fg::configure_runtime();
  fg::Graph model = fg::seed_inception_model();  // train it with faultgraph train (coming)
  fg::FaultConfig config = fg::load_fault_config(argv[1], model);
  fg::LabelledImages test = fg::load_idx_dataset(argc > 2 ? argv[2] : fg::kFashionMnistDir, "test");
  fg::InjectOptions options;
  options.limit = argc > 3 ? std::stoll(argv[3]) : 0;

  fg::InjectResult r =
      fg::run_inject(model, config, test.images, test.labels, test.classes, options);
  fmt::print("golden accuracy: {:.2f}%\n", 100 * r.golden.top1());
  for (const auto& e : r.entries) {
    if (e.ran) {
      fmt::print("{}: faulty accuracy {:.2f}%, {} values corrupted\n", e.entry.label,
                 100 * e.faulty.top1(), e.corrupted);
    } else {
      fmt::print("{}: not run: {}\n", e.entry.label, e.error);
    }
  }
  return 0;
} catch (const fg::Error& e) {
  fmt::print(stderr, "inject_example: {}\n", e.what());
  return 2;
}
