# ramdax-harness guest tool: bind e820_pmem to ramdax while the Nth
# fault-injection site of the binding task fails (/proc/thread-self/fail-nth),
# for N = FIRST.. until a bind runs without reaching its Nth site (or LAST).
# After every bind: what is left behind (nd buses, the device's driver, memory
# mappings of the carve-outs' label areas in /proc/vmallocinfo). One JSON line
# per attempt on stdout. Arguments: FIRST LAST END(bound|unbound) PHYS-RANGES...
# (start-end in hex, the label areas to look for).
import json, os, sys

DEV = 'e820_pmem'
PDEV = '/sys/bus/platform/devices/' + DEV
RAMDAX = '/sys/bus/platform/drivers/ramdax'
first, last, end = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ranges = [tuple(int(x, 16) for x in r.split('-')) for r in sys.argv[4:]]


def write(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
        return None
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def driver():
    try:
        return os.path.basename(os.readlink(PDEV + '/driver'))
    except OSError:
        return None


def buses():
    try:
        return sorted(d for d in os.listdir('/sys/bus/nd/devices') if d.startswith('ndbus') or d.startswith('nmem') or d.startswith('region'))
    except OSError:
        return []


def label_maps():
    out = []
    with open('/proc/vmallocinfo') as f:
        for line in f:
            for part in line.split():
                if part.startswith('phys='):
                    phys = int(part[5:], 16)
                    if any(a <= phys <= b for a, b in ranges):
                        out.append(' '.join(line.split()[:3]))
    return out


def unbind():
    d = driver()
    if d:
        write('/sys/bus/platform/drivers/%s/unbind' % d, DEV)


def bind_with_fault(n):
    write(PDEV + '/driver_override', 'ramdax')
    nth = os.open('/proc/thread-self/fail-nth', os.O_RDWR)
    fd = os.open(RAMDAX + '/bind', os.O_WRONLY)
    try:
        os.write(nth, str(n).encode())
        try:
            os.write(fd, DEV.encode())
            err = None
        except OSError as e:
            err = e.errno
        left = int(os.pread(nth, 32, 0).decode().strip() or '0')
        os.pwrite(nth, b'0', 0)
    finally:
        os.close(fd)
        os.close(nth)
    return err, left


for knob, val in (('failslab/ignore-gfp-wait', 'N'), ('fail_page_alloc/ignore-gfp-wait', 'N'), ('failslab/verbose', '1'), ('fail_page_alloc/verbose', '1')):
    p = '/sys/kernel/debug/' + knob
    if os.path.exists(p):
        write(p, val)
unbind()
base = {'maps': label_maps(), 'buses': buses()}
print(json.dumps({'baseline': base}), flush=True)
for n in range(first, last + 1):
    unbind()
    err, left = bind_with_fault(n)
    rec = {'n': n, 'injected': left == 0, 'errno': err, 'error': os.strerror(err) if err else None, 'driver': driver(), 'buses': buses(), 'maps': label_maps()}
    unbind()
    rec['afterUnbind'] = {'buses': buses(), 'maps': label_maps()}
    print(json.dumps(rec), flush=True)
    if left != 0:
        break
if end == 'bound':
    write(PDEV + '/driver_override', 'ramdax')
    e = write(RAMDAX + '/bind', DEV)
    print(json.dumps({'final': driver(), 'errno': e}), flush=True)
