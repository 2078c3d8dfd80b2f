#!/usr/bin/python3
"""Instruction-level oracle: run single A64 instructions on Unicorn (python3-unicorn).

stdin: JSON {"cases": [{"insn": int, "regs": [31 decimal strings], "sp": str, "nzcv": int}],
             "mem": bool}  -- with mem, 0x20000-0x3ffff holds the pattern (i*7+3)&0xff before each case
stdout: JSON list of {"regs": [...], "sp": str, "nzcv": int, "mem": sha256 hex} or {"error": str}
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
    ids = [getattr(c, f"UC_ARM64_REG_X{i}") for i in range(31)]
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(BASE, 0x1000)
    if req.get("mem"):
        uc.mem_map(MEM, MEM_SIZE)
    out = []
    for case in req["cases"]:
        uc.mem_write(BASE, (case["insn"] & 0xFFFFFFFF).to_bytes(4, "little"))
        if req.get("mem"):
            uc.mem_write(MEM, PATTERN)
        for i, v in enumerate(case["regs"]):
            uc.reg_write(ids[i], int(v))
        uc.reg_write(c.UC_ARM64_REG_SP, int(case.get("sp", "131072")))
        uc.reg_write(c.UC_ARM64_REG_NZCV, case["nzcv"])
        try:
            uc.emu_start(BASE, BASE + 4, count=1)
            r = {"regs": [str(uc.reg_read(x)) for x in ids], "nzcv": uc.reg_read(c.UC_ARM64_REG_NZCV),
                 "sp": str(uc.reg_read(c.UC_ARM64_REG_SP))}
            if req.get("mem"):
                r["mem"] = hashlib.sha256(bytes(uc.mem_read(MEM, MEM_SIZE))).hexdigest()
            out.append(r)
        except UcError as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
