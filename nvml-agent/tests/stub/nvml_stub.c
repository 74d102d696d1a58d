/*
 * A stand-in for the NVIDIA driver's libnvidia-ml.so.1, for phalanx-agent's tests and benchmarks on
 * machines without a GPU. It exports the NVML functions the agent calls through nvml-wrapper and answers
 * for a fixed node: by default eight "NVIDIA A100-SXM4-80GB" on NVSwitches.
 *
 * Configuration and fault injection: a text file `nvml_stub.conf` beside the library file (found with
 * dladdr, so each copy of the library has its own), or the file named by $PHALANX_NVML_STUB_CONF.
 * One command per line; '#' starts a comment.
 *
 *   gpus N            number of GPUs (default 8, at most 64)
 *   name TEXT         product name (default "NVIDIA A100-SXM4-80GB")
 *   memory_mib M      memory per GPU (default 81920)
 *   nvlink KIND       switch (12 links per GPU to 6 NVSwitches), pairs (4 links between GPUs 2k, 2k+1)
 *                     or none; default switch for 4 GPUs or more, pairs below
 *   mig I             GPU I is in MIG mode with two 3g.40gb instances
 *   no_events         event sets are not supported
 *
 * Faults, applied once each, in order, whenever the file is re-read (at nvmlDeviceGetCount_v2 and while
 * waiting for events); append lines to inject more:
 *
 *   xid I CODE        a critical XID event on GPU I
 *   ecc I COUNT       COUNT uncorrectable volatile ECC errors on GPU I, and a double-bit ECC event
 *   lost I            GPU I answers NVML_ERROR_GPU_IS_LOST from now on
 *   count N           the driver lists only the first N GPUs from now on
 *
 * The energy counter (nvmlDeviceGetTotalEnergyConsumption) reads 1 J more at each call than at the one
 * before, so a test can tell how often it was read.
 *
 * Build: cc -shared -fPIC -O2 -o libnvidia-ml.so.1 nvml_stub.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_TIMEOUT 10
#define NVML_ERROR_GPU_IS_LOST 15

#define EVENT_SINGLE_BIT_ECC 0x1ULL
#define EVENT_DOUBLE_BIT_ECC 0x2ULL
#define EVENT_XID 0x8ULL

#define MAX_GPUS 64
#define MIG_INSTANCES 2

typedef struct stub_device {
    int index;     /* GPU index, or the parent's index for a MIG device */
    int mig_slot;  /* -1 for a GPU */
} *nvmlDevice_t;

typedef struct stub_event_set {
    int unused;
} *nvmlEventSet_t;

typedef struct {
    char busIdLegacy[16];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[32];
} nvmlPciInfo_t;

typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct {
    nvmlDevice_t device;
    unsigned long long eventType;
    unsigned long long eventData;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlEventData_t;

enum nvlink_kind { NVLINK_NONE, NVLINK_PAIRS, NVLINK_SWITCH, NVLINK_DEFAULT };

static struct {
    int initialized;
    char conf[4096];
    int has_conf;
    int applied;     /* conf lines already applied */
    int gpus;
    int listed;      /* what nvmlDeviceGetCount_v2 says */
    char name[96];
    unsigned long long memory_mib;
    enum nvlink_kind nvlink;
    int events;
    int mig[MAX_GPUS];
    int lost[MAX_GPUS];
    unsigned long long ecc_uncorrected[MAX_GPUS];
    unsigned long long energy_reads[MAX_GPUS];
    struct stub_device devs[MAX_GPUS];
    struct stub_device mig_devs[MAX_GPUS][MIG_INSTANCES];
    struct stub_event_set set;
    nvmlEventData_t queue[256];
    int q_head, q_len;
} S;

static void push_event(int gpu, unsigned long long type, unsigned long long data) {
    if (S.q_len == 256 || gpu < 0 || gpu >= S.gpus) return;
    nvmlEventData_t *e = &S.queue[(S.q_head + S.q_len) % 256];
    memset(e, 0, sizeof *e);
    e->device = &S.devs[gpu];
    e->eventType = type;
    e->eventData = data;
    S.q_len++;
}

/* Applies the lines of the configuration not applied yet. Returns whether the file exists. */
static int refresh(int at_init) {
    if (!S.has_conf) return 0;
    FILE *f = fopen(S.conf, "r");
    if (!f) return 0;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') break; /* a line still being written */
        line[len - 1] = 0;
        if (n++ < S.applied) continue;
        S.applied = n;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char cmd[32] = {0};
        int a = 0;
        unsigned long long b = 0;
        if (sscanf(line, "%31s", cmd) != 1) continue;
        if (at_init && !strcmp(cmd, "gpus") && sscanf(line, "%*s %d", &a) == 1) {
            S.gpus = a < 0 ? 0 : a > MAX_GPUS ? MAX_GPUS : a;
            S.listed = S.gpus;
        } else if (at_init && !strcmp(cmd, "name")) {
            const char *p = line + 4;
            while (*p == ' ' || *p == '\t') p++;
            snprintf(S.name, sizeof S.name, "%.95s", p);
        } else if (at_init && !strcmp(cmd, "memory_mib") && sscanf(line, "%*s %llu", &b) == 1) {
            S.memory_mib = b;
        } else if (at_init && !strcmp(cmd, "nvlink")) {
            char kind[32] = {0};
            if (sscanf(line, "%*s %31s", kind) == 1) {
                S.nvlink = !strcmp(kind, "switch") ? NVLINK_SWITCH : !strcmp(kind, "pairs") ? NVLINK_PAIRS : NVLINK_NONE;
            }
        } else if (at_init && !strcmp(cmd, "mig") && sscanf(line, "%*s %d", &a) == 1) {
            if (a >= 0 && a < MAX_GPUS) S.mig[a] = 1;
        } else if (at_init && !strcmp(cmd, "no_events")) {
            S.events = 0;
        } else if (!strcmp(cmd, "xid") && sscanf(line, "%*s %d %llu", &a, &b) == 2) {
            push_event(a, EVENT_XID, b);
        } else if (!strcmp(cmd, "ecc") && sscanf(line, "%*s %d %llu", &a, &b) == 2) {
            if (a >= 0 && a < S.gpus) {
                S.ecc_uncorrected[a] += b;
                push_event(a, EVENT_DOUBLE_BIT_ECC, 0);
            }
        } else if (!strcmp(cmd, "lost") && sscanf(line, "%*s %d", &a) == 1) {
            if (a >= 0 && a < S.gpus) S.lost[a] = 1;
        } else if (!strcmp(cmd, "count") && sscanf(line, "%*s %d", &a) == 1) {
            if (a >= 0 && a <= S.gpus) S.listed = a;
        }
    }
    fclose(f);
    return 1;
}

nvmlReturn_t nvmlInit_v2(void) {
    memset(&S, 0, sizeof S);
    S.gpus = S.listed = 8;
    snprintf(S.name, sizeof S.name, "NVIDIA A100-SXM4-80GB");
    S.memory_mib = 81920;
    S.nvlink = NVLINK_DEFAULT;
    S.events = 1;
    const char *env = getenv("PHALANX_NVML_STUB_CONF");
    Dl_info info;
    if (env && *env) {
        snprintf(S.conf, sizeof S.conf, "%s", env);
        S.has_conf = 1;
    } else if (dladdr((void *)nvmlInit_v2, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        int dir = slash ? (int)(slash - info.dli_fname) : 0;
        snprintf(S.conf, sizeof S.conf, "%.*s%snvml_stub.conf", dir, info.dli_fname, slash ? "/" : "");
        S.has_conf = 1;
    }
    S.has_conf = refresh(1);
    if (S.nvlink == NVLINK_DEFAULT) S.nvlink = S.gpus >= 4 ? NVLINK_SWITCH : NVLINK_PAIRS;
    for (int i = 0; i < MAX_GPUS; i++) {
        S.devs[i].index = i;
        S.devs[i].mig_slot = -1;
        for (int k = 0; k < MIG_INSTANCES; k++) {
            S.mig_devs[i][k].index = i;
            S.mig_devs[i][k].mig_slot = k;
        }
    }
    S.initialized = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    S.initialized = 0;
    return NVML_SUCCESS;
}

static nvmlReturn_t copy_str(char *dst, unsigned int len, const char *src) {
    if (!dst) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > len) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(dst, src);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    return copy_str(version, length, "550.54.15");
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *v) {
    *v = 12040;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    refresh(0);
    *count = (unsigned int)S.listed;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    if (index >= (unsigned int)S.listed) return NVML_ERROR_INVALID_ARGUMENT;
    if (S.lost[index]) return NVML_ERROR_GPU_IS_LOST;
    *device = &S.devs[index];
    return NVML_SUCCESS;
}

