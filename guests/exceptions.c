/* exceptions: synchronous exceptions taken to EL1 and reported with EC/ESR/FAR: external abort on
 * unassigned MMIO (read and write), undefined instruction, BRK, SVC from EL0 and back, a
 * privileged system-register read at EL0, and an unknown SMCCC call returning NOT_SUPPORTED. */
#include "rt.h"

const char guest_name[] = "exceptions";

/* Unassigned on QEMU virt (between virtio-mmio and the platform bus) and on Xen's guest map. */
#define UNASSIGNED_MMIO 0x0b000000UL
#define SVC_EXIT 0xfff

#define EC_UNKNOWN 0x00
#define EC_SVC64 0x15
#define EC_DABT_LOWER 0x24
#define EC_DABT_CUR 0x25
#define EC_BRK64 0x3c

static volatile struct {
    int count;
    u64 esr, far, elr, spsr;
    int kind;
} last;

static int on_sync(struct frame *f, int kind)
{
    u64 ec = ESR_EC(f->esr);
    last.count++;
    last.esr = f->esr, last.far = f->far, last.elr = f->elr, last.spsr = f->spsr, last.kind = kind;
    if (kind == KIND_SYNC_EL0 && ec == EC_SVC64) {
        u32 imm = f->esr & 0xffff;
        if (imm == SVC_EXIT) {          /* back to run_el0's caller at EL1h, x0 passes through */
            f->elr = (u64)el0_return_addr();
            f->spsr = 0x3c5;
            return 1;
        }
        printf_("exceptions: SVC #%u from EL0 with x0=0x%lx: EC=0x%02lx ESR=0x%08lx SPSR=0x%lx\n",
                imm, f->x[0], ec, f->esr, f->spsr);
        f->x[0] += 1;                   /* the "system call" result */
        return 1;                       /* ELR already points after the SVC */
    }
    if (kind == KIND_SYNC_EL0)
        printf_("exceptions: EL0 mrs sctlr_el1: EC=0x%02lx ESR=0x%08lx SPSR=0x%lx\n", ec, f->esr, f->spsr);
    f->elr += 4;                        /* skip the faulting instruction */
    return 1;
}

static void expect(const char *what, u64 ec, u64 far)
{
    if (last.count != 1)
        fail("%s: %d exceptions taken, expected 1", what, last.count);
    printf_("exceptions: %s: EC=0x%02lx ESR=0x%08lx", what, ESR_EC(last.esr), last.esr);
    if (far != ~0UL)
        printf_(" FAR=0x%lx", last.far);
    printf_("\n");
    if (ESR_EC(last.esr) != ec)
        fail("%s: EC 0x%02lx, expected 0x%02lx", what, ESR_EC(last.esr), ec);
    if (far != ~0UL && last.far != far)
        fail("%s: FAR 0x%lx, expected 0x%lx", what, last.far, far);
    last.count = 0;
}

static u8 el0_stack[4096] __attribute__((aligned(16)));

/* Runs at EL0: one system call, one privileged read (UNDEFINED at EL0), then exit. */
__attribute__((noinline)) static void el0_code(u64 arg)
{
    register u64 x0 asm("x0") = arg;
    asm volatile("svc #1" : "+r"(x0) :: "memory");
    asm volatile("mrs x1, sctlr_el1" ::: "x1", "memory");
    x0 += 0x100;
    asm volatile("svc #0xfff" : "+r"(x0) :: "memory");
    for (;;)
        ;
}

void guest_main(void)
{
    sync_hook = on_sync;

    u32 v = rd32(UNASSIGNED_MMIO);
    (void)v;
    expect("read of unassigned MMIO 0x0b000000", EC_DABT_CUR, UNASSIGNED_MMIO);
    printf_("exceptions:   DFSC=0x%02lx WnR=%lu\n", last.esr & 0x3f, (last.esr >> 6) & 1);

    wr32(UNASSIGNED_MMIO + 8, 0x1234);
    expect("write to unassigned MMIO 0x0b000008", EC_DABT_CUR, UNASSIGNED_MMIO + 8);
    printf_("exceptions:   DFSC=0x%02lx WnR=%lu\n", last.esr & 0x3f, (last.esr >> 6) & 1);

    asm volatile(".inst 0x00000000" ::: "memory");   /* UDF #0 */
    expect("undefined instruction (UDF #0)", EC_UNKNOWN, ~0UL);

    asm volatile("brk #0x42" ::: "memory");
    expect("BRK #0x42", EC_BRK64, ~0UL);
    if ((last.esr & 0xffff) != 0x42)
        fail("BRK comment 0x%lx, expected 0x42", last.esr & 0xffff);

    asm volatile("hint #0x22; hint #0x7f" ::: "memory");   /* BTI c, unallocated hint: NOPs */
    if (last.count)
        fail("hint instructions trapped");

    u64 r = run_el0(el0_code, (u64)(el0_stack + sizeof el0_stack), 0x41);
    printf_("exceptions: back at EL%lu from EL0 with x0=0x%lx\n", (SYSREG_READ(CurrentEL) >> 2) & 3, r);
    if (r != 0x142)
        fail("EL0 round trip gave 0x%lx, expected 0x142", r);
    /* count: SVC #1, the MRS, SVC #0xfff */
    if (last.count != 3)
        fail("EL0 round trip took %d exceptions, expected 3", last.count);
    last.count = 0;

    s64 res = (s64)psci_call(0xc600ff00UL, 0, 0, 0);   /* unknown vendor-hypervisor call */
    printf_("exceptions: unknown SMCCC call 0xc600ff00 returned %ld\n", res);
    if (res != -1)
        fail("unknown SMCCC call returned %ld, expected -1 (NOT_SUPPORTED)", res);
}
