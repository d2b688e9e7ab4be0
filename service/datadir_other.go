//go:build !unix

package service

import "os"

// tryLock has no lock on this platform: jiaofu is deployed on Linux (the Dockerfile); elsewhere
// one process per data dir is the operator's care.
func tryLock(*os.File) (held bool, err error) { return false, nil }
