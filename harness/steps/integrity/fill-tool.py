# ramdax-harness fill tool. Runs in the guest (python3 - ARGS_JSON, this text
# on stdin), never on the host. One run does a list of jobs, so a fill step
# pays for one python start: read every DIMM's label area, write or verify a
# position-dependent pattern on a block device (O_DIRECT, so reads come from
# the device and not the page cache) or a devdax character device (mmap of
# the whole device).
#
# Every block of `bs` bytes is self-describing, so a block found in the wrong
# place names where it came from:
#    0   8  magic b'RDXFILL\x01'
#    8  16  fill name (the scenario's namespace name, ASCII, NUL-padded)
#   24   8  seed (u64 LE)
#   32   8  block number within the device (u64 LE)
#   40   8  byte offset within the device (u64 LE)
#   48   4  block size (u32 LE)
#   52   4  tag (u32 LE: crc32 of the fill name)
#   56   8  zero
#   64 ...  the 16-byte unit <offset u64, seed u32, tag u32> repeated, so any
#           16 aligned bytes of the payload still say which block they belong to
#
# Label areas are read as `ndctl read-labels` reads them, with the nvdimm
# ioctls ND_CMD_GET_CONFIG_SIZE and ND_CMD_GET_CONFIG_DATA on /dev/nmemN.
#
# Output: one JSON object per line (event: labels | start | bad | done | error),
# each with the index of its job.
import base64
import fcntl
import json
import mmap
import os
import struct
import sys
import time

MAGIC = b'RDXFILL\x01'
HDR = struct.Struct('<8s16sQQQII8x')
UNIT = struct.Struct('<QII')
job = -1


def emit(**kw):
    sys.stdout.write(json.dumps(dict(job=job, **kw), separators=(',', ':')) + '\n')


def fail(message):
    emit(event='error', message=message)
    sys.stdout.flush()
    sys.exit(2)


# ---------------------------------------------------------------- label areas
def iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord('N') << 8) | nr


def read_labels():
    try:
        import zlib
    except ImportError:
        zlib = None
    names = sorted((d for d in os.listdir('/dev') if d.startswith('nmem') and d[4:].isdigit()), key=lambda d: int(d[4:]))
    for d in names:
        try:
            fd = os.open('/dev/' + d, os.O_RDWR)
            b = bytearray(12)
            fcntl.ioctl(fd, iowr(4, 12), b)
            status, size, xfer = struct.unpack('<III', b)
            if status != 0 or xfer == 0:
                fail('%s: ND_CMD_GET_CONFIG_SIZE status %d, size %d, max transfer %d' % (d, status, size, xfer))
            out = bytearray()
            while len(out) < size:
                n = min(xfer, size - len(out))
                buf = bytearray(struct.pack('<III', len(out), n, 0) + bytes(n))
                fcntl.ioctl(fd, iowr(5, 12), buf)
                st = struct.unpack_from('<I', buf, 8)[0]
                if st != 0:
                    fail('%s: ND_CMD_GET_CONFIG_DATA at %d status %d' % (d, len(out), st))
                out += buf[12:12 + n]
            os.close(fd)
        except OSError as e:
            fail('%s: cannot read the label area: %s' % (d, e))
        data = zlib.compress(bytes(out)) if zlib else bytes(out)
        emit(event='labels', dimm=d, size=size, enc='zlib' if zlib else 'raw', data=base64.b64encode(data).decode('ascii'))