/* Checks a handle: a valid device of a listed GPU that is not lost. */
static nvmlReturn_t check(nvmlDevice_t d) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    if (!d || d->index < 0 || d->index >= S.gpus) return NVML_ERROR_INVALID_ARGUMENT;
    if (S.lost[d->index]) return NVML_ERROR_GPU_IS_LOST;
    return NVML_SUCCESS;
}

#define CHECK(d)                          \
    do {                                  \
        nvmlReturn_t r_ = check(d);       \
        if (r_ != NVML_SUCCESS) return r_; \
    } while (0)

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t d, unsigned int *index) {
    CHECK(d);
    *index = (unsigned int)d->index;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length) {
    CHECK(d);
    if (d->mig_slot >= 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s MIG 3g.40gb", S.name);
        return copy_str(name, length, buf);
    }
    return copy_str(name, length, S.name);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned int length) {
    CHECK(d);
    char buf[96];
    if (d->mig_slot >= 0) {
        snprintf(buf, sizeof buf, "MIG-5eed0000-0000-4000-8000-%08x%04x", d->index, d->mig_slot);
    } else {
        snprintf(buf, sizeof buf, "GPU-5eed0000-0000-4000-8000-%012x", d->index);
    }
    return copy_str(uuid, length, buf);
}

static void bus_id(char *dst, size_t n, unsigned int bus) {
    snprintf(dst, n, "00000000:%02X:00.0", bus & 0xFFu);
}

