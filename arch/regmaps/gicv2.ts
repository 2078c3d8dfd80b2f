// GICv2 distributor (GICD) and CPU interface (GICC) registers (Arm IHI 0048B §4.1.2, §4.1.3 register
// maps; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

export const GICV2_DIST_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x000, name: 'GICD_CTLR' },
  { offset: 0x004, name: 'GICD_TYPER' },
  { offset: 0x008, name: 'GICD_IIDR' },
  { offset: 0x080, name: 'GICD_IGROUPR', count: 32 },
  { offset: 0x100, name: 'GICD_ISENABLER', count: 32 },
  { offset: 0x180, name: 'GICD_ICENABLER', count: 32 },
  { offset: 0x200, name: 'GICD_ISPENDR', count: 32 },
  { offset: 0x280, name: 'GICD_ICPENDR', count: 32 },
  { offset: 0x300, name: 'GICD_ISACTIVER', count: 32 },
  { offset: 0x380, name: 'GICD_ICACTIVER', count: 32 },
  { offset: 0x400, name: 'GICD_IPRIORITYR', count: 255 },
  { offset: 0x800, name: 'GICD_ITARGETSR', count: 255 },
  { offset: 0xc00, name: 'GICD_ICFGR', count: 64 },
  { offset: 0xd00, name: 'GICD_PPISR' },
  { offset: 0xd04, name: 'GICD_SPISR', count: 15 },
  { offset: 0xe00, name: 'GICD_NSACR', count: 64 },
  { offset: 0xf00, name: 'GICD_SGIR' },
  { offset: 0xf10, name: 'GICD_CPENDSGIR', count: 4 },
  { offset: 0xf20, name: 'GICD_SPENDSGIR', count: 4 },
  { offset: 0xfd0, name: 'GICD_PIDR4', count: 4 },
  { offset: 0xfe0, name: 'GICD_PIDR0', count: 4 },
  { offset: 0xff0, name: 'GICD_CIDR', count: 4 },
];

export const GICV2_CPU_REGISTERS: readonly RegisterDef[] = [
  { offset: 0x00, name: 'GICC_CTLR' },
  { offset: 0x04, name: 'GICC_PMR' },
  { offset: 0x08, name: 'GICC_BPR' },
  { offset: 0x0c, name: 'GICC_IAR' },
  { offset: 0x10, name: 'GICC_EOIR' },
  { offset: 0x14, name: 'GICC_RPR' },
  { offset: 0x18, name: 'GICC_HPPIR' },
  { offset: 0x1c, name: 'GICC_ABPR' },
  { offset: 0x20, name: 'GICC_AIAR' },
  { offset: 0x24, name: 'GICC_AEOIR' },
  { offset: 0x28, name: 'GICC_AHPPIR' },
  { offset: 0xd0, name: 'GICC_APR', count: 4 },
  { offset: 0xe0, name: 'GICC_NSAPR', count: 4 },
  { offset: 0xfc, name: 'GICC_IIDR' },
  { offset: 0x1000, name: 'GICC_DIR' },
];

/** Offsets of the CPU-interface registers the interrupt protocol goes through. */
export const GICC = { CTLR: 0x00, PMR: 0x04, IAR: 0x0c, EOIR: 0x10, DIR: 0x1000 } as const;

export const distRegisterName = makeLookup(GICV2_DIST_REGISTERS);
export const cpuRegisterName = makeLookup(GICV2_CPU_REGISTERS);
