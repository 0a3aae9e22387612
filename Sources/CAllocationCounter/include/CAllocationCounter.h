// Counts heap allocations made by every thread of the process while counting is on. The library defines the
// malloc family itself and forwards each call to the C library's, so a program that links it (only the test
// bundle does) has all its allocations — Swift runtime, Foundation, Dispatch, OpenBLAS, libc — pass through it.
#ifndef C_ALLOCATION_COUNTER_H
#define C_ALLOCATION_COUNTER_H

#include <stddef.h>

/// Most allocations whose call stacks one counting window records.
#define ALLOCATION_COUNTER_MAX_SITES 32
/// Deepest call stack recorded per allocation.
#define ALLOCATION_COUNTER_MAX_FRAMES 32

/// Zeroes the counts and starts counting. With `record_sites` the first ALLOCATION_COUNTER_MAX_SITES
/// allocations keep their call stacks (slower; for finding where they come from).
void allocation_counter_start(int record_sites);
/// Stops counting; the counts and recorded sites stay readable until the next start.
void allocation_counter_stop(void);
/// malloc, calloc, realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc and pvalloc calls.
long allocation_counter_allocations(void);
/// Attributes allocations to the library that defines `symbol` (e.g. "cblas_sgemm"): those whose immediate caller
/// is that library's code are also counted by allocation_counter_library_allocations. Returns 0 when the symbol is
/// not found.
int allocation_counter_attribute_library(const char *symbol);
/// The part of allocation_counter_allocations whose caller is the attributed library's code.
long allocation_counter_library_allocations(void);
/// free calls with a non-null pointer.
long allocation_counter_frees(void);
/// Recorded sites (at most ALLOCATION_COUNTER_MAX_SITES).
int allocation_counter_site_count(void);
/// Site `index`: its requested size, the allocating thread's kernel id and up to `capacity` return addresses,
/// innermost first. Returns the number of addresses written.
int allocation_counter_site(int index, size_t *size, int *thread, void **frames, int capacity);

/// The calling thread's kernel id, as sites name threads.
int allocation_counter_current_thread(void);

/// Writes the symbol of the function containing `address` (as linked, so Swift names are mangled), or its
/// module and offset when the symbol is not exported, into `buffer`.
void allocation_counter_describe(const void *address, char *buffer, size_t capacity);

#endif
