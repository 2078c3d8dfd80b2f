/* mmu: its own stage-1 tables (4K granule, 48-bit VA, 4 levels, TTBR0 and TTBR1), MMU on, then
 * mappings, a remap with TLBI, access-flag, permission and translation faults handled and
 * reported with their syndromes, execute-never, AT, and self-modifying code with IC IVAU. */
#include "rt.h"

const char guest_name[] = "mmu";

#define PAGE 4096UL
#define DESC_VALID 1UL
#define DESC_TABLE 3UL
#define DESC_PAGE 3UL
#define DESC_BLOCK 1UL
#define ATTR_DEVICE (0UL << 2)
#define ATTR_NORMAL (1UL << 2)
#define AP_RO (2UL << 6)
#define SH_INNER (3UL << 8)
#define AF (1UL << 10)
#define NG (1UL << 11)
#define PXN (1UL << 53)
#define UXN (1UL << 54)
#define NORMAL (ATTR_NORMAL | SH_INNER | AF)
#define DEVICE (ATTR_DEVICE | AF | PXN | UXN)

#define TEST_VA 0x0000100000000000UL   /* L0 index 32: walks all four levels */
#define HOLE_VA 0x0000200000000000UL   /* L0 index 64: left invalid */
#define HIGH_VA 0xffff000000000000UL   /* TTBR1 */
#define ASID 5UL

static u64 pool[12][512] __attribute__((section(".pagetables"), aligned(4096)));
static int pool_used;

static u64 *alloc_page(void)
{
    u64 *p = pool[pool_used++];
    memset(p, 0, PAGE);
    return p;
}

#define L0I(va) (((va) >> 39) & 511)
#define L1I(va) (((va) >> 30) & 511)
#define L2I(va) (((va) >> 21) & 511)
#define L3I(va) (((va) >> 12) & 511)

static u64 *next_table(u64 *t, u64 i)
{
    if (!(t[i] & DESC_VALID))
        t[i] = (u64)alloc_page() | DESC_TABLE;
    return (u64 *)(t[i] & 0xfffffffff000UL);
}

/* the level-3 descriptor slot for va under root */
static u64 *l3_slot(u64 *root, u64 va)
{
    u64 *l1 = next_table(root, L0I(va));
    u64 *l2 = next_table(l1, L1I(va));
    u64 *l3 = next_table(l2, L2I(va));
    return &l3[L3I(va)];
}

static void tlbi_va(u64 va)
{
    asm volatile("dsb ishst; tlbi vae1is, %0; dsb ish; isb" :: "r"((va >> 12) | (ASID << 48)) : "memory");
}

/* fault handling */
#define FIX_SKIP 0
#define FIX_SET_AF 1
#define FIX_MAKE_RW 2
#define FIX_RETURN 3
static volatile int fix_mode, faults;
static volatile u64 fault_esr, fault_far;
static u64 *volatile fix_desc;
static volatile u64 fix_va;

static int on_sync(struct frame *f, int kind)
{
    u64 ec = ESR_EC(f->esr);
    if (kind != KIND_SYNC_SPX || (ec != 0x25 && ec != 0x21))
        return 0;
    faults++;
    fault_esr = f->esr, fault_far = f->far;
    switch (fix_mode) {
    case FIX_SET_AF:
        *fix_desc |= AF;
        tlbi_va(fix_va);
        break;                     /* retry the access */
    case FIX_MAKE_RW:
        *fix_desc &= ~AP_RO;
        tlbi_va(fix_va);
        break;
    case FIX_RETURN:
        f->elr = f->x[30];         /* the fetch faulted at a function entry: return to caller */
        break;
    default:
        f->elr += 4;
    }
    return 1;
}

static void expect_fault(const char *what, u64 ec, u64 dfsc, u64 far)
{
    printf_("mmu: %s: %d fault(s), EC=0x%02lx ESR=0x%08lx FAR=0x%lx\n", what, faults, ESR_EC(fault_esr),
            fault_esr, fault_far);
    if (faults != 1)
        fail("%s: %d faults, expected 1", what, faults);
    if (ESR_EC(fault_esr) != ec || (fault_esr & 0x3f) != dfsc)
        fail("%s: EC 0x%lx FSC 0x%lx, expected EC 0x%lx FSC 0x%lx", what, ESR_EC(fault_esr), fault_esr & 0x3f, ec, dfsc);
    if (fault_far != far)
        fail("%s: FAR 0x%lx, expected 0x%lx", what, fault_far, far);
    faults = 0;
}

