// Model pictures rendered in-process by Graphviz's library (libgvc): no shell, no `dot`
// program, so no path or node name can ever be run as a command.
#pragma once

#include <string>

namespace fg {

// Lays out the DOT text and writes it as SVG to `svg_path` (atomically: a temporary file
// renamed into place). Throws UsageError naming the path when it cannot.
void render_dot_svg(const std::string& dot, const std::string& svg_path);

}  // namespace fg