# ---------------------------------------------------------------- the pattern
def run_pattern(a, max_reports):
    op, dev, bs, dax = a['op'], a['dev'], a['bs'], a['dax']
    name = a['name'].encode('ascii')[:16]
    tag = a['tag']
    segments = a['segments']          # [[first_block, end_block, seed], ...], disjoint, sorted
    chunk_blocks = max(1, (1 << 20) // bs)
    units = (bs - HDR.size) // UNIT.size
    if bs < 512 or bs & (bs - 1) or units < 1:
        fail('block size %d is not a power of two of at least 512 bytes' % bs)

    def block_bytes(nm, seed, blk, tg):
        off = blk * bs
        return HDR.pack(MAGIC, nm, seed, blk, off, bs, tg) + UNIT.pack(off, seed, tg) * units

    try:
        if dax:
            size = int(open('/sys/bus/dax/devices/%s/size' % os.path.basename(dev)).read())
            fd = os.open(dev, os.O_RDWR if op == 'write' else os.O_RDONLY)
            prot = mmap.PROT_READ | (mmap.PROT_WRITE if op == 'write' else 0)
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED, prot)
        else:
            fd = os.open(dev, (os.O_RDWR if op == 'write' else os.O_RDONLY) | os.O_DIRECT)
            size = os.lseek(fd, 0, os.SEEK_END)
            lbs_path = '/sys/class/block/%s/queue/logical_block_size' % os.path.basename(dev)
            lbs = int(open(lbs_path).read()) if os.path.exists(lbs_path) else 512
            if bs % lbs:
                fail('%s has %d-byte logical blocks: a block size of %d cannot be written with O_DIRECT' % (dev, lbs, bs))
            buf = mmap.mmap(-1, chunk_blocks * bs)   # page-aligned, as O_DIRECT wants
    except OSError as e:
        fail('cannot open %s: %s' % (dev, e))

    blocks = size // bs
    for first, end, seed in segments:
        if first < 0 or end > blocks or first >= end:
            fail('blocks %d-%d are outside %s (%d bytes = %d blocks of %d)' % (first, end - 1, dev, size, blocks, bs))

    def write_at(off, data):
        if dax:
            mm[off:off + len(data)] = data
            return
        buf[:len(data)] = data
        n = os.pwritev(fd, [memoryview(buf)[:len(data)]], off)
        if n != len(data):
            fail('short write at offset %d of %s: %d of %d bytes' % (off, dev, n, len(data)))

    def read_at(off, length):
        if dax:
            return mm[off:off + length]
        n = os.preadv(fd, [memoryview(buf)[:length]], off)
        if n != length:
            fail('short read at offset %d of %s: %d of %d bytes' % (off, dev, n, length))
        return buf[:length]

    def describe(blk, seed, got, want):
        """What a wrong block holds: zeros, ones, another block of some fill, or unknown bytes."""
        diffs = [i for i in range(bs) if got[i] != want[i]]
        d = {'block': blk, 'offset': blk * bs, 'seed': seed, 'diffBytes': len(diffs), 'firstDiff': diffs[0], 'lastDiff': diffs[-1],
             'got': got[diffs[0]:diffs[0] + 16].hex(), 'want': want[diffs[0]:diffs[0] + 16].hex()}
        if got.count(0) == bs:
            d['found'] = {'kind': 'zeros'}
            return d
        if got.count(0xff) == bs:
            d['found'] = {'kind': 'ones'}
            return d
        magic, nm, s, b, off, bsz, tg = HDR.unpack_from(got)
        if magic == MAGIC and bsz == bs and off == b * bs:
            copy = block_bytes(nm, s, b, tg)
            found = {'kind': 'block', 'name': nm.rstrip(b'\0').decode('ascii', 'replace'), 'seed': s, 'block': b, 'offset': off, 'tag': tg, 'intact': copy == got}
            if copy != got:
                cd = [i for i in range(bs) if got[i] != copy[i]]
                found.update(diffBytes=len(cd), firstDiff=cd[0], got=got[cd[0]:cd[0] + 16].hex(), want=copy[cd[0]:cd[0] + 16].hex())
            d['found'] = found
            return d
        if magic == MAGIC:
            d['found'] = {'kind': 'header', 'blockSize': bsz}
            return d
        # No header: the 16 aligned bytes at the first difference may still be a payload unit.
        at = max(HDR.size, diffs[0] - (diffs[0] - HDR.size) % UNIT.size)
        if at + UNIT.size <= bs:
            uoff, useed, utag = UNIT.unpack_from(got, at)
            if uoff % bs == 0 and uoff // bs < (1 << 40):
                d['found'] = {'kind': 'unit', 'at': at, 'block': uoff // bs, 'offset': uoff, 'seed': useed, 'tag': utag}
                return d
        d['found'] = {'kind': 'unknown'}
        return d

    total = sum(end - first for first, end, _ in segments)
    emit(event='start', op=op, dev=dev, size=size, blocks=total, bs=bs)
    t0 = time.monotonic()
    bad = 0
    ranges = []
    for first, end, seed in segments:
        b = first
        while b < end:
            n = min(chunk_blocks, end - b)
            want = b''.join([block_bytes(name, seed, x, tag) for x in range(b, b + n)])
            if op == 'write':
                write_at(b * bs, want)
            else:
                got = read_at(b * bs, n * bs)
                if got != want:
                    for i in range(n):
                        g = got[i * bs:(i + 1) * bs]
                        w = want[i * bs:(i + 1) * bs]
                        if g == w:
                            continue
                        bad += 1
                        if ranges and ranges[-1][1] == b + i:
                            ranges[-1][1] += 1
                        else:
                            ranges.append([b + i, b + i + 1])
                        if bad <= max_reports:
                            emit(event='bad', **describe(b + i, seed, g, w))
            b += n
    # Block devices: fsync. Device DAX has no fsync (msync on its mapping fails
    # with EINVAL): stores to the mapping are the write, as for any devdax user.
    if op == 'write' and not dax:
        os.fsync(fd)
    if dax:
        mm.close()
    os.close(fd)
    emit(event='done', op=op, blocks=total, bytes=total * bs, bad=bad, ranges=ranges[:64], moreRanges=max(0, len(ranges) - 64),
         seconds=round(time.monotonic() - t0, 3))


args = json.loads(sys.argv[1])
for job, j in enumerate(args['jobs']):
    if j['op'] == 'labels':
        read_labels()
    elif j['op'] in ('write', 'verify'):
        run_pattern(j, args.get('max', 16))
    else:
        fail('unknown job %r' % j['op'])
