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
struct ContextCloser {
  void operator()(GVC_t* c) const { gvFreeContext(c); }
};
struct GraphCloser {
  void operator()(Agraph_t* g) const { agclose(g); }
};
using GvContext = std::unique_ptr<GVC_t, ContextCloser>;
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
}  // namespace

void render_dot_svg(const std::string& dot, const std::string& svg_path) {
  std::lock_guard<std::mutex> lock(g_graphviz_mutex);
  last_graphviz_error().clear();
  agseterrf(collect_error);
  agseterr(AGERR);
  GvContext gvc(gvContext());
  FG_CHECK(gvc != nullptr, UsageError, svg_path, ": Graphviz could not start");
  AgGraph g(agmemread(dot.c_str()));
  FG_CHECK(g != nullptr, UsageError, svg_path, ": Graphviz could not read the model picture (",
           last_graphviz_error(), ")");
  FG_CHECK(gvLayout(gvc.get(), g.get(), "dot") == 0, UsageError, svg_path,
           ": Graphviz layout failed (", last_graphviz_error(), ")");
  char* data = nullptr;
  unsigned int length = 0;
  int rc = gvRenderData(gvc.get(), g.get(), "svg", &data, &length);
  gvFreeLayout(gvc.get(), g.get());
  std::unique_ptr<char, void (*)(char*)> owned(data, [](char* p) { gvFreeRenderData(p); });
  FG_CHECK(rc == 0 && data != nullptr, UsageError, svg_path, ": Graphviz could not render SVG (",
           last_graphviz_error(), ")");
  write_file_atomic(svg_path, std::string_view(data, length));
}

}  // namespace fg
