#!/usr/bin/python3
"""Instruction-level oracle for SIMD&FP: run single A64 instructions on Unicorn (python3-unicorn).

stdin: JSON {"cases": [{"insn": int, "regs": [31 decimal strings], "v": [32 decimal strings (128-bit)],
             "sp": str, "nzcv": int, "fpcr": int, "fpsr": int}], "mem": bool}
  -- with mem, 0x20000-0x3ffff holds the pattern (i*7+3)&0xff before each case
stdout: JSON list of {"regs", "v", "sp", "nzcv", "fpsr", "mem"?} or {"error": str}
"""
import hashlib
import json
import sys

from unicorn import Uc, UcError, UC_ARCH_ARM64, UC_MODE_ARM
from unicorn import arm64_const as c

BASE = 0x10000
MEM = 0x20000
MEM_SIZE = 0x20000
PATTERN = bytes(((i * 7 + 3) & 0xFF) for i in range(MEM_SIZE))


def main():
    req = json.load(sys.stdin)
    xs = [getattr(c, f"UC_ARM64_REG_X{i}") for i in range(31)]
    qs = [getattr(c, f"UC_ARM64_REG_Q{i}") for i in range(32)]
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(BASE, 0x1000)
    if req.get("mem"):
        uc.mem_map(MEM, MEM_SIZE)
    uc.reg_write(c.UC_ARM64_REG_CPACR_EL1, 3 << 20)
    out = []
    for case in req["cases"]:
        uc.mem_write(BASE, (case["insn"] & 0xFFFFFFFF).to_bytes(4, "little"))
        if req.get("mem"):
            uc.mem_write(MEM, PATTERN)
        for i, v in enumerate(case["regs"]):
            uc.reg_write(xs[i], int(v))
        for i, v in enumerate(case["v"]):
            uc.reg_write(qs[i], int(v))
        uc.reg_write(c.UC_ARM64_REG_SP, int(case.get("sp", "131072")))
        uc.reg_write(c.UC_ARM64_REG_NZCV, case["nzcv"])
        uc.reg_write(c.UC_ARM64_REG_FPCR, case["fpcr"])
        uc.reg_write(c.UC_ARM64_REG_FPSR, case["fpsr"])
        try:
            uc.emu_start(BASE, BASE + 4, count=1)
            if uc.reg_read(c.UC_ARM64_REG_PC) != BASE + 4:
                raise UcError(0)
            r = {"regs": [str(uc.reg_read(x)) for x in xs], "nzcv": uc.reg_read(c.UC_ARM64_REG_NZCV),
                 "sp": str(uc.reg_read(c.UC_ARM64_REG_SP)), "v": [str(uc.reg_read(q)) for q in qs],
                 "fpsr": uc.reg_read(c.UC_ARM64_REG_FPSR)}
            if req.get("mem"):
                r["mem"] = hashlib.sha256(bytes(uc.mem_read(MEM, MEM_SIZE))).hexdigest()
            out.append(r)
        except UcError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
