// The malloc family, counted and forwarded to the next definition (the C library's) found with
// dlsym(RTLD_NEXT). glibc routes its own internal allocations through these symbols too, and an executable's
// definitions come first in symbol lookup, so every shared library of the process uses them.
#define _GNU_SOURCE
#include "CAllocationCounter.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef void *(*MallocFunction)(size_t);
typedef void *(*CallocFunction)(size_t, size_t);
typedef void *(*ReallocFunction)(void *, size_t);
typedef void *(*ReallocarrayFunction)(void *, size_t, size_t);
typedef void (*FreeFunction)(void *);
typedef int (*PosixMemalignFunction)(void **, size_t, size_t);
typedef void *(*AlignedFunction)(size_t, size_t);

static _Atomic(MallocFunction) nextMalloc;
static _Atomic(CallocFunction) nextCalloc;
static _Atomic(ReallocFunction) nextRealloc;
static _Atomic(ReallocarrayFunction) nextReallocarray;
static _Atomic(FreeFunction) nextFree;
static _Atomic(PosixMemalignFunction) nextPosixMemalign;
static _Atomic(AlignedFunction) nextAlignedAlloc;
static _Atomic(AlignedFunction) nextMemalign;
static _Atomic(MallocFunction) nextValloc;
static _Atomic(MallocFunction) nextPvalloc;

// dlsym may itself allocate (its error state) before the forwards are known: such requests are served from
// this buffer, bump-allocated and never freed. Each block starts with its size, for realloc.
static _Alignas(64) unsigned char bootstrap[16384];
static atomic_size_t bootstrapUsed;
static _Thread_local int resolving __attribute__((tls_model("initial-exec")));

static int isBootstrap(const void *pointer) {
    const unsigned char *p = pointer;
    return p >= bootstrap && p < bootstrap + sizeof bootstrap;
}

static void *bootstrapAllocate(size_t size, size_t alignment) {
    if (alignment < 16) alignment = 16;
    size_t used = atomic_load(&bootstrapUsed), start, end;
    do {
        start = (used + sizeof(size_t) + alignment - 1) / alignment * alignment;
        end = start + size;
        if (end > sizeof bootstrap) return NULL;
    } while (!atomic_compare_exchange_weak(&bootstrapUsed, &used, end));
    memcpy(bootstrap + start - sizeof(size_t), &size, sizeof size);
    return bootstrap + start;
}

static void resolve(void) {
    resolving = 1;
    atomic_store(&nextMalloc, (MallocFunction)dlsym(RTLD_NEXT, "malloc"));
    atomic_store(&nextCalloc, (CallocFunction)dlsym(RTLD_NEXT, "calloc"));
    atomic_store(&nextRealloc, (ReallocFunction)dlsym(RTLD_NEXT, "realloc"));
    atomic_store(&nextReallocarray, (ReallocarrayFunction)dlsym(RTLD_NEXT, "reallocarray"));
    atomic_store(&nextPosixMemalign, (PosixMemalignFunction)dlsym(RTLD_NEXT, "posix_memalign"));
    atomic_store(&nextAlignedAlloc, (AlignedFunction)dlsym(RTLD_NEXT, "aligned_alloc"));
    atomic_store(&nextMemalign, (AlignedFunction)dlsym(RTLD_NEXT, "memalign"));
    atomic_store(&nextValloc, (MallocFunction)dlsym(RTLD_NEXT, "valloc"));
    atomic_store(&nextPvalloc, (MallocFunction)dlsym(RTLD_NEXT, "pvalloc"));
    // Last: a non-null nextFree tells every function that the others are set.
    atomic_store(&nextFree, (FreeFunction)dlsym(RTLD_NEXT, "free"));
    resolving = 0;
}

/// Whether the caller must serve itself from the bootstrap buffer (dlsym is running on this thread).
static int bootstrapping(void) {
    if (atomic_load_explicit(&nextFree, memory_order_acquire)) return 0;
    if (resolving) return 1;
    resolve();
    return 0;
}

