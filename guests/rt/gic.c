/* Minimal GICv2 / GICv3 driver in Linux's order; the version and bases come from the DTB. */
#include "rt.h"

/* distributor */
#define GICD_CTLR 0x000
#define GICD_TYPER 0x004
#define GICD_ISENABLER 0x100
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00
#define GICD_CTLR_RWP (1u << 31)
/* GICv2 CPU interface */
#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_IAR 0x0c
#define GICC_EOIR 0x10
/* GICv3 redistributor */
#define GICR_CTLR 0x0000
#define GICR_TYPER 0x0008
#define GICR_WAKER 0x0014
#define GICR_SGI 0x10000
#define GICR_IGROUPR0 (GICR_SGI + 0x080)
#define GICR_ISENABLER0 (GICR_SGI + 0x100)
#define GICR_IPRIORITYR (GICR_SGI + 0x400)
#define WAKER_PS (1u << 1)
#define WAKER_CA (1u << 2)
/* ICC system registers, by encoding so any assembler takes them */
#define ICC_PMR_EL1 s3_0_c4_c6_0
#define ICC_SGI1R_EL1 s3_0_c12_c11_5
#define ICC_IAR1_EL1 s3_0_c12_c12_0
#define ICC_EOIR1_EL1 s3_0_c12_c12_1
#define ICC_BPR1_EL1 s3_0_c12_c12_3
#define ICC_CTLR_EL1 s3_0_c12_c12_4
#define ICC_SRE_EL1 s3_0_c12_c12_5
#define ICC_IGRPEN1_EL1 s3_0_c12_c12_7

static u8 v2_cpu_mask[MAX_CPUS];   /* GICv2 CPU interface bit of each CPU (from ITARGETSR0) */
static u64 redist[MAX_CPUS];       /* GICv3 RD_base of each CPU */

static void wait_rwp(u64 reg, u32 bit)
{
    while (rd32(reg) & bit)
        ;
}

void gic_init_dist(void)
{
    wr32(plat.gicd + GICD_CTLR, 0);
    if (plat.gic_version == 3) {
        wait_rwp(plat.gicd + GICD_CTLR, GICD_CTLR_RWP);
        wr32(plat.gicd + GICD_CTLR, 0x13);   /* ARE | EnableGrp1(A) | EnableGrp0 */
        wait_rwp(plat.gicd + GICD_CTLR, GICD_CTLR_RWP);
    } else {
        wr32(plat.gicd + GICD_CTLR, 1);
    }
}

static u64 find_redist(void)
{
    u64 mpidr = SYSREG_READ(mpidr_el1);
    u32 aff = (u32)(((mpidr >> 8) & 0xff000000) | (mpidr & 0xffffff));
    u64 rd = plat.gicr;
    for (int i = 0; i < 64; i++) {
        u64 typer = rd64(rd + GICR_TYPER);
        if ((u32)(typer >> 32) == aff)
            return rd;
        if (typer & (1u << 4))   /* Last */
            break;
        rd += plat.gicr_stride ? plat.gicr_stride : (typer & 2) ? 0x40000 : 0x20000;
    }
    fail("no redistributor for MPIDR 0x%lx", mpidr);
}

void gic_init_cpu(void)
{
    int cpu = this_cpu();
    if (plat.gic_version == 2) {
        v2_cpu_mask[cpu] = (u8)rd32(plat.gicd + GICD_ITARGETSR);
        wr32(plat.gicc + GICC_PMR, 0xf0);
        wr32(plat.gicc + GICC_CTLR, 1);
        return;
    }
    u64 rd = find_redist();
    redist[cpu] = rd;
    wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & ~WAKER_PS);
    while (rd32(rd + GICR_WAKER) & WAKER_CA)
        ;
    wr32(rd + GICR_IGROUPR0, 0xffffffff);
    SYSREG_WRITE(ICC_SRE_EL1, SYSREG_READ(ICC_SRE_EL1) | 1);
    isb();
    if (!(SYSREG_READ(ICC_SRE_EL1) & 1))
        fail("unable to set ICC_SRE_EL1.SRE");
    SYSREG_WRITE(ICC_PMR_EL1, 0xf0);
    SYSREG_WRITE(ICC_BPR1_EL1, 0);
    SYSREG_WRITE(ICC_CTLR_EL1, 0);           /* EOImode 0: EOIR also deactivates */
    SYSREG_WRITE(ICC_IGRPEN1_EL1, 1);
    isb();
}

void gic_enable_private(u32 intid)
{
    u64 base = plat.gic_version == 3 ? redist[this_cpu()] : plat.gicd;
    u64 prio = base + (plat.gic_version == 3 ? GICR_IPRIORITYR : GICD_IPRIORITYR) + (intid & ~3u);
    u32 shift = (intid & 3) * 8;
    wr32(prio, (rd32(prio) & ~(0xffu << shift)) | (0xa0u << shift));
    wr32(base + (plat.gic_version == 3 ? GICR_ISENABLER0 : GICD_ISENABLER), 1u << intid);
    if (plat.gic_version == 3)
        wait_rwp(base + GICR_CTLR, 1u << 3);
}

void gic_enable_spi(u32 intid, int cpu)
{
    u32 bit = 1u << (intid & 31), word = (intid / 32) * 4, shift = (intid & 3) * 8;
    u64 prio = plat.gicd + GICD_IPRIORITYR + (intid & ~3u);
    wr32(prio, (rd32(prio) & ~(0xffu << shift)) | (0xa0u << shift));
    if (plat.gic_version == 3) {
        u64 m = plat.mpidr[cpu];
        wr32(plat.gicd + 0x080 + word, rd32(plat.gicd + 0x080 + word) | bit);   /* IGROUPR: group 1 */
        wr64(plat.gicd + 0x6000 + 8 * intid, ((m >> 32) & 0xff) << 32 | (m & 0xffffff));   /* IROUTER */
    } else {
        u64 tgt = plat.gicd + GICD_ITARGETSR + (intid & ~3u);
        wr32(tgt, (rd32(tgt) & ~(0xffu << shift)) | ((u32)v2_cpu_mask[cpu] << shift));
    }
    wr32(plat.gicd + GICD_ISENABLER + word, bit);
    if (plat.gic_version == 3)
        wait_rwp(plat.gicd + GICD_CTLR, GICD_CTLR_RWP);
}

u32 gic_ack(void)
{
    if (plat.gic_version == 3) {
        u32 iar = (u32)SYSREG_READ(ICC_IAR1_EL1);
        dsb(sy);
        return iar;
    }
    return rd32(plat.gicc + GICC_IAR);
}

void gic_eoi(u32 iar)
{
    if (plat.gic_version == 3) {
        SYSREG_WRITE(ICC_EOIR1_EL1, iar);
        isb();
    } else {
        wr32(plat.gicc + GICC_EOIR, iar);
    }
}

void gic_send_sgi(u32 intid, int target)
{
    dsb(sy);
    if (plat.gic_version == 2) {
        wr32(plat.gicd + GICD_SGIR, ((u32)v2_cpu_mask[target] << 16) | intid);
        return;
    }
    u64 m = plat.mpidr[target];
    u64 v = ((m >> 32) & 0xff) << 48 | ((m >> 16) & 0xff) << 32 | ((m >> 8) & 0xff) << 16 |
            (u64)(intid & 15) << 24 | (1u << (m & 15));
    SYSREG_WRITE(ICC_SGI1R_EL1, v);
    isb();
}
