package temporalserver

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
)

// FreePort asks the OS for a TCP port on host (an IP address or "localhost")
// that nothing listens on right now, and returns it.
//
// There is an unavoidable window between this call and the moment the caller
// binds the port. To keep that window safe on Linux, where ephemeral ports are
// handed out at random and can come back quickly, the port is left with one
// connection in TIME_WAIT that was closed by the listening side: while that
// lasts (about a minute), bind(":0") will not hand the same port to anyone,
// yet an explicit bind to it still succeeds because Go listeners set
// SO_REUSEADDR. macOS and Windows hand out ephemeral ports sequentially, so the
// extra connection is skipped there.
func FreePort(host string) (int, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("temporalserver: no free port on %q: %w", host, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port

	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		return port, nil
	}
	// Dial the host as given rather than ln.Addr(): a wildcard or half-configured
	// IPv6 address may not be dialable as such.
	dialHost := host
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			dialHost = "127.0.0.1"
		} else {
			dialHost = "::1"
		}
	}
	conn, err := net.Dial("tcp", net.JoinHostPort(dialHost, strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("temporalserver: reserving port %d on %q: %w", port, host, err)
	}
	defer conn.Close()
	accepted, err := ln.Accept()
	if err != nil {
		return 0, fmt.Errorf("temporalserver: reserving port %d on %q: %w", port, host, err)
	}
	// The server side must close first so that the TIME_WAIT lands on this port.
	accepted.Close()
	return port, nil
}

// portIsFree reports whether host:port can be bound right now.
func portIsFree(host string, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return ln.Close()
}