// Counting state. `inside` keeps the counter's own work (backtrace) out of the counts.
static atomic_int counting;
static atomic_int recordSites;
static atomic_long allocations;
static atomic_long frees;
static atomic_int sitesClaimed;
static _Thread_local int inside __attribute__((tls_model("initial-exec")));

struct Site {
    size_t size;
    int thread;
    int depth;
    void *frames[ALLOCATION_COUNTER_MAX_FRAMES];
};
static struct Site sites[ALLOCATION_COUNTER_MAX_SITES];

// The executable code of one library (`allocation_counter_attribute_library`): allocations called from it
// are also counted on their own.
static _Atomic(uintptr_t) libraryLow, libraryHigh;
static atomic_long libraryAllocations;

static void countAllocation(size_t size, const void *caller) {
    if (!atomic_load_explicit(&counting, memory_order_relaxed) || inside) return;
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    uintptr_t address = (uintptr_t)caller;
    if (address >= atomic_load_explicit(&libraryLow, memory_order_relaxed)
        && address < atomic_load_explicit(&libraryHigh, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&libraryAllocations, 1, memory_order_relaxed);
    }
    if (!atomic_load_explicit(&recordSites, memory_order_relaxed)) return;
    int index = atomic_fetch_add_explicit(&sitesClaimed, 1, memory_order_relaxed);
    if (index >= ALLOCATION_COUNTER_MAX_SITES) return;
    inside = 1;
    sites[index].size = size;
    sites[index].thread = (int)syscall(SYS_gettid);
    sites[index].depth = backtrace(sites[index].frames, ALLOCATION_COUNTER_MAX_FRAMES);
    inside = 0;
}

static void countFree(void *pointer) {
    if (pointer && atomic_load_explicit(&counting, memory_order_relaxed) && !inside) {
        atomic_fetch_add_explicit(&frees, 1, memory_order_relaxed);
    }
}

void *malloc(size_t size) {
    if (bootstrapping()) return bootstrapAllocate(size, 16);
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextMalloc, memory_order_relaxed)(size);
}

void *calloc(size_t count, size_t size) {
    if (bootstrapping()) {
        if (size && count > SIZE_MAX / size) return NULL;
        return bootstrapAllocate(count * size, 16);  // the buffer is static, so already zero
    }
    countAllocation(count * size, __builtin_return_address(0));
    return atomic_load_explicit(&nextCalloc, memory_order_relaxed)(count, size);
}

void *realloc(void *pointer, size_t size) {
    int early = bootstrapping();
    if (!early) countAllocation(size, __builtin_return_address(0));
    if (early || isBootstrap(pointer)) {
        // A bootstrap block moves to a new block (the bootstrap buffer until the forwards are known).
        void *moved = early ? bootstrapAllocate(size, 16) : atomic_load_explicit(&nextMalloc, memory_order_relaxed)(size);
        if (moved && pointer) {
            size_t old;
            memcpy(&old, (unsigned char *)pointer - sizeof(size_t), sizeof old);
            memcpy(moved, pointer, old < size ? old : size);
        }
        return moved;
    }
    return atomic_load_explicit(&nextRealloc, memory_order_relaxed)(pointer, size);
}

void *reallocarray(void *pointer, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    if (bootstrapping() || isBootstrap(pointer)) return realloc(pointer, count * size);
    countAllocation(count * size, __builtin_return_address(0));
    return atomic_load_explicit(&nextReallocarray, memory_order_relaxed)(pointer, count, size);
}

void free(void *pointer) {
    if (isBootstrap(pointer)) return;
    if (bootstrapping()) return;  // nothing but bootstrap blocks exists yet
    countFree(pointer);
    atomic_load_explicit(&nextFree, memory_order_relaxed)(pointer);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (bootstrapping()) {
        *result = bootstrapAllocate(size, alignment);
        return *result ? 0 : ENOMEM;
    }
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextPosixMemalign, memory_order_relaxed)(result, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (bootstrapping()) return bootstrapAllocate(size, alignment);
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextAlignedAlloc, memory_order_relaxed)(alignment, size);
}

