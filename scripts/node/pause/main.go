// Command pause is the pod sandbox's process for the local real node: it holds the pod's
// namespaces, reaps orphaned children (it is PID 1 when the pod shares its PID
// namespace) and exits 0 on SIGINT or SIGTERM. No container registry is reachable
// here, so the sandbox image is built from this program, FROM scratch.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
