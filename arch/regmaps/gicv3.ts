// GICv3 distributor (GICD), redistributor (GICR: RD_base + SGI_base frames) and ITS registers
// (Arm IHI 0069H, chapter 12 'Programmers' model': the GICD, GICR and GITS register maps; docs/arch.md).
import { makeLookup, type RegisterDef } from './table.ts';

/** Distributor register offsets. IROUTER<n> is at IROUTER + 8n (n < 32 reserved); the frame is 64 KiB. */
export const GICD = {
  CTLR: 0x0000,
  TYPER: 0x0004,
  IIDR: 0x0008,
  TYPER2: 0x000c,
  STATUSR: 0x0010,
  SETSPI_NSR: 0x0040,
  CLRSPI_NSR: 0x0048,
  SETSPI_SR: 0x0050,
  CLRSPI_SR: 0x0058,
  IGROUPR: 0x0080,
  ISENABLER: 0x0100,
  ICENABLER: 0x0180,
  ISPENDR: 0x0200,
  ICPENDR: 0x0280,
  ISACTIVER: 0x0300,
  ICACTIVER: 0x0380,
  IPRIORITYR: 0x0400,
  ITARGETSR: 0x0800,
  ICFGR: 0x0c00,
  IGRPMODR: 0x0d00,
  NSACR: 0x0e00,
  SGIR: 0x0f00,
  CPENDSGIR: 0x0f10,
  SPENDSGIR: 0x0f20,
  IROUTER: 0x6000,
  PIDR4: 0xffd0,
  PIDR0: 0xffe0,
  /** GICD_PIDR2: bits [7:4] give the architecture version (ArchRev). */
  PIDR2: 0xffe8,
  CIDR0: 0xfff0,
} as const;

/** Size of one GICv3 register frame (GICD, RD_base, SGI_base). */
export const GICV3_FRAME = 0x10000;

export const GICV3_DIST_REGISTERS: readonly RegisterDef[] = [
  { offset: GICD.CTLR, name: 'GICD_CTLR' },
  { offset: GICD.TYPER, name: 'GICD_TYPER' },
  { offset: GICD.IIDR, name: 'GICD_IIDR' },
  { offset: GICD.TYPER2, name: 'GICD_TYPER2' },
  { offset: GICD.STATUSR, name: 'GICD_STATUSR' },
  { offset: GICD.SETSPI_NSR, name: 'GICD_SETSPI_NSR' },
  { offset: GICD.CLRSPI_NSR, name: 'GICD_CLRSPI_NSR' },
  { offset: GICD.SETSPI_SR, name: 'GICD_SETSPI_SR' },
  { offset: GICD.CLRSPI_SR, name: 'GICD_CLRSPI_SR' },
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
  { offset: GICD.IGRPMODR, name: 'GICD_IGRPMODR', count: 32 },
  { offset: GICD.NSACR, name: 'GICD_NSACR', count: 64 },
  { offset: GICD.SGIR, name: 'GICD_SGIR' },
  { offset: GICD.CPENDSGIR, name: 'GICD_CPENDSGIR', count: 4 },
  { offset: GICD.SPENDSGIR, name: 'GICD_SPENDSGIR', count: 4 },
  { offset: GICD.IROUTER + 8 * 32, name: 'GICD_IROUTER', width: 8, count: 988, first: 32 },
  { offset: GICD.PIDR4, name: 'GICD_PIDR4', count: 4 },
  { offset: GICD.PIDR0, name: 'GICD_PIDR0', count: 4 },
  { offset: GICD.CIDR0, name: 'GICD_CIDR', count: 4 },
];

/** RD_base frame register offsets (the first 64 KiB of each redistributor). */
export const GICR = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  /** 64-bit: the affinity is in the upper word, at TYPER + 4. */
  TYPER: 0x0008,
  STATUSR: 0x0010,
  WAKER: 0x0014,
  SETLPIR: 0x0040,
  CLRLPIR: 0x0048,
  PROPBASER: 0x0070,
  PENDBASER: 0x0078,
  INVLPIR: 0x00a0,
  INVALLR: 0x00b0,
  SYNCR: 0x00c0,
  PIDR4: 0xffd0,
  PIDR0: 0xffe0,
  /** GICR_PIDR2: bits [7:4] give the architecture version (ArchRev). */
  PIDR2: 0xffe8,
  CIDR0: 0xfff0,
} as const;

/** GICR_WAKER bits: the guest clears ProcessorSleep, then waits for ChildrenAsleep to read 0. */
export const GICR_WAKER = { ProcessorSleep: 1 << 1, ChildrenAsleep: 1 << 2 } as const;

export const GICV3_RD_REGISTERS: readonly RegisterDef[] = [
  { offset: GICR.CTLR, name: 'GICR_CTLR' },
  { offset: GICR.IIDR, name: 'GICR_IIDR' },
  { offset: GICR.TYPER, name: 'GICR_TYPER', width: 8 },
  { offset: GICR.STATUSR, name: 'GICR_STATUSR' },
  { offset: GICR.WAKER, name: 'GICR_WAKER' },
  { offset: GICR.SETLPIR, name: 'GICR_SETLPIR', width: 8 },
  { offset: GICR.CLRLPIR, name: 'GICR_CLRLPIR', width: 8 },
  { offset: GICR.PROPBASER, name: 'GICR_PROPBASER', width: 8 },
  { offset: GICR.PENDBASER, name: 'GICR_PENDBASER', width: 8 },
  { offset: GICR.INVLPIR, name: 'GICR_INVLPIR', width: 8 },
  { offset: GICR.INVALLR, name: 'GICR_INVALLR', width: 8 },
  { offset: GICR.SYNCR, name: 'GICR_SYNCR' },
  { offset: GICR.PIDR4, name: 'GICR_PIDR4', count: 4 },
  { offset: GICR.PIDR0, name: 'GICR_PIDR0', count: 4 },
  { offset: GICR.CIDR0, name: 'GICR_CIDR', count: 4 },
];

