// Bringing up DPDK's EAL, the one way every program here does it.
//
// waypointd and the lab tools take their own options before "--" and hand
// everything after it to the EAL untouched, so an operator can give any vdev,
// lcore or memory option without us re-wrapping it. Unit tests and
// benchmarks that own no real port run a private EAL instead: no hugepages
// (test machines have none to spare), no PCI scan, no shared config files
// (--no-shconf leaves no /var/run/dpdk state behind) and a file prefix of the
// process's own, so parallel runs (ctest -j, several developers on one
// machine) never collide.
#pragma once

#include <string>
#include <vector>

namespace wp {

// Where our options end: the index of the first "--" in argv, or argc.
int eal_split(int argc, char** argv);

// The EAL's command line: argv[0], then everything after argv[split].
std::vector<std::string> eal_args_after(int argc, char** argv, int split);

// A private EAL's command line (see above): `memory_mb` of 4 KiB pages on
// `lcores`, logging errors only, file prefix `name` + pid.
std::vector<std::string> private_eal_args(const std::string& name, unsigned memory_mb, const std::string& lcores = "0");

// rte_eal_init over `args` (args[0] is the program name). False with
// "EAL init failed: <rte_strerror>" in `error`.
bool eal_init(std::vector<std::string> args, std::string& error);

}  // namespace wp
