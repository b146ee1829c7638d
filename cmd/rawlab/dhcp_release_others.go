//go:build !linux

package main

// deferSocketRelease does nothing where packet sockets do not exist.
func deferSocketRelease() {}
