#!/usr/bin/python3
"""The objects of a vault kept in a Ceph pool, seen from outside evault (the
end-to-end tests' view, as `find REPO/objects` is for a local directory):

    rados_store.py POOL NS count|bytes|list
    rados_store.py POOL NS has ID | get ID FILE | put ID FILE | rm ID
    rados_store.py POOL NS flip ID OFFSET     one byte changed in place
    rados_store.py POOL NS intact             every object hashes to its name
    rados_store.py POOL NS copy NS2           every object into namespace NS2
    rados_store.py POOL NS purge              every object removed
    rados_store.py POOL NS fill N SIZE        N new objects of SIZE random
                                              bytes, each named by its hash
                                              (unreferenced: benchmarks)

The cluster is the one $CEPH_CONF names (tests/e2e/ceph.sh). Uses Ceph's
own Python binding (python3-rados), independent of evault's C code.
"""
import hashlib
import os
import sys

import rados


def objects(io):
    for o in io.list_objects():
        yield o.key


def read_all(io, oid):
    size, _ = io.stat(oid)
    return io.read(oid, size, 0) if size else b""


def main():
    pool, ns, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    cluster = rados.Rados(conffile="")
    cluster.conf_read_file()
    cluster.conf_set("rados_osd_op_timeout", "30")
    cluster.connect(timeout=30)
    io = cluster.open_ioctx(pool)
    io.set_namespace(ns)
    rc = 0
    if cmd == "count":
        print(sum(1 for _ in objects(io)))
    elif cmd == "bytes":
        print(sum(io.stat(k)[0] for k in objects(io)))
    elif cmd == "list":
        for k in objects(io):
            print(k)
    elif cmd == "has":
        try:
            io.stat(args[0])
        except rados.ObjectNotFound:
            rc = 1
    elif cmd == "get":
        with open(args[1], "wb") as f:
            f.write(read_all(io, args[0]))
    elif cmd == "put":
        with open(args[1], "rb") as f:
            io.write_full(args[0], f.read())
    elif cmd == "rm":
        io.remove_object(args[0])
    elif cmd == "flip":
        size, _ = io.stat(args[0])
        off = int(args[1]) % max(size, 1)  # within the object, whatever its size
        b = io.read(args[0], 1, off)
        io.write(args[0], bytes([b[0] ^ 1]), off)
    elif cmd == "intact":
        for k in objects(io):
            if hashlib.sha256(read_all(io, k)).hexdigest() != k:
                print("bad object", k)
                rc = 1
    elif cmd == "purge":
        for k in list(objects(io)):
            io.remove_object(k)
    elif cmd == "copy":
        dst = cluster.open_ioctx(pool)
        dst.set_namespace(args[0])
        for k in objects(io):
            dst.write_full(k, read_all(io, k))
        dst.close()
    elif cmd == "fill":
        n, size = int(args[0]), int(args[1])
        done = 0
        while done < n:
            batch = []
            for _ in range(min(64, n - done)):
                data = os.urandom(size)
                batch.append(io.aio_write_full(hashlib.sha256(data).hexdigest(), data))
            for c in batch:
                c.wait_for_complete()
                if c.get_return_value() < 0:
                    print("write failed:", c.get_return_value(), file=sys.stderr)
                    return 1
            done += len(batch)
    else:
        print("unknown command", cmd, file=sys.stderr)
        rc = 2
    io.close()
    cluster.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
