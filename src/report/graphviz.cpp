#include "faultgraph/report/graphviz.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"

namespace fg {

namespace {
struct GraphCloser {
  void operator()(Agraph_t* g) const { agclose(g); }
};
using AgGraph = std::unique_ptr<Agraph_t, GraphCloser>;

// Graphviz reports through a global error callback; keep its last message for ours.
std::string& last_graphviz_error() {
  static std::string msg;
  return msg;
}
int collect_error(char* text) {
  last_graphviz_error() = text;
  while (!last_graphviz_error().empty() && last_graphviz_error().back() == '\n')
    last_graphviz_error().pop_back();
  return 0;
}
std::mutex g_graphviz_mutex;  // libcgraph keeps global state

// One Graphviz context for the whole process, never freed: Graphviz 2.42's pango plugin
// keeps a pointer to the last font name it measured, which gvFreeContext frees, so the
// next context's first label read freed memory (found by AddressSanitizer on the second
// picture of an inject run).
GVC_t* graphviz_context() {
  static GVC_t* context = gvContext();
  return context;
}
}  // namespace

void render_dot_svg(const std::string& dot, const std::string& svg_path) {
  std::lock_guard<std::mutex> lock(g_graphviz_mutex);
  last_graphviz_error().clear();
  agseterrf(collect_error);
  agseterr(AGERR);
  GVC_t* gvc = graphviz_context();
  FG_CHECK(gvc != nullptr, UsageError, svg_path, ": Graphviz could not start");
  AgGraph g(agmemread(dot.c_str()));
  FG_CHECK(g != nullptr, UsageError, svg_path, ": Graphviz could not read the model picture (",
           last_graphviz_error(), ")");
  FG_CHECK(gvLayout(gvc, g.get(), "dot") == 0, UsageError, svg_path, ": Graphviz layout failed (",
           last_graphviz_error(), ")");
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc, g.get(), "svg", &data, &length);
  gvFreeLayout(gvc, g.get());
  std::unique_ptr<char, void (*)(char*)> owned(data, [](char* p) { gvFreeRenderData(p); });
  FG_CHECK(rc == 0 && data != nullptr, UsageError, svg_path, ": Graphviz could not render SVG (",
           last_graphviz_error(), ")");
  write_file_atomic(svg_path, std::string_view(data, length));
}

}  // namespace fg
