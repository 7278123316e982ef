#!/bin/sh
# Host side of the guest's QMP channel: reads one QMP command (JSON) per
# line from the guest's virtio-serial port (stdin) and answers with QEMU's
# replies on one line (stdout).
#
#   harness/qmp-broker.sh QMP_SOCKET
qmp=$1
while IFS= read -r cmd; do
	{ echo '{"execute":"qmp_capabilities"}'; echo "$cmd"; sleep 1; } |
		socat -t 2 - "UNIX-CONNECT:$qmp" 2>&1 | grep -v '"QMP":' |
		tr -d '\n\r'
	echo
done
