/* A tiny flattened-device-tree walker: one pass over the structure block that fills `plat`
 * with the UART, GIC, timer PPIs, PSCI conduit, CPUs and memory the DTB describes. */
#include "rt.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define MAX_DEPTH 16
#define MAX_CLOCKS 16

extern int xen_console;

struct node {
    const char *name;
    const char *compat; u32 compat_len;
    const u32 *reg; u32 reg_len;
    const u32 *irqs; u32 irqs_len;
    const char *device_type;
    const char *method;
    const char *status;
    u32 phandle, clock_phandle, clock_freq, current_speed;
    u64 redist_stride;
};

static inline u32 be32(const u32 *p) { return __builtin_bswap32(*p); }

static u64 cells(const u32 *p, u32 n)
{
    u64 v = 0;
    while (n--)
        v = (v << 32) | be32(p++);
    return v;
}

static int compat_has(const struct node *n, const char *want)
{
    const char *s = n->compat, *end = n->compat + n->compat_len;
    while (s && s < end) {
        if (strcmp(s, want) == 0)
            return 1;
        s += strlen(s) + 1;
    }
    return 0;
}

static int is(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

/* reg entry i as (address, size) with the parent's cell counts */
static int reg_entry(const struct node *n, u32 ac, u32 sc, int i, u64 *addr, u64 *size)
{
    u32 per = (ac + sc) * 4;
    if (!n->reg || per == 0 || (u32)(i + 1) * per > n->reg_len)
        return 0;
    const u32 *p = n->reg + i * (ac + sc);
    *addr = cells(p, ac);
    *size = cells(p + ac, sc);
    return 1;
}

/* GIC interrupt specifier <type num flags> to INTID */
static u32 irq_intid(const struct node *n, int i)
{
    if (!n->irqs || (u32)(i + 1) * 12 > n->irqs_len)
        return 0;
    u32 type = be32(n->irqs + 3 * i), num = be32(n->irqs + 3 * i + 1);
    return type == 1 ? num + 16 : num + 32;
}

static struct { u32 phandle, freq; } clock_table[MAX_CLOCKS];
static int nclocks;
static u32 uart_clock_phandle;

static void take_node(const struct node *n, u32 ac, u32 sc)
{
    u64 a, s;
    if (n->phandle && n->clock_freq && nclocks < MAX_CLOCKS) {
        clock_table[nclocks].phandle = n->phandle;
        clock_table[nclocks++].freq = n->clock_freq;
    }
    if (is(n->status, "disabled"))
        return;
    if (is(n->device_type, "cpu")) {
        if (n->reg && plat.ncpus < MAX_CPUS)
            plat.mpidr[plat.ncpus++] = cells(n->reg, ac);
        return;
    }
    if (is(n->device_type, "memory") && !plat.mem_size && reg_entry(n, ac, sc, 0, &a, &s)) {
        plat.mem_base = a;
        plat.mem_size = s;
        return;
    }
    if (!n->compat)
        return;
    int sbsa = compat_has(n, "arm,sbsa-uart");
    if (!plat.uart && (sbsa || compat_has(n, "arm,pl011")) && reg_entry(n, ac, sc, 0, &a, &s)) {
        plat.uart = a;
        plat.uart_sbsa = sbsa;
        plat.uart_intid = irq_intid(n, 0);
        plat.uart_speed = n->current_speed;
        uart_clock_phandle = n->clock_phandle;
    } else if (!plat.gic_version && (compat_has(n, "arm,cortex-a15-gic") || compat_has(n, "arm,gic-400") ||
                                     compat_has(n, "arm,cortex-a9-gic"))) {
        plat.gic_version = 2;
        reg_entry(n, ac, sc, 0, &plat.gicd, &s);
        reg_entry(n, ac, sc, 1, &plat.gicc, &plat.gicc_size);
    } else if (!plat.gic_version && compat_has(n, "arm,gic-v3")) {
        plat.gic_version = 3;
        reg_entry(n, ac, sc, 0, &plat.gicd, &s);
        reg_entry(n, ac, sc, 1, &plat.gicr, &plat.gicr_size);
        plat.gicr_stride = n->redist_stride;
    } else if (compat_has(n, "arm,armv8-timer") || compat_has(n, "arm,armv7-timer")) {
        for (int i = 0; i < 4; i++)
            plat.timer_intid[i] = irq_intid(n, i);
    } else if (compat_has(n, "arm,psci-0.2") || compat_has(n, "arm,psci")) {
        plat.has_psci = 1;
        plat.psci_smc = is(n->method, "smc");
    } else if (compat_has(n, "xen,xen")) {
        xen_console = 1;
    }
}

static void sort_cpus(void)
{
    for (int i = 1; i < plat.ncpus; i++)
        for (int j = i; j > 0 && plat.mpidr[j - 1] > plat.mpidr[j]; j--) {
            u64 t = plat.mpidr[j];
            plat.mpidr[j] = plat.mpidr[j - 1];
            plat.mpidr[j - 1] = t;
        }
}

void fdt_scan(u64 dtb)
{
    static struct node stack[MAX_DEPTH];
    static u32 acells[MAX_DEPTH + 1], scells[MAX_DEPTH + 1];
    const u32 *hdr = (const u32 *)dtb;

    plat.dtb = dtb;
    if (!dtb || (dtb & 3) || be32(hdr) != FDT_MAGIC)
        return;
    const u32 *p = (const u32 *)(dtb + be32(hdr + 2));
    const char *strings = (const char *)(dtb + be32(hdr + 3));
    int depth = -1;
    acells[0] = 2, scells[0] = 1;   /* the root's own reg uses these defaults */
    for (;;) {
        u32 tok = be32(p++);
        if (tok == FDT_BEGIN_NODE) {
            const char *name = (const char *)p;
            if (++depth >= MAX_DEPTH)
                return;
            memset(&stack[depth], 0, sizeof stack[depth]);
            stack[depth].name = name;
            acells[depth + 1] = 2, scells[depth + 1] = 1;
            p += (strlen(name) + 4) / 4;
        } else if (tok == FDT_PROP) {
            u32 len = be32(p), nameoff = be32(p + 1);
            const u32 *val = p + 2;
            const char *pn = strings + nameoff;
            struct node *n = &stack[depth];
            p += 2 + (len + 3) / 4;
            if (depth < 0)
                return;
            if (is(pn, "compatible")) n->compat = (const char *)val, n->compat_len = len;
            else if (is(pn, "reg")) n->reg = val, n->reg_len = len;
            else if (is(pn, "interrupts")) n->irqs = val, n->irqs_len = len;
            else if (is(pn, "device_type")) n->device_type = (const char *)val;
            else if (is(pn, "method")) n->method = (const char *)val;
            else if (is(pn, "status")) n->status = (const char *)val;
            else if (is(pn, "phandle") || is(pn, "linux,phandle")) n->phandle = be32(val);
            else if (is(pn, "clocks") && len >= 4) n->clock_phandle = be32(val);
            else if (is(pn, "clock-frequency") && len == 4) n->clock_freq = be32(val);
            else if (is(pn, "current-speed") && len == 4) n->current_speed = be32(val);
            else if (is(pn, "redistributor-stride")) n->redist_stride = cells(val, len / 4);
            else if (is(pn, "#address-cells") && len == 4) acells[depth + 1] = be32(val);
            else if (is(pn, "#size-cells") && len == 4) scells[depth + 1] = be32(val);
        } else if (tok == FDT_END_NODE) {
            if (depth < 0)
                return;
            take_node(&stack[depth], acells[depth], scells[depth]);
            depth--;
        } else if (tok == FDT_NOP) {
            continue;
        } else {
            break;   /* FDT_END or garbage */
        }
    }
    sort_cpus();
    for (int i = 0; i < nclocks; i++)
        if (uart_clock_phandle && clock_table[i].phandle == uart_clock_phandle)
            plat.uart_clk_hz = clock_table[i].freq;
    if (!plat.has_psci)
        plat.psci_smc = 0;
}
