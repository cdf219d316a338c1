// A run in its run folder (strata/run.h, strata/run_folder.h), driven from C++ as the
// command line drives it: the files it writes, its hooks, SIGINT (checkpoint and stop),
// resume, and reading metrics.jsonl back with a damaged line.
#include <csignal>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"
#include "run/tiny_run.h"
#include "strata/checkpoint.h"
#include "strata/trainer.h"
#include "strata/run.h"
#include "strata/run_folder.h"

using namespace strata;
namespace fs = std::filesystem;


TEST_CASE("run: a run writes its folder and calls its hooks", "[run]") {
  const fs::path folder = test::fresh_temp_dir("run", "whole");
  int starts = 0, records = 0, ends = 0;
  std::int64_t last_step = 0;
  RunHooks hooks;
  hooks.on_start = [&](const RunStart& s) {
    ++starts;
    CHECK(s.resumed_at == -1);
    CHECK(s.steps == 20);
    CHECK(s.task == "copy");
  };
  hooks.on_step = [&](std::int64_t step, double, double) { last_step = step; };
  hooks.on_record = [&](const MetricsRecord&) { ++records; };
  hooks.on_end = [&] { ++ends; };
  const RunOutcome o = run_in_folder(test::tiny_run(20), test::example_registry(), folder, {}, hooks);
  CHECK((starts == 1 && ends == 1 && last_step == 20));
  CHECK(o.summary.steps == 20);
  CHECK_FALSE(o.summary.interrupted);
  for (const char* f : {run_folder::kConfigFile, run_folder::kPlanFile, run_folder::kMetricsFile,
                        run_folder::kMetricsCsvFile, run_folder::kFinalFile, run_folder::kReportFile}) {
    INFO(f);
    CHECK(fs::is_regular_file(folder / f));
  }
  CHECK(fs::is_directory(folder / run_folder::kCheckpointFolder));
  const run_folder::MetricsLog log = run_folder::read_metrics(folder);
  CHECK(int(log.records.size()) == records);
  CHECK(log.records.back().step == 20);
  CHECK(log.records.back().has("eval_loss"));
}

TEST_CASE("run: SIGINT checkpoints and stops, and the run resumes from there", "[run][resume]") {
  const fs::path folder = test::fresh_temp_dir("run", "sigint");
  RunHooks hooks;
  hooks.on_step = [](std::int64_t step, double, double) {
    if (step == 7) std::raise(SIGINT);  // as a user's Ctrl-C: finish the step, checkpoint, stop
  };
  const RunOutcome stopped = run_in_folder(test::tiny_run(20), test::example_registry(), folder, {}, hooks);
  CHECK(stopped.summary.interrupted);
  CHECK(stopped.summary.steps == 7);
  CHECK(fs::exists(folder / run_folder::kCheckpointFolder / kCheckpointStateFile));

  // A torn last line (a killed writer) is skipped and named; resuming rewrites the log.
  { std::ofstream(folder / run_folder::kMetricsFile, std::ios::app) << "{\"step\": 9, \"loss\""; }
  const run_folder::MetricsLog torn = run_folder::read_metrics(folder);
  REQUIRE(torn.bad_lines.size() == 1);
  CHECK(torn.declared);  // line 1 declares the series (none here), then the records
  CHECK(torn.bad_lines[0] == std::int64_t(torn.records.size()) + 2);

  // A non-finite telemetry value in the open window is saved as null and read back as NaN.
  {
    const fs::path state_file = folder / run_folder::kCheckpointFolder / kCheckpointStateFile;
    nlohmann::json j = nlohmann::json::parse(std::ifstream(state_file));
    j["window"]["extra"]["metric.layers.0.mixer.nan_probe"] = NAN;  // nlohmann writes NaN as null
    std::ofstream(state_file) << j.dump(2);
    REQUIRE(j.dump().find("\"metric.layers.0.mixer.nan_probe\":null") != std::string::npos);
    // (edited by hand: its manifest no longer matches, so load it unverified)
    const TrainingState state =
        load_training_state(folder / run_folder::kCheckpointFolder, CheckpointChecks{.allow_unverified = true});
    REQUIRE(state.window_extra.count("metric.layers.0.mixer.nan_probe") == 1);
    CHECK(std::isnan(state.window_extra.at("metric.layers.0.mixer.nan_probe")));
  }

  RunSettings resume;
  resume.resume_checkpoint = folder / run_folder::kCheckpointFolder;
  resume.resume_checks.allow_unverified = true;  // state.json was edited above
  std::int64_t resumed_at = -1;
  RunHooks observe;
  observe.on_start = [&](const RunStart& s) { resumed_at = s.resumed_at; };
  const RunOutcome finished = run_in_folder(test::tiny_run(20), test::example_registry(), folder, resume, observe);
  CHECK(resumed_at == 7);
  CHECK(finished.summary.steps == 20);
  CHECK_FALSE(finished.summary.interrupted);
  const run_folder::MetricsLog log = run_folder::read_metrics(folder);
  CHECK(log.bad_lines.empty());
  std::int64_t previous = 0;
  for (const MetricsRecord& r : log.records) {  // one record per logged step, in order
    CHECK(r.step > previous);
    previous = r.step;
  }
  CHECK(previous == 20);
}

