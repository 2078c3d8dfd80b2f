// GICv2 distributor (GICD) and CPU interface (GICC) registers (Arm IHI 0048B §4.1.2, §4.1.3 register
// maps; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

/** Distributor register offsets (§4.1.2, Table 4-1); the distributor frame is 4 KiB. */
export const GICD = {
  CTLR: 0x000,
  TYPER: 0x004,
  IIDR: 0x008,
  IGROUPR: 0x080,
  ISENABLER: 0x100,
  ICENABLER: 0x180,
  ISPENDR: 0x200,
  ICPENDR: 0x280,
  ISACTIVER: 0x300,
  ICACTIVER: 0x380,
  IPRIORITYR: 0x400,
  ITARGETSR: 0x800,
  ICFGR: 0xc00,
  PPISR: 0xd00,
  SPISR: 0xd04,
  NSACR: 0xe00,
  SGIR: 0xf00,
  CPENDSGIR: 0xf10,
  SPENDSGIR: 0xf20,
  PIDR4: 0xfd0,
  PIDR0: 0xfe0,
  /** ICPIDR2: bits [7:4] give the architecture version. */
  PIDR2: 0xfe8,
  CIDR0: 0xff0,
  END: 0x1000,
} as const;

export const GICV2_DIST_REGISTERS: readonly RegisterDef[] = [
  { offset: GICD.CTLR, name: 'GICD_CTLR' },
  { offset: GICD.TYPER, name: 'GICD_TYPER' },
  { offset: GICD.IIDR, name: 'GICD_IIDR' },
  { offset: GICD.IGROUPR, name: 'GICD_IGROUPR', count: 32 },
  { offset: GICD.ISENABLER, name: 'GICD_ISENABLER', count: 32 },
  { offset: GICD.ICENABLER, name: 'GICD_ICENABLER', count: 32 },
  { offset: GICD.ISPENDR, name: 'GICD_ISPENDR', count: 32 },
  { offset: GICD.ICPENDR, name: 'GICD_ICPENDR', count: 32 },
  { offset: GICD.ISACTIVER, name: 'GICD_ISACTIVER', count: 32 },
  { offset: GICD.ICACTIVER, name: 'GICD_ICACTIVER', count: 32 },
  { offset: GICD.IPRIORITYR, name: 'GICD_IPRIORITYR', count: 255 },
  { offset: GICD.ITARGETSR, name: 'GICD_ITARGETSR', count: 255 },
  { offset: GICD.ICFGR, name: 'GICD_ICFGR', count: 64 },
  { offset: GICD.PPISR, name: 'GICD_PPISR' },
  { offset: GICD.SPISR, name: 'GICD_SPISR', count: 15 },
  { offset: GICD.NSACR, name: 'GICD_NSACR', count: 64 },
  { offset: GICD.SGIR, name: 'GICD_SGIR' },
  { offset: GICD.CPENDSGIR, name: 'GICD_CPENDSGIR', count: 4 },
  { offset: GICD.SPENDSGIR, name: 'GICD_SPENDSGIR', count: 4 },
  { offset: GICD.PIDR4, name: 'GICD_PIDR4', count: 4 },
  { offset: GICD.PIDR0, name: 'GICD_PIDR0', count: 4 },
  { offset: GICD.CIDR0, name: 'GICD_CIDR', count: 4 },
];

/** CPU interface register offsets (§4.1.3, Table 4-2); APR and NSAPR are four words each. */
export const GICC = {
  CTLR: 0x00,
  PMR: 0x04,
  BPR: 0x08,
  IAR: 0x0c,
  EOIR: 0x10,
  RPR: 0x14,
  HPPIR: 0x18,
  ABPR: 0x1c,
  AIAR: 0x20,
  AEOIR: 0x24,
  AHPPIR: 0x28,
  APR: 0xd0,
  NSAPR: 0xe0,
  IIDR: 0xfc,
  DIR: 0x1000,
} as const;

/** GICC_CTLR.EOImodeNS (§4.4.1): a GICC_EOIR write only drops the priority, GICC_DIR deactivates. */
export const GICC_CTLR_EOIMODE_NS = 1 << 9;

export const GICV2_CPU_REGISTERS: readonly RegisterDef[] = [
  { offset: GICC.CTLR, name: 'GICC_CTLR' },
  { offset: GICC.PMR, name: 'GICC_PMR' },
  { offset: GICC.BPR, name: 'GICC_BPR' },
  { offset: GICC.IAR, name: 'GICC_IAR' },
  { offset: GICC.EOIR, name: 'GICC_EOIR' },
  { offset: GICC.RPR, name: 'GICC_RPR' },
  { offset: GICC.HPPIR, name: 'GICC_HPPIR' },
  { offset: GICC.ABPR, name: 'GICC_ABPR' },
  { offset: GICC.AIAR, name: 'GICC_AIAR' },
  { offset: GICC.AEOIR, name: 'GICC_AEOIR' },
  { offset: GICC.AHPPIR, name: 'GICC_AHPPIR' },
  { offset: GICC.APR, name: 'GICC_APR', count: 4 },
  { offset: GICC.NSAPR, name: 'GICC_NSAPR', count: 4 },
  { offset: GICC.IIDR, name: 'GICC_IIDR' },
  { offset: GICC.DIR, name: 'GICC_DIR' },
];

export const distRegisterName = makeLookup(GICV2_DIST_REGISTERS);
export const cpuRegisterName = makeLookup(GICV2_CPU_REGISTERS);
