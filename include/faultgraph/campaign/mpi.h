// Campaigns across machines with MPI (docs/cluster.md). One binary: built with OpenMPI when
// CMake finds it (FG_MPI, default ON), it joins an MPI job only when a launcher started it
// (mpirun, srun: their environment says so); run directly, it never touches MPI.
//
// In a job of N ranks, every rank prepares the campaign itself (the same sites, inputs and
// trials: pure functions of the spec), and rank 0 checks that all agree (model and input
// hashes). Rank 0 alone opens the database. It cuts the trials still to run into units (up
// to a chunk of trials on one input) and hands them out on request: each other rank keeps
// one unit queued while it computes another, and returns the unit's records with its next
// request; rank 0 stores them, so the database receives every trial once, whatever the
// rank count, and a unit lost with a rank is simply run again on resume. Rank 0 also
// computes units when N <= 4 (it serves requests between its own units).
#pragma once

#include <string>

#include "faultgraph/campaign/runner.h"

namespace fg {

struct MpiJob {
  int rank = 0, size = 1;
  bool active() const { return size > 1; }
};

// True when this binary was built with MPI.
bool mpi_available();
// Joins the MPI job when a launcher started this process (OMPI_COMM_WORLD_SIZE, PMIX_RANK,
// PMI_RANK in the environment); else does nothing. Call once, first thing in main.
void mpi_start(int& argc, char**& argv);
// The job this process is part of ({0, 1} outside one).
MpiJob mpi_job();
// Leaves the job: MPI_Finalize after success; after a failure, MPI_Abort with `exit_code`
// so that no other rank waits forever.
void mpi_stop(bool success, int exit_code);

// Every rank calls it with its view of the campaign (model hash + input hash) and whether
// it is ready (rank 0: its database checks passed). Returns an empty string when all agree
// and all are ready, else (on every rank) why not: which rank differs or failed.
std::string mpi_agree(const std::string& fingerprint, bool ready);

// run_trials across the job: rank 0 passes the store (and gets the whole job's summary;
// its progress line counts every rank's trials), the other ranks nullptr. Timing of the
// coordination (message waits and record encoding) is in the summary's mpi_* fields.
RunSummary run_trials_mpi(Executor& exec, const TrialPlan& plan, const CampaignInputs& inputs,
                          TrialStore* store, const RunnerOptions& options);

}  // namespace fg
