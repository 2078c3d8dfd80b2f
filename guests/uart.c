/* uart: PL011 bring-up in the order of Linux's amba-pl011 driver, or the SBSA subset when the
 * DTB says arm,sbsa-uart. Reads and prints the ID registers, transmits, checks the flags. */
#include "rt.h"

const char guest_name[] = "uart";

#define DR 0x000
#define RSR_ECR 0x004
#define FR 0x018
#define IBRD 0x024
#define FBRD 0x028
#define LCRH 0x02c
#define CR 0x030
#define IFLS 0x034
#define IMSC 0x038
#define RIS 0x03c
#define MIS 0x040
#define ICR 0x044
#define DMACR 0x048

#define FR_BUSY (1u << 3)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define FR_TXFE (1u << 7)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
#define IM_RX (1u << 4)
#define IM_TX (1u << 5)
#define IM_RT (1u << 6)
#define IM_ERR (0xfu << 7)     /* FE PE BE OE */
#define LCRH_WLEN8 (3u << 5)
#define LCRH_FEN (1u << 4)

static u64 base;

/* Register access widths as Linux uses them: the amba-pl011 path uses 16-bit readw/writew, the
 * sbsa-uart path 32-bit accesses. */
static u32 ureg_rd(u32 off) { return plat.uart_sbsa ? rd32(base + off) : rd16(base + off); }
static void ureg_wr(u32 off, u32 v)
{
    if (plat.uart_sbsa)
        wr32(base + off, v);
    else
        wr16(base + off, (u16)v);
}
static volatile int tx_irqs;
static void send(const char *s);

static void on_irq(struct frame *f)
{
    u32 iar = gic_ack();
    u32 id = GIC_INTID(iar);
    if (GIC_SPURIOUS(iar))
        return;
    if (id != plat.uart_intid)
        fail("unexpected INTID %u", id);
    u32 mis = ureg_rd(MIS);
    printf_("uart: interrupt INTID %u, MIS=0x%x\n", id, mis);
    tx_irqs++;
    ureg_wr(IMSC, ureg_rd(IMSC) & ~IM_TX);   /* mask TX before the EOI: the level drops */
    ureg_wr(ICR, IM_TX);
    gic_eoi(iar);
}

/* The TX interrupt through the GIC: status is set by a DR write; unmasking it raises the SPI. */
static void tx_interrupt(void)
{
    if (!plat.gic_version || !plat.uart_intid) {
        printf_("uart: no GIC or UART interrupt in the DTB, TX interrupt not tested\n");
        return;
    }
    irq_hook = on_irq;
    gic_init_dist();
    gic_init_cpu();
    gic_enable_spi(plat.uart_intid, 0);
    send("uart: TX interrupt test\n");
    u32 ris = ureg_rd(RIS), imsc = ureg_rd(IMSC), mis = ureg_rd(MIS);
    printf_("uart: RIS=0x%x IMSC=0x%x MIS=0x%x\n", ris, imsc, mis);
    if (mis != (ris & imsc))
        fail("MIS 0x%x is not RIS & IMSC (0x%x)", mis, ris & imsc);
    ureg_wr(IMSC, imsc | IM_TX);
    irq_enable();
    for (u64 i = 0; !tx_irqs && i < 10000000; i++)
        wfi();
    irq_disable();
    if (tx_irqs != 1)
        fail("%d TX interrupts, expected 1", tx_irqs);
}

static void send(const char *s)
{
    for (; *s; s++) {
        while (ureg_rd(FR) & FR_TXFF)
            ;
        ureg_wr(DR, (u8)*s);
    }
}

static void wait_idle(void)
{
    for (int i = 0; i < 1000000 && (ureg_rd(FR) & FR_BUSY); i++)
        ;
}

