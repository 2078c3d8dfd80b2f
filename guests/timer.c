/* timer: the EL1 virtual timer (then the physical one) interrupting through the GIC the DTB
 * describes (v2: GICC IAR/EOIR MMIO; v3: ICC system registers after SRE and the WAKER handshake). */
#include "rt.h"

const char guest_name[] = "timer";

#define TICKS 5
#define CTL_ENABLE 1u
#define CTL_IMASK 2u
#define CTL_ISTATUS 4u

static volatile int ticks;
static volatile int phys;       /* which timer is running: 0 virtual, 1 physical */
static u32 intid_virt, intid_phys;
static u64 period;

static void set_timer(u64 tval, u64 ctl)
{
    if (phys) {
        SYSREG_WRITE(cntp_tval_el0, tval);
        SYSREG_WRITE(cntp_ctl_el0, ctl);
    } else {
        SYSREG_WRITE(cntv_tval_el0, tval);
        SYSREG_WRITE(cntv_ctl_el0, ctl);
    }
    isb();
}

static void on_irq(struct frame *f)
{
    u32 iar = gic_ack();
    u32 id = GIC_INTID(iar);
    if (GIC_SPURIOUS(iar))
        return;
    u32 want = phys ? intid_phys : intid_virt;
    if (id != want)
        fail("unexpected INTID %u (waiting for %u)", id, want);
    u64 ctl = phys ? SYSREG_READ(cntp_ctl_el0) : SYSREG_READ(cntv_ctl_el0);
    if (!(ctl & CTL_ISTATUS))
        fail("timer interrupt with ISTATUS clear (CTL=0x%lx)", ctl);
    ticks++;
    printf_("timer: %s tick %d, INTID %u\n", phys ? "phys" : "virt", ticks, id);
    if (ticks < TICKS)
        set_timer(period, CTL_ENABLE);   /* moves the deadline: the level drops */
    else
        set_timer(0, CTL_IMASK);         /* disabled and masked */
    gic_eoi(iar);
}

static void run(int use_phys)
{
    phys = use_phys;
    ticks = 0;
    u32 id = use_phys ? intid_phys : intid_virt;
    gic_enable_private(id);
    u64 start = use_phys ? SYSREG_READ(cntpct_el0) : SYSREG_READ(cntvct_el0);
    set_timer(period, CTL_ENABLE);
    irq_enable();
    for (u64 spins = 0; ticks < TICKS; spins++) {
        wfi();
        if (spins > 100000000)
            fail("%s timer: only %d interrupts", use_phys ? "phys" : "virt", ticks);
    }
    irq_disable();
    u64 end = use_phys ? SYSREG_READ(cntpct_el0) : SYSREG_READ(cntvct_el0);
    if (end - start < TICKS * period)
        fail("%d ticks in %lu counts, expected at least %lu", TICKS, end - start, TICKS * period);
    printf_("timer: %s timer gave %d interrupts\n", use_phys ? "phys" : "virt", ticks);
}

void guest_main(void)
{
    if (!plat.gic_version)
        fail("the DTB names no GIC");
    intid_virt = plat.timer_intid[2];
    intid_phys = plat.timer_intid[1];
    if (!intid_virt || !intid_phys)
        fail("the DTB names no arm,armv8-timer interrupts");
    printf_("timer: GICv%d, distributor 0x%lx, %s 0x%lx\n", plat.gic_version, plat.gicd,
            plat.gic_version == 3 ? "redistributors" : "CPU interface",
            plat.gic_version == 3 ? plat.gicr : plat.gicc);
    printf_("timer: PPIs virt INTID %u, phys INTID %u\n", intid_virt, intid_phys);
    u64 freq = SYSREG_READ(cntfrq_el0);
    printf_("timer: CNTFRQ_EL0 %lu Hz\n", freq);
    if (!freq)
        fail("CNTFRQ_EL0 is 0");
    period = freq / 1000;   /* 1 ms */
    irq_hook = on_irq;
    gic_init_dist();
    gic_init_cpu();
    run(0);
    run(1);
}
