# Split a kernel log into its KCSAN reports and the rest (harness/report.sh):
#
#   awk -v ours=REGEX -v rest=FILE -f harness/kcsan.awk dmesg.txt
#
# A KCSAN report runs from its "BUG: KCSAN: " headline to the "=====" line
# that closes it; it goes to stdout as one verdict line, every other line
# of the log to the file `rest` (where the splat check looks). A report
# whose headline or stacks match `ours` (our crate, modules and symbols)
# fails; any other is listed as a note with how often it came:
#
#   C fail kcsan: data-race in A / B (3x) at CPU 1: ...
#   C note kcsan: data-race in C / D (1x), not ours
function flush() {
	if (head == "")
		return
	key = head
	if (!(key in seen)) {
		order[n++] = key
		seen[key] = 0
	}
	seen[key]++
	if (body ~ ours)
		bad[key] = 1
	head = body = ""
}
{
	line = $0
	sub(/^\[[^]]*\] ?/, "", line)
}
line ~ /^BUG: KCSAN: / {
	flush()
	head = line
	sub(/^BUG: KCSAN: /, "", head)
	# "race at unknown origin" headlines carry an offset: drop it.
	gsub(/\+0x[0-9a-f]+\/0x[0-9a-f]+/, "", head)
	body = line
	next
}
head != "" && line ~ /^====================/ { flush(); next }
head != "" { body = body "\n" line; next }
{ print > rest }
END {
	flush()
	for (i = 0; i < n; i++) {
		k = order[i]
		if (k in bad)
			printf "C fail kcsan: %s (%dx), in our code\n", k, seen[k]
		else
			printf "C note kcsan: %s (%dx), not ours\n", k, seen[k]
	}
}