static void fill_pci(nvmlPciInfo_t *pci, unsigned int bus) {
    bus &= 0xFFu;
    memset(pci, 0, sizeof *pci);
    snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "0000:%02X:00.0", bus);
    bus_id(pci->busId, sizeof pci->busId, bus);
    pci->bus = bus;
    pci->pciDeviceId = 0x20B210DE;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci) {
    CHECK(d);
    fill_pci(pci, 0x10 + (unsigned int)d->index);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNumaNodeId(nvmlDevice_t d, unsigned int *node) {
    CHECK(d);
    *node = d->index < (S.gpus + 1) / 2 ? 0 : 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t d, nvmlMemory_v2_t *m) {
    CHECK(d);
    unsigned long long mib = 1024ULL * 1024ULL;
    if (d->mig_slot >= 0) {
        m->total = 40960ULL * mib;
        m->used = 0;
    } else {
        m->total = S.memory_mib * mib;
        m->used = (unsigned long long)(d->index + 1) * 1024ULL * mib;
    }
    m->reserved = 0;
    m->free = m->total - m->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u) {
    CHECK(d);
    u->gpu = (unsigned int)(10 * d->index + 5) % 100;
    u->memory = (unsigned int)(3 * d->index);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *temp) {
    CHECK(d);
    if (sensor != 0) return NVML_ERROR_NOT_SUPPORTED;
    *temp = 40 + (unsigned int)d->index;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *mw) {
    CHECK(d);
    *mw = 250000 + 1000 * (unsigned int)d->index;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t d, unsigned long long *mj) {
    CHECK(d);
    *mj = 1000000ULL * (unsigned long long)(d->index + 1) + 1000ULL * S.energy_reads[d->index]++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t d, int error_type, int counter_type, unsigned long long *count) {
    CHECK(d);
    (void)counter_type;
    *count = error_type == 1 ? S.ecc_uncorrected[d->index] : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t d, unsigned int *current, unsigned int *pending) {
    CHECK(d);
    if (d->mig_slot >= 0) return NVML_ERROR_NOT_SUPPORTED;
    *current = *pending = (unsigned int)S.mig[d->index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t d, unsigned int *count) {
    CHECK(d);
    *count = 7;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t d, unsigned int index, nvmlDevice_t *mig) {
    CHECK(d);
    if (!S.mig[d->index]) return NVML_ERROR_INVALID_ARGUMENT;
    if (index >= MIG_INSTANCES) return NVML_ERROR_NOT_FOUND;
    *mig = &S.mig_devs[d->index][index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTopologyCommonAncestor(nvmlDevice_t a, nvmlDevice_t b, int *level) {
    CHECK(a);
    CHECK(b);
    int half = (S.gpus + 1) / 2;
    if (a->index == b->index) *level = 0;
    else if (a->index / 2 == b->index / 2) *level = 10;              /* PIX */
    else if ((a->index < half) == (b->index < half)) *level = 40;    /* NODE */
    else *level = 50;                                                /* SYS */
    return NVML_SUCCESS;
}

static int links_of(void) {
    return S.nvlink == NVLINK_SWITCH ? 12 : S.nvlink == NVLINK_PAIRS ? 4 : 0;
}

nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t d, unsigned int link, int *active) {
    CHECK(d);
    if (S.nvlink == NVLINK_NONE) return NVML_ERROR_NOT_SUPPORTED;
    if (link >= (unsigned int)links_of()) return NVML_ERROR_INVALID_ARGUMENT;
    /* A pair needs a partner: the last GPU of an odd count has none. */
    *active = S.nvlink == NVLINK_SWITCH || (d->index ^ 1) < S.gpus;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t d, unsigned int link, nvmlPciInfo_t *pci) {
    CHECK(d);
    if (S.nvlink == NVLINK_NONE) return NVML_ERROR_NOT_SUPPORTED;
    if (link >= (unsigned int)links_of()) return NVML_ERROR_INVALID_ARGUMENT;
    if (S.nvlink == NVLINK_SWITCH) fill_pci(pci, 0xC0 + link % 6);
    else fill_pci(pci, 0x10 + (unsigned int)(d->index ^ 1));
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    if (!S.events) return NVML_ERROR_NOT_SUPPORTED;
    *set = &S.set;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t d, unsigned long long *types) {
    CHECK(d);
    *types = EVENT_SINGLE_BIT_ECC | EVENT_DOUBLE_BIT_ECC | EVENT_XID;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t d, unsigned long long types, nvmlEventSet_t set) {
    CHECK(d);
    (void)types;
    return set == &S.set ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

static void sleep_ms(unsigned int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeout_ms) {
    if (!S.initialized) return NVML_ERROR_UNINITIALIZED;
    if (set != &S.set) return NVML_ERROR_INVALID_ARGUMENT;
    unsigned int waited = 0;
    for (;;) {
        if (S.q_len > 0) {
            *data = S.queue[S.q_head];
            S.q_head = (S.q_head + 1) % 256;
            S.q_len--;
            return NVML_SUCCESS;
        }
        if (waited >= timeout_ms) return NVML_ERROR_TIMEOUT;
        /* Without a configuration file no event can come: sleep the whole wait, like the driver. */
        unsigned int step = S.has_conf ? 10 : timeout_ms - waited;
        if (step > timeout_ms - waited) step = timeout_ms - waited;
        sleep_ms(step);
        waited += step;
        refresh(0);
    }
}

nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
    return set == &S.set ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}