static void sbsa_bringup(void)
{
    printf_("uart: SBSA generic UART at 0x%lx, INTID %u, current-speed %u\n", base, plat.uart_intid, plat.uart_speed);
    /* the sbsa-uart driver: mask and clear everything, never touch CR/LCR_H/IBRD/IFLS */
    ureg_wr(IMSC, 0);
    ureg_wr(ICR, 0x7ff);
    u32 fr = ureg_rd(FR);
    printf_("uart: FR=0x%x\n", fr);
    ureg_wr(IMSC, IM_RT | IM_RX);
    send("uart: sbsa transmit ok\n");
    wait_idle();
    printf_("uart: IMSC=0x%x\n", ureg_rd(IMSC));
    tx_interrupt();
    ureg_wr(IMSC, 0);
    if (!(fr & FR_TXFE) && (fr & FR_TXFF))
        fail("TX FIFO full at start");
}

static void pl011_bringup(void)
{
    u32 pid = 0, cid = 0;
    for (int i = 0; i < 4; i++) {
        pid |= (rd32(base + 0xfe0 + 4 * i) & 0xff) << (8 * i);
        cid |= (rd32(base + 0xff0 + 4 * i) & 0xff) << (8 * i);
    }
    printf_("uart: PL011 at 0x%lx, INTID %u, uartclk %u Hz\n", base, plat.uart_intid, plat.uart_clk_hz);
    printf_("uart: PeriphID=0x%08x PCellID=0x%08x revision %u\n", pid, cid, (pid >> 20) & 0xf);
    if (cid != 0xb105f00d)
        fail("PrimeCell ID 0x%08x is not 0xb105f00d (ID registers not implemented?)", cid);
    if ((pid & 0xfffff) != 0x41011)
        fail("PeriphID 0x%08x is not a PL011", pid);

    /* registration: mask and clear all interrupts */
    ureg_wr(IMSC, 0);
    ureg_wr(ICR, 0xffff);

    /* startup: clear pending error and receive interrupts, enable RX/RT, FIFO levels */
    ureg_wr(ICR, IM_ERR | IM_RT | IM_RX);
    ureg_wr(IMSC, IM_RT | IM_RX);
    ureg_wr(IFLS, 0x12);   /* RX 1/2, TX 1/2 */

    /* set_termios: disable, wait for idle, divisors, then LCR_H (latches them), then enable */
    u32 cr = ureg_rd(CR);
    ureg_wr(CR, 0);
    wait_idle();
    u32 clk = plat.uart_clk_hz ? plat.uart_clk_hz : 24000000;
    u32 quot = (4 * clk + 115200 / 2) / 115200;   /* round(4 * clk / baud) */
    ureg_wr(IBRD, quot >> 6);
    ureg_wr(FBRD, quot & 0x3f);
    ureg_wr(LCRH, LCRH_WLEN8 | LCRH_FEN);
    ureg_wr(CR, CR_UARTEN | CR_TXE | CR_RXE);
    printf_("uart: reset CR=0x%x, now IBRD=%u FBRD=%u LCR_H=0x%x CR=0x%x IFLS=0x%x IMSC=0x%x\n",
            cr, ureg_rd(IBRD), ureg_rd(FBRD), ureg_rd(LCRH), ureg_rd(CR),
            ureg_rd(IFLS), ureg_rd(IMSC));
    if (ureg_rd(IBRD) != (quot >> 6) || ureg_rd(FBRD) != (quot & 0x3f))
        fail("divisors did not read back");
    if (ureg_rd(CR) != (CR_UARTEN | CR_TXE | CR_RXE))
        fail("CR did not read back");

    /* drain RX, then transmit with TX interrupt status check */
    for (int i = 0; i < 64 && !(ureg_rd(FR) & FR_RXFE); i++)
        (void)ureg_rd(DR);
    ureg_wr(ICR, IM_TX);
    send("uart: transmit with UARTEN|TXE ok\n");
    wait_idle();
    u32 fr = ureg_rd(FR);
    printf_("uart: FR=0x%x RSR=0x%x DMACR=0x%x\n", fr, ureg_rd(RSR_ECR), ureg_rd(DMACR));
    if (!(fr & FR_TXFE))
        fail("TX FIFO not empty after transmit");
    tx_interrupt();
    ureg_wr(IMSC, 0);
    ureg_wr(ICR, 0x7ff);
}

void guest_main(void)
{
    base = plat.uart;
    if (!base)
        fail("the DTB names no arm,pl011 or arm,sbsa-uart");
    if (plat.uart_sbsa)
        sbsa_bringup();
    else
        pl011_bringup();
}
