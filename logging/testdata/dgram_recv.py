# Test helper for syslog_test.ts: binds a unix datagram socket at argv[1], prints "ready",
# then prints each received datagram as hex on its own line until argv[2] were received.
import os, socket, sys

path, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
s.settimeout(20)
print("ready", flush=True)
for _ in range(count):
    print(s.recv(65536).hex(), flush=True)