/** SGI_base frame register offsets (the second 64 KiB), relative to the frame. */
export const GICR_SGI = {
  IGROUPR0: 0x0080,
  ISENABLER0: 0x0100,
  ICENABLER0: 0x0180,
  ISPENDR0: 0x0200,
  ICPENDR0: 0x0280,
  ISACTIVER0: 0x0300,
  ICACTIVER0: 0x0380,
  /** IPRIORITYR0..7: one byte per SGI/PPI. */
  IPRIORITYR: 0x0400,
  ICFGR0: 0x0c00,
  ICFGR1: 0x0c04,
  IGRPMODR0: 0x0d00,
  NSACR: 0x0e00,
} as const;

export const GICV3_SGI_REGISTERS: readonly RegisterDef[] = [
  { offset: GICR_SGI.IGROUPR0, name: 'GICR_IGROUPR0' },
  { offset: GICR_SGI.ISENABLER0, name: 'GICR_ISENABLER0' },
  { offset: GICR_SGI.ICENABLER0, name: 'GICR_ICENABLER0' },
  { offset: GICR_SGI.ISPENDR0, name: 'GICR_ISPENDR0' },
  { offset: GICR_SGI.ICPENDR0, name: 'GICR_ICPENDR0' },
  { offset: GICR_SGI.ISACTIVER0, name: 'GICR_ISACTIVER0' },
  { offset: GICR_SGI.ICACTIVER0, name: 'GICR_ICACTIVER0' },
  { offset: GICR_SGI.IPRIORITYR, name: 'GICR_IPRIORITYR', count: 8 },
  { offset: GICR_SGI.ICFGR0, name: 'GICR_ICFGR', count: 2 },
  { offset: GICR_SGI.IGRPMODR0, name: 'GICR_IGRPMODR0' },
  { offset: GICR_SGI.NSACR, name: 'GICR_NSACR' },
];

/**
 * ITS register offsets (Arm IHI 0069H §12.19): the control frame ITS_base, and GITS_TRANSLATER in
 * the translation frame at ITS_base + 64 KiB. The ITS spans 128 KiB without GICv4.
 */
export const GITS = {
  CTLR: 0x0000,
  IIDR: 0x0004,
  TYPER: 0x0008,
  CBASER: 0x0080,
  CWRITER: 0x0088,
  CREADR: 0x0090,
  BASER: 0x0100,
  PIDR4: 0xffd0,
  PIDR0: 0xffe0,
  CIDR0: 0xfff0,
  TRANSLATER: 0x10040,
  SIZE: 0x20000,
} as const;

/** ITS command numbers (Arm IHI 0069H §5.3, Table 5-4): byte 0 of each 32-byte command. */
export const ITS_CMD = {
  MOVI: 0x01,
  INT: 0x03,
  CLEAR: 0x04,
  SYNC: 0x05,
  MAPD: 0x08,
  MAPC: 0x09,
  MAPTI: 0x0a,
  MAPI: 0x0b,
  INV: 0x0c,
  INVALL: 0x0d,
  MOVALL: 0x0e,
  DISCARD: 0x0f,
} as const;

export const GICV3_ITS_REGISTERS: readonly RegisterDef[] = [
  { offset: GITS.CTLR, name: 'GITS_CTLR' },
  { offset: GITS.IIDR, name: 'GITS_IIDR' },
  { offset: GITS.TYPER, name: 'GITS_TYPER', width: 8 },
  { offset: GITS.CBASER, name: 'GITS_CBASER', width: 8 },
  { offset: GITS.CWRITER, name: 'GITS_CWRITER', width: 8 },
  { offset: GITS.CREADR, name: 'GITS_CREADR', width: 8 },
  { offset: GITS.BASER, name: 'GITS_BASER', width: 8, count: 8 },
  { offset: GITS.PIDR4, name: 'GITS_PIDR4', count: 4 },
  { offset: GITS.PIDR0, name: 'GITS_PIDR0', count: 4 },
  { offset: GITS.CIDR0, name: 'GITS_CIDR', count: 4 },
  { offset: GITS.TRANSLATER, name: 'GITS_TRANSLATER' },
];

/** One redistributor (RD_base + SGI_base) spans 128 KiB without VLPIs. */
export const GICV3_REDIST_STRIDE = 2 * GICV3_FRAME;
/** Where the SGI_base frame starts within a redistributor. */
export const GICV3_SGI_FRAME = GICV3_FRAME;
const SGI_FRAME = GICV3_SGI_FRAME;

export const distRegisterName = makeLookup(GICV3_DIST_REGISTERS);
const rdName = makeLookup(GICV3_RD_REGISTERS);
const sgiName = makeLookup(GICV3_SGI_REGISTERS);
export const itsRegisterName = makeLookup(GICV3_ITS_REGISTERS);

/** Name of a register at `offset` from the start of the redistributor region (any CPU's frame). */
export function redistRegisterName(offset: number, stride = GICV3_REDIST_STRIDE): string {
  const inCpu = offset % stride;
  return inCpu < SGI_FRAME ? rdName(inCpu) : sgiName(inCpu - SGI_FRAME);
}

/** Which redistributor (CPU frame index) an offset in the region belongs to. */
export function redistFrameIndex(offset: number, stride = GICV3_REDIST_STRIDE): number {
  return Math.floor(offset / stride);
}
