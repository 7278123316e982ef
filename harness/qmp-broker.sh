#!/bin/sh
# Host side of the guest's QMP channel: reads one QMP command (JSON) per
# line from the guest's virtio-serial port (stdin) and answers with QEMU's
# replies on one line (stdout). Each command gets its own QMP session,
# closed as soon as QEMU has answered it (or after 10 s).
#
#   harness/qmp-broker.sh QMP_SOCKET
qmp=$1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Answers so far: one for qmp_capabilities, then one for the command.
answers() { grep -c '"return"\|"error"' "$out"; }
while IFS= read -r cmd; do
	: > "$out"
	{
		echo '{"execute":"qmp_capabilities"}'
		echo "$cmd"
		i=0
		while [ "$(answers)" -lt 2 ] && [ $i -lt 200 ]; do
			sleep 0.05
			i=$((i + 1))
		done
	} | socat -t 0.1 - "UNIX-CONNECT:$qmp" > "$out" 2>&1
	grep -v '"QMP":' "$out" | tr -d '\n\r'
	echo
done
