// EAL bring-up; see eal.h.
#include "dataplane/control/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <deque>

namespace wp {

int eal_split(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--") return i;
  return argc;
}

std::vector<std::string> eal_args_after(int argc, char** argv, int split) {
  std::vector<std::string> args{argv[0]};
  for (int i = split + 1; i < argc; ++i) args.emplace_back(argv[i]);
  return args;
}

std::vector<std::string> private_eal_args(const std::string& name, unsigned memory_mb, const std::string& lcores) {
  return {name,
          "--no-huge",
          "--no-pci",
          "-m",
          std::to_string(memory_mb),
          "--no-shconf",
          "-l",
          lcores,
          "--log-level=error",
          "--file-prefix=" + name + std::to_string(getpid())};
}

bool eal_init(std::vector<std::string> args, std::string& error) {
  // rte_eal_init reorders argv and the EAL does not promise to copy every
  // option it keeps, so the strings live as long as the process.
  static std::deque<std::vector<std::string>> kept;
  std::vector<std::string>& own = kept.emplace_back(std::move(args));
  std::vector<char*> argv;
  for (std::string& a : own) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) >= 0) return true;
  error = std::string("EAL init failed: ") + rte_strerror(rte_errno);
  return false;
}

}  // namespace wp
