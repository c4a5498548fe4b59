// faultgraph report (DB | inject folder) --out report.html: one self-contained HTML file
// with the results, tables and every picture (src/report/html_report.cpp).
#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "commands.h"
#include "faultgraph/campaign/runner.h"
#include "faultgraph/core/error.h"
#include "faultgraph/core/files.h"
#include "faultgraph/report/html_report.h"

namespace fg::cli {

namespace {
namespace fs = std::filesystem;

struct ReportArgs {
  std::string input, out = "report.html", model, images;
};

// The model the campaign ran, checked against the hash the database recorded: the file it
// names (or --model), or the built-in architecture rebuilt as the campaign built it.
// Empty, with `note` saying why, when it cannot be had.
std::optional<Graph> campaign_model(const CampaignRecord& c, const std::string& override_path,
                                    std::string& note) {
  const std::string builtin_suffix = " (built-in, untrained)";
  std::optional<Graph> g;
  std::error_code ec;
  std::string source = override_path.empty() ? c.model : override_path;
  if (!override_path.empty() || fs::is_regular_file(c.model, ec)) {
    g = load_model(source);
  } else if (c.model.size() > builtin_suffix.size() &&
             c.model.compare(c.model.size() - builtin_suffix.size(), builtin_suffix.size(),
                             builtin_suffix) == 0) {
    g = load_campaign_model(parse_campaign_spec(c.spec_text, "the campaign's spec")).model;
  } else {
    note = fmt::format(
        "The model picture is missing: the campaign's model {} is not here (pass --model FILE).",
        c.model);
    return std::nullopt;
  }
  if (graph_hash(*g) != c.model_hash) {
    note = fmt::format(
        "The model picture is missing: {} is not the model this campaign ran (its hash differs "
        "from the database's {}).",
        source, c.model_hash);
    return std::nullopt;
  }
  return g;
}

// A folder for the chart files: --images, or a temporary one removed afterwards.
struct ImagesDir {
  std::string path;
  bool temporary = false;
  explicit ImagesDir(const std::string& wanted) {
    if (!wanted.empty()) {
      prepare_output_dir(wanted);
      path = wanted;
      return;
    }
    std::string tmpl = (fs::temp_directory_path() / "faultgraph-report-XXXXXX").string();
    FG_CHECK(::mkdtemp(tmpl.data()) != nullptr, UsageError,
             "cannot make a temporary folder for the charts in ",
             fs::temp_directory_path().string());
    path = tmpl;
    temporary = true;
  }
  ~ImagesDir() {
    std::error_code ec;
    if (temporary) fs::remove_all(path, ec);
  }
  ImagesDir(const ImagesDir&) = delete;
  ImagesDir& operator=(const ImagesDir&) = delete;
};

int run_report(const ReportArgs& a) {
  std::error_code ec;
  FG_CHECK(fs::exists(a.input, ec), UsageError, a.input,
           ": no such file or folder (give a campaign database or the --out folder of inject)");
  check_output_file(a.out);
  check_output_not_input(a.out, a.input, "the campaign database");
  check_output_not_input(a.out, (fs::path(a.input) / "report.json").string(),
                         "the inject run's record");
  check_output_not_input(a.out, a.model, "the campaign's model");
  ImagesDir images(a.images);
  std::string html;
  if (fs::is_directory(a.input, ec)) {
    FG_CHECK(a.model.empty(), UsageError, "--model: only for a campaign database");
    html = inject_html_report(a.input, images.path);
  } else {
    TrialStore store(a.input, true);
    FG_CHECK(store.has_campaign(), DatasetError, a.input,
             ": holds no campaign yet (run `faultgraph campaign run` first)");
    std::string note;
    std::optional<Graph> model = campaign_model(store.campaign(), a.model, note);
    html = campaign_html_report(store, model ? &*model : nullptr, note, images.path);
    if (!model) fmt::print(stderr, "faultgraph: warning: {}\n", note);
  }
  write_file_atomic(a.out, html);
  fmt::print("wrote {} ({:.0f} KiB){}\n", a.out, static_cast<double>(html.size()) / 1024,
             a.images.empty() ? "" : fmt::format("; charts as PNG and SVG in {}", a.images));
  return 0;
}
}  // namespace

Command add_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write one self-contained HTML report of a campaign database or an inject run");
  cmd->add_option("input", args->input,
                  "campaign results database (campaign run --db), or the --out folder of inject")
      ->required();
  cmd->add_option("-o,--out", args->out, "the HTML file to write (missing folders are created)")
      ->capture_default_str();
  cmd->add_option("--model", args->model,
                  "the campaign's model, when the file the database names is not here");
  cmd->add_option("--images", args->images, "also keep every chart as PNG and SVG in this folder");
  return {cmd, [args] { return run_report(*args); }};
}

}  // namespace fg::cli
