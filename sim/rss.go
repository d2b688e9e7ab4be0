package sim

import "syscall"

// maxRSSMB is the process's peak resident set (Linux reports ru_maxrss in KiB).
func maxRSSMB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) / 1024
}