TEST_CASE("run: an experiment without a task is refused before anything is written", "[run][errors]") {
  const fs::path folder = test::fresh_temp_dir("run", "notask");
  const Experiment e = Experiment::from_string("[model]\nd_model = 8\nn_layers = 1\nvocab_size = 16\n[model.mixer.C]\ntype = \"shortconv\"\n",
                                               "model_only.toml", test::hermetic_options(), test::example_registry());
  CHECK_THROWS_WITH(run_in_folder(e, test::example_registry(), folder), Catch::Contains("no [task] to train on"));
  CHECK(fs::is_empty(folder));
}

TEST_CASE("resume: extending train.steps keeps the learning-rate schedule of the original run", "[run][resume]") {
  const auto lr_by_step = [](const fs::path& folder) {
    std::map<std::int64_t, double> out;
    for (const MetricsRecord& r : run_folder::read_metrics(folder).records)
      for (const auto& [key, value] : r.values)
        if (key == "lr") out[r.step] = value;
    return out;
  };
  const fs::path straight = test::fresh_temp_dir("run", "schedule_straight");
  run_in_folder(test::tiny_run(20), test::example_registry(), straight);
  const auto want = lr_by_step(straight);
  REQUIRE(want.count(10) == 1);
  REQUIRE(want.count(20) == 1);

  const fs::path folder = test::fresh_temp_dir("run", "schedule_extended");
  RunHooks hooks;
  hooks.on_step = [](std::int64_t step, double, double) {
    if (step == 7) std::raise(SIGINT);
  };
  REQUIRE(run_in_folder(test::tiny_run(20), test::example_registry(), folder, {}, hooks).summary.interrupted);
  RunSettings resume;
  resume.resume_checkpoint = folder / run_folder::kCheckpointFolder;
  run_in_folder(test::tiny_run(30), test::example_registry(), folder, resume);  // --set train.steps=30
  const auto got = lr_by_step(folder);
  for (std::int64_t step : {10, 15, 20}) CHECK(got.at(step) == want.at(step));  // no jump: the 20-step cosine
  const double floor = 0.01 * 0.1;  // lr x min_lr_ratio: past the schedule's end the rate stays there
  CHECK(got.at(25) == Approx(floor));
  CHECK(got.at(30) == Approx(floor));

  // Re-planning is explicit: train.schedule_steps spans the schedule over the new length.
  const fs::path replanned = test::fresh_temp_dir("run", "schedule_replanned");
  REQUIRE(run_in_folder(test::tiny_run(20), test::example_registry(), replanned, {}, hooks).summary.interrupted);
  resume.resume_checkpoint = replanned / run_folder::kCheckpointFolder;
  run_in_folder(test::tiny_run(30, "schedule_steps = 30"), test::example_registry(), replanned, resume);
  CHECK(lr_by_step(replanned).at(10) > want.at(10));
  CHECK(load_training_state(replanned / run_folder::kCheckpointFolder).schedule_steps == 30);
}

TEST_CASE("resume: a checkpoint of a data-parallel job is refused by another number of ranks", "[run][resume][errors]") {
  const fs::path folder = test::fresh_temp_dir("run", "resume_ranks");
  const Experiment e = test::tiny_run(10);
  run_in_folder(e, test::example_registry(), folder);
  const fs::path checkpoint = folder / run_folder::kCheckpointFolder;
  // The checkpoint as rank 0 of a 2-rank job writes it.
  TrainingState state = load_training_state(checkpoint);
  CHECK(state.data_parallel_size == 1);
  state.data_parallel_size = 2;
  const ExperimentObjects objects = build_experiment(e, test::example_registry());
  save_checkpoint(checkpoint, e, *objects.model, &state, nullptr);
  CHECK(load_training_state(checkpoint).data_parallel_size == 2);
  RunSettings resume;
  resume.resume_checkpoint = checkpoint;
  CHECK_THROWS_WITH(run_in_folder(test::tiny_run(20), test::example_registry(), folder, resume),
                    Catch::Contains("written by a job of 2 rank(s)") && Catch::Contains("mpirun -np 2"));
}
