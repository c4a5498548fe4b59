// Self-contained HTML reports (plain HTML + CSS, every image embedded as a data: URI, no
// script, nothing fetched): one for a campaign's results database, one for the folder an
// `inject` run wrote. Numbers in tables carry their exact values in data-value attributes,
// so that tests (and scrapers) read them without parsing formatted text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "faultgraph/ir/graph.h"
#include "faultgraph/store/trial_store.h"

namespace fg {

// The campaign held by `store`: spec, model summary, overall rates, the tables of `campaign
// report` (by layer, bit, site kind, operator, input), every chart (written as PNG and SVG
// into `images_dir` too), and the model coloured by SDC rate when `model` is given (else
// `model_note` says why it is missing).
std::string campaign_html_report(const TrialStore& store, const Graph* model,
                                 const std::string& model_note, const std::string& images_dir);

// The folder of an `inject` run (its report.json, confusion matrices and model pictures):
// the seed's comparison table, golden vs faulty accuracy per entry (chart also written into
// `images_dir`), confusion matrices and the model pictures. DatasetError naming the file when
// report.json is missing or malformed.
std::string inject_html_report(const std::string& folder, const std::string& images_dir);

// The chart of golden vs faulty top-1 accuracy per entry of an inject run's report.json,
// as `dir`/accuracy_per_entry.png and .svg; returns the PNG's path ("" when no entry ran).
std::string write_accuracy_chart(const nlohmann::json& report, const std::string& dir);

// Base64 (RFC 4648) of `bytes`, for data: URIs.
std::string base64(std::string_view bytes);
// `s` with &, <, >, " and ' escaped for HTML text and attribute values.
std::string html_escape(const std::string& s);

}  // namespace fg