static u64 rdv(u64 va) { u64 v; asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(va) : "memory"); return v; }
static void wrv(u64 va, u64 v) { asm volatile("str %0, [%1]" :: "r"(v), "r"(va) : "memory"); }

static void check(const char *what, u64 got, u64 want)
{
    printf_("mmu: %s: 0x%lx\n", what, got);
    if (got != want)
        fail("%s: 0x%lx, expected 0x%lx", what, got, want);
}

static u64 at_s1e1r(u64 va)
{
    u64 par;
    asm volatile("at s1e1r, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
    return par;
}

static void write_code(u32 *code, u32 insn0)
{
    code[0] = insn0;
    code[1] = 0xd65f03c0;   /* ret */
    asm volatile("dc cvau, %0; dsb ish; ic ivau, %0; dsb ish; isb" :: "r"(code) : "memory");
}

void guest_main(void)
{
    u64 *root0 = alloc_page(), *root1 = alloc_page();
    u64 *page_a = alloc_page(), *page_b = alloc_page(), *page_c = alloc_page();
    u32 *code = (u32 *)alloc_page();
    page_a[0] = 0xaaaa0000aaaa0001UL;
    page_b[0] = 0xbbbb0000bbbb0002UL;
    page_c[0] = 0xcccc0000cccc0003UL;

    /* identity: 0-1 GiB device (UART, GIC on QEMU virt and Xen), 1-2 GiB normal RAM, 1 GiB blocks */
    u64 *id1 = next_table(root0, 0);
    id1[0] = 0x00000000UL | DEVICE | DESC_BLOCK;
    id1[1] = 0x40000000UL | NORMAL | DESC_BLOCK;
    /* TEST_VA pages, non-global under ASID 5 */
    *l3_slot(root0, TEST_VA) = (u64)page_a | NORMAL | NG | UXN | PXN | DESC_PAGE;
    u64 *af_desc = l3_slot(root0, TEST_VA + PAGE);
    *af_desc = ((u64)page_a | NORMAL | NG | UXN | PXN | DESC_PAGE) & ~AF;
    u64 *ro_desc = l3_slot(root0, TEST_VA + 2 * PAGE);
    *ro_desc = (u64)page_c | NORMAL | NG | AP_RO | UXN | PXN | DESC_PAGE;
    (void)l3_slot(root0, TEST_VA + 3 * PAGE);   /* table exists, entry invalid */
    *l3_slot(root0, TEST_VA + 4 * PAGE) = (u64)code | NORMAL | NG | PXN | UXN | DESC_PAGE;
    *l3_slot(root0, TEST_VA + 5 * PAGE) = (u64)code | NORMAL | NG | AP_RO | UXN | DESC_PAGE;
    /* TTBR1: HIGH_VA + 1 GiB -> RAM base through a 2 MiB block at level 2 */
    u64 *h1 = next_table(root1, L0I(HIGH_VA));
    u64 *h2 = next_table(h1, 1);
    h2[0] = 0x40000000UL | NORMAL | UXN | PXN | DESC_BLOCK;

    SYSREG_WRITE(mair_el1, 0xff00UL);   /* attr0 Device-nGnRnE, attr1 Normal WB */
    u64 tcr = 16UL | (1UL << 8) | (1UL << 10) | (3UL << 12) |   /* T0SZ, IRGN0, ORGN0, SH0, TG0 4K */
              (16UL << 16) | (1UL << 24) | (1UL << 26) | (3UL << 28) | (2UL << 30) |   /* T1SZ.. TG1 4K */
              (2UL << 32);   /* IPS 40 bits */
    SYSREG_WRITE(tcr_el1, tcr);
    SYSREG_WRITE(ttbr0_el1, (u64)root0 | (ASID << 48));
    SYSREG_WRITE(ttbr1_el1, (u64)root1);
    asm volatile("dsb ish; tlbi vmalle1is; dsb ish; isb" ::: "memory");
    sync_hook = on_sync;
    u64 sctlr = SYSREG_READ(sctlr_el1) | 1 | (1 << 2) | (1 << 12);   /* M, C, I */
    SYSREG_WRITE(sctlr_el1, sctlr);
    isb();
    printf_("mmu: MMU on, TCR_EL1=0x%lx, %d table pages\n", tcr, pool_used);
    if (!(SYSREG_READ(sctlr_el1) & 1))
        fail("SCTLR_EL1.M did not stick");

    check("read TEST_VA (page A)", rdv(TEST_VA), page_a[0]);
    wrv(TEST_VA + 8, 0x1111);
    check("write TEST_VA+8, read back through the identity map", page_a[1], 0x1111);
    check("read HIGH_VA+1GiB+&page_b through TTBR1 2 MiB block", rdv(HIGH_VA + (1UL << 30) + ((u64)page_b - 0x40000000UL)), page_b[0]);

    u64 par = at_s1e1r(TEST_VA);
    printf_("mmu: AT S1E1R TEST_VA: PAR.F=%lu PA=0x%lx\n", par & 1, par & 0xfffffffff000UL);
    if ((par & 1) || (par & 0xfffffffff000UL) != (u64)page_a)
        fail("AT S1E1R gave PAR 0x%lx", par);
    par = at_s1e1r(TEST_VA + 3 * PAGE);
    printf_("mmu: AT S1E1R unmapped: PAR.F=%lu FST=0x%lx\n", par & 1, (par >> 1) & 0x3f);
    if (!(par & 1) || ((par >> 1) & 0x3f) != 0x07)
        fail("AT on an unmapped VA gave PAR 0x%lx", par);

    /* remap TEST_VA to page B; TLBI makes the change visible */
    *l3_slot(root0, TEST_VA) = (u64)page_b | NORMAL | NG | UXN | PXN | DESC_PAGE;
    tlbi_va(TEST_VA);
    check("after remap + TLBI VAE1IS, TEST_VA reads page B", rdv(TEST_VA), page_b[0]);

    fix_mode = FIX_SET_AF, fix_desc = af_desc, fix_va = TEST_VA + PAGE;
    u64 v = rdv(TEST_VA + PAGE);
    expect_fault("access flag fault (AF=0), AF set by the handler", 0x25, 0x0b, TEST_VA + PAGE);
    check("retried read", v, page_a[0]);

    check("read of a read-only page", rdv(TEST_VA + 2 * PAGE), page_c[0]);
    fix_mode = FIX_MAKE_RW, fix_desc = ro_desc, fix_va = TEST_VA + 2 * PAGE;
    wrv(TEST_VA + 2 * PAGE + 16, 0x2222);
    expect_fault("permission fault (write to AP=RO), made writable by the handler", 0x25, 0x0f, TEST_VA + 2 * PAGE + 16);
    printf_("mmu:   WnR=%lu\n", (fault_esr >> 6) & 1);
    check("retried write", page_c[2], 0x2222);

    fix_mode = FIX_SKIP;
    (void)rdv(TEST_VA + 3 * PAGE);
    expect_fault("translation fault level 3", 0x25, 0x07, TEST_VA + 3 * PAGE);
    (void)rdv(HOLE_VA + 0x40);
    expect_fault("translation fault level 0", 0x25, 0x04, HOLE_VA + 0x40);

    /* execute-never, then self-modifying code through an executable mapping */
    write_code(code, 0x52800020);   /* mov w0, #1 */
    fix_mode = FIX_RETURN;
    ((void (*)(void))(TEST_VA + 4 * PAGE))();
    expect_fault("instruction fetch from a PXN page", 0x21, 0x0f, TEST_VA + 4 * PAGE);
    u64 (*fn)(void) = (u64 (*)(void))(TEST_VA + 5 * PAGE);
    check("call code page (mov w0, #1)", fn(), 1);
    write_code(code, 0x52800040);   /* mov w0, #2 */
    check("rewrite + DC CVAU/IC IVAU, call again (mov w0, #2)", fn(), 2);

    SYSREG_WRITE(sctlr_el1, sctlr & ~1UL);
    isb();
    printf_("mmu: MMU off again\n");
}
