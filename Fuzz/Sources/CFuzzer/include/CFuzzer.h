// libFuzzer's driver entry (compiler-rt, FuzzerInterface.h): runs the fuzzer with its usual
// command line on `UserCb`. Declared here because Swift cannot import it from the archive.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
