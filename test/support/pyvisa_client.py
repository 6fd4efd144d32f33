# A client nobody on this project wrote: pyvisa with the pure-Python pyvisa-py backend.
# Usage: pyvisa_client.py check RESOURCE...   -> one JSON line per resource
#        pyvisa_client.py bench RESOURCE N    -> JSON {"perQueryUs": ...} for N *IDN? round trips
import json
import sys
import time

import pyvisa


def open_resource(rm, resource):
    inst = rm.open_resource(resource, read_termination="\n", write_termination="\n", timeout=5000)
    return inst


def main():
    rm = pyvisa.ResourceManager("@py")
    mode = sys.argv[1]
    if mode == "check":
        for resource in sys.argv[2:]:
            inst = open_resource(rm, resource)
            idn = inst.query("*IDN?")
            block = inst.query_binary_values("CURV:BE?", datatype="f", is_big_endian=True)
            ints = inst.query_binary_values("WAV:I16?", datatype="h", is_big_endian=True)
            inst.close()
            print(json.dumps({"resource": resource, "idn": idn, "block": list(block), "ints": list(ints)}), flush=True)
    elif mode == "bench":
        resource, n = sys.argv[2], int(sys.argv[3])
        inst = open_resource(rm, resource)
        for _ in range(min(200, n)):
            inst.query("*IDN?")
        t0 = time.perf_counter()
        for _ in range(n):
            inst.query("*IDN?")
        dt = time.perf_counter() - t0
        inst.close()
        print(json.dumps({"perQueryUs": dt / n * 1e6}), flush=True)


main()
