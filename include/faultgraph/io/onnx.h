// ONNX import and export through Debian's libonnx protobuf classes. ONNX is faultgraph's
// native model format: a model saved here opens in any ONNX tool.
#pragma once

#include <string>
#include <string_view>

#include "faultgraph/ir/graph.h"

namespace fg {

// Reads and verifies an ONNX model. Throws ModelFormatError (or ShapeError) whose
// message starts with the path and names the node and the problem: truncated or corrupt
// file, unknown op, missing initializer, shape mismatch, unsupported feature.
Graph import_onnx(const std::string& path);
// Same, from serialized bytes; `source` names them in messages.
Graph import_onnx_bytes(std::string_view bytes, const std::string& source);

// Serializes `g` (opset g.opset, IR version 8) with every weight inside the file.
std::string export_onnx_bytes(const Graph& g);
// Writes atomically: a temporary file in the same folder, renamed when complete.
void export_onnx(const Graph& g, const std::string& path);

// Runs ONNX's own checker (onnx::checker::check_model) on serialized bytes;
// throws ModelFormatError with the checker's message when the model is invalid.
void check_onnx_bytes(const std::string& bytes, const std::string& source);

}  // namespace fg
