/* pcibad: a PCI driver that breaks the rules `check`'s pci family enforces, each once, on the kvm
 * machine's PCIe host (QEMU virt's layout: ECAM at 0x40_1000_0000, 32-bit memory window at
 * 0x1000_0000). Run it with a virtio function plugged (--nic): it finds the first function after
 * the host bridge, then
 *   1. writes the Command register of a slot that holds no function (config write to an absent function),
 *   2. sizes BAR1 with Memory Space enabled (PCI Local Bus 3.0 §6.2.5.1 wants decode off),
 *   3. sizes it again with decode off but turns decode on before restoring it,
 *   4. assigns BAR1 to the window's base, turns decode off and reads through the BAR anyway,
 *   5. reads 1 MiB further on, where no function has a BAR.
 * Everything it does is legal to attempt (the host answers each access); the trace shows the faults. */
#include "rt.h"

const char guest_name[] = "pcibad";

#define ECAM 0x4010000000UL
#define MMIO_WINDOW 0x10000000UL
#define CFG(dev, off) (ECAM + ((u64)(dev) << 15) + (off))
#define COMMAND 0x04
#define BAR1 0x14
#define CMD_MEM 2u

void guest_main(void)
{
    int dev = 0;
    for (int d = 1; d < 32 && !dev; d++)
        if ((rd32(CFG(d, 0)) & 0xffff) != 0xffff)
            dev = d;
    if (!dev)
        fail("no PCI function after the host bridge (run with --nic)");
    printf_("pcibad: function at 00:%02x.0, vendor:device %08x\n", dev, rd32(CFG(dev, 0)));

    /* 1: slot 31 is empty on this machine. */
    if ((rd32(CFG(31, 0)) & 0xffff) != 0xffff)
        fail("slot 31 is not empty");
    wr16(CFG(31, COMMAND), CMD_MEM);

    /* 2: size BAR1 with memory decode on. */
    wr16(CFG(dev, COMMAND), CMD_MEM);
    u32 orig = rd32(CFG(dev, BAR1));
    wr32(CFG(dev, BAR1), 0xffffffff);
    u32 mask = rd32(CFG(dev, BAR1));
    wr32(CFG(dev, BAR1), orig);
    printf_("pcibad: BAR1 reads back 0x%08x (size 0x%x)\n", mask, ~(mask & ~0xfu) + 1);

    /* 3: decode off, size, decode back on before the restore. */
    wr16(CFG(dev, COMMAND), 0);
    wr32(CFG(dev, BAR1), 0xffffffff);
    (void)rd32(CFG(dev, BAR1));
    wr16(CFG(dev, COMMAND), CMD_MEM);
    wr16(CFG(dev, COMMAND), 0);
    wr32(CFG(dev, BAR1), orig);

    /* 4: BAR1 at the window's base, decode off, then an access through it. */
    wr32(CFG(dev, BAR1), (u32)MMIO_WINDOW);
    u32 v = rd32(MMIO_WINDOW);
    printf_("pcibad: BAR1 with decode off reads 0x%x\n", v);

    /* 5: where no function decodes. */
    v = rd32(MMIO_WINDOW + 0x100000);
    printf_("pcibad: 1 MiB past BAR1 reads 0x%x\n", v);
    pass();
}
