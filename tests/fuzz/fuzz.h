/*
 * fuzz.h: what every libFuzzer target here shares. CHECK traps on a broken
 * invariant, so libFuzzer records the input that broke it as a crash.
 */
#ifndef SF_FUZZ_H
#define SF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The entry point libFuzzer calls with each input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#endif