void *memalign(size_t alignment, size_t size) {
    if (bootstrapping()) return bootstrapAllocate(size, alignment);
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextMemalign, memory_order_relaxed)(alignment, size);
}

void *valloc(size_t size) {
    if (bootstrapping()) return bootstrapAllocate(size, 4096);
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextValloc, memory_order_relaxed)(size);
}

void *pvalloc(size_t size) {
    if (bootstrapping()) return bootstrapAllocate(size, 4096);
    countAllocation(size, __builtin_return_address(0));
    return atomic_load_explicit(&nextPvalloc, memory_order_relaxed)(size);
}

void allocation_counter_start(int record_sites) {
    if (record_sites) {
        // The first backtrace loads the unwinder (it allocates): do that before counting.
        void *frame[1];
        backtrace(frame, 1);
    }
    atomic_store(&allocations, 0);
    atomic_store(&libraryAllocations, 0);
    atomic_store(&frees, 0);
    atomic_store(&sitesClaimed, 0);
    atomic_store(&recordSites, record_sites);
    atomic_store(&counting, 1);
}

void allocation_counter_stop(void) { atomic_store(&counting, 0); }

long allocation_counter_allocations(void) { return atomic_load(&allocations); }

long allocation_counter_library_allocations(void) { return atomic_load(&libraryAllocations); }

long allocation_counter_frees(void) { return atomic_load(&frees); }

static int findExecutableSegment(struct dl_phdr_info *info, size_t size, void *target) {
    (void)size;
    for (int index = 0; index < info->dlpi_phnum; index++) {
        const ElfW(Phdr) *header = &info->dlpi_phdr[index];
        if (header->p_type != PT_LOAD || !(header->p_flags & PF_X)) continue;
        uintptr_t low = info->dlpi_addr + header->p_vaddr, high = low + header->p_memsz;
        if ((uintptr_t)target >= low && (uintptr_t)target < high) {
            atomic_store(&libraryLow, low);
            atomic_store(&libraryHigh, high);
            return 1;
        }
    }
    return 0;
}

int allocation_counter_attribute_library(const char *symbol) {
    inside = 1;  // dlsym may allocate
    void *address = dlsym(RTLD_DEFAULT, symbol);
    atomic_store(&libraryLow, 0);
    atomic_store(&libraryHigh, 0);
    int found = address && dl_iterate_phdr(findExecutableSegment, address);
    inside = 0;
    return found;
}

int allocation_counter_site_count(void) {
    int claimed = atomic_load(&sitesClaimed);
    return claimed < ALLOCATION_COUNTER_MAX_SITES ? claimed : ALLOCATION_COUNTER_MAX_SITES;
}

int allocation_counter_site(int index, size_t *size, int *thread, void **frames, int capacity) {
    if (index < 0 || index >= allocation_counter_site_count()) return 0;
    const struct Site *site = &sites[index];
    *size = site->size;
    *thread = site->thread;
    int depth = site->depth < capacity ? site->depth : capacity;
    memcpy(frames, site->frames, (size_t)depth * sizeof(void *));
    return depth;
}

int allocation_counter_current_thread(void) {
    return (int)syscall(SYS_gettid);
}

void allocation_counter_describe(const void *address, char *buffer, size_t capacity) {
    Dl_info info;
    if (!dladdr(address, &info)) {
        snprintf(buffer, capacity, "%p", address);
    } else if (info.dli_sname) {
        snprintf(buffer, capacity, "%s", info.dli_sname);
    } else {
        snprintf(buffer, capacity, "%s + %#tx", info.dli_fname ? info.dli_fname : "?",
                 (const char *)address - (const char *)info.dli_fbase);
    }
}
