// GCC's -fsanitize-coverage=trace-cmp also reports floating-point comparisons, which
// libFuzzer does not track: these hooks take them and ignore them.
extern "C" {
void __sanitizer_cov_trace_cmpf(float, float) {}
void __sanitizer_cov_trace_cmpd(double, double) {}
}
