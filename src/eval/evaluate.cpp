#include "faultgraph/eval/evaluate.h"

#include <ATen/ATen.h>

#include "faultgraph/core/error.h"
#include "faultgraph/core/interrupt.h"

namespace fg {

Evaluation evaluate(Executor& exec, const at::Tensor& images, const at::Tensor& labels,
                    int64_t classes, Evaluation::Scores scores, const EvalOptions& o,
                    Progress* progress, const BatchCallback& on_batch) {
  FG_CHECK(o.batch > 0, UsageError, "batch size must be positive, got ", o.batch);
  FG_CHECK(images.size(0) == labels.size(0), UsageError, "evaluation: ", images.size(0),
           " images but ", labels.size(0), " labels");
  int64_t n = o.limit > 0 ? std::min(o.limit, images.size(0)) : images.size(0);
  at::NoGradGuard no_grad;
  Evaluation e(classes, scores);
  for (int64_t begin = 0; begin < n; begin += o.batch) {
    check_interrupt();
    int64_t end = std::min(n, begin + o.batch);
    auto out = exec.run({images.slice(0, begin, end)}, begin);
    FG_CHECK(!out.empty(), UsageError, "the model has no outputs");
    e.add(out[0], labels.slice(0, begin, end));
    if (on_batch) on_batch(out, begin);
    if (progress) progress->advance(end - begin);
  }
  return e;
}

}  // namespace fg
