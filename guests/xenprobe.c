/* xenprobe: prints what a guest sees of its platform, one "name value" line each, so that the
 * same guest on real Xen (scripts/xen-oracle/run.sh) and on the emulator can be compared line by
 * line: the ID registers, the vGIC's distributor, redistributor / CPU-interface registers (read
 * only: nothing is changed), the GICv3 CPU interface's system registers, then the device tree it
 * was given, in hex ("dtb OFFSET BYTES", 32 bytes a line). A read that makes the hypervisor inject
 * a data abort prints "abort" instead of a value. Ends with PSCI SYSTEM_OFF. */
#include "rt.h"

const char guest_name[] = "xenprobe";

static volatile int expect_abort;
static volatile int aborted;

/* A data abort taken on one of our reads: note it and step over the load. */
static int on_sync(struct frame *f, int kind)
{
    if (!expect_abort || kind != KIND_SYNC_SPX || ESR_EC(f->esr) != 0x25)
        return 0;
    aborted = 1;
    f->elr += 4;
    return 1;
}

static void show32(const char *what, u64 base, u32 off)
{
    aborted = 0;
    expect_abort = 1;
    u32 v = rd32(base + off);
    expect_abort = 0;
    if (aborted)
        printf_("%s 0x%04x abort\n", what, off);
    else
        printf_("%s 0x%04x 0x%08x\n", what, off, v);
}

static void show64(const char *what, u64 base, u32 off)
{
    aborted = 0;
    expect_abort = 1;
    u64 v = rd64(base + off);
    expect_abort = 0;
    if (aborted)
        printf_("%s 0x%04x abort\n", what, off);
    else
        printf_("%s 0x%04x 0x%016lx\n", what, off, v);
}

#define ID(name, reg) printf_("id %s 0x%016lx\n", name, SYSREG_READ(reg))

static void id_registers(void)
{
    ID("MIDR_EL1", midr_el1);
    ID("MPIDR_EL1", mpidr_el1);
    ID("REVIDR_EL1", revidr_el1);
    ID("ID_AA64PFR0_EL1", id_aa64pfr0_el1);
    ID("ID_AA64PFR1_EL1", id_aa64pfr1_el1);
    ID("ID_AA64DFR0_EL1", id_aa64dfr0_el1);
    ID("ID_AA64DFR1_EL1", id_aa64dfr1_el1);
    ID("ID_AA64AFR0_EL1", id_aa64afr0_el1);
    ID("ID_AA64ISAR0_EL1", id_aa64isar0_el1);
    ID("ID_AA64ISAR1_EL1", id_aa64isar1_el1);
    ID("ID_AA64MMFR0_EL1", id_aa64mmfr0_el1);
    ID("ID_AA64MMFR1_EL1", id_aa64mmfr1_el1);
    ID("ID_AA64MMFR2_EL1", s3_0_c0_c7_2);
    ID("ID_PFR0_EL1", s3_0_c0_c1_0);
    ID("ID_DFR0_EL1", s3_0_c0_c1_2);
    ID("ID_ISAR0_EL1", s3_0_c0_c2_0);
    ID("ID_MMFR0_EL1", s3_0_c0_c1_4);
    ID("MVFR0_EL1", s3_0_c0_c3_0);
    ID("CTR_EL0", ctr_el0);
    ID("DCZID_EL0", dczid_el0);
    ID("CLIDR_EL1", clidr_el1);
    ID("CNTFRQ_EL0", cntfrq_el0);
}

static void gicv3(void)
{
    static const u32 dist[] = {
        0x0000, 0x0004, 0x0008, 0x000c, 0x0010, 0x0080, 0x0084, 0x0100, 0x0104, 0x0180, 0x0200, 0x0300,
        0x0400, 0x0420, 0x0800, 0x0820, 0x0c00, 0x0c08, 0x0d00, 0x0e00, 0x0f00, 0x0f10, 0x0f20,
        0xffd0, 0xffe0, 0xffe4, 0xffe8, 0xffec, 0xfff0, 0xfffc,
    };
    static const u32 rd[] = { 0x0000, 0x0004, 0x0010, 0x0014, 0x0040, 0x0048, 0x00a0, 0xffd0, 0xffe0, 0xffe8, 0xfffc };
    static const u32 sgi[] = { 0x0080, 0x0100, 0x0180, 0x0200, 0x0300, 0x0400, 0x041c, 0x0c00, 0x0c04, 0x0d00, 0x0e00 };
    for (unsigned i = 0; i < sizeof dist / sizeof dist[0]; i++)
        show32("gicd", plat.gicd, dist[i]);
    show64("gicd", plat.gicd, 0x6100); /* IROUTER32 */
    for (int c = 0; c < plat.ncpus; c++) {
        u64 base = plat.gicr + (u64)c * 0x20000;
        printf_("gicr%d\n", c);
        show64("gicr", base, 0x0008); /* TYPER */
        show64("gicr", base, 0x0070); /* PROPBASER */
        show64("gicr", base, 0x0078); /* PENDBASER */
        for (unsigned i = 0; i < sizeof rd / sizeof rd[0]; i++)
            show32("gicr", base, rd[i]);
        for (unsigned i = 0; i < sizeof sgi / sizeof sgi[0]; i++)
            show32("gicr-sgi", base + 0x10000, sgi[i]);
    }
    ID("ICC_SRE_EL1", s3_0_c12_c12_5);
    ID("ICC_CTLR_EL1", s3_0_c12_c12_4);
    ID("ICC_PMR_EL1", s3_0_c4_c6_0);
    ID("ICC_BPR1_EL1", s3_0_c12_c12_3);
    ID("ICC_IGRPEN1_EL1", s3_0_c12_c12_7);
    ID("ICC_RPR_EL1", s3_0_c12_c11_3);
    ID("ICC_HPPIR1_EL1", s3_0_c12_c12_2);
}

static void gicv2(void)
{
    static const u32 dist[] = {
        0x000, 0x004, 0x008, 0x00c, 0x080, 0x084, 0x100, 0x104, 0x180, 0x200, 0x300, 0x400, 0x41c, 0x420,
        0x800, 0x804, 0x81c, 0x820, 0xc00, 0xc04, 0xc08, 0xf10, 0xf20, 0xfd0, 0xfe0, 0xfe4, 0xfe8, 0xfec,
        0xff0, 0xffc,
    };
    static const u32 cpu[] = { 0x00, 0x04, 0x08, 0x14, 0x18, 0x1c, 0xd0, 0xfc };
    for (unsigned i = 0; i < sizeof dist / sizeof dist[0]; i++)
        show32("gicd", plat.gicd, dist[i]);
    for (unsigned i = 0; i < sizeof cpu / sizeof cpu[0]; i++)
        show32("gicc", plat.gicc, cpu[i]);
}

static void dtb(void)
{
    const u8 *p = (const u8 *)plat.dtb;
    u32 size = __builtin_bswap32(*(const u32 *)(p + 4)); /* totalsize */
    printf_("dtb size %u\n", size);
    for (u32 off = 0; off < size; off += 32) {
        printf_("dtb %04x ", off);
        for (u32 i = off; i < off + 32 && i < size; i++)
            printf_("%02x", p[i]);
        putc_('\n');
    }
}

void guest_main(void)
{
    sync_hook = on_sync;
    id_registers();
    if (plat.gic_version == 3)
        gicv3();
    else if (plat.gic_version == 2)
        gicv2();
    dtb();
}
