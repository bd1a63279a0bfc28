// Package oemtest is what you need to test code built on vehicleinfo: a
// scriptable fake connector (NewFake), an in-memory store (NewMemStore),
// and the conformance suites every connector and store in this module
// passes, which your own can run too (TestConnector, TestStore).
package oemtest
