// GoogleTest main shared by all unit test binaries. DPDK's EAL is started
// lazily by tests that need mbufs (see eal_env.h), so pure tests stay fast.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
