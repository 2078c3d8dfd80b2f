/* smp: secondaries started one at a time with PSCI CPU_ON (MPIDRs from the DTB /cpus), SGI
 * ping-pong between CPU0 and each secondary, then CPU_OFF checked with AFFINITY_INFO. Only one
 * CPU prints at a time, so the console is deterministic. */
#include "rt.h"

const char guest_name[] = "smp";

#define SGI_PING 1
#define SGI_PONG 2
#define SPIN_LIMIT 200000000UL

static volatile int arrived[MAX_CPUS];
static volatile int pongs[MAX_CPUS];
static volatile int off_request[MAX_CPUS];
static volatile int pong_from;   /* which secondary CPU0 pinged last */

static void wait_flag(volatile int *flag, const char *what, int cpu)
{
    for (u64 i = 0; !*flag; i++)
        if (i > SPIN_LIMIT)
            fail("timed out waiting for cpu%d: %s", cpu, what);
    dsb(sy);
}

static void on_irq(struct frame *f)
{
    u32 iar = gic_ack();
    u32 id = GIC_INTID(iar);
    int cpu = this_cpu();
    if (GIC_SPURIOUS(iar))
        return;
    if (cpu != 0 && id == SGI_PING && off_request[cpu]) {
        gic_eoi(iar);   /* just a wake-up */
        return;
    }
    if (cpu != 0 && id == SGI_PING) {
        printf_("smp: cpu%d got SGI %u\n", cpu, id);
        gic_eoi(iar);
        gic_send_sgi(SGI_PONG, 0);
        return;
    }
    if (cpu == 0 && id == SGI_PONG) {
        gic_eoi(iar);
        pongs[pong_from] = 1;
        return;
    }
    fail("cpu%d: unexpected INTID %u", cpu, id);
}

void guest_secondary(int cpu)
{
    gic_init_cpu();
    gic_enable_private(SGI_PING);
    u64 el = (SYSREG_READ(CurrentEL) >> 2) & 3;
    printf_("smp: cpu%d up, MPIDR 0x%lx, EL%lu\n", cpu, SYSREG_READ(mpidr_el1) & 0xff00ffffffUL, el);
    dsb(sy);
    arrived[cpu] = 1;
    irq_enable();
    while (!off_request[cpu])
        wfi();
    irq_disable();
    psci_call(PSCI_CPU_OFF, 0, 0, 0);
    fail("cpu%d: CPU_OFF returned", cpu);
}

void guest_main(void)
{
    int n = plat.ncpus;
    if (!plat.has_psci)
        fail("the DTB has no PSCI node");
    if (!plat.gic_version)
        fail("the DTB names no GIC");
    u64 ver = psci_call(PSCI_VERSION, 0, 0, 0);
    printf_("smp: %d CPUs in the DTB, PSCI %lu.%lu via %s, GICv%d\n", n, ver >> 16, ver & 0xffff,
            plat.psci_smc ? "SMC" : "HVC", plat.gic_version);
    s64 feat = (s64)psci_call(PSCI_FEATURES, PSCI_CPU_ON, 0, 0);
    s64 mig = (s64)psci_call(0x84000006UL, 0, 0, 0);   /* MIGRATE_INFO_TYPE */
    printf_("smp: PSCI_FEATURES(CPU_ON)=%ld MIGRATE_INFO_TYPE=%ld\n", feat, mig);
    if (n < 2)
        fail("needs at least 2 CPUs, the DTB lists %d", n);
    irq_hook = on_irq;
    gic_init_dist();
    gic_init_cpu();
    gic_enable_private(SGI_PONG);
    printf_("smp: cpu0 up, MPIDR 0x%lx\n", SYSREG_READ(mpidr_el1) & 0xff00ffffffUL);

    for (int i = 1; i < n; i++) {
        s64 r = (s64)psci_call(PSCI_CPU_ON, plat.mpidr[i], (u64)secondary_entry, i);
        if (r != 0)
            fail("CPU_ON cpu%d (MPIDR 0x%lx) returned %ld", i, plat.mpidr[i], r);
        wait_flag(&arrived[i], "arrival", i);
        s64 again = (s64)psci_call(PSCI_CPU_ON, plat.mpidr[i], (u64)secondary_entry, i);
        s64 aff = (s64)psci_call(PSCI_AFFINITY_INFO, plat.mpidr[i], 0, 0);
        printf_("smp: cpu%d online; CPU_ON again returns %ld, AFFINITY_INFO %ld\n", i, again, aff);
        if (again != -4)   /* ALREADY_ON */
            fail("second CPU_ON for cpu%d returned %ld, expected -4 (ALREADY_ON)", i, again);
    }

    irq_enable();
    for (int i = 1; i < n; i++) {
        pong_from = i;
        dsb(sy);
        gic_send_sgi(SGI_PING, i);
        for (u64 s = 0; !pongs[i]; s++)
            if (s > SPIN_LIMIT)
                fail("no SGI %d back from cpu%d", SGI_PONG, i);
        printf_("smp: cpu0 got SGI %d back from cpu%d\n", SGI_PONG, i);
    }
    irq_disable();

    for (int i = 1; i < n; i++) {
        off_request[i] = 1;
        dsb(sy);
        gic_send_sgi(SGI_PING, i);   /* wakes it from WFI */
        s64 aff = 0;
        for (u64 s = 0; (aff = (s64)psci_call(PSCI_AFFINITY_INFO, plat.mpidr[i], 0, 0)) != 1; s++)
            if (s > 10000000)
                fail("cpu%d did not turn off (AFFINITY_INFO %ld)", i, aff);
        printf_("smp: cpu%d off\n", i);
    }
}
