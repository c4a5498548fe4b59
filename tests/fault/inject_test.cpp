#include "faultgraph/fault/inject.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "faultgraph/eval/evaluate.h"
#include "faultgraph/exec/executor.h"
#include "faultgraph/models/seed_inception.h"

namespace fg {
namespace {

SeedInceptionOptions small() {
  SeedInceptionOptions o;
  o.height = o.width = 12;
  o.f1 = 4, o.f2_in = 4, o.f2_out = 6, o.f3_in = 2, o.f3_out = 3, o.f4_out = 3;
  return o;
}

TEST(Inject, SeedWorkflowOnTheSeedModel) {
  Graph model = seed_inception_model(small());
  FaultConfig config = parse_fault_config(R"(
- {layer_name: conv2d_2, fault_type: BitFlip, bit_flip_type: SpecificBit, bit_number: 31, probability: 1.0}
- {layer_name: conv2d_5, fault_type: BitFlip, bit_flip_type: SpecificBit, bit_number: 64, probability: 1.0}
- {layer_name: conv2d_6, fault_type: BitFlip, bit_flip_type: RandomBit, probability: 0.0}
- {node: conv2d_3/conv, site: weight, fault: bit_flip, bit: 30, count: 1}
)",
                                          "t.yml", model);
  at::Tensor images = at::rand({40, 1, 12, 12});
  at::Tensor labels = at::randint(0, 10, {40}, at::kLong);
  InjectOptions o;
  o.batch = 16;
  o.progress = false;
  InjectResult r = run_inject(model, config, images, labels, 10, o);
  ASSERT_EQ(r.entries.size(), 4U);
  EXPECT_EQ(r.golden.samples(), 40);

  const EntryResult& sign = r.entries[0];
  ASSERT_TRUE(sign.ran) << sign.error;
  EXPECT_EQ(sign.observed, 40 * 4 * 12 * 12);  // every element of conv2d_2's output
  // Bit 31 flips the sign of every element, zeros included: all of them change.
  EXPECT_EQ(sign.corrupted, sign.observed);
  ASSERT_FALSE(sign.examples.empty());
  EXPECT_EQ(sign.examples[0].after, -sign.examples[0].before);

  EXPECT_FALSE(r.entries[1].ran);
  EXPECT_NE(r.entries[1].error.find("bit_number: 64 is outside 0..31"), std::string::npos);

  const EntryResult& none = r.entries[2];
  ASSERT_TRUE(none.ran) << none.error;
  EXPECT_EQ(none.corrupted, 0);
  EXPECT_EQ(none.changed_predictions, 0);
  EXPECT_DOUBLE_EQ(none.faulty.top1(), r.golden.top1());
  EXPECT_TRUE(at::equal(none.faulty.confusion(), r.golden.confusion()));

  const EntryResult& weight = r.entries[3];
  ASSERT_TRUE(weight.ran) << weight.error;
  EXPECT_EQ(weight.corrupted, 1);             // one weight, counted once
  EXPECT_EQ(weight.observed, 6 * 4 * 3 * 3);  // conv2d_3's weight
}

// inject reruns each entry from the golden values of each batch; the predictions must be
// those of a full forward of the entry's faulty model (insert_faults), for every site kind
// and per-sample random faults, at two batch sizes.
TEST(Inject, RerunFromGoldenValuesEqualsTheFaultyModel) {
  Graph model = seed_inception_model(small());
  FaultConfig config = parse_fault_config(R"(
seed: 9
faults:
- {node: conv2d_2, fault: bit_flip, bits: [26, 30], probability: 0.05, per_sample: true}
- {node: concatenate, site: input, index: 1, fault: stuck_at_1, bit: 27, count: 3, per_sample: true}
- {node: conv2d_3/conv, site: weight, fault: bit_flip, bit: 28, count: 2}
- {node: input_3, site: model_input, fault: random_value, range: [-4, 4], probability: 0.1, per_sample: true}
)",
                                          "t.yml", model);
  at::Tensor images = at::rand({37, 1, 12, 12});
  at::Tensor labels = at::randint(0, 10, {37}, at::kLong);
  for (int64_t batch : {5, 16}) {
    InjectOptions o;
    o.batch = batch;
    o.progress = false;
    InjectResult r = run_inject(model, config, images, labels, 10, o);
    for (const EntryResult& e : r.entries) {
      ASSERT_TRUE(e.ran) << e.error;
      Executor exec(e.faulty_graph);
      EvalOptions eo;
      eo.batch = 7;  // yet another batch size
      Evaluation full = evaluate(exec, images, labels, 10, scores_of(model), eo);
      EXPECT_TRUE(at::equal(e.faulty.predictions(), full.predictions()))
          << "entry " << e.entry.index << " at batch " << batch;
      EXPECT_EQ(e.faulty.non_finite(), full.non_finite());
      EXPECT_GT(e.corrupted, 0) << "entry " << e.entry.index;
    }
  }
}

}  // namespace
}  // namespace fg
